"""Reading a request body whole, or refusing it: size caps, truncation, broken chunking, gzip.

Self-contained on purpose (only the error classes come from elsewhere) so it can move to a shared
API layer. Everything here runs before any write, so a refused body stores nothing.
"""

from __future__ import annotations

import zlib
from typing import Any

from django.http import HttpRequest

from ingest.errors import IngestInvalid, IngestTooLarge, IngestUnsupportedMedia

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


def read_body(request: HttpRequest, *, max_bytes: int, max_inflated: int) -> bytes:
    """The complete body, inflated if gzip.

    413 before reading when Content-Length is over `max_bytes`, and as soon as more than that arrives;
    400 when fewer bytes arrive than Content-Length declares (a client killed mid-send) or the chunked
    framing is broken; 415 for an encoding other than identity or gzip.
    """
    declared = (request.META.get("CONTENT_LENGTH") or "").strip()
    chunked = "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower()
    length = 0
    if declared:
        try:
            length = int(declared)
        except ValueError:
            length = -1
        if length < 0:
            raise IngestInvalid(f"invalid Content-Length {declared[:40]!r}")
    if length > max_bytes:
        raise IngestTooLarge(f"request body is {length} bytes; the limit is {max_bytes} (INGEST_MAX_BODY_BYTES)")
    if chunked and not declared:
        # Clients that stream a body (Telegraf) send no Content-Length, so Django's request stream is
        # limited to 0 bytes (request.body is b""). gunicorn has already de-chunked wsgi.input: read that.
        stream: Any = request.META["wsgi.input"]
    else:
        stream = request
    try:
        raw = _read_at_most(stream, max_bytes + 1)
    except _BROKEN_BODY as exc:
        raise IngestInvalid(f"request body could not be read whole ({_why(exc)}); nothing was stored") from None
    if len(raw) > max_bytes:
        raise IngestTooLarge(f"request body is over the limit of {max_bytes} bytes (INGEST_MAX_BODY_BYTES)")
    if declared and len(raw) < length:
        raise IngestInvalid(
            f"request body ended after {len(raw)} of the {length} bytes its Content-Length declares "
            "(connection closed mid-send?); nothing was stored"
        )
    encoding = request.META.get("HTTP_CONTENT_ENCODING", "").strip().lower()
    if encoding in ("", "identity"):
        if len(raw) > max_inflated:
            raise IngestTooLarge(f"request body is over {max_inflated} bytes")
        return raw
    if encoding == "gzip":
        return inflate(raw, max_inflated=max_inflated)
    raise IngestUnsupportedMedia(f"Content-Encoding {encoding[:40]!r} is not supported; send identity or gzip")


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


def inflate(raw: bytes, *, max_inflated: int, max_members: int = MAX_GZIP_MEMBERS) -> bytes:
    """Gunzip every member, in time linear in len(raw), never holding more than `max_inflated` + 1 bytes."""
    view = memoryview(raw)
    out = bytearray()
    offset = members = 0
    try:
        while offset < len(view):
            members += 1
            if members > max_members:
                raise IngestTooLarge(f"gzip body has more than {max_members} members; the limit is {max_members}")
            inflater = zlib.decompressobj(wbits=31)
            while not inflater.eof:
                if offset >= len(view):
                    raise IngestInvalid("gzip body is truncated")
                piece = view[offset : offset + _INFLATE_SLICE]
                # max_length >= 1 here (0 would mean unlimited): len(out) <= max_inflated was checked.
                out += inflater.decompress(piece, max_inflated + 1 - len(out))
                if len(out) > max_inflated:
                    raise IngestTooLarge(
                        f"gzip body inflates to more than {max_inflated} bytes (INGEST_MAX_DECOMPRESSED_BYTES)"
                    )
                # Below the output cap zlib consumed the whole slice except what follows the member's end.
                offset += len(piece) - len(inflater.unused_data)
    except zlib.error as exc:
        raise IngestInvalid(f"body is not valid gzip: {exc}") from None
    return bytes(out)
