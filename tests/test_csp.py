"""Content-Security-Policy: scripts run only from our static files.

The header comes from django-csp (settings.CONTENT_SECURITY_POLICY).  It only protects
if no page needs an inline script, so every template is scanned for one; the browser
tests additionally fail on any CSP violation chromium reports (tests/browser/conftest.py).
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

from marketplace.accounts.models import User

ROOT = Path(__file__).resolve().parent.parent
TEMPLATE_DIRS = [ROOT / "templates", *ROOT.glob("*/templates")]
SCRIPT_TAG = re.compile(r"<script\b([^>]*)>", re.IGNORECASE)
INLINE_HANDLER = re.compile(r"<[a-z][^>]*\son[a-z]+\s*=", re.IGNORECASE)
JAVASCRIPT_URL = re.compile(r"""(href|src|action)\s*=\s*["']\s*javascript:""", re.IGNORECASE)


def directives(header: str) -> dict[str, list[str]]:
    parts = [part.strip().split() for part in header.split(";") if part.strip()]
    return {part[0]: part[1:] for part in parts}


def templates() -> list[Path]:
    return sorted(path for folder in TEMPLATE_DIRS for path in folder.rglob("*.html"))


def test_there_are_templates_to_scan() -> None:
    assert len(templates()) > 30


@pytest.mark.parametrize("path", templates(), ids=lambda p: str(p.relative_to(ROOT)))
def test_no_template_needs_an_inline_script(path: Path) -> None:
    text = path.read_text()
    problems = []
    for match in SCRIPT_TAG.finditer(text):
        attrs = match.group(1)
        if "src=" in attrs or re.search(r"""type\s*=\s*["']application/(ld\+)?json["']""", attrs):
            continue
        problems.append(f"inline <script> at line {text.count(chr(10), 0, match.start()) + 1}")
    problems += [f"inline event handler at line {text.count(chr(10), 0, m.start()) + 1}" for m in INLINE_HANDLER.finditer(text)]
    problems += [f"javascript: URL at line {text.count(chr(10), 0, m.start()) + 1}" for m in JAVASCRIPT_URL.finditer(text)]
    assert not problems, f"{path.relative_to(ROOT)}: {problems} (move the code to static/js and pass data in data- attributes)"


@pytest.mark.django_db
@pytest.mark.parametrize("url", ["/", "/accounts/login/", "/signup/", "/api/docs/", "/accounts/password/reset/"])
def test_every_page_forbids_inline_and_foreign_scripts(url: str) -> None:
    response = Client().get(url)
    assert response.status_code == 200
    policy = directives(response.headers["Content-Security-Policy"])
    assert policy["script-src"] == ["'self'"], policy
    assert policy["default-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"]
    assert policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"]


@pytest.mark.django_db
def test_signed_in_pages_and_the_api_carry_the_policy_too(client: Client) -> None:
    user = User.objects.create_user("csp_cust", "csp@example.com", "pw-123456-x", role=User.Role.CUSTOMER)
    client.force_login(user)
    for url in ["/jobs/", "/notifications/", "/api/jobs/"]:
        response = client.get(url)
        assert response.status_code == 200, url
        assert directives(response.headers["Content-Security-Policy"])["script-src"] == ["'self'"], url


@pytest.mark.django_db
def test_the_api_docs_load_their_init_script_from_a_url_not_inline() -> None:
    page = Client().get("/api/docs/").content.decode()
    sources = re.findall(r'<script src="([^"]+)"', page)
    assert any("swagger-ui-bundle" in s for s in sources)
    init = [s for s in sources if s.startswith("/api/docs/")]
    assert init, sources
    script = Client().get(init[0])
    assert script.status_code == 200
    assert b"SwaggerUIBundle" in script.content
