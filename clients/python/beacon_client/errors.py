"""What the client raises: the server's own error body, or the transport failure, as one exception type."""

from __future__ import annotations

from typing import Any, Optional


class BeaconError(Exception):
    """An answer that was not 2xx (status, and the body's `code`/`message`), or no answer at all (status 0)."""

    def __init__(self, status: int, code: str, message: str, body: Optional[Any] = None) -> None:
        super().__init__(f"{status} {code}: {message}" if status else f"{code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.body = body

    @property
    def retryable(self) -> bool:
        """Worth sending again later: no answer, 429 or a 5xx (the portal's 503 carries Retry-After)."""
        return self.status == 0 or self.status == 429 or self.status >= 500


class BeaconUnavailable(BeaconError):
    """The portal could not be reached (connection refused, DNS, timeout)."""
