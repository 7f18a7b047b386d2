"""gunicorn's logger with API keys redacted from the access and error logs.

gunicorn writes the request line (`%(r)s`: path AND query string) to its access log and the URI
of a request that failed to its error log, before Django sees the request. A key pasted into a
URL (`?q=bcn_…` in the admin search, `?token=` by a misconfigured client) would land there.
Enabled by `logger_class` in gunicorn.conf.py, which gunicorn reads from its working directory.
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from portal.logging import RedactSecretsFilter

_REDACT = RedactSecretsFilter()


class RedactingLogger(Logger):
    def setup(self, cfg: Any) -> None:
        super().setup(cfg)
        for log in (self.error_log, self.access_log):
            log.addFilter(_REDACT)  # the same instance: a re-run setup (reload) does not stack it
