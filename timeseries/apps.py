from __future__ import annotations

from django.apps import AppConfig


class TimeseriesConfig(AppConfig):
    name = "timeseries"
    verbose_name = "Time-series store"
