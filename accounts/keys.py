"""The API-key wire format and digest; no database access here."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass

from django.conf import settings

PREFIX = "bcn"
# Compared against when a key id is unknown, so that path does the comparison a wrong secret does.
DUMMY_DIGEST = "0" * 64
_KEY_RE = re.compile(r"^bcn_([0-9a-f]{16})_([A-Za-z0-9_\-]{20,128})$")


@dataclass(frozen=True)
class ParsedKey:
    key_id: str
    secret: str


def generate() -> tuple[str, str, str]:
    """Return (plaintext, key_id, secret) for a new key."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    return f"{PREFIX}_{key_id}_{secret}", key_id, secret


def parse(plaintext: str) -> ParsedKey | None:
    match = _KEY_RE.match(plaintext.strip())
    if match is None:
        return None
    return ParsedKey(key_id=match.group(1), secret=match.group(2))


def digest(secret: str) -> str:
    pepper = settings.API_KEY_PEPPER.encode()
    return hmac.new(pepper, secret.encode(), hashlib.sha256).hexdigest()


def matches(secret: str, stored_digest: str) -> bool:
    return hmac.compare_digest(digest(secret), stored_digest)
