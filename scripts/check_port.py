"""`make demo` runs this before building anything: is HOST:PORT free for the portal to bind?

Runs on any Python 3 (it checks before the virtualenv exists). Exit 0 when free; else one line
naming the port, a free one nearby, and how to pick it: `make demo PORT=...`.
"""

import socket
import sys


def is_free(host: str, port: int) -> bool:
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as sock:
        # gunicorn sets SO_REUSEADDR too, so a port in TIME_WAIT counts as free, one in use does not.
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def main() -> int:
    host, raw = sys.argv[1], sys.argv[2]
    try:
        port = int(raw)
        if not 0 < port < 65536:
            raise ValueError
    except ValueError:
        print(f"make demo: PORT={raw!r} is not a TCP port (1-65535); e.g. make demo PORT=8001", file=sys.stderr)
        return 2
    if is_free(host, port):
        return 0
    spare = next((p for p in range(port + 1, min(port + 50, 65536)) if is_free(host, p)), None)
    hint = f"make demo PORT={spare}" if spare else "make demo PORT=<a free port>"
    print(
        f"make demo: port {port} on {host} is already in use (another server?); pick another: {hint}", file=sys.stderr
    )
    return 1


if __name__ == "__main__":
    sys.exit(main())
