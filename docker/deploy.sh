#!/usr/bin/env bash
# Install or upgrade Beacon on a systemd host from this checkout (docs/operations.md "systemd").
#
#   sudo docker/deploy.sh [--beat] [--no-systemctl]
#
#   --beat          also enable and restart beacon-beat (exactly ONE host of a deployment runs beat)
#   --no-systemctl  install and migrate, but leave systemd alone (image builds, tests, a dry run)
# Environment: BEACON_PREFIX (/opt/beacon), BEACON_ENV_FILE (/etc/beacon/portal.env),
#   BEACON_SYSTEMD_DIR (/etc/systemd/system), BEACON_USER (beacon), PYTHON (python3, >= 3.11).
#
# Idempotent: run it again for every upgrade. One line per step; the first failing step stops the
# deploy with the command's last output and what fixes it. Command output goes to $PREFIX/var/deploy.log.
set -euo pipefail

SOURCE=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${BEACON_PREFIX:-/opt/beacon}
ENV_FILE=${BEACON_ENV_FILE:-/etc/beacon/portal.env}
SYSTEMD_DIR=${BEACON_SYSTEMD_DIR:-/etc/systemd/system}
SERVICE_USER=${BEACON_USER:-beacon}
PYTHON=${PYTHON:-python3}
SYSTEMCTL=1 BEAT=0
usage() { sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-0}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --no-systemctl) SYSTEMCTL=0; shift ;;
    --beat) BEAT=1; shift ;;
    -h|--help) usage 0 ;;
    *) echo "deploy.sh: unknown option $1" >&2; usage 2 ;;
  esac
done

STEPS=11 step_no=0
LOG=$PREFIX/var/deploy.log
mkdir -p "$PREFIX/var" "$PREFIX/logs"
: > "$LOG"
# step "what" "how to fix it" command...: one line, the command's output to the log.
step() {
  local what=$1 fix=$2
  shift 2
  step_no=$((step_no + 1))
  printf '[%d/%d] %s ... ' "$step_no" "$STEPS" "$what"
  echo "### [$step_no/$STEPS] $what: $*" >> "$LOG"
  if "$@" >> "$LOG" 2>&1; then
    echo "ok"
  else
    echo "FAILED"
    tail -n 15 "$LOG" | sed 's/^/    /' >&2
    echo "deploy.sh: step $step_no/$STEPS ($what) failed; $fix. Full output: $LOG" >&2
    exit 1
  fi
}
skip() { step_no=$((step_no + 1)); printf '[%d/%d] %s ... skipped (%s)\n' "$step_no" "$STEPS" "$1" "$2"; }
as_service_user() {
  if [ "$SYSTEMCTL" = 1 ] && [ "$(id -u)" = 0 ]; then runuser -u "$SERVICE_USER" -- "$@"; else "$@"; fi
}
# manage.py with the portal's environment file, as the services run it.
manage() {
  as_service_user env -i PATH=/usr/local/bin:/usr/bin:/bin HOME="$PREFIX" \
    bash -c 'set -a; . "$1"; set +a; shift; cd "$0" && exec .venv/bin/python manage.py "$@"' \
    "$PREFIX" "$ENV_FILE" "$@"
}

