"""Outbound HTTP to URLs that customers or admins typed in (webhooks, scrape targets), guarded against SSRF.

Two checks, both needed: `check_url()` when the URL is saved (a clear error for the person typing it), and
`request()` at connect time, because DNS can change after the save (DNS rebinding). At connect time every
address the name resolves to is checked, and the socket is opened to the checked address itself, so a
second lookup cannot swap in another one.

Always refused: link-local (169.254.0.0/16 holds the cloud metadata services, fe80::/10), the IPv6
metadata addresses (fd00:ec2::254 on AWS), multicast, unspecified and reserved ranges. Loopback, private
(RFC 1918, fc00::/7), carrier-grade NAT and every other non-global range are refused unless
`allow_private` (settings.SCRAPE_ALLOW_PRIVATE, on in the demo and tests). IPv4 embedded in IPv6
(::ffff:a.b.c.d, 6to4, NAT64) is judged by its IPv4 address. Redirects are never followed.

Layer 1: no models, no app imports.
"""

from __future__ import annotations

import contextlib
import http.client
import ipaddress
import socket
import ssl
import threading
import urllib.parse
from dataclasses import dataclass, field

from django.conf import settings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address

# Metadata endpoints outside link-local: AWS's IPv6 IMDS, Alibaba's (inside 100.64.0.0/10).
_METADATA = [ipaddress.ip_network(n) for n in ("fd00:ec2::254/128", "100.100.100.200/32")]
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_SHARED = ipaddress.ip_network("100.64.0.0/10")  # carrier-grade NAT: private in practice


class UnsafeUrl(ValueError):
    """The URL is malformed or points at an address Beacon refuses to call."""


@dataclass
class Response:
    status: int
    headers: dict[str, str] = field(default_factory=dict)  # names lower-cased
    body: bytes = b""
    truncated: bool = False  # the body was longer than max_response_bytes


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def address_problem(address: IPAddress, *, allow_private: bool) -> str | None:
    """Why `address` may not be called, or None when it may."""
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            return address_problem(embedded, allow_private=allow_private)
    if address.is_link_local or any(address in net for net in _METADATA):
        return f"{address} is a link-local/metadata address"
    if address.is_multicast or address.is_unspecified:
        return f"{address} is a multicast or unspecified address"
    private = address.is_loopback or address.is_private or address in _SHARED
    if address.is_reserved and not private:  # ::1 sits inside IPv6's reserved ::/8
        return f"{address} is a reserved address"
    if (private or not address.is_global) and not allow_private:
        return f"{address} is a loopback/private address (set SCRAPE_ALLOW_PRIVATE=1 to allow)"
    return None


def _allow_private(allow_private: bool | None) -> bool:
    return bool(settings.SCRAPE_ALLOW_PRIVATE) if allow_private is None else allow_private


def _split(url: str) -> tuple[str, str, int]:
    try:
        parts = urllib.parse.urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UnsafeUrl(f"{url!r} is not a valid URL: {exc}") from None
    if parts.scheme not in ("http", "https"):
        raise UnsafeUrl(f"{url!r}: only http:// and https:// URLs are allowed")
    if not parts.hostname:
        raise UnsafeUrl(f"{url!r} has no host name")
    if parts.username or parts.password:
        raise UnsafeUrl(f"{url!r}: credentials in the URL are not allowed; use a header instead")
    return parts.scheme, parts.hostname, port or (443 if parts.scheme == "https" else 80)


def resolve(host: str, port: int, *, allow_private: bool | None = None) -> list[IPAddress]:
    """Every address `host` resolves to, after checking each; refuses if any one is unsafe."""
    allowed = _allow_private(allow_private)
    try:
        literal: IPAddress | None = ipaddress.ip_address(host)
    except ValueError:
        literal = None
    if literal is not None:
        addresses = [literal]
    else:
        try:
            infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
        except (socket.gaierror, UnicodeError) as exc:
            raise UnsafeUrl(f"cannot resolve {host!r}: {exc}") from None
        # A scope id (fe80::1%eth0) is not part of the address.
        addresses = list(dict.fromkeys(ipaddress.ip_address(str(info[4][0]).split("%")[0]) for info in infos))
    for address in addresses:
        problem = address_problem(address, allow_private=allowed)
        if problem:
            raise UnsafeUrl(f"{host} refused: {problem}")
    return addresses


