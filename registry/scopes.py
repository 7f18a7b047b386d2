"""The scopes the registry enforces (registered in RegistryConfig.ready)."""

from __future__ import annotations

GAUGES_WRITE = "gauges:write"  # gauge writes, pushes, deletes, the wipe
GAUGES_READ = "gauges:read"  # gauge reads and lists (member sessions too)
SCRAPE = "scrape"  # the Prometheus exposition /metrics
