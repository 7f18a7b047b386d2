#!/usr/bin/env bash
# `make demo`: two short headless Locust runs against the demo portal, so the load-test pages show a baseline
# and a run compared with it (var/locust-demo.log). Needs BEACON_URL and BEACON_DEMO_LOADTEST_KEY (demo_seed).
set -euo pipefail
cd "$(dirname "$0")/.."
LOCUST=.venv/bin/locust
LOG=var/locust-demo.log
export PYTHONPATH="$PWD/clients/python${PYTHONPATH:+:$PYTHONPATH}"
trap 'kill $(jobs -p) 2>/dev/null; exit 0' TERM INT
run() {
  "$LOCUST" -f scripts/demo_locustfile.py --headless -u 3 -r 3 -t "$1" --host "$BEACON_URL" --only-summary \
    --beacon-url "$BEACON_URL" --beacon-key "$BEACON_DEMO_LOADTEST_KEY" --beacon-plan demo-portal \
    --beacon-tag source=make-demo "${@:2}" >>"$LOG" 2>&1 &
  wait $! || true
}
: >"$LOG"
run 8s
first=$(curl -fsS -H "Authorization: Bearer $BEACON_DEMO_LOADTEST_KEY" "$BEACON_URL/api/v1/loadtests/?plan=demo-portal&state=completed" \
  | .venv/bin/python -c 'import json,sys; d=json.load(sys.stdin); d=d.get("results", d) if isinstance(d, dict) else d; print(d[0]["uuid"] if d else "")')
if [ -n "$first" ]; then
  curl -fsS -X POST -H "Authorization: Bearer $BEACON_DEMO_LOADTEST_KEY" "$BEACON_URL/api/v1/loadtests/$first/baseline" >/dev/null
fi
run 8s --beacon-check "p95<500" --beacon-check "p95_regression<50%"
# demo.sh stops everything when one of its processes ends: stay until it stops us.
sleep infinity &
wait $!
