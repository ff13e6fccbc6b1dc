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
"$VENV/bin/pytest" "$@"
