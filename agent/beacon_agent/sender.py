"""HTTP transport: one POST per batch, the response classified into what the agent should do."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import logging
import socket
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Optional

from beacon_agent import __version__
from beacon_agent.config import Config

log = logging.getLogger("beacon_agent.sender")

OK = "ok"  # 2xx: stored
REJECTED = "rejected"  # 400/413/422: this batch will never be accepted; discard it
AUTH = "auth"  # 401/403 (and 404/405: wrong URL): a configuration problem; keep spooling
RETRY = "retry"  # 429/5xx/network: try again later (honouring Retry-After)


@dataclass
class Result:
    outcome: str
    status: int  # 0 when no HTTP answer (connection refused, timeout, DNS)
    message: str
    retry_after: Optional[float] = None
    line: Optional[int] = None


def parse_retry_after(value: Optional[str], now: Optional[float] = None) -> Optional[float]:
    """Seconds to wait from a Retry-After header: delta-seconds or an HTTP date (RFC 9110)."""
    if not value:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when is None:
        return None
    return max(0.0, when.timestamp() - (time.time() if now is None else now))


def compress(body: bytes) -> bytes:
    # Level 6 (zlib's default trade-off): most of level 9's ratio at a fraction of the CPU.
    return gzip.compress(body, compresslevel=6, mtime=0)


class Sender:
    def __init__(self, config: Config) -> None:
        self.config = config
        self.url = config.write_url

    def _request(self, body: bytes, gzipped: bool) -> urllib.request.Request:
        headers = {
            "Content-Type": "text/plain; charset=utf-8",
            "User-Agent": f"beacon-agent/{__version__}",
            "Authorization": f"Token {self.config.api_key}",
        }
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        return urllib.request.Request(self.url, data=body, headers=headers, method="POST")

    def send(self, payload: bytes, gzipped: bool = True) -> Result:
        """POST a batch. `payload` is gzip bytes when `gzipped` (spooled batches are stored compressed)."""
        if gzipped and not self.config.gzip:
            payload, gzipped = gzip.decompress(payload), False
        try:
            with urllib.request.urlopen(self._request(payload, gzipped), timeout=self.config.timeout) as resp:
                resp.read()
                return Result(OK, resp.status, "stored")
        except urllib.error.HTTPError as err:
            return classify(err.code, err.headers.get("Retry-After"), _read_body(err))
        except (urllib.error.URLError, http.client.HTTPException, socket.timeout, ConnectionError, OSError) as exc:
            reason = getattr(exc, "reason", exc)
            return Result(RETRY, 0, f"cannot reach {self.config.url}: {reason}")


def _read_body(err: urllib.error.HTTPError) -> bytes:
    try:
        return err.read(4096)
    except OSError:
        return b""
    finally:
        err.close()


def classify(status: int, retry_after_header: Optional[str], body: bytes) -> Result:
    message, line = body.decode("utf-8", "replace")[:500], None
    try:
        data = json.loads(message)
        if isinstance(data, dict):
            message = str(data.get("message") or data.get("detail") or message)
            line = data.get("line") if isinstance(data.get("line"), int) else None
    except ValueError:
        pass
    retry_after = parse_retry_after(retry_after_header)
    if status in (401, 403, 404, 405):
        # Wrong key or wrong URL: retrying will not help until someone fixes the config, but
        # discarding would lose data that a fix could still deliver, so the agent keeps spooling.
        return Result(AUTH, status, message)
    if status == 429 or status >= 500 or status == 408:
        return Result(RETRY, status, message, retry_after)
    # Any other 4xx (400 invalid, 413 too large, 422...) will fail the same way every time.
    return Result(REJECTED, status, message, retry_after, line)
