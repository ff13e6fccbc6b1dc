#!/usr/bin/env bash
# `make bench`: benchmarks that print figures beside floors measured in the same run.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"
ensure_venv requirements-dev.txt
ensure_local_services
"$PY" bench/pipeline.py "$@"
# The tracking bench takes only --smoke; the other options are the pipeline bench's.
if [[ " $* " == *" --smoke "* ]]; then "$PY" bench/tracking.py --smoke; else "$PY" bench/tracking.py; fi
