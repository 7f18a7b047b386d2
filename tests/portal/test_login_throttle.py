"""Failed admin logins are throttled by django-axes on the shared cache (issue 7, item 7)."""

from __future__ import annotations

import time
from datetime import timedelta

import pytest
from django.conf import settings
from django.core.cache import caches
from django.core.management import call_command

LOGIN_URL = "/admin/login/?next=/admin/"
PASSWORD = "right-horse-battery-staple"
LOCKED = "Too many failed logins for this username from your address"


@pytest.fixture(autouse=True)
def _empty_cache(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]  # ~20 logins per test
    caches["default"].clear()
    yield
    caches["default"].clear()


@pytest.fixture
def root(django_user_model):
    return django_user_model.objects.create_superuser("root", "root@example.com", PASSWORD)


def _login(client, password: str, address: str = "192.0.2.10"):
    return client.post(LOGIN_URL, {"username": "root", "password": password}, REMOTE_ADDR=address)


def _logged_in(client) -> bool:
    return "_auth_user_id" in client.session


def test_wrong_passwords_lock_out_even_the_right_one(client, root):
    limit = settings.AXES_FAILURE_LIMIT
    assert limit == settings.LOGIN_FAILURE_LIMIT == 5
    for _ in range(limit - 1):
        response = _login(client, "wrong")
        assert response.status_code == 200
        assert "Please enter the correct username and password" in response.content.decode()

    last = _login(client, "wrong")
    right = _login(client, PASSWORD)

    assert last.status_code == right.status_code == 429
    assert LOCKED in right.content.decode()
    assert f"refused for {settings.LOGIN_LOCKOUT_MINUTES} minutes" in right.content.decode()
    assert not _logged_in(client)
    # The lock is per (username, address): the same admin elsewhere still gets in.
    assert _login(client, PASSWORD, address="198.51.100.7").status_code == 302
    assert _logged_in(client)


def test_a_success_before_the_limit_resets_the_count(client, root):
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        assert _login(client, "wrong").status_code == 200
    assert _login(client, PASSWORD).status_code == 302


def test_the_lockout_cools_off(client, root, settings):
    settings.AXES_COOLOFF_TIME = timedelta(seconds=1)
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 429  # this try restarts the cool-off, as documented

    time.sleep(1.5)

    assert _login(client, PASSWORD).status_code == 302
    assert _logged_in(client)


def test_an_administrator_can_unlock_and_the_count_lives_in_the_default_cache(client, root):
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 429

    call_command("axes_reset_ip_username", "192.0.2.10", "root")

    assert _login(client, PASSWORD).status_code == 302
    client.logout()
    for _ in range(settings.AXES_FAILURE_LIMIT):
        _login(client, "wrong")
    assert _login(client, PASSWORD).status_code == 429
    caches["default"].clear()  # the counter is in the default cache (Redis, shared, in production)
    assert _login(client, PASSWORD).status_code == 302
