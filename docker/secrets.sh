#!/bin/sh
# Write the secret files docker/compose.yaml mounts (docker/secrets/, mode 0600, git-ignored).
# Existing files are kept, so running it again never rotates a secret by accident.
#   docker/secrets.sh            # then: docker compose -f docker/compose.yaml up -d --build
set -eu
DIR=${1:-$(dirname "$0")/secrets}
umask 077
mkdir -p "$DIR"
gen() { python3 -c "import secrets; print(secrets.token_urlsafe($1))"; }
put() {  # put NAME VALUE: only when missing
  if [ -s "$DIR/$1" ]; then echo "kept    $DIR/$1"; else printf '%s\n' "$2" > "$DIR/$1"; echo "wrote   $DIR/$1"; fi
}
put secret_key "$(gen 50)"
put api_key_pepper "$(gen 32)"
put postgres_password "$(gen 24)"
put database_url "postgres://beacon:$(cat "$DIR/postgres_password")@postgres:5432/beacon"
put influx_password "$(gen 24)"
put influx_token "$(gen 32)"
put grafana_admin_password "$(gen 16)"
put ops_metrics_token "$(gen 32)"  # Beacon's own /-/metrics: the web checks it, Prometheus sends it
# Replaced by a real key after the first start (docs/operations.md "Docker Compose"); until then
# Prometheus's beacon job answers 401 and the rest of the stack is unaffected.
put metrics_key "not-issued-yet"
