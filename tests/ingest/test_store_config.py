"""get_store(): chosen by settings, cached per process, rebuilt after fork, lazy, validated."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from timeseries import get_store, reset_store
from timeseries.health import check_store
from timeseries.influx import InfluxStore, quote_ident, quote_string
from timeseries.sql import SqlStore

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(autouse=True)
def _fresh_store() -> object:
    reset_store()
    yield
    reset_store()


def test_default_backend_is_sql_and_cached(db: None, settings: object) -> None:
    settings.TIMESERIES_BACKEND = "sql"  # type: ignore[attr-defined]
    store = get_store()
    assert isinstance(store, SqlStore)
    assert get_store() is store
    check_store()  # pings the database
    reset_store()
    assert get_store() is not store


def test_influx_backend_opens_nothing_until_used(settings: object) -> None:
    settings.TIMESERIES_BACKEND = "influx"  # type: ignore[attr-defined]
    settings.INFLUX_URL = "http://127.0.0.1:9"  # type: ignore[attr-defined]
    settings.INFLUX_BUCKET = settings.INFLUX_DATABASE = "metrics"  # type: ignore[attr-defined]
    store = get_store()
    assert isinstance(store, InfluxStore)
    assert (store.url, store.bucket, store.database) == ("http://127.0.0.1:9", "metrics", "metrics")
    assert store._client is None and store._http is None


def test_a_forked_child_builds_its_own_store(settings: object) -> None:
    settings.TIMESERIES_BACKEND = "influx"  # type: ignore[attr-defined]
    parent = get_store()
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: report whether it got the parent's object
        try:
            child = get_store()
            os.write(write_end, b"same" if child is parent else b"new")
        finally:
            os._exit(0)
    os.close(write_end)
    os.waitpid(pid, 0)
    assert os.read(read_end, 10) == b"new"
    os.close(read_end)
    assert get_store() is parent


def test_unknown_backend_fails_at_startup() -> None:
    env = {**os.environ, "DEBUG": "1", "TIMESERIES_BACKEND": "mongo", "DJANGO_SETTINGS_MODULE": "portal.settings"}
    proc = subprocess.run(
        [sys.executable, "-c", "import django; django.setup()"], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert proc.returncode != 0
    assert "TIMESERIES_BACKEND='mongo' is unknown; use 'sql' or 'influx'." in proc.stderr


def test_influxql_quoting() -> None:
    assert quote_ident('we"ird\\name') == '"we\\"ird\\\\name"'
    assert quote_string("it's a\\b\nc") == "'it\\'s a\\\\b\\nc'"


def test_sql_connection_errors_are_store_unavailable(db: None) -> None:
    import socket

    from django.db import connection
    from django.db.backends.postgresql.base import DatabaseWrapper

    from timeseries import StoreUnavailable
    from timeseries.sql import db_errors

    if connection.vendor != "postgresql":
        pytest.skip("needs the Postgres test database")
    with socket.socket() as sock:  # a port nobody listens on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    dead = DatabaseWrapper({**connection.settings_dict, "PORT": port, "HOST": "127.0.0.1"}, alias="dead")
    try:
        with pytest.raises(StoreUnavailable, match="database unavailable: OperationalError"), db_errors():
            dead.cursor()
    finally:
        dead.close()
