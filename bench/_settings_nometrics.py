"""portal.settings without the metrics middleware: bench/opsmetrics.py's baseline (not for production)."""

from portal.settings import *  # noqa: F403
from portal.settings import MIDDLEWARE

MIDDLEWARE = [m for m in MIDDLEWARE if m != "portal.api.opsmetrics.MetricsMiddleware"]
