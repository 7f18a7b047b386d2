"""WSGI entry point: `gunicorn portal.wsgi`."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

from portal.startup import exit_on_configuration_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")
exit_on_configuration_error()  # a bad variable: one line in gunicorn's log, not a traceback per worker
application = get_wsgi_application()
