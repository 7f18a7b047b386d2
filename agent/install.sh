#!/bin/sh
# Install the Beacon edge agent on a Linux device (Python 3.9+, systemd).
#
#   sudo ./install.sh --url https://beacon.example.com --key bcn_... [--device NAME]
# (--device is optional: empty, the agent uses the key's bound device, else the hostname)
#
# Copies the agent (standard library only: no pip, no venv, nothing downloaded) to
# /opt/beacon-agent, writes the /usr/local/bin/beacon-agent launcher, writes
# /etc/beacon-agent.toml (mode 0600) unless it exists, installs and starts the systemd unit,
# then runs `beacon-agent check`. DESTDIR=/some/root stages the files there and skips systemd.
set -eu

URL="" KEY="" DEVICE="" PREFIX=/opt/beacon-agent
DESTDIR=${DESTDIR:-}
HERE=$(cd "$(dirname "$0")" && pwd)

usage() { sed -n '2,10p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL=$2; shift 2 ;;
    --key) KEY=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    -h|--help) usage 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage 2 ;;
  esac
done
CONFIG="$DESTDIR/etc/beacon-agent.toml"

if [ -z "$DESTDIR" ]; then
  [ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo $0 ...)" >&2; exit 1; }
  command -v systemctl >/dev/null \
    || { echo "install.sh: systemd not found; run 'beacon-agent run' under your init system" >&2; exit 1; }
fi
PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "install.sh: python3 not found; install it (e.g. apt install python3)" >&2; exit 1; }
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
  || { echo "install.sh: Python 3.9+ required, found $("$PY" -V 2>&1)" >&2; exit 1; }

echo "==> Installing beacon-agent into $DESTDIR$PREFIX"
mkdir -p "$DESTDIR$PREFIX/lib" "$DESTDIR/usr/local/bin" "$DESTDIR/etc/systemd/system"
rm -rf "$DESTDIR$PREFIX/lib/beacon_agent"
cp -R "$HERE/beacon_agent" "$DESTDIR$PREFIX/lib/"
find "$DESTDIR$PREFIX/lib" -name __pycache__ -prune -exec rm -rf {} +
"$PY" -m compileall -q "$DESTDIR$PREFIX/lib/beacon_agent"
cat > "$DESTDIR/usr/local/bin/beacon-agent" <<LAUNCHER
#!/bin/sh
# beacon-agent launcher written by install.sh (the agent is standard library only).
PYTHONPATH="$PREFIX/lib" exec "$PY" -m beacon_agent "\$@"
LAUNCHER
chmod 0755 "$DESTDIR/usr/local/bin/beacon-agent"

if [ ! -e "$CONFIG" ]; then
  { [ -n "$URL" ] && [ -n "$KEY" ]; } || { echo "install.sh: $CONFIG does not exist; pass --url and --key" >&2; exit 1; }
  echo "==> Writing $CONFIG"
  (
    umask 077
    {
      echo "# Beacon edge agent; every setting is documented in docs/agent.md"
      echo "url = \"$URL\""
      echo "api_key = \"$KEY\""
      if [ -n "$DEVICE" ]; then echo "device = \"$DEVICE\""; fi
      echo "interval = 10"
      echo "flush_interval = 10"
      echo "collection_jitter = 2"
      echo "spool_max_bytes = \"64MiB\""
    } > "$CONFIG"
  )
  chmod 0600 "$CONFIG"
else
  echo "==> Keeping the existing $CONFIG"
fi

echo "==> Installing the systemd unit"
install -m 0644 "$HERE/systemd/beacon-agent.service" "$DESTDIR/etc/systemd/system/beacon-agent.service"
if [ -n "$DESTDIR" ]; then
  echo "==> Staged under $DESTDIR (systemd steps skipped)"
  exit 0
fi
systemctl daemon-reload
echo "==> Checking connectivity and the key"
BEACON_CONFIG="$CONFIG" /usr/local/bin/beacon-agent check \
  || echo "install.sh: the check failed (see above); the agent will spool until it succeeds" >&2
systemctl enable --now beacon-agent.service
systemctl --no-pager --lines=5 status beacon-agent.service || true
echo "==> Done. Logs: journalctl -u beacon-agent -f"
