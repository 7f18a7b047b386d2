# Imported here so `@shared_task`s bind to the configured app (its broker) in every process, web included.
from portal.celery import app as celery_app

__version__ = "0.1.0"
__all__ = ["__version__", "celery_app"]
