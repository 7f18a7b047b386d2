"""Behind gunicorn (what production runs): chunked gzip bodies without Content-Length, as Telegraf streams them;
bodies cut short or badly chunked (raw sockets) and gzip built to cost per member."""

from __future__ import annotations

import base64
import gzip
import json
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import requests

from accounts import services as accounts
from accounts.models import Organization
from ingest.scopes import METRICS_WRITE
from tests.servers import wait_for_health

pytestmark = pytest.mark.django_db(transaction=True)

ROOT = Path(__file__).resolve().parents[2]
NS = 1_000_000_000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def gunicorn_url(transactional_db: None, settings: Any, tmp_path: Path) -> Iterator[str]:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs the Postgres test database (gunicorn runs in another process)")
    user = db.get("USER") or "postgres"
    database_url = f"postgres://{user}@{db.get('HOST') or '127.0.0.1'}:{db.get('PORT') or 5432}/{db['NAME']}"
    port = _free_port()
    env = {
        **os.environ,
        "DATABASE_URL": database_url,
        "DEBUG": "1",
        "LOG_LEVEL": "WARNING",
        "LOG_DIR": str(tmp_path),
        "TIMESERIES_BACKEND": "sql",
    }
    env.pop("CACHE_URL", None)
    env.pop("REDIS_URL", None)
    log = (tmp_path / "gunicorn.log").open("wb")
    proc = subprocess.Popen(
        [str(ROOT / ".venv" / "bin" / "gunicorn"), "portal.wsgi:application", "-w", "1", "-b", f"127.0.0.1:{port}"],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=log,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, proc, tmp_path / "gunicorn.log")
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=15)
        log.close()


def test_chunked_gzip_body_without_content_length(gunicorn_url: str, org: Organization, read_points: Callable) -> None:
    token = accounts.api_key_issue(organization=org, name="telegraf", scopes=[METRICS_WRITE]).plaintext
    t = int(time.time()) - 30
    lines = "\n".join(f"cpu,device=host-1,cpu=cpu{i} usage_idle={90 + i}.5 {t}" for i in range(200))
    compressed = gzip.compress(lines.encode())

    def chunks() -> Iterator[bytes]:  # a generator body makes requests use Transfer-Encoding: chunked
        for start in range(0, len(compressed), 1000):
            yield compressed[start : start + 1000]

    response = requests.post(
        f"{gunicorn_url}/api/v2/write?precision=s",
        data=chunks(),
        headers={"Authorization": f"Token {token}", "Content-Encoding": "gzip", "Content-Type": "text/plain"},
        timeout=30,
    )
    assert response.request.headers.get("Transfer-Encoding") == "chunked"
    assert "Content-Length" not in response.request.headers
    assert response.status_code == 204, response.text
    stored = read_points(org, "cpu", ["usage_idle"], device="host-1", tags={"cpu": "cpu7"})
    assert stored == {"usage_idle": [(t * NS, 97.5)]}
    assert sum(len(v) for v in read_points(org, "cpu", ["usage_idle"], device="host-1").values()) == 200


def test_chunked_body_over_the_limit_is_413(gunicorn_url: str, org: Organization, read_points: Callable) -> None:
    token = accounts.api_key_issue(organization=org, name="t", scopes=[METRICS_WRITE]).plaintext
    line = b"m,device=d v=1\n"

    def chunks() -> Iterator[bytes]:
        for _ in range(800):  # 800 x 15 KB = 12 MB > INGEST_MAX_BODY_BYTES (10 MiB)
            yield line * 1000

    response = requests.post(
        f"{gunicorn_url}/api/v2/write", data=chunks(), headers={"Authorization": f"Token {token}"}, timeout=60
    )
    assert response.status_code == 413
    assert response.json()["code"] == "request_too_large"
    assert read_points(org, "m", ["v"]) == {}


# --- bodies that are not whole (raw sockets: an HTTP client library would not send them) -----------------


