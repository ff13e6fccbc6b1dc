#!/usr/bin/env bash
# `make bench`: every benchmark (bench/run.py), one table of figures beside floors measured in the
# same run, JSON in bench/results/.  `make bench-smoke` (--smoke) is the small size CI runs.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"
ensure_venv requirements-dev.txt
ensure_local_services
# As modules (-m), never as scripts: bench/http.py would shadow the standard library's http package.
"$PY" -m bench.run "$@"
