"""Readiness check for the configured time-series store (registered in settings.HEALTH_CHECKS)."""

from __future__ import annotations

from ingest.timeseries import get_store


def check_store() -> None:
    get_store().ping()
