"""/health, /health/ready and the request id."""

from __future__ import annotations

import re
import socket

import pytest
import redis

from tests.conftest import require_server


def _redis_up() -> bool:
    try:
        return bool(redis.Redis(host="127.0.0.1", port=6379, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


def _closed_port() -> int:
    # Bind to get a free port, then close it: nothing listens there afterwards.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _redis_cache(location: str) -> dict[str, dict[str, object]]:
    return {
        "default": {
            "BACKEND": "django_redis.cache.RedisCache",
            "LOCATION": location,
            "OPTIONS": {"SOCKET_CONNECT_TIMEOUT": 1, "SOCKET_TIMEOUT": 1},
        }
    }


@pytest.mark.django_db
def test_health_is_200_without_io(client, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


@pytest.mark.django_db
def test_ready_ok_against_postgres_and_redis(client, settings):
    require_server(_redis_up(), "Redis is not running on 127.0.0.1:6379")
    settings.CACHES = _redis_cache("redis://127.0.0.1:6379/5")

    response = client.get("/health/ready")

    body = response.json()
    assert response.status_code == 200, body
    # No beat has run against the test database: reported, but not a reason to leave the load balancer.
    assert body["status"] == "degraded" and body["failed"] == [] and body["degraded"] == ["beat"]
    assert set(body["checks"]) == {"database", "cache", "broker", "beat", "store"}
    for name, check in body["checks"].items():
        assert check["status"] == ("degraded" if name == "beat" else "ok"), name
        assert isinstance(check["latency_ms"], float | int) and check["latency_ms"] >= 0


@pytest.mark.django_db
def test_ready_503_names_a_dead_cache(client, settings):
    settings.CACHES = _redis_cache(f"redis://127.0.0.1:{_closed_port()}/0")

    response = client.get("/health/ready")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "error"
    assert body["failed"] == ["cache"]
    assert body["checks"]["cache"]["status"] == "error"
    assert "ConnectionError" in body["checks"]["cache"]["error"]
    assert body["checks"]["database"]["status"] == "ok"


def test_request_id_echoed_generated_and_sanitised(client):
    assert client.get("/health", HTTP_X_REQUEST_ID="trace-42.a:b").headers["X-Request-ID"] == "trace-42.a:b"
    generated = client.get("/health").headers["X-Request-ID"]
    assert re.fullmatch(r"[0-9a-f]{32}", generated)
    for bad in ("has space", "x" * 129, "new\\nline", "<script>"):
        replaced = client.get("/health", HTTP_X_REQUEST_ID=bad).headers["X-Request-ID"]
        assert re.fullmatch(r"[0-9a-f]{32}", replaced), bad
