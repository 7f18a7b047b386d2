"""The Celery app: `celery -A portal worker` and `celery -A portal beat` (docs/operations.md).

Configuration is the CELERY_* block of portal/settings.py. Tasks are `@shared_task`s in each app's
`tasks.py` (found by autodiscovery) or in modules listed in CELERY_IMPORTS; schedules are rows written
by `manage.py setup_periodic_tasks` from settings.PERIODIC_TASKS.
"""

from __future__ import annotations

import os

from celery import Celery

from portal.api.opsmetrics import connect_celery_signals
from portal.startup import exit_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
exit_on_configuration_error()  # a bad variable stops the worker/beat with one line

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()
connect_celery_signals()  # task outcomes for /-/metrics (portal/api/opsmetrics.py)