def check_url(url: str, *, allow_private: bool | None = None) -> None:
    """Save-time check: raises UnsafeUrl with a reason a person can act on.

    A name that does not resolve yet is accepted (it is checked again at every connect); a name that
    resolves to a refused address is not.
    """
    _scheme, host, port = _split(url)
    try:
        resolve(host, port, allow_private=allow_private)
    except UnsafeUrl as exc:
        if str(exc).startswith("cannot resolve"):
            return
        raise


class _PinnedHTTPConnection(http.client.HTTPConnection):
    """Connects to a pre-checked address while the Host header keeps the URL's name."""

    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout)
        self._address = address

    def connect(self) -> None:
        self.sock = socket.create_connection((str(self._address), self.port), self.timeout)


class _PinnedHTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, port: int, address: IPAddress, timeout: float) -> None:
        super().__init__(host, port, timeout=timeout, context=ssl.create_default_context())
        self._address = address

    def connect(self) -> None:
        raw = socket.create_connection((str(self._address), self.port), self.timeout)
        # Certificate and SNI are checked against the URL's host name, not the pinned address.
        self.sock = self._context.wrap_socket(raw, server_hostname=self.host)  # type: ignore[attr-defined]


def request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: dict[str, str] | None = None,
    timeout: float = 15.0,
    max_response_bytes: int = 64 * 1024,
    allow_private: bool | None = None,
) -> Response:
    """One HTTP request, no redirects followed. Raises UnsafeUrl (refused) or OSError (network, bad answer).

    `timeout` bounds the whole exchange (connect, headers, body), not each socket read: a peer that drips a
    byte every few seconds would otherwise hold the caller (a worker) for as long as it likes. On expiry
    the socket is shut down and TimeoutError raised.
    """
    scheme, host, port = _split(url)
    addresses = resolve(host, port, allow_private=allow_private)
    parts = urllib.parse.urlsplit(url)
    target = (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    last_error: OSError | None = None
    for address in addresses:
        cls = _PinnedHTTPSConnection if scheme == "https" else _PinnedHTTPConnection
        connection = cls(host, port, address, timeout)
        expired = threading.Event()
        watchdog = threading.Timer(timeout, _abort, args=(connection, expired))
        watchdog.daemon = True
        watchdog.start()
        try:
            connection.request(method, target, body=body, headers=headers or {})
            reply = connection.getresponse()
            data = reply.read(max_response_bytes + 1)
            if expired.is_set():
                raise TimeoutError(f"no complete answer within {timeout:g}s")
            return Response(
                status=reply.status,
                headers={k.lower(): v for k, v in reply.getheaders()},
                body=data[:max_response_bytes],
                truncated=len(data) > max_response_bytes,
            )
        except ConnectionRefusedError as exc:  # try the name's next address, as browsers do
            last_error = exc
        except (OSError, http.client.HTTPException) as exc:
            if expired.is_set():
                raise TimeoutError(f"no complete answer within {timeout:g}s") from None
            if isinstance(exc, OSError):
                raise
            raise OSError(f"bad HTTP response: {type(exc).__name__}") from exc  # malformed: a network failure
        finally:
            watchdog.cancel()
            connection.close()
    assert last_error is not None
    raise last_error


def _abort(connection: http.client.HTTPConnection, expired: threading.Event) -> None:
    """The deadline passed: wake the reading thread (shutdown interrupts a blocked recv; close alone does not)."""
    expired.set()
    sock = connection.sock
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)
