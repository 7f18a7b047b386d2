"""The scopes ingest enforces (registered in IngestConfig.ready)."""

from __future__ import annotations

METRICS_WRITE = "metrics:write"
# Also what devices' list and /api/v1/status need: reading an organization's telemetry.
METRICS_READ = "metrics:read"
