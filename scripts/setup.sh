#!/usr/bin/env bash
# Idempotent set-up shared by `make run`, `make test` and `make bench` on a fresh Debian machine:
# missing Debian packages installed with apt (PostgreSQL, Redis, Java 17, Maven, python3-venv),
# local Postgres and Redis started when they are not running, the development database role and
# database created, the virtualenv with the pinned packages, Apache Kafka's jars fetched.
# Sourced by scripts/run.sh, scripts/test.sh and scripts/bench.sh.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENV="$ROOT/.venv"
PY="$VENV/bin/python"
export PYTHONUNBUFFERED=1

# The development database: a role of its own with a development-only password (the default
# DATABASE_URL in marketplace/settings.py); production sets DATABASE_URL and none of this runs.
DEV_DB_USER=marketplace
DEV_DB_PASSWORD=marketplace

log() { printf '\033[1;34m==>\033[0m %s\n' "$*"; }
die() { printf '\033[1;31m==> %s\033[0m\n' "$*" >&2; exit 1; }

as_root() { if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi; }
as_postgres() { if [ "$(id -u)" -eq 0 ]; then runuser -u postgres -- "$@"; else sudo -u postgres "$@"; fi; }

port_in_use() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

APT_UPDATED=""
ensure_apt() {
  # $@: Debian packages; installed only if missing.
  local missing=()
  for pkg in "$@"; do dpkg -s "$pkg" >/dev/null 2>&1 || missing+=("$pkg"); done
  if [ ${#missing[@]} -gt 0 ]; then
    log "installing Debian packages: ${missing[*]}"
    if [ -z "$APT_UPDATED" ]; then as_root apt-get update -qq; APT_UPDATED=1; fi
    as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
  fi
}

ensure_venv() {
  # $1: requirements file to install (requirements.txt or requirements-dev.txt)
  local req="$ROOT/$1" stamp base
  if [ ! -x "$PY" ]; then
    base="$(command -v python3.11 || command -v python3 || true)"
    [ -n "$base" ] || die "python3 (3.11) is needed: apt-get install python3"
    if ! "$base" -c "import ensurepip, venv" 2>/dev/null; then ensure_apt python3-venv; fi
    log "creating virtualenv in .venv"
    "$base" -m venv "$VENV"
  fi
  stamp="$VENV/.installed-$(cat "$ROOT/requirements.txt" "$req" | sha256sum | cut -c1-16)-$1"
  if [ ! -f "$stamp" ]; then
    log "installing $1"
    "$PY" -m pip install --disable-pip-version-check -q -r "$req"
    touch "$stamp"
  fi
}

ensure_postgres() {
  [ -z "${DATABASE_URL:-}" ] || return 0  # an operator's database: theirs to run
  ensure_apt postgresql
  if ! pg_isready -q -h 127.0.0.1 -p 5432 2>/dev/null; then
    if port_in_use 5432; then
      die "port 5432 is in use by something that is not answering as PostgreSQL; stop it, or set DATABASE_URL"
    fi
    local version
    version="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    [ -n "$version" ] || die "PostgreSQL is installed but has no cluster: run pg_createcluster --start <version> main"
    log "starting local PostgreSQL $version"
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
    pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL did not start; see /var/log/postgresql/"
  fi
  # A stack (Daphne's threads, sixteen consumers, the relay, the payments executor) and three test workers beside a
  # benchmark open more than PostgreSQL's default 100 connections; a refused connection is a 500 on some page.
  local want_connections=300 have_connections cluster
  have_connections="$(as_postgres psql -tAc 'SHOW max_connections')"
  if [ "${have_connections:-0}" -lt "$want_connections" ]; then
    cluster="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1)"
    log "raising the local PostgreSQL's max_connections from $have_connections to $want_connections"
    as_postgres psql -qc "ALTER SYSTEM SET max_connections = $want_connections"
    as_root pg_ctlcluster --skip-systemctl-redirect "$cluster" main restart
    for _ in $(seq 1 60); do pg_isready -q -h 127.0.0.1 -p 5432 && break; sleep 0.5; done
    pg_isready -q -h 127.0.0.1 -p 5432 || die "PostgreSQL did not come back after raising max_connections; see /var/log/postgresql/"
  fi
  local db="${MARKETPLACE_DB_NAME:-marketplace}"
  if ! as_postgres psql -tAc "SELECT 1 FROM pg_roles WHERE rolname='$DEV_DB_USER'" | grep -q 1; then
    log "creating the development database role $DEV_DB_USER"
    # CREATEDB: the test run creates its own database.  pg_signal_backend: fault tests end connections.
    as_postgres psql -qc "CREATE ROLE $DEV_DB_USER LOGIN CREATEDB PASSWORD '$DEV_DB_PASSWORD'"
    as_postgres psql -qc "GRANT pg_signal_backend TO $DEV_DB_USER"
  fi
  if ! as_postgres psql -tAc "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1; then
    log "creating database $db"
    as_postgres psql -qc "CREATE DATABASE $db OWNER $DEV_DB_USER"
  fi
}

ensure_redis() {
  [ -z "${REDIS_URL:-}" ] || return 0
  ensure_apt redis-server
  if ! redis-cli -h 127.0.0.1 -p 6379 ping >/dev/null 2>&1; then
    port_in_use 6379 && die "port 6379 is in use by something that is not Redis; stop it, or set REDIS_URL"
    log "starting local Redis"
    mkdir -p "$ROOT/var"
    redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no \
      --dir "$ROOT/var" --logfile "$ROOT/var/redis.log"
    for _ in $(seq 1 40); do redis-cli ping >/dev/null 2>&1 && break; sleep 0.25; done
    redis-cli ping >/dev/null 2>&1 || die "Redis did not start; see var/redis.log"
  fi
}

ensure_kafka_jars() {
  # The development broker is Apache Kafka from Maven Central, run on the machine's Java.
  [ -z "${KAFKA_BOOTSTRAP_SERVERS:-}" ] || return 0
  command -v java >/dev/null 2>&1 || ensure_apt openjdk-17-jre-headless
  command -v mvn >/dev/null 2>&1 || ensure_apt maven
  "$PY" -m marketplace.devbroker --fetch >/dev/null
}

ensure_local_services() {
  ensure_postgres
  ensure_redis
  ensure_kafka_jars
}
