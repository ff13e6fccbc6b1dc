#!/usr/bin/env bash
# Idempotent set-up shared by `make run` and `make test` on a fresh machine:
# virtualenv + pinned packages, local Postgres/Redis started if they are not, the
# database created. Sourced by scripts/run.sh and scripts/test.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
export PYTHONUNBUFFERED=1

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }

ensure_venv() {
  # $1: requirements file to install (requirements.txt or requirements-dev.txt)
  local req="$ROOT/$1" stamp
  if [ ! -x "$PY" ]; then
    log "creating virtualenv in .venv"
    local base
    base="$(command -v python3.11 || command -v python3)"
    "$base" -m venv "$VENV"
  fi
  stamp="$VENV/.installed-$(cat "$ROOT/requirements.txt" "$req" | sha256sum | cut -c1-16)-$1"
  if [ ! -f "$stamp" ]; then
    log "installing $1"
    "$PY" -m pip install --disable-pip-version-check -q -r "$req"
    touch "$stamp"
  fi
}

ensure_apt() {
  # $@: Debian packages; installed only if missing.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    local sudo=""; [ "$(id -u)" -ne 0 ] && sudo="sudo"
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "${missing[@]}" >/dev/null
  fi
}

ensure_local_services() {
  # Only for the default local development services; a configured DATABASE_URL /
  # REDIS_URL is the operator's to run.
  if [ -z "${DATABASE_URL:-}" ]; then
    if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
      log "starting local PostgreSQL"
      pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | head -1)" main start || true
      for _ in $(seq 1 30); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
    fi
    local db="${MARKETPLACE_DB_NAME:-marketplace}"
    if ! psql -h 127.0.0.1 -U postgres -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
      log "creating database $db"
      psql -h 127.0.0.1 -U postgres -qc "CREATE DATABASE $db"
    fi
  fi
  if [ -z "${REDIS_URL:-}" ]; then
    if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
      log "starting local Redis"
      redis-server --daemonize yes --bind 127.0.0.1 -::1 --port 6379 --save "" --appendonly no \
        --dir /var/lib/redis --logfile /var/log/redis/ci.log || redis-server --daemonize yes --port 6379 --save ""
      for _ in $(seq 1 20); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.25; done
    fi
  fi
}
