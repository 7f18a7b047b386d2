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


def _stamp_beat(seconds_ago: float | None) -> None:
    from datetime import timedelta

    from django.utils import timezone
    from django_celery_beat.models import PeriodicTask

    last = None if seconds_ago is None else timezone.now() - timedelta(seconds=seconds_ago)
    PeriodicTask.objects.update(last_run_at=None)
    PeriodicTask.objects.filter(name="beat-heartbeat").update(last_run_at=last)


@pytest.mark.django_db
def test_ready_reports_a_beat_that_never_ran_as_degraded(client):
    _stamp_beat(None)

    response = client.get("/health/ready")

    body = response.json()
    assert response.status_code == 200
    assert body["status"] == "degraded" and body["degraded"] == ["beat"] and body["failed"] == []
    beat = body["checks"]["beat"]
    assert beat["status"] == "degraded"
    assert beat["last_tick"] is None and beat["age_seconds"] is None
    assert "celery -A portal beat" in beat["error"]


@pytest.mark.django_db
def test_ready_reports_the_age_of_the_last_beat_tick(client, settings):
    settings.BEAT_STALE_SECONDS = 120
    _stamp_beat(5)

    beat = client.get("/health/ready").json()["checks"]["beat"]

    assert beat["status"] == "ok"
    assert 5 <= beat["age_seconds"] < 60
    assert beat["stale_after_seconds"] == 120
    assert beat["last_tick"].endswith("+00:00")


@pytest.mark.django_db
def test_ready_reports_a_stale_beat_as_degraded_but_stays_200(client, settings):
    settings.BEAT_STALE_SECONDS = 120
    _stamp_beat(3600)

    response = client.get("/health/ready")

    body = response.json()
    assert response.status_code == 200 and body["status"] == "degraded"
    assert body["checks"]["beat"]["status"] == "degraded"
    assert 3600 <= body["checks"]["beat"]["age_seconds"] < 3700
    assert "last tick was 3600s ago" in body["checks"]["beat"]["error"]


@pytest.mark.django_db
def test_ready_503_names_a_dead_redis_broker(client, settings):
    settings.CELERY_BROKER_URL = f"redis://:s3cret@127.0.0.1:{_closed_port()}/1"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {}

    response = client.get("/health/ready")

    body = response.json()
    assert response.status_code == 503
    assert body["status"] == "error" and body["failed"] == ["broker"]
    assert body["checks"]["broker"]["status"] == "error"
    error = body["checks"]["broker"]["error"]
    assert error.startswith("OperationalError: ") and "Connection refused" in error, error
    assert body["checks"]["broker"]["latency_ms"] < 2000  # one quick retry, not kombu's default backoff
    assert "s3cret" not in response.content.decode()


@pytest.mark.django_db
def test_ready_names_a_live_redis_broker(client, settings):
    require_server(_redis_up(), "Redis is not running on 127.0.0.1:6379")
    settings.CELERY_BROKER_URL = "redis://127.0.0.1:6379/13"
    settings.CELERY_BROKER_TRANSPORT_OPTIONS = {"visibility_timeout": 3600}

    broker = client.get("/health/ready").json()["checks"]["broker"]

    assert broker == {"status": "ok", "transport": "redis", "latency_ms": broker["latency_ms"]}
    assert 0 <= broker["latency_ms"] < 5000
