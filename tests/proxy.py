"""A TCP proxy the tests control, to put between the portal and a real server (PostgreSQL, Redis, ...).

- `cut()`: every open connection is reset and new ones are refused (the server is gone).
- `freeze()`: connections stay open and new ones are accepted, but no byte moves in either direction
  (a stopped process, a stalled disk, a black-holed network: the kernel still ACKs, nothing answers).
  Bytes already read are held, not dropped, and flow in order after `restore()`.
- `restore()`: back to forwarding; the listening port never changes.
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading


class TcpProxy:
    def __init__(self, upstream_host: str, upstream_port: int) -> None:
        self.upstream = (upstream_host, upstream_port)
        self._flowing = threading.Event()
        self._flowing.set()
        self._lock = threading.Lock()
        self._sockets: set[socket.socket] = set()
        self._closed = False
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()

    @property
    def address(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.port = listener.getsockname()[1]
        self._listener = listener
        threading.Thread(target=self._accept, args=(listener,), name="tcp-proxy-accept", daemon=True).start()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # listener closed by cut() or close()
            try:
                server = socket.create_connection(self.upstream, timeout=5)
                server.settimeout(None)
            except OSError:
                _reset(client)
                continue
            with self._lock:
                self._sockets.update((client, server))
            for src, dst in ((client, server), (server, client)):
                threading.Thread(target=self._pump, args=(src, dst), name="tcp-proxy-pump", daemon=True).start()

    def _pump(self, src: socket.socket, dst: socket.socket) -> None:
        try:
            while True:
                self._flowing.wait()
                data = src.recv(65536)
                self._flowing.wait()  # frozen while reading: hold the bytes until restore()
                if not data:
                    break
                dst.sendall(data)
        except OSError:
            pass
        finally:
            for sock in (src, dst):
                self._drop(sock)

    def _drop(self, sock: socket.socket) -> None:
        with self._lock:
            self._sockets.discard(sock)
        _reset(sock)

    def cut(self) -> None:
        """Reset every connection and refuse new ones until restore()."""
        if self._listener is not None:
            _reset(self._listener)  # shutdown() wakes the accept() thread, which then exits
            self._listener = None
        with self._lock:
            sockets, self._sockets = list(self._sockets), set()
        for sock in sockets:
            _reset(sock)
        self._flowing.set()  # then wake frozen pumps: their sockets are closed, held bytes go nowhere

    def freeze(self) -> None:
        self._flowing.clear()

    def restore(self) -> None:
        if self._listener is None and not self._closed:
            self._listen()  # same port (SO_REUSEADDR)
        self._flowing.set()

    def close(self) -> None:
        self._closed = True
        self.cut()


def _reset(sock: socket.socket) -> None:
    """Close with RST (SO_LINGER 0), as a dead peer's kernel would answer, rather than a polite FIN."""
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)  # wakes a thread blocked in recv() on it; close() alone would not
    with contextlib.suppress(OSError):
        sock.close()
