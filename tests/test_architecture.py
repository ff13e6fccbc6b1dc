"""The shape of the code, checked: no import cycles between modules, and an import inside a function
only with a comment saying why it cannot be at the top. (The layers themselves are import-linter's
contracts in .importlinter, run by `make test` as `lint-imports`.)"""

from __future__ import annotations

import ast
import configparser
import subprocess
import sys
from pathlib import Path

import grimp

ROOT = Path(__file__).resolve().parent.parent
_CONFIG = configparser.ConfigParser()
_CONFIG.read(ROOT / ".importlinter")
PACKAGES = _CONFIG["importlinter"]["root_packages"].split()


def _cycles(adjacency: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    found: list[list[str]] = []
    counter = 0
    for root in sorted(adjacency):
        if root in index:
            continue
        work = [(root, iter(sorted(adjacency[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(adjacency.get(child, ())))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_finds_a_cycle() -> None:
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_itself_through_others() -> None:
    sys.path.insert(0, str(ROOT))
    graph = grimp.build_graph(*PACKAGES, include_external_packages=False, exclude_type_checking_imports=True)
    modules = {m for m in graph.modules if ".migrations" not in m}
    adjacency = {m: {i for i in graph.find_modules_directly_imported_by(m) if i in modules} for m in modules}
    assert _cycles(adjacency) == []


def _uncommented_imports_in_functions(source: str) -> list[int]:
    """Line numbers of imports inside functions with no comment on them, above them, or above the block they are in."""
    lines = source.split("\n")
    bad: set[int] = set()
    for function in ast.walk(ast.parse(source)):
        if not isinstance(function, ast.FunctionDef | ast.AsyncFunctionDef):
            continue
        imports = sorted(n.lineno for n in ast.walk(function) if isinstance(n, ast.Import | ast.ImportFrom))
        explained_until = 0  # the last line of a block of imports a comment explains
        for number in imports:
            line, above = lines[number - 1], lines[number - 2].strip()
            between = [text.strip() for text in lines[explained_until : number - 1]] if explained_until else ["x"]
            continues_block = all(not text or text.startswith(("from ", "import ")) for text in between)
            if "#" in line or above.startswith("#") or continues_block:
                explained_until = number
            else:
                bad.add(number)
    return sorted(bad)


def test_the_import_check_tells_a_commented_import_from_a_bare_one() -> None:
    bare = "def f():\n    import json\n    return json\n"
    commented = "def f():\n    # on use: heavy\n    import json\n\n    import csv\n    return json, csv\n"
    assert _uncommented_imports_in_functions(bare) == [2]
    assert _uncommented_imports_in_functions(commented) == []


def test_an_import_inside_a_function_says_why() -> None:
    files = subprocess.run(["git", "ls-files", "*.py"], cwd=ROOT, capture_output=True, text=True, check=True).stdout.split()
    app_code = [f for f in files if not f.startswith(("tests/", "bench/")) and "/migrations/" not in f]
    bare = {f: lines for f in app_code if (lines := _uncommented_imports_in_functions((ROOT / f).read_text()))}
    assert bare == {}, "imports inside functions without a comment saying why they cannot be at the top"
