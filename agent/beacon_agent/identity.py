"""The `device` tag when none is configured: the key's bound device, else the hostname.

A device-bound key forces its own device: the portal refuses a point tagged with any other
name (403). So an agent without `device` asks the portal which device its key is bound to
(`GET /api/v1/whoami`); an organization-wide key gets the hostname, as before. The answer is
cached per key id in the state directory, so a restart while the portal is unreachable still
tags points correctly; with no answer and no cache the agent keeps its points in memory (not
tagged, not sent) and asks again at the next flush.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import socket
from typing import Optional
from urllib.parse import urlsplit

from beacon_agent import __version__
from beacon_agent.config import Config

log = logging.getLogger("beacon_agent.identity")


def _key_id(api_key: str) -> str:
    parts = api_key.split("_")
    return parts[1] if len(parts) >= 3 and parts[0] == "bcn" else ""


class DeviceResolver:
    """Callable: the device name, or None while the portal cannot say (see `reason`)."""

    def __init__(self, config: Config, cache_path: Optional[str] = None) -> None:
        self.config = config
        self.cache_path = cache_path
        self.reason = ""
        self.source = ""  # "key" (bound device), "hostname" (org-wide key or an older portal), "cache"

    def __call__(self) -> Optional[str]:
        status, body = self._ask()
        if status == 200 and isinstance(body, dict):
            bound = body.get("device")
            if isinstance(bound, str) and bound:
                self.source = "key"
                self._save(bound)
                return bound
            self.source = "hostname"
            self._save(socket.gethostname())
            return socket.gethostname()
        if status in (404, 405):
            # A portal without /api/v1/whoami has no way to say; it predates the check, so the hostname it is.
            self.source = "hostname"
            return socket.gethostname()
        cached = self._cached()
        if cached is not None:
            log.warning("cannot ask the portal for this key's device (%s); using the cached %r", self.reason, cached)
            self.source = "cache"
            return cached
        log.warning("cannot ask the portal for this key's device (%s); points are held until it answers", self.reason)
        return None

    def _ask(self) -> tuple:
        parts = urlsplit(self.config.url)
        conn_class = http.client.HTTPSConnection if parts.scheme == "https" else http.client.HTTPConnection
        conn = conn_class(parts.hostname or "127.0.0.1", parts.port, timeout=self.config.timeout)
        headers = {"Authorization": f"Token {self.config.api_key}", "User-Agent": f"beacon-agent/{__version__}"}
        try:
            conn.request("GET", parts.path.rstrip("/") + "/api/v1/whoami", headers=headers)
            resp = conn.getresponse()
            raw = resp.read(65536)
        except (http.client.HTTPException, OSError) as exc:
            self.reason = f"cannot reach {self.config.url}: {exc or type(exc).__name__}"
            return 0, None
        finally:
            conn.close()
        try:
            body = json.loads(raw.decode("utf-8", "replace"))
        except ValueError:
            body = None
        if resp.status != 200:
            message = body.get("message") if isinstance(body, dict) else ""
            self.reason = f"HTTP {resp.status} from /api/v1/whoami" + (f": {message}" if message else "")
        return resp.status, body

    def _cached(self) -> Optional[str]:
        if not self.cache_path:
            return None
        try:
            with open(self.cache_path, encoding="utf-8") as fh:
                data = json.load(fh)
        except (OSError, ValueError):
            return None
        if isinstance(data, dict) and data.get("key_id") == _key_id(self.config.api_key):
            device = data.get("device")
            return device if isinstance(device, str) and device else None
        return None  # cached for another key: its binding says nothing about this one

    def _save(self, device: str) -> None:
        if not self.cache_path:
            return
        tmp = f"{self.cache_path}.tmp"
        try:
            with open(tmp, "w", encoding="utf-8") as fh:
                json.dump({"key_id": _key_id(self.config.api_key), "device": device}, fh)
            os.replace(tmp, self.cache_path)
        except OSError as exc:
            log.warning("cannot cache the device name in %s: %s", self.cache_path, exc)
