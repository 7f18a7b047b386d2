#!/usr/bin/env bash
# `make demo`: migrate, seed, then run the portal, a Celery worker, Celery beat and a live data source
# until Ctrl-C (which stops all of them). Runs on the embedded defaults (SQLite under var/, local-memory
# cache, kombu's filesystem broker under var/celery/) unless DATABASE_URL/REDIS_URL/CELERY_BROKER_URL are set.
set -euo pipefail
cd "$(dirname "$0")/.."
PY=${PY:-.venv/bin/python}
HOST=${HOST:-127.0.0.1}
PORT=${PORT:-8000}
export DEBUG=1 BEACON_DEMO=1
export BEACON_URL="http://$HOST:$PORT"
# Demo webhooks and scrape targets (the simulated Kong nodes) live on loopback; links in emails point at this demo.
export SCRAPE_ALLOW_PRIVATE=1 PUBLIC_URL="$BEACON_URL"
KONG_SIM_PORTS=${KONG_SIM_PORTS:-$((PORT + 1100)),$((PORT + 1101))}
# The console keeps the banner and warnings; every record (access lines included) goes to logs/portal.log.
export LOG_CONSOLE_LEVEL=${LOG_CONSOLE_LEVEL:-WARNING}

# Also checked by `make demo` before the venv is built; here for a direct scripts/demo.sh.
"$PY" scripts/check_port.py "$HOST" "$PORT"

# The environment manage.py needs to act on this demo (make manage ARGS=..., or source it yourself).
mkdir -p var
{
  echo "# Written by make demo: the environment its manage.py commands ran with."
  echo "# make manage ARGS='createsuperuser'  or  set -a; . var/demo.env; set +a; .venv/bin/python manage.py ..."
  echo "DEBUG=1"
  echo "BEACON_DEMO=1"
  for name in DATABASE_URL REDIS_URL CACHE_URL CELERY_BROKER_URL BEACON_VAR_DIR LOG_DIR TIMESERIES_BACKEND \
    INFLUX_URL INFLUX_ORG INFLUX_BUCKET \
    SCRAPE_ALLOW_PRIVATE PUBLIC_URL; do
    if [ -n "${!name:-}" ]; then echo "$name=${!name}"; fi
  done
} > var/demo.env

echo "==> Applying migrations (also writes the beat schedules: setup_periodic_tasks)"
$PY manage.py migrate --noinput
echo "==> Seeding the demo organization, users, devices and keys"
$PY manage.py demo_seed --url "$BEACON_URL"
echo "==> Seeding the demo gateway services, scrape targets (simulated Kong nodes) and quotas"
$PY manage.py quotas_demo_seed --ports "$KONG_SIM_PORTS"
echo "==> Seeding the demo alert rules (offline, CPU busy, disk) and the simulated device edge-sim"
$PY manage.py alerts_demo_seed

logins() {
  cat <<TXT
    Admin:     $BEACON_URL/admin/   (login admin / admin)
    Customer:  customer / customer at $BEACON_URL/ (a viewer of the Demo org: overview, device pages, live charts)
    Keys:      var/demo-keys.env    manage.py: make manage ARGS='issuekey --help'
TXT
}
pids=()
banner_shown=0
cleanup() {
  trap - EXIT INT TERM
  echo; echo "==> Stopping the demo"
  if [ "$banner_shown" = 1 ]; then echo "  The demo's logins, for next time (make demo):"; logins; fi
  kill "${pids[@]}" 2>/dev/null || true
  wait 2>/dev/null || true
}
trap cleanup EXIT INT TERM

echo "==> Starting the portal on $BEACON_URL"
# One worker: the demo's local-memory cache and rate-limit counters are per process.
.venv/bin/gunicorn portal.wsgi --bind "$HOST:$PORT" --workers 1 --threads 4 \
  --log-level warning &
pids+=($!)

echo "==> Starting two simulated Kong nodes (2.8 and 3.7 formats) on $KONG_SIM_PORTS (var/kong.log)"
$PY manage.py kong_simulator --host "$HOST" --ports "$KONG_SIM_PORTS" >var/kong.log 2>&1 &
pids+=($!)

echo "==> Starting the Celery worker and beat (logs in var/worker.log, var/beat.log)"
mkdir -p var
# One process each keeps the demo light; the worker's child runs tasks, time limits apply.
.venv/bin/celery -A portal worker --concurrency 1 --without-gossip --without-mingle --loglevel info \
  >var/worker.log 2>&1 &
pids+=($!)
.venv/bin/celery -A portal beat --loglevel info >var/beat.log 2>&1 &
pids+=($!)

for _ in $(seq 50); do
  curl -fsS "$BEACON_URL/health" >/dev/null 2>&1 && break
  sleep 0.2
done
# gunicorn gone means it could not bind (a server took the port meanwhile): never show the banner then,
# the /health that answered would be the other server's.
kill -0 "${pids[0]}" 2>/dev/null \
  || { echo "The portal did not start on $BEACON_URL (port taken?); pick another: make demo PORT=$((PORT + 1))" >&2; exit 1; }

broker=${CELERY_BROKER_URL:-filesystem://}
for name in worker beat; do
  grep -qs "celery@\|beat: Starting" "var/$name.log" || sleep 2
done
for pid in "${pids[@]}"; do
  kill -0 "$pid" 2>/dev/null || { echo "A demo process exited early; see var/worker.log, var/beat.log"; exit 1; }
done

# shellcheck disable=SC1091
set -a; source var/demo-keys.env; set +a
echo "==> Starting the live data source"
scripts/demo_source.sh &
pids+=($!)
# edge-sim crosses the demo alert rules on a 7-minute loop: busy CPU, then idle, then silent (offline).
$PY manage.py alerts_demo_source >var/alerts-source.log 2>&1 &
pids+=($!)
# Two short Locust runs (a baseline, then a run compared with it) for the load-test pages.
scripts/demo_loadtests.sh &
pids+=($!)

cat <<TXT

  Beacon is running: $BEACON_URL/
    Running:   web (gunicorn), Celery worker, Celery beat (${broker%%:*} broker), live data source,
               two simulated Kong nodes on $KONG_SIM_PORTS (scraped every 10 s)
$(logins)
    API docs:  $BEACON_URL/api/docs/
    Readiness: $BEACON_URL/health/ready   (names the broker and the beat's last tick)
    Bandwidth: curl -H "Authorization: Bearer \$BEACON_DEMO_READ_KEY" '$BEACON_URL/api/v1/services/shop/bandwidth?start=-15m&step=1m'
    Quotas:    curl -H "Authorization: Bearer \$BEACON_DEMO_READ_KEY" '$BEACON_URL/api/v1/quotas/'
               (shop's hourly quota crosses 80 % about 3 minutes in: the email is printed in var/worker.log)
    Alerts:    $BEACON_URL/o/demo/alerts/  and  curl -H "Authorization: Bearer \$BEACON_DEMO_READ_KEY" '$BEACON_URL/api/v1/alerts/'
               (edge-sim: "CPU busy" fires ~2 min in, resolves ~3 min later, then "Device offline"; emails in var/worker.log)
    Load tests: $BEACON_URL/o/demo/loadtests/ (two short Locust runs: a baseline and one compared with it)
    History:   curl -H "Authorization: Bearer \$BEACON_DEMO_READ_KEY" '$BEACON_URL/api/v1/history?device=edge-01&measurement=cpu&field=usage_user'
  Logs: logs/portal.log (every request), var/worker.log, var/beat.log. Press Ctrl-C to stop.

TXT
banner_shown=1
wait -n "${pids[@]}"
