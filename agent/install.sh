#!/bin/sh
# Install the Beacon edge agent on a Linux device (Python 3.9+, systemd).
#
#   sudo ./install.sh --url https://beacon.example.com --key bcn_... [--device NAME] [--python PATH]
# (--device is optional: empty, the agent uses the key's bound device, else the hostname;
#  --python defaults to /usr/bin/python3, else python3 on PATH resolved to the real interpreter)
#
# Copies the agent (standard library only: no pip, no venv, nothing downloaded) to
# /opt/beacon-agent, writes the /usr/local/bin/beacon-agent launcher, writes
# /etc/beacon-agent.toml (mode 0600) unless it exists, installs and starts the systemd unit,
# then runs `beacon-agent check`. DESTDIR=/some/root stages the files there and skips systemd.
set -eu

URL="" KEY="" DEVICE="" PREFIX=/opt/beacon-agent PYTHON=""
DESTDIR=${DESTDIR:-}
HERE=$(cd "$(dirname "$0")" && pwd)

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --url) URL=$2; shift 2 ;;
    --key) KEY=$2; shift 2 ;;
    --device) DEVICE=$2; shift 2 ;;
    --prefix) PREFIX=$2; shift 2 ;;
    --python) PYTHON=$2; shift 2 ;;
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
# The launcher names the interpreter itself, never a version-manager shim (pyenv, asdf): a shim picks its
# Python from the caller's environment and home directory, which the service (DynamicUser, ProtectHome)
# does not have. The system's python3 first; else python3 on PATH, resolved to what it really runs.
if [ -n "$PYTHON" ]; then
  CANDIDATE=$PYTHON
elif [ -x /usr/bin/python3 ] && /usr/bin/python3 -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null; then
  CANDIDATE=/usr/bin/python3
else
  CANDIDATE=$(command -v python3 || true)
fi
[ -n "$CANDIDATE" ] || { echo "install.sh: python3 not found; install it (e.g. apt install python3)" >&2; exit 1; }
"$CANDIDATE" -c 'import sys; sys.exit(sys.version_info < (3, 9))' 2>/dev/null \
  || { echo "install.sh: Python 3.9+ required, $CANDIDATE is $("$CANDIDATE" -V 2>&1); pass --python PATH" >&2; exit 1; }
PY=$("$CANDIDATE" -c 'import sys; print(sys.executable)')
case "$PY" in
  /root/*|/home/*) echo "install.sh: warning: $PY is in a home directory, which the service cannot read (ProtectHome); pass --python /usr/bin/python3" >&2 ;;
esac

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
