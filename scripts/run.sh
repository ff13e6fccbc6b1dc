#!/usr/bin/env bash
# `make run`: set everything up and start the whole stack in the foreground.
#   web (Daphne, HTTP + websockets) + outbox relay + every consumer + clock + payments executor (honcho, Procfile.dev)
#   + Apache Kafka (KRaft, one JVM, data in var/kafka/dev) when KAFKA_BOOTSTRAP_SERVERS is not set.
# Ctrl-C stops all of it; the broker keeps its topics, offsets and messages for the next run.
set -euo pipefail
source "$(dirname "$0")/setup.sh"
cd "$ROOT"

PORT="${PORT:-8000}"
export PORT
if port_in_use "$PORT"; then
  die "port $PORT is in use (another make run?): stop it, or choose another port: PORT=8001 make run"
fi

ensure_venv requirements.txt
ensure_local_services
mkdir -p var

BROKER_PID=""
cleanup() {
  if [ -n "$BROKER_PID" ] && kill -0 "$BROKER_PID" 2>/dev/null; then
    log "stopping Apache Kafka (its data stays in var/kafka/dev)"
    kill "$BROKER_PID" 2>/dev/null || true
    wait "$BROKER_PID" 2>/dev/null || true
  fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

if [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ]; then
  if port_in_use 9092; then
    if "$PY" -c "from confluent_kafka.admin import AdminClient; AdminClient({'bootstrap.servers': '127.0.0.1:9092'}).list_topics(timeout=3)" 2>/dev/null; then
      log "a Kafka broker is already listening on 127.0.0.1:9092; using it"
    else
      die "port 9092 is in use by something that is not a Kafka broker: stop it, or set KAFKA_BOOTSTRAP_SERVERS"
    fi
  else
    port_in_use 9093 && die "port 9093 (the development broker's controller) is in use: stop whatever listens there"
    log "starting Apache Kafka $("$PY" -c 'from marketplace.devbroker import kafka_version; print(kafka_version())') on 127.0.0.1:9092 (log: var/kafka/dev/broker.log)"
    # Own session: Ctrl-C reaches honcho's processes first; the EXIT trap stops the broker last, cleanly.
    setsid "$PY" -m marketplace.devbroker --port 9092 --controller-port 9093 --data var/kafka/dev >> var/broker.out 2>&1 &
    BROKER_PID=$!
  fi
fi

"$PY" manage.py wait_for_services --timeout 60
"$PY" manage.py migrate --no-input -v 0
"$PY" manage.py kafka_topics
"$PY" manage.py seed_demo

cat <<MSG

  TradeLink is starting on  http://127.0.0.1:${PORT}/
    demo customer:      alice / demo-pass-123
    demo tradesperson:  bob / demo-pass-123
    admin:              admin / demo-pass-123   (http://127.0.0.1:${PORT}/admin/)
  Ctrl-C stops everything.

MSG
"$VENV/bin/honcho" -f Procfile.dev start
