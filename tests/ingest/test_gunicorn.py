"""Behind gunicorn (what production runs): chunked gzip bodies without Content-Length, as Telegraf streams them."""

from __future__ import annotations

import gzip
import os
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from devices import services as device_services
from devices.models import Organization, Scope
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
    token = device_services.api_key_issue(organization=org, name="telegraf", scopes=[Scope.METRICS_WRITE]).plaintext
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
    token = device_services.api_key_issue(organization=org, name="t", scopes=[Scope.METRICS_WRITE]).plaintext
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
