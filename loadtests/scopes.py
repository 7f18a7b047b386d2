"""The scopes loadtests enforces: it registers `loadtests:write`; reads need ingest's `metrics:read` (by name)."""

from __future__ import annotations

LOADTESTS_WRITE = "loadtests:write"
METRICS_READ = "metrics:read"  # registered by ingest, named here (sibling apps never import each other)
