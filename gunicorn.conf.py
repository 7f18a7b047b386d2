# Read by gunicorn from its working directory (the repo root, /app in the image), whatever the
# command line: settings that must hold for every gunicorn that serves the portal.

# API keys are redacted from the access and error logs (a key pasted into a URL would be logged).
logger_class = "portal.gunicorn_logging.RedactingLogger"


# Beacon's own metrics (portal/api/opsmetrics.py): with PROMETHEUS_MULTIPROC_DIR set, each worker counts
# into its own files there. The directory is emptied once, before the first worker forks, so a restart
# does not merge the previous run's files; a worker that exits is marked dead for prometheus_client.
# (The master never imports the portal: workers load it after the fork, each counting under its own pid.)
def on_starting(server):  # type: ignore[no-untyped-def]
    import os
    import shutil

    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        shutil.rmtree(directory, ignore_errors=True)
        os.makedirs(directory, exist_ok=True)


def child_exit(server, worker):  # type: ignore[no-untyped-def]
    import os

    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
