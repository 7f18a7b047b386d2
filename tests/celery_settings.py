"""Settings of the worker/beat processes tests start: portal.settings plus a per-test Redis key prefix.

Several checkouts may run their suites at once on one Redis; the prefix keeps each test's queues (and
its worker) to itself, so no worker consumes another run's tasks.
"""

import os

from portal.settings import *  # noqa: F403
from portal.settings import CELERY_BROKER_TRANSPORT_OPTIONS

_PREFIX = os.environ.get("BEACON_TEST_BROKER_KEYPREFIX")
if _PREFIX:
    CELERY_BROKER_TRANSPORT_OPTIONS = {**CELERY_BROKER_TRANSPORT_OPTIONS, "global_keyprefix": _PREFIX}
