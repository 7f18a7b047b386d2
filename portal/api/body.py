"""Reading a request body whole, or refusing it, for any app's API: size caps, truncation, broken
chunking, gzip (with the bomb guard). Views that read the body themselves set `parser_classes = []` and
call `read_body` first; everything here runs before any write, so a refused body stores nothing.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Any

from django.http import HttpRequest

from portal.api.errors import InvalidRequest, TooLarge, UnsupportedMedia

try:  # gunicorn raises its chunked-parsing errors lazily, from wsgi.input reads in the application
    from gunicorn.http.errors import ParseException as _GunicornParseError
except ImportError:  # pragma: no cover - served by another WSGI server
    _BROKEN_BODY: tuple[type[Exception], ...] = (OSError,)
else:
    # OSError covers gunicorn's NoMoreData (an IOError), Django's UnreadablePostError and socket errors.
    _BROKEN_BODY = (OSError, _GunicornParseError)

# A legitimate multi-member gzip body (concatenated gzip files or batches) has a handful of members; tens of
# thousands of empty 20-byte members are an attack on the per-member cost, so the count is capped.
MAX_GZIP_MEMBERS = 1000
# Input is fed to zlib in slices of this size: at the end of each member zlib copies what is left of the
# slice it was given (unused_data). Handing it the whole remainder made that copy O(body) per member.
_INFLATE_SLICE = 64 * 1024
_READ_STEP = 64 * 1024


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
    """The complete body, inflated if gzip.

    413 before reading when Content-Length is over `max_bytes`, and as soon as more than that arrives;
    400 when fewer bytes arrive than Content-Length declares (a client killed mid-send) or the chunked
    framing is broken; 415 for an encoding other than identity or gzip.
    """
    max_bytes, max_inflated = limits.max_bytes, limits.max_inflated_bytes
    named = _named(limits.max_bytes_setting)
    declared = (request.META.get("CONTENT_LENGTH") or "").strip()
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    length = 0
    if declared:
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            raise InvalidRequest(f"invalid Content-Length {declared[:40]!r}")
    if length > max_bytes:
        raise TooLarge(f"request body is {length} bytes; the limit is {max_bytes}{named}")
    if chunked and not declared:
        # Clients that stream a body (Telegraf) send no Content-Length, so Django's request stream is
        # limited to 0 bytes (request.body is b""). gunicorn has already de-chunked wsgi.input: read that.
        stream: Any = request.META["wsgi.input"]
    else:
        stream = request
    try:
        raw = _read_at_most(stream, max_bytes + 1)
    except _BROKEN_BODY as exc:
        raise InvalidRequest(f"request body could not be read whole ({_why(exc)}); nothing was stored") from None
    if len(raw) > max_bytes:
        raise TooLarge(f"request body is over the limit of {max_bytes} bytes{named}")
    if declared and len(raw) < length:
        raise InvalidRequest(
            f"request body ended after {len(raw)} of the {length} bytes its Content-Length declares "
            "(connection closed mid-send?); nothing was stored"
        )
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("", "identity"):
        if len(raw) > max_inflated:
            raise TooLarge(f"request body is over {max_inflated} bytes")
        return raw
    if encoding == "gzip":
        return inflate(raw, max_inflated=max_inflated, setting=limits.max_inflated_setting)
    raise UnsupportedMedia(f"Content-Encoding {encoding[:40]!r} is not supported; send identity or gzip")


def _read_at_most(stream: Any, cap: int) -> bytes:
    """Read until end of body or `cap` bytes; a short read() alone does not mean the end."""
    chunks: list[bytes] = []
    size = 0
    while size < cap:
        chunk = stream.read(min(_READ_STEP, cap - size))
        if not chunk:
            break
        chunks.append(chunk)
        size += len(chunk)
    return b"".join(chunks)


def _why(exc: Exception) -> str:
    """A short reason for the client; gunicorn's messages may quote the client's bytes, so bound them."""
    name = type(exc).__name__
    if name == "NoMoreData":
        return "the connection closed before the end of the chunked body"
    text = str(exc)
    text = text if len(text) <= 80 else text[:77] + "..."
    return f"{name}: {text}" if text else name


def inflate(raw: bytes, *, max_inflated: int, max_members: int = MAX_GZIP_MEMBERS, setting: str = "") -> bytes:
    """Gunzip every member, in time linear in len(raw), never holding more than `max_inflated` + 1 bytes."""
    view = memoryview(raw)
    out = bytearray()
    offset = members = 0
    try:
        while offset < len(view):
            members += 1
            if members > max_members:
                raise TooLarge(f"gzip body has more than {max_members} members; the limit is {max_members}")
            inflater = zlib.decompressobj(wbits=31)
            while not inflater.eof:
                if offset >= len(view):
                    raise InvalidRequest("gzip body is truncated")
                piece = view[offset : offset + _INFLATE_SLICE]
                # max_length >= 1 here (0 would mean unlimited): len(out) <= max_inflated was checked.
                out += inflater.decompress(piece, max_inflated + 1 - len(out))
                if len(out) > max_inflated:
                    raise TooLarge(f"gzip body inflates to more than {max_inflated} bytes{_named(setting)}")
                # Below the output cap zlib consumed the whole slice except what follows the member's end.
                offset += len(piece) - len(inflater.unused_data)
    except zlib.error as exc:
        raise InvalidRequest(f"body is not valid gzip: {exc}") from None
    return bytes(out)
