#!/usr/bin/env bash
# Try the README's commands as a new user would, on a bare Debian 12 that has only git, make and python3:
# a root filesystem made with debootstrap, entered with chroot (/proc, /sys, /dev mounted), a fresh
# clone of this repository's HEAD inside.  Needs root, debootstrap and Debian's mirror.
#
#   bash scripts/cleanroom.sh                 # make test in the clean room
#   bash scripts/cleanroom.sh "make run"      # or any command, run in the clone (Ctrl-C ends it)
#
# The chroot shares this machine's network, so Postgres, Redis and Kafka must not already listen on
# 5432, 6379 and 9092 here (the clean room would find them and not start its own).  The root filesystem
# is kept in $CLEANROOM (default /var/tmp/cleanroom/root) between runs; delete it for a pristine one.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CLEANROOM="${CLEANROOM:-/var/tmp/cleanroom/root}"
COMMAND="${1:-make test}"

[ "$(id -u)" -eq 0 ] || { echo "run as root (debootstrap and chroot need it)" >&2; exit 1; }
command -v debootstrap >/dev/null || { apt-get update -qq && apt-get install -y -qq debootstrap >/dev/null; }
for port in 5432 6379 9092; do
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    echo "port $port is in use on this machine: stop that service first (the clean room starts its own)" >&2
    exit 1
  fi
done

if [ ! -x "$CLEANROOM/usr/bin/python3" ]; then
  echo "==> debootstrap: Debian 12 (bookworm) with git, make, python3 into $CLEANROOM"
  mkdir -p "$CLEANROOM"
  debootstrap --variant=minbase --include=git,make,python3,ca-certificates bookworm "$CLEANROOM" http://deb.debian.org/debian
fi
cp /etc/resolv.conf "$CLEANROOM/etc/resolv.conf"

mounted=()
cleanup() {
  # Services the command left running inside (Postgres, Redis are daemons there too).
  for proc in /proc/[0-9]*; do
    [ "$(readlink "$proc/root" 2>/dev/null)" = "$CLEANROOM" ] && kill "${proc#/proc/}" 2>/dev/null || true
  done
  sleep 2
  for ((i = ${#mounted[@]} - 1; i >= 0; i--)); do umount -l "${mounted[$i]}" 2>/dev/null || true; done
}
trap cleanup EXIT
mount_into() { mkdir -p "$CLEANROOM$2"; mount "${@:3}" "$1" "$CLEANROOM$2"; mounted+=("$CLEANROOM$2"); }
mount_into proc /proc -t proc
mount_into sysfs /sys -t sysfs
mount_into /dev /dev --bind
mount_into devpts /dev/pts -t devpts

echo "==> a fresh clone of $(git -C "$REPO" rev-parse --short HEAD) in /src/tradelink"
rm -rf "$CLEANROOM/src/tradelink"
mkdir -p "$CLEANROOM/src"
git clone -q "$REPO" "$CLEANROOM/src/tradelink"
cp -r "$REPO/../shared" "$CLEANROOM/src/shared" 2>/dev/null || true

echo "==> in the clean room: $COMMAND"
chroot "$CLEANROOM" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 TERM="${TERM:-dumb}" bash -c "cd /src/tradelink && $COMMAND"
