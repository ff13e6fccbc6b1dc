#!/usr/bin/env bash
# Try the README's commands as a new user would, on a bare Debian 12 that has only git, make and python3:
# a root filesystem made with debootstrap, entered with chroot (/proc, /sys, /dev mounted), a fresh
# clone of this repository's HEAD inside.  Needs root, debootstrap and Debian's mirror.
#
#   bash scripts/cleanroom.sh                 # `make run` until the home page answers (timed), then `make test`
#   bash scripts/cleanroom.sh "make test"     # or any command, run in the clone (Ctrl-C ends it)
#
# The chroot shares this machine's network, so Postgres, Redis and Kafka must not already listen on
# 5432, 6379 and 9092 here (the clean room would find them and not start its own).  The root filesystem
# is kept in $CLEANROOM (default /var/tmp/cleanroom/root) between runs; delete it for a pristine one.
set -euo pipefail
REPO="$(cd "$(dirname "$0")/.." && pwd)"
CLEANROOM="${CLEANROOM:-/var/tmp/cleanroom/root}"
COMMAND="${1:-bash /tmp/cleanroom-check.sh}"

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
# The clean room is on this machine's network.  Where that network reaches the registries through a
# TLS-inspecting proxy, the machine trusts extra CA certificates: they (and pip's setting that points at the
# system bundle) are the only things copied in from the host; a Debian machine on the open internet needs neither.
if compgen -G "/usr/local/share/ca-certificates/*.crt" >/dev/null; then
  mkdir -p "$CLEANROOM/usr/local/share/ca-certificates"
  cp /usr/local/share/ca-certificates/*.crt "$CLEANROOM/usr/local/share/ca-certificates/"
  chroot "$CLEANROOM" update-ca-certificates >/dev/null
fi
[ -f /etc/pip.conf ] && cp /etc/pip.conf "$CLEANROOM/etc/pip.conf"

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
mount_into /dev /dev --rbind
mount_into devpts /dev/pts -t devpts

echo "==> a fresh clone of $(git -C "$REPO" rev-parse --short HEAD) in /src/tradelink"
rm -rf "$CLEANROOM/src/tradelink"
mkdir -p "$CLEANROOM/src"
git clone -q "$REPO" "$CLEANROOM/src/tradelink"
cp -r "$REPO/../shared" "$CLEANROOM/src/shared" 2>/dev/null || true

# The default check: the README's two commands as a new user runs them.
cat > "$CLEANROOM/tmp/cleanroom-check.sh" <<'CHECK'
set -eu
cd /src/tradelink
started=$(date +%s)
setsid make run > /tmp/make-run.log 2>&1 &
run=$!
python3 - <<'PY'
import sys, time, urllib.request
for _ in range(1800):
    try:
        with urllib.request.urlopen("http://127.0.0.1:8000/", timeout=2) as page:
            sys.exit(0 if page.status == 200 else 1)
    except OSError:
        time.sleep(0.5)
sys.exit("make run: the home page never answered; see /tmp/make-run.log")
PY
echo "==> make run: http://127.0.0.1:8000/ answered $(( $(date +%s) - started )) s after a bare start"
sleep 20  # the consumers and relay settle; then what the stack holds in memory
python3 - <<'PY'
import collections, pathlib
rss = collections.Counter()
for status in pathlib.Path("/proc").glob("[0-9]*/status"):
    try:
        if str(pathlib.Path(status.parent, "root").readlink()) != "/":
            continue  # a process of the machine outside the clean room
        fields = dict(line.split(":", 1) for line in status.read_text().splitlines() if ":" in line)
    except OSError:
        continue
    if "VmRSS" in fields:
        rss[fields["Name"].strip()] += int(fields["VmRSS"].split()[0]) // 1024
for name, mb in rss.most_common():
    if mb >= 20:
        print(f"    {name:16} {mb:6} MB")
print(f"    {'all':16} {sum(rss.values()):6} MB")
PY
kill -INT -- -"$run"; wait "$run" || true
tail -3 /tmp/make-run.log
started=$(date +%s)
make test
echo "==> make test: $(( $(date +%s) - started )) s"
CHECK

echo "==> in the clean room: $COMMAND"
chroot "$CLEANROOM" /usr/bin/env -i HOME=/root PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin \
  LANG=C.UTF-8 TERM="${TERM:-dumb}" SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt bash -c "cd /src/tradelink && $COMMAND"
