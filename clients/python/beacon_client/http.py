"""One connection to a Beacon portal: base URL + API key, JSON in and out, errors as BeaconError."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.parse
import urllib.request
from typing import Any, Dict, Mapping, Optional, Tuple

from beacon_client.errors import BeaconError, BeaconUnavailable

USER_AGENT = "beacon-client/0.1"


class Connection:
    """`Connection(url, key)`; both default to the BEACON_URL and BEACON_KEY environment variables."""

    def __init__(self, url: Optional[str] = None, key: Optional[str] = None, *, timeout: float = 10.0) -> None:
        url = url or os.environ.get("BEACON_URL", "")
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"Beacon URL must start with http:// or https:// (got {url!r}; set BEACON_URL)")
        self.url = url.rstrip("/")
        self.key = key if key is not None else os.environ.get("BEACON_KEY", "")
        self.timeout = timeout

    def request(
        self,
        method: str,
        path: str,
        *,
        json_body: Optional[Any] = None,
        body: Optional[bytes] = None,
        content_type: str = "application/json",
        params: Optional[Mapping[str, Any]] = None,
    ) -> Tuple[int, Any]:
        """Send one request; answer (status, decoded JSON or None). A non-2xx answer raises BeaconError."""
        url = self.url + path
        if params:
            url += "?" + urllib.parse.urlencode({k: v for k, v in params.items() if v is not None}, doseq=True)
        if json_body is not None:
            body = json.dumps(json_body).encode()
        headers: Dict[str, str] = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        if self.key:
            headers["Authorization"] = f"Bearer {self.key}"
        if body is not None:
            headers["Content-Type"] = content_type
        request = urllib.request.Request(url, data=body, method=method, headers=headers)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:  # http(s) checked in __init__
                return response.status, _decode(response.read())
        except urllib.error.HTTPError as error:
            raise _error(error.code, error.read()) from None
        except (urllib.error.URLError, OSError) as error:
            reason = getattr(error, "reason", error)
            raise BeaconUnavailable(0, "unreachable", f"{method} {url}: {reason}") from None


def _decode(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return json.loads(raw)
    except ValueError:
        return raw.decode("utf-8", "replace")


def _error(status: int, raw: bytes) -> BeaconError:
    data = _decode(raw)
    if isinstance(data, dict):
        return BeaconError(status, str(data.get("code", "error")), str(data.get("message", data)), data)
    return BeaconError(status, "error", str(data or "")[:500], data)