check_python() {
  "$PYTHON" -c 'import sys; sys.exit(sys.version_info < (3, 11))' && "$PYTHON" -V
}
check_env_file() {
  [ -r "$ENV_FILE" ] && grep -Eq '^(SECRET_KEY|SECRET_KEY_FILE)=' "$ENV_FILE" && grep -Eq '^DATABASE_URL(_FILE)?=' "$ENV_FILE"
}
ensure_user() {
  id -u "$SERVICE_USER" >/dev/null 2>&1 \
    || useradd --system --home-dir "$PREFIX" --shell /usr/sbin/nologin "$SERVICE_USER"
  chown -R "$SERVICE_USER:$SERVICE_USER" "$PREFIX/var" "$PREFIX/logs"
}
install_code() {
  # Each package is replaced whole, so a file deleted upstream does not linger in the install.
  local packages=(portal)
  local d
  for d in "$SOURCE"/*/apps.py; do
    d=$(basename "$(dirname "$d")")
    [ "$d" = portal ] || packages+=("$d")
  done
  for d in "${packages[@]}" requirements; do
    rm -rf "$PREFIX/$d.new"
    cp -R "$SOURCE/$d" "$PREFIX/$d.new"
    find "$PREFIX/$d.new" -name __pycache__ -prune -exec rm -rf {} +
    rm -rf "$PREFIX/$d"
    mv "$PREFIX/$d.new" "$PREFIX/$d"
  done
  cp "$SOURCE/manage.py" "$SOURCE/gunicorn.conf.py" "$PREFIX/"
  mkdir -p "$PREFIX/bin"
  cat > "$PREFIX/bin/beacon-manage" <<WRAPPER
#!/bin/sh
# manage.py with the portal's environment ($ENV_FILE), as the services run it. Written by deploy.sh.
set -a; . "$ENV_FILE"; set +a
cd "$PREFIX" && exec .venv/bin/python manage.py "\$@"
WRAPPER
  chmod 0755 "$PREFIX/bin/beacon-manage"
  echo "installed: ${packages[*]}"
}
install_venv() {
  local want have=""
  want=$("$PYTHON" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  [ -x "$PREFIX/.venv/bin/python" ] && have=$("$PREFIX/.venv/bin/python" -c 'import sys; print("%d.%d" % sys.version_info[:2])')
  if [ "$have" != "$want" ]; then
    echo "creating $PREFIX/.venv with Python $want (was: ${have:-none})"
    rm -rf "$PREFIX/.venv"
    "$PYTHON" -m venv "$PREFIX/.venv"
  fi
  "$PREFIX/.venv/bin/pip" install -q --disable-pip-version-check --require-hashes -r "$PREFIX/requirements/base.txt"
}
install_units() {
  mkdir -p "$SYSTEMD_DIR"
  local unit
  for unit in beacon-web.service beacon-worker.service beacon-beat.service; do
    sed -e "s#/opt/beacon#$PREFIX#g" -e "s#/etc/beacon/portal.env#$ENV_FILE#g" \
      -e "s#^User=beacon#User=$SERVICE_USER#" -e "s#^Group=beacon#Group=$SERVICE_USER#" \
      "$SOURCE/docker/systemd/$unit" > "$SYSTEMD_DIR/$unit.new"
    mv "$SYSTEMD_DIR/$unit.new" "$SYSTEMD_DIR/$unit"
  done
}
restart_units() {
  local units=(beacon-web.service beacon-worker.service)
  [ "$BEAT" = 1 ] && units+=(beacon-beat.service)
  systemctl daemon-reload
  systemctl enable "${units[@]}"
  systemctl restart "${units[@]}"
  if [ "$BEAT" = 0 ]; then echo "beat not enabled here (deploy with --beat on exactly one host)"; fi
}

step "Python >= 3.11 ($PYTHON)" "install Python 3.11+ or set PYTHON=/path/to/python3.11" check_python
step "Environment file $ENV_FILE" \
  "create it from docker/systemd/portal.env.example (at least SECRET_KEY, API_KEY_PEPPER, DATABASE_URL, ALLOWED_HOSTS)" \
  check_env_file
if [ "$SYSTEMCTL" = 1 ] && [ "$(id -u)" = 0 ]; then
  step "Service user $SERVICE_USER" "create the user yourself (useradd --system $SERVICE_USER) or set BEACON_USER" ensure_user
else
  skip "Service user $SERVICE_USER" "not root or --no-systemctl: runs as $(id -un)"
fi
step "Code into $PREFIX" "check that $PREFIX is writable" install_code
step "Virtualenv $PREFIX/.venv (locked requirements)" \
  "check network access to the package index; the log names the requirement that failed" install_venv
step "Configuration (manage.py check --deploy)" "fix the variable named in the log in $ENV_FILE" \
  manage check --deploy --fail-level ERROR
step "Migrations (manage.py migrate)" \
  "check that PostgreSQL is up and DATABASE_URL in $ENV_FILE is right; the log has the failing migration" \
  manage migrate --noinput
step "Beat schedules (manage.py setup_periodic_tasks)" "the log names the PERIODIC_TASKS entry at fault" \
  manage setup_periodic_tasks
step "Static files (manage.py collectstatic)" "check that $PREFIX is writable" manage collectstatic --noinput
step "systemd units into $SYSTEMD_DIR" "check that $SYSTEMD_DIR is writable" install_units
if [ "$SYSTEMCTL" = 1 ]; then
  step "Restart beacon-web, beacon-worker$([ "$BEAT" = 1 ] && echo ', beacon-beat')" \
    "see journalctl -u beacon-web -u beacon-worker -n 50" restart_units
else
  skip "Restart the units" "--no-systemctl"
fi
echo "deploy.sh: done. manage.py with this environment: $PREFIX/bin/beacon-manage <command>"
