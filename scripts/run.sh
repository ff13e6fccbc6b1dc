#!/usr/bin/env bash
# `make run`: set everything up and start the whole stack in the foreground.
#   web (Daphne, HTTP + websockets) + outbox relay + every consumer (honcho, Procfile.dev)
#   + the development Kafka broker when KAFKA_BOOTSTRAP_SERVERS is not set.
# Ctrl-C stops all of it.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"

ensure_venv requirements.txt
ensure_local_services
mkdir -p var

BROKER_PID=""
cleanup() {
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    log "stopping the development broker"
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  if "$PY" -c "import sys; from marketplace.devbroker import port_open; sys.exit(0 if port_open(9092) else 1)"; then
    log "a broker is already listening on 127.0.0.1:9092; using it"
  else
    log "starting the development Kafka broker (Tansu, in memory) on 127.0.0.1:9092"
    # Own session: Ctrl-C reaches honcho's processes first; the EXIT trap stops the broker last.
    setsid "$PY" -m marketplace.devbroker --port 9092 >> var/broker.log 2>&1 &
    BROKER_PID=$!
  fi
fi

"$PY" manage.py wait_for_services --timeout 30
"$PY" manage.py migrate --no-input -v 0
"$PY" manage.py kafka_topics
"$PY" manage.py seed_demo

PORT="${PORT:-8000}"
export PORT
cat <<MSG

  TradeLink is starting on  http://127.0.0.1:${PORT}/
    demo customer:      alice / demo-pass-123
    demo tradesperson:  bob / demo-pass-123
    admin:              admin / demo-pass-123   (http://127.0.0.1:${PORT}/admin/)
  Ctrl-C stops everything.

MSG
"$VENV/bin/honcho" -f Procfile.dev start
