#!/usr/bin/env bash
# Run the in-process tests (no child processes, no browser) with the clock set to awkward instants,
# to find tests that only pass on some dates.  Uses the set-up of `make test`; extra arguments go to pytest.
#   bash scripts/clock_sweep.sh                # the four instants below
#   CLOCKS="2027-06-01T12:00:00Z" bash scripts/clock_sweep.sh -k capacity
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"
ensure_venv requirements-dev.txt
ensure_local_services

# New Year's Eve late evening; a leap day; the UK's clocks going forward and back (2027: 28 March, 31 October).
CLOCKS="${CLOCKS:-2026-12-31T23:30:00Z 2028-02-29T12:00:00Z 2027-03-28T00:30:00Z 2027-10-31T00:30:00Z}"
failed=0
for when in $CLOCKS; do
  log "tests at $when"
  TEST_CLOCK="$when" "$VENV/bin/pytest" -q -n "${PYTEST_WORKERS:-3}" -m "not slow and not browser" "$@" || failed=1
done
exit $failed