def _raw(url: str, head: bytes, body: bytes, *, half_close: bool = True) -> tuple[int, dict[str, Any]]:
    """Send `head` + `body` on one connection, then stop sending; the status and JSON body answered."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=30) as sock:
        sock.sendall(head + body)
        if not half_close:
            return 0, {}
        sock.shutdown(socket.SHUT_WR)  # the client is done: what it sent is all the server will get
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    status_line, _, rest = reply.partition(b"\r\n")
    _headers, _, payload = rest.partition(b"\r\n\r\n")
    return int(status_line.split()[1]), json.loads(payload) if payload else {}


def _head(token: str, **headers: str) -> bytes:
    lines = [
        "POST /api/v2/write?precision=s HTTP/1.1",
        "Host: localhost",
        f"Authorization: Token {token}",
        "Content-Type: text/plain",
        *(f"{name.replace('_', '-')}: {value}" for name, value in headers.items()),
    ]
    return ("\r\n".join(lines) + "\r\n\r\n").encode()


def _writer(org: Organization) -> str:
    return accounts.api_key_issue(organization=org, name="agent", scopes=[METRICS_WRITE]).plaintext


def test_body_shorter_than_content_length_is_400_and_stores_nothing(
    gunicorn_url: str, org: Organization, read_points: Callable
) -> None:
    full = f"m,device=d v=98765 {int(time.time())}\n".encode()
    sent = full[: full.index(b"98765") + 2]  # "m,device=d v=98": valid line protocol on its own
    status, body = _raw(gunicorn_url, _head(_writer(org), Content_Length=str(len(full))), sent)
    assert status == 400
    assert body["code"] == "invalid"
    assert f"ended after {len(sent)} of the {len(full)} bytes its Content-Length declares" in body["message"]
    assert read_points(org, "m", ["v"]) == {}


def test_client_killed_mid_send_stores_nothing(gunicorn_url: str, org: Organization, read_points: Callable) -> None:
    token = _writer(org)
    full = f"m,device=d v=98765 {int(time.time())}\n".encode()
    cut = full[: full.index(b"98765") + 2]  # "m,device=d v=98": valid line protocol on its own
    _raw(gunicorn_url, _head(token, Content_Length=str(len(full))), cut, half_close=False)  # closed at once
    # One sync worker serves one request at a time: once this write is answered the cut one has been handled.
    good = f"ok,device=d v=1 {int(time.time())}"
    status, _ = _raw(gunicorn_url, _head(token, Content_Length=str(len(good))), good.encode())
    assert status == 204
    assert read_points(org, "m", ["v"]) == {}
    assert len(read_points(org, "ok", ["v"])["v"]) == 1


def test_bad_chunk_size_is_400_json(gunicorn_url: str, org: Organization, read_points: Callable) -> None:
    line = f"m,device=d v=1 {int(time.time())}\n".encode()
    chunks = b"%x\r\n%s\r\nzz\r\n%s\r\n0\r\n\r\n" % (len(line), line, line)
    status, body = _raw(gunicorn_url, _head(_writer(org), Transfer_Encoding="chunked"), chunks)
    assert status == 400
    assert body["code"] == "invalid"
    assert "could not be read whole (InvalidChunkSize" in body["message"]
    assert read_points(org, "m", ["v"]) == {}


def test_chunked_body_cut_short_is_400_json(gunicorn_url: str, org: Organization, read_points: Callable) -> None:
    line = f"m,device=d v=1 {int(time.time())}\n".encode()
    # A whole first chunk, then a chunk announced as 0x100 bytes of which 10 arrive.
    chunks = b"%x\r\n%s\r\n100\r\n%s" % (len(line), line, line[:10])
    status, body = _raw(gunicorn_url, _head(_writer(org), Transfer_Encoding="chunked"), chunks)
    assert status == 400
    assert body["code"] == "invalid"
    assert "the connection closed before the end of the chunked body" in body["message"]
    assert read_points(org, "m", ["v"]) == {}


# --- gzip members ---------------------------------------------------------------------------------------


def test_many_empty_gzip_members_are_refused_quickly(gunicorn_url: str, org: Organization) -> None:
    empty = gzip.compress(b"", mtime=0)  # 20 bytes
    bomb = empty * (10 * 1024 * 1024 // len(empty))  # exactly INGEST_MAX_BODY_BYTES: 524,288 members
    assert len(bomb) == 10 * 1024 * 1024
    headers = {"Authorization": f"Token {_writer(org)}", "Content-Encoding": "gzip", "Content-Type": "text/plain"}
    started = time.monotonic()
    response = requests.post(f"{gunicorn_url}/api/v2/write", data=bomb, headers=headers, timeout=30)
    elapsed = time.monotonic() - started
    assert response.status_code == 413, response.text
    assert response.json()["code"] == "request_too_large"
    assert "gzip body has more than 1000 members" in response.json()["message"]
    # Loose: was ~195 s of CPU (a copy of the remainder per member); linear work is milliseconds.
    assert elapsed < 3, elapsed


def test_multi_member_gzip_with_data_is_stored(gunicorn_url: str, org: Organization, read_points: Callable) -> None:
    t = int(time.time()) - 30
    noise = [base64.b64encode(os.urandom(3000)).decode() for _ in range(40)]
    # Member 1 compresses to ~120 KB, wider than the slices zlib is fed; then an empty member; then 998 small.
    big = "\n".join(f'm,device=d,n=big{i} v={i},s="{noise[i]}" {t}' for i in range(40)).encode()
    members = [gzip.compress(big + b"\n"), gzip.compress(b"")]
    members += [gzip.compress(f"m,device=d,n=small{i} v={i} {t}\n".encode()) for i in range(998)]
    headers = {"Authorization": f"Token {_writer(org)}", "Content-Encoding": "gzip", "Content-Type": "text/plain"}
    response = requests.post(
        f"{gunicorn_url}/api/v2/write?precision=s", data=b"".join(members), headers=headers, timeout=30
    )
    assert response.status_code == 204, response.text
    stored = read_points(org, "m", ["v", "s"], device="d")
    assert len(stored["v"]) == 40 + 998
    assert read_points(org, "m", ["s"], device="d", tags={"n": "big39"}) == {"s": [(t * NS, noise[39])]}
    assert read_points(org, "m", ["v"], device="d", tags={"n": "small997"}) == {"v": [(t * NS, 997.0)]}
