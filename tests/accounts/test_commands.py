"""createorg, issuekey and demo_seed."""

from __future__ import annotations

import stat
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command

from accounts import services as accounts
from accounts.models import ApiKey, Membership, Organization
from devices.management.commands.demo_seed import read_env_file
from devices.models import Device


def _run(*args: str, **kwargs: object) -> tuple[str, str]:
    out, err = StringIO(), StringIO()
    call_command(*args, stdout=out, stderr=err, **kwargs)
    return out.getvalue(), err.getvalue()


def test_createorg_is_idempotent_and_grants_admin(db, django_user_model):
    user = django_user_model.objects.create_user("ops", password="x-not-used")
    out, _ = _run("createorg", "Acme Edge", "--admin-user", "ops")
    assert "Created organization 'Acme Edge' (slug acme-edge)." in out
    again, _ = _run("createorg", "Acme Edge")
    assert "already exists; left unchanged" in again
    assert Organization.objects.filter(slug="acme-edge").count() == 1
    assert Membership.objects.get(user=user).role == "admin"


def test_createorg_errors(db):
    with pytest.raises(CommandError, match="No user 'ghost'"):
        _run("createorg", "Acme", "--admin-user", "ghost")
    _run("createorg", "Acme", "--slug", "acme")
    with pytest.raises(CommandError, match="Slug 'acme' is already used by organization 'Acme'"):
        _run("createorg", "Other", "--slug", "acme")
    assert Organization.objects.count() == 1


def test_issuekey_prints_a_key_that_authenticates(org, device, client_for):
    out, err = _run(
        "issuekey",
        "--org",
        org.slug,
        "--name",
        "telegraf",
        "--scopes",
        "metrics:write,metrics:read",
        "--device",
        "edge-01",
        "--expires-days",
        "7",
        "--rate-limit",
        "120/m",
    )
    plaintext = out.strip()
    api_key = accounts.api_key_authenticate(plaintext)
    assert api_key is not None
    assert (api_key.organization, api_key.device, api_key.rate_limit) == (org, device, "120/m")
    assert api_key.scopes == ["metrics:read", "metrics:write"]
    assert api_key.expires_at is not None
    assert plaintext not in err
    assert f"Issued key bcn_{api_key.key_id}_…" in err
    assert client_for(plaintext).get("/api/v1/devices/").status_code == 200


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--org", "nope", "--scopes", "metrics:read"], "Unknown organization 'nope' (known: acme-edge)"),
        (["--org", "acme-edge", "--scopes", "metrics:read,metrics:delete"], "Unknown scope(s) metrics:delete"),
        (["--org", "acme-edge", "--scopes", "metrics:read", "--device", "zz"], "has no device named 'zz'"),
        (["--org", "acme-edge", "--scopes", "metrics:read", "--rate-limit", "fast"], "Invalid rate limit 'fast'"),
        (["--org", "acme-edge", "--scopes", "metrics:read", "--expires-days", "0"], "at least 1"),
    ],
)
def test_issuekey_errors_change_nothing(org, args, message):
    with pytest.raises(CommandError) as info:
        _run("issuekey", "--name", "k", *args)
    assert message in str(info.value)
    assert ApiKey.objects.count() == 0


def test_demo_seed_is_idempotent(db, settings, tmp_path):
    settings.DEBUG = True
    settings.DEMO_MODE = True
    keys_file = tmp_path / "demo-keys.env"

    out1, _ = _run("demo_seed", "--keys-file", str(keys_file))
    first = read_env_file(keys_file)
    rows1 = (Organization.objects.count(), Device.objects.count(), ApiKey.objects.count(), Membership.objects.count())
    out2, _ = _run("demo_seed", "--keys-file", str(keys_file))
    second = read_env_file(keys_file)
    rows2 = (Organization.objects.count(), Device.objects.count(), ApiKey.objects.count(), Membership.objects.count())

    assert "Created organization 'Demo'." in out1 and "Created superuser admin / admin" in out1
    assert "kept" in out2 and "issued" not in out2
    assert rows1 == rows2 == (1, 2, 4, 1)
    assert first == second
    assert set(first) == {
        "BEACON_URL",
        "BEACON_DEMO_WRITE_KEY",
        "BEACON_DEMO_READ_KEY",
        "BEACON_EDGE01_KEY",
        "BEACON_DEMO_LOADTEST_KEY",  # the demo's Locust runs (scripts/demo_loadtests.sh)
    }
    assert first["BEACON_URL"] == "http://127.0.0.1:8000"
    assert stat.S_IMODE(keys_file.stat().st_mode) == 0o600

    write = accounts.api_key_authenticate(first["BEACON_DEMO_WRITE_KEY"])
    read = accounts.api_key_authenticate(first["BEACON_DEMO_READ_KEY"])
    edge = accounts.api_key_authenticate(first["BEACON_EDGE01_KEY"])
    assert write is not None and (write.scopes, write.device) == (["metrics:write"], None)
    assert read is not None and read.scopes == ["metrics:read"]
    assert edge is not None and edge.device is not None and edge.device.name == "edge-01"
    users = get_user_model().objects
    assert users.get(username="admin").is_superuser
    assert users.get(username="admin").check_password("admin")
    assert Membership.objects.get(user__username="customer").role == "viewer"
    assert Device.objects.get(name="edge-02").organization.slug == "demo"


def test_demo_seed_replaces_keys_that_no_longer_work(db, settings, tmp_path):
    settings.DEBUG = True
    settings.DEMO_MODE = True
    keys_file = tmp_path / "demo-keys.env"
    _run("demo_seed", "--keys-file", str(keys_file))
    before = read_env_file(keys_file)
    revoked = accounts.api_key_authenticate(before["BEACON_DEMO_READ_KEY"])
    assert revoked is not None
    accounts.api_key_revoke(api_key=revoked)

    out, _ = _run("demo_seed", "--keys-file", str(keys_file))
    after = read_env_file(keys_file)

    assert "BEACON_DEMO_READ_KEY: issued" in out
    assert after["BEACON_DEMO_READ_KEY"] != before["BEACON_DEMO_READ_KEY"]
    assert after["BEACON_DEMO_WRITE_KEY"] == before["BEACON_DEMO_WRITE_KEY"]
    assert accounts.api_key_authenticate(after["BEACON_DEMO_READ_KEY"]) is not None


def test_demo_seed_refuses_public_passwords_outside_demo_mode(db, settings, tmp_path):
    settings.DEBUG = False
    settings.DEMO_MODE = True
    _, err = _run("demo_seed", "--keys-file", str(tmp_path / "k.env"))
    assert "Not creating the demo users admin/admin and customer/customer" in err
    assert "only when DEBUG=1 and BEACON_DEMO=1" in err
    assert not get_user_model().objects.filter(username__in=["admin", "customer"]).exists()
    assert Device.objects.filter(organization__slug="demo").count() == 2
