"""Reading a request body for any app's API: size caps before and after gzip, and the bomb guard.

`read_body` never holds more than the cap + 1 bytes, on the wire or inflated, whatever the client declares.
Views that read the body themselves set `parser_classes = []` and call this first.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from portal.api.errors import InvalidRequest, TooLarge, UnsupportedMedia


@dataclass(frozen=True, slots=True)
class BodyLimits:
    max_bytes: int  # as sent (maybe gzip)
    max_inflated_bytes: int  # what a gzip body may inflate to
    # Settings the limits come from, named in the 413 message so an operator knows what to raise.
    max_bytes_setting: str = ""
    max_inflated_setting: str = ""


def _named(setting: str) -> str:
    return f" ({setting})" if setting else ""


def read_body(request: HttpRequest, limits: BodyLimits) -> bytes:
    """The body, inflated if gzip; 413 before reading when Content-Length is over the cap."""
    declared = request.META.get("CONTENT_LENGTH") or "0"
    try:
        length = int(declared)
    except ValueError:
        raise InvalidRequest(f"invalid Content-Length {declared!r}") from None
    if length > limits.max_bytes:
        raise TooLarge(
            f"request body is {length} bytes; the limit is {limits.max_bytes}{_named(limits.max_bytes_setting)}"
        )
    if not length and "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
        # Clients that stream a gzip body (Telegraf) send no Content-Length. Django would read
        # nothing; the WSGI server (gunicorn) has already decoded the chunks into wsgi.input.
        raw = _read_capped(request.META["wsgi.input"], limits.max_bytes + 1)
    else:
        raw = request.read(limits.max_bytes + 1)
    if len(raw) > limits.max_bytes:
        raise TooLarge(f"request body is over the limit of {limits.max_bytes} bytes{_named(limits.max_bytes_setting)}")
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("", "identity"):
        if len(raw) > limits.max_inflated_bytes:
            raise TooLarge(f"request body is over {limits.max_inflated_bytes} bytes")
        return raw
    if encoding == "gzip":
        return inflate(raw, limits.max_inflated_bytes, setting=limits.max_inflated_setting)
    raise UnsupportedMedia(f"Content-Encoding {encoding!r} is not supported; send identity or gzip")


def _read_capped(stream: Any, cap: int) -> bytes:
    chunks: list[bytes] = []
    size = 0
    while size < cap:
        chunk = stream.read(min(65536, cap - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def inflate(raw: bytes, cap: int, *, setting: str = "") -> bytes:
    """Gunzip (all members) without ever holding more than `cap` + 1 bytes of output."""
    out = bytearray()
    data = raw
    try:
        while data:
            inflater = zlib.decompressobj(wbits=31)
            out += inflater.decompress(data, cap + 1 - len(out))
            if len(out) > cap or inflater.unconsumed_tail:
                raise TooLarge(f"gzip body inflates to more than {cap} bytes{_named(setting)}")
            if not inflater.eof:
                raise InvalidRequest("gzip body is truncated")
            data = inflater.unused_data
    except zlib.error as exc:
        raise InvalidRequest(f"body is not valid gzip: {exc}") from None
    return bytes(out)
