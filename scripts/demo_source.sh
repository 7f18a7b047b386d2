#!/usr/bin/env bash
# The demo's live data: the real edge agent, pushing this machine's metrics as edge-01.
set -euo pipefail
cd "$(dirname "$0")/.."
exec .venv/bin/python scripts/demo_pusher.py
