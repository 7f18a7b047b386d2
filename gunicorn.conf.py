# Read by gunicorn from its working directory (the repo root, /app in the image), whatever the
# command line: settings that must hold for every gunicorn that serves the portal.

# API keys are redacted from the access and error logs (a key pasted into a URL would be logged).
logger_class = "portal.gunicorn_logging.RedactingLogger"
