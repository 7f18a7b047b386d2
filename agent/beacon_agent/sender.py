"""HTTP transport: one POST per batch, the response classified into what the agent should do."""

from __future__ import annotations

import email.utils
import gzip
import http.client
import json
import logging
import socket
import time
from dataclasses import dataclass
from typing import Optional, Union
from urllib.parse import urlsplit

from beacon_agent import __version__
from beacon_agent.config import Config

log = logging.getLogger("beacon_agent.sender")

OK = "ok"  # 2xx: stored
REJECTED = "rejected"  # 400/422...: this batch will never be accepted; discard it
TOO_LARGE = "too_large"  # 413: the body is over the portal's limit; split the batch in halves and resend
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
    """POSTs over one kept-alive connection (http.client, not urllib: fewer modules, less memory)."""

    def __init__(self, config: Config) -> None:
        self.config = config
        self.url = config.write_url
        parts = urlsplit(self.url)
        self.https = parts.scheme == "https"
        self.host = parts.hostname or "127.0.0.1"
        self.port = parts.port
        self.path = parts.path + (f"?{parts.query}" if parts.query else "")
        self.conn: Optional[Union[http.client.HTTPConnection, http.client.HTTPSConnection]] = None

    def _connection(self) -> http.client.HTTPConnection:
        if self.conn is None:
            if self.https:
                self.conn = http.client.HTTPSConnection(self.host, self.port, timeout=self.config.timeout)
            else:
                self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.config.timeout)
        return self.conn

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def send(self, payload: bytes, gzipped: bool = True) -> Result:
        """POST a batch. `payload` is gzip bytes when `gzipped` (spooled batches are stored compressed)."""
        if gzipped and not self.config.gzip:
            payload, gzipped = gzip.decompress(payload), False
        headers = {
            "Content-Type": "text/plain; charset=utf-8",
            "User-Agent": f"beacon-agent/{__version__}",
            "Authorization": f"Token {self.config.api_key}",
        }
        if gzipped:
            headers["Content-Encoding"] = "gzip"
        for attempt in (1, 2):
            conn = self._connection()
            try:
                conn.request("POST", self.path, body=payload, headers=headers)
                resp = conn.getresponse()
                body = resp.read(65536)
                if resp.will_close:
                    self.close()
            except (http.client.HTTPException, OSError) as exc:
                self.close()
                # A kept-alive connection the server closed while idle fails on first use: retry once, fresh.
                if attempt == 1 and isinstance(
                    exc, (http.client.RemoteDisconnected, BrokenPipeError, ConnectionResetError)
                ):
                    continue
                reason = "timed out" if isinstance(exc, socket.timeout) else (str(exc) or type(exc).__name__)
                return Result(RETRY, 0, f"cannot reach {self.config.url}: {reason}")
            if 200 <= resp.status < 300:
                return Result(OK, resp.status, "stored")
            return classify(resp.status, resp.getheader("Retry-After"), body[:4096])
        return Result(RETRY, 0, f"cannot reach {self.config.url}")  # unreachable: the loop always returns


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
    if status == 413:
        # Too large as a whole, but each half may fit: the agent splits (like Telegraf) rather than discards.
        return Result(TOO_LARGE, status, message, retry_after, line)
    # Any other 4xx (400 invalid, 422...) will fail the same way every time.
    return Result(REJECTED, status, message, retry_after, line)
