#!/usr/bin/env bash
# The demo's live data: the real edge agent, pushing this machine's metrics as edge-01.
# demo.sh exports BEACON_URL and the keys from var/demo-keys.env (BEACON_EDGE01_KEY is bound to edge-01).
set -euo pipefail
cd "$(dirname "$0")/.."
export PYTHONPATH=agent BEACON_CONFIG=none BEACON_API_KEY="$BEACON_EDGE01_KEY" BEACON_DEVICE=edge-01 \
  BEACON_STATE_DIR=var/agent BEACON_INTERVAL=5 BEACON_FLUSH_INTERVAL=5
exec .venv/bin/python -m beacon_agent run
