#!/bin/sh
# Install the Beacon edge agent on a Linux device (Python 3.9+, systemd).
#
#   sudo ./install.sh --url https://beacon.example.com --key bcn_... [--device NAME]
#
# Installs the package into /opt/beacon-agent (a venv; no dependencies are downloaded:
# the agent is standard library only), writes /etc/beacon-agent.toml (mode 0600) unless it
# exists, installs and starts the systemd unit, then runs `beacon-agent check`.
set -eu

URL="" KEY="" DEVICE="" PREFIX=/opt/beacon-agent CONFIG=/etc/beacon-agent.toml
HERE=$(cd "$(dirname "$0")" && pwd)

usage() { sed -n '2,9p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
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

[ "$(id -u)" = 0 ] || { echo "install.sh: run as root (sudo $0 ...)" >&2; exit 1; }
PY=$(command -v python3 || true)
[ -n "$PY" ] || { echo "install.sh: python3 not found; install it (apt install python3)" >&2; exit 1; }
"$PY" -c 'import sys; sys.exit(sys.version_info < (3, 9))' \
  || { echo "install.sh: Python 3.9+ required, found $("$PY" -V 2>&1)" >&2; exit 1; }
command -v systemctl >/dev/null || { echo "install.sh: systemd not found; run 'beacon-agent run' under your init system" >&2; exit 1; }

echo "==> Installing beacon-agent into $PREFIX"
"$PY" -m venv "$PREFIX"
# --no-index/--no-build-isolation: nothing is fetched from the network; setuptools comes with the venv.
"$PREFIX/bin/pip" install --quiet --no-index --no-build-isolation "$HERE" \
  || "$PREFIX/bin/pip" install --quiet "$HERE"
ln -sf "$PREFIX/bin/beacon-agent" /usr/local/bin/beacon-agent

if [ ! -e "$CONFIG" ]; then
  [ -n "$URL" ] && [ -n "$KEY" ] || { echo "install.sh: $CONFIG does not exist; pass --url and --key" >&2; exit 1; }
  echo "==> Writing $CONFIG"
  umask 077
  {
    echo "# Beacon edge agent; every key is documented in docs/agent.md"
    echo "url = \"$URL\""
    echo "api_key = \"$KEY\""
    [ -n "$DEVICE" ] && echo "device = \"$DEVICE\""
    echo "interval = 10"
    echo "flush_interval = 10"
    echo "collection_jitter = 2"
    echo "spool_max_bytes = \"64MiB\""
  } > "$CONFIG"
  chmod 0600 "$CONFIG"
else
  echo "==> Keeping the existing $CONFIG"
fi

echo "==> Installing the systemd unit"
install -m 0644 "$HERE/systemd/beacon-agent.service" /etc/systemd/system/beacon-agent.service
systemctl daemon-reload
echo "==> Checking connectivity and the key"
BEACON_CONFIG="$CONFIG" BEACON_STATE_DIR=/var/lib/beacon-agent /usr/local/bin/beacon-agent check \
  || echo "install.sh: the check failed (see above); the agent will spool until it succeeds" >&2
systemctl enable --now beacon-agent.service
systemctl --no-pager --lines=5 status beacon-agent.service || true
echo "==> Done. Logs: journalctl -u beacon-agent -f"
