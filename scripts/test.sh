#!/usr/bin/env bash
# `make test`: install what the suite needs (packages, chromium, local services),
# then ruff, mypy and the whole pytest suite. Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"

ensure_venv requirements-dev.txt
ensure_apt chromium fonts-dejavu-core
ensure_local_services

log "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
log "mypy"
"$VENV/bin/mypy" .
log "migrations are up to date"
"$PY" manage.py makemigrations --check --dry-run >/dev/null
log "pytest"
# Three xdist workers on two cores: most tests wait on the broker, a subprocess or a socket, not the CPU.
# Browser tests run one at a time on one of them (tests/conftest.py).  PYTEST_WORKERS=0 runs in one process.
"$VENV/bin/pytest" -n "${PYTEST_WORKERS:-3}" --dist loadgroup "$@"
