#!/usr/bin/env bash
# `make test`: install what the suite needs (Debian packages, the virtualenv, chromium, Apache Kafka's
# jars), start Postgres and Redis if they are not running, start one Apache Kafka broker for the whole
# run, then ruff, mypy, the import contracts, the migration check and the whole pytest suite.
# Extra arguments go to pytest.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"

ensure_venv requirements-dev.txt
ensure_apt chromium fonts-dejavu-core
# promtool (tests/ops/test_prometheus_rules.py checks ops/prometheus/) ships only in Debian's prometheus
# package; the Prometheus server that comes with it is not wanted here, so it is stopped and disabled once.
if ! dpkg -s prometheus >/dev/null 2>&1; then
  ensure_apt prometheus
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    as_root systemctl disable --now prometheus >/dev/null 2>&1 || true
  fi
fi
ensure_local_services

log "ruff"
"$VENV/bin/ruff" check .
"$VENV/bin/ruff" format --check .
log "mypy"
"$VENV/bin/mypy" .
log "import contracts (.importlinter: the core imports no feature app; feature apps are layered)"
"$VENV/bin/lint-imports"
log "migrations are up to date"
"$PY" manage.py makemigrations --check --dry-run >/dev/null

# One broker for every test of the run (tests isolate themselves by topic and group names); the tests
# that stop, kill or wipe a broker start their own.  Its data is thrown away at the end.
BROKER_DIR="$ROOT/test-artifacts/kafka-run"
BROKER_PID=""
stop_broker() {
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
  fi
}
trap stop_broker EXIT
if [ -z "${TEST_KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  rm -rf "$BROKER_DIR"
  mkdir -p "$BROKER_DIR"
  KAFKA_PORT="$("$PY" -c 'from marketplace.devbroker import free_port; print(free_port())')"
  CONTROLLER_PORT="$("$PY" -c 'from marketplace.devbroker import free_port; print(free_port())')"
  log "starting Apache Kafka $("$PY" -c 'from marketplace.devbroker import kafka_version; print(kafka_version())') for the test run on 127.0.0.1:$KAFKA_PORT"
  "$PY" -m marketplace.devbroker --port "$KAFKA_PORT" --controller-port "$CONTROLLER_PORT" --data "$BROKER_DIR" \
    > "$BROKER_DIR.out" 2>&1 &
  BROKER_PID=$!
  for _ in $(seq 1 600); do
    grep -q "is ready" "$BROKER_DIR.out" 2>/dev/null && break
    kill -0 "$BROKER_PID" 2>/dev/null || { cat "$BROKER_DIR.out"; die "the test broker did not start"; }
    sleep 0.1
  done
  grep -q "is ready" "$BROKER_DIR.out" || { cat "$BROKER_DIR.out"; die "the test broker did not answer within 60 s"; }
  export TEST_KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:$KAFKA_PORT"
fi

log "pytest"
# Three xdist workers on two cores: most tests wait on the broker, a subprocess or a socket, not the CPU.
# Browser tests run one at a time on one of them (tests/conftest.py).  PYTEST_WORKERS=0 runs in one process.
# Browser tests in one group (one worker, one stack, one chromium) by default: two stacks at once on two
# cores made live-update timings flaky; BROWSER_GROUPS=2 splits them over two workers on a bigger machine.
export BROWSER_GROUPS="${BROWSER_GROUPS:-1}"
# The slowest tests are listed at the end, so that a suite growing past its time shows where.
"$VENV/bin/pytest" -n "${PYTEST_WORKERS:-3}" --dist loadgroup --durations=30 "$@"
