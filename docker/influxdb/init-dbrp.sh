#!/bin/bash
# Run by the influxdb:2.x image once, right after its first setup (DOCKER_INFLUXDB_INIT_MODE=setup), with
# the influx CLI already pointed at the new server and DOCKER_INFLUXDB_INIT_BUCKET_ID exported.
# Beacon reads with InfluxQL on /query (docs/timeseries.md), and so does Grafana's InfluxQL datasource;
# InfluxDB 2 answers InfluxQL only for a database/retention policy mapped to a bucket (a "DBRP" mapping).
set -euo pipefail
influx v1 dbrp create \
  --db "${DOCKER_INFLUXDB_INIT_BUCKET}" \
  --rp autogen \
  --bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}" \
  --default
echo "init-dbrp: database ${DOCKER_INFLUXDB_INIT_BUCKET} (rp autogen) -> bucket ${DOCKER_INFLUXDB_INIT_BUCKET_ID}"
