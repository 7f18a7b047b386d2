"""API keys end to end: issue, verify, revoke, expiry, rotation, headers, scopes, tenancy."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from accounts import keys
from accounts import services as accounts
from accounts.models import ApiKey
from devices import services
from ingest.scopes import METRICS_WRITE


def _later(monkeypatch: pytest.MonkeyPatch, delta: timedelta) -> None:
    """Move the clock that services and models read forward by `delta`."""
    moved = timezone.now() + delta
    monkeypatch.setattr(timezone, "now", lambda: moved)


def test_issue_stores_only_the_digest(org):
    issued = accounts.api_key_issue(organization=org, name="agent", scopes=["metrics:write"])
    parsed = keys.parse(issued.plaintext)
    assert parsed is not None
    row = ApiKey.objects.get(pk=issued.api_key.pk)
    assert row.key_id == parsed.key_id
    assert row.digest == keys.digest(parsed.secret)
    assert parsed.secret not in row.digest
    assert issued.plaintext.startswith(f"bcn_{row.key_id}_")
    assert row.scopes == ["metrics:write"]


def test_issue_rejects_bad_input_and_creates_nothing(org, other_org):
    foreign = services.device_create(organization=other_org, name="foreign")
    with pytest.raises(ValueError, match="Unknown scope"):
        accounts.api_key_issue(organization=org, name="k", scopes=["metrics:delete"])
    with pytest.raises(ValueError, match="at least one scope"):
        accounts.api_key_issue(organization=org, name="k", scopes=[])
    with pytest.raises(ValueError, match="another organization"):
        accounts.api_key_issue(organization=org, name="k", scopes=["metrics:write"], device=foreign)
    with pytest.raises(ValueError, match="Invalid rate limit '600 per minute'"):
        accounts.api_key_issue(organization=org, name="k", scopes=["metrics:write"], rate_limit="600 per minute")
    assert ApiKey.objects.count() == 0


@pytest.mark.parametrize("rate", ["600/m", "10/s", "100/5m", "1/d", ""])
def test_valid_rate_limits_accepted(rate):
    assert accounts.validate_rate_limit(rate) == rate


def test_authenticate_verify_revoke(org):
    issued = accounts.api_key_issue(organization=org, name="agent", scopes=["metrics:write"])
    assert accounts.api_key_authenticate(issued.plaintext) == issued.api_key
    accounts.api_key_revoke(api_key=issued.api_key)
    assert accounts.api_key_authenticate(issued.plaintext) is None
    assert ApiKey.objects.get(pk=issued.api_key.pk).revoked_at is not None


def test_expired_key_rejected(org, monkeypatch):
    issued = accounts.api_key_issue(
        organization=org, name="temp", scopes=["metrics:read"], expires_at=timezone.now() + timedelta(hours=1)
    )
    assert accounts.api_key_authenticate(issued.plaintext) is not None
    _later(monkeypatch, timedelta(hours=1, seconds=1))
    assert accounts.api_key_authenticate(issued.plaintext) is None


def test_rotation_grace_then_old_key_fails(org, device, monkeypatch):
    old = accounts.api_key_issue(
        organization=org, name="agent", scopes=["metrics:write"], device=device, rate_limit="60/m"
    )
    new = accounts.api_key_rotate(api_key=old.api_key, grace=timedelta(hours=2))

    assert new.plaintext != old.plaintext
    assert new.api_key.rotated_from == old.api_key
    assert (new.api_key.scopes, new.api_key.device, new.api_key.rate_limit) == (["metrics:write"], device, "60/m")
    assert accounts.api_key_authenticate(old.plaintext) == old.api_key  # within the grace period
    assert accounts.api_key_authenticate(new.plaintext) == new.api_key
    with pytest.raises(ValueError, match="already been rotated"):
        accounts.api_key_rotate(api_key=old.api_key)

    _later(monkeypatch, timedelta(hours=2, seconds=1))
    assert accounts.api_key_authenticate(old.plaintext) is None
    assert accounts.api_key_authenticate(new.plaintext) == new.api_key


def test_revoked_key_cannot_be_rotated(org):
    issued = accounts.api_key_issue(organization=org, name="agent", scopes=["metrics:write"])
    accounts.api_key_revoke(api_key=issued.api_key)
    with pytest.raises(ValueError, match="Only an active key"):
        accounts.api_key_rotate(api_key=issued.api_key)
    assert ApiKey.objects.count() == 1


def test_last_used_written_at_most_once_a_minute(org, monkeypatch, django_assert_num_queries, settings):
    settings.API_KEY_CACHE_SECONDS = 0  # the database path; the memory is covered by test_key_cache.py
    issued = accounts.api_key_issue(organization=org, name="agent", scopes=["metrics:read"])
    with django_assert_num_queries(2):  # SELECT + UPDATE last_used_at
        accounts.api_key_authenticate(issued.plaintext)
    first = ApiKey.objects.get(pk=issued.api_key.pk).last_used_at
    assert first is not None

    _later(monkeypatch, timedelta(seconds=59))
    with django_assert_num_queries(1):  # SELECT only
        accounts.api_key_authenticate(issued.plaintext)
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at == first

    _later(monkeypatch, timedelta(seconds=61))
    with django_assert_num_queries(2):
        accounts.api_key_authenticate(issued.plaintext)
    assert ApiKey.objects.get(pk=issued.api_key.pk).last_used_at > first


@pytest.mark.parametrize("header", ["bearer", "token", "x-api-key"])
def test_all_three_headers_accepted(org, issue_key, client_for, header):
    response = client_for(issue_key(org, ["metrics:read"]), header=header).get("/api/v1/devices/")
    assert response.status_code == 200
    assert response.json() == {"next": None, "previous": None, "results": []}


def test_unknown_id_wrong_secret_and_malformed_key_look_the_same(org, issue_key, client_for):
    plaintext = issue_key(org, ["metrics:read"])
    parsed = keys.parse(plaintext)
    assert parsed is not None
    wrong_secret = f"bcn_{parsed.key_id}_{'A' * len(parsed.secret)}"
    unknown_id = f"bcn_{'0' * 16}_{parsed.secret}"
    revoked = issue_key(org, ["metrics:read"])
    accounts.api_key_revoke(api_key=ApiKey.objects.get(key_id=keys.parse(revoked).key_id))  # type: ignore[union-attr]

    responses = [
        client_for(candidate).get("/api/v1/devices/")
        for candidate in (wrong_secret, unknown_id, "bcn_not-a-key", "hello", revoked)
    ]

    assert {r.status_code for r in responses} == {401}
    bodies = {r.content for r in responses}
    assert len(bodies) == 1
    assert responses[0].json() == {"code": "unauthorized", "message": "Invalid, expired or revoked API key."}
    assert client_for(plaintext).get("/api/v1/devices/").status_code == 200


def test_missing_credentials_is_401(db, client):
    response = client.get("/api/v1/devices/")
    assert response.status_code == 401
    assert response.json()["code"] == "unauthorized"


def test_missing_scope_is_403_naming_the_scope(org, issue_key, client_for):
    response = client_for(issue_key(org, [METRICS_WRITE])).get("/api/v1/devices/")
    assert response.status_code == 403
    assert response.json() == {"code": "forbidden", "message": "This API key lacks the 'metrics:read' scope."}


def test_device_bound_key_acts_only_for_its_device(org, other_org, device):
    sibling = services.device_create(organization=org, name="edge-02")
    foreign = services.device_create(organization=other_org, name="edge-01")
    bound = accounts.api_key_issue(organization=org, name="b", scopes=["metrics:write"], device=device).api_key
    org_wide = accounts.api_key_issue(organization=org, name="o", scopes=["metrics:write"]).api_key

    assert bound.can_act_for_device(device) is True
    assert bound.can_act_for_device(sibling) is False
    assert bound.can_act_for_device(foreign) is False
    assert org_wide.can_act_for_device(device) is True
    assert org_wide.can_act_for_device(sibling) is True
    assert org_wide.can_act_for_device(foreign) is False  # same name, other org


def test_org_key_never_sees_other_orgs_rows(org, other_org, issue_key, client_for):
    services.device_create(organization=org, name="mine")
    for i in range(3):
        foreign = services.device_create(organization=other_org, name=f"theirs-{i}")
        foreign.last_seen_at = timezone.now()
        foreign.save()
    api = client_for(issue_key(org, ["metrics:read"]))

    devices = api.get("/api/v1/devices/").json()["results"]
    status = api.get("/api/v1/status").json()

    assert [d["name"] for d in devices] == ["mine"]
    assert status["organization"] == org.slug
    assert status["devices"] == {"live": 0, "stale": 0, "offline": 0, "unseen": 1}
    other_status = client_for(issue_key(other_org, ["metrics:read"])).get("/api/v1/status").json()
    assert other_status["devices"] == {"live": 3, "stale": 0, "offline": 0, "unseen": 0}


def test_authenticate_loads_the_same_objects_as_the_orm(org, device):
    org.stale_after = timedelta(seconds=45)
    org.save()
    expires = timezone.now() + timedelta(days=3)
    issued = accounts.api_key_issue(
        organization=org, name="bound", scopes=["metrics:write", "metrics:read"], device=device, expires_at=expires
    )
    loaded = accounts.api_key_authenticate(issued.plaintext)
    expected = ApiKey.objects.select_related("organization", "device").get(pk=issued.api_key.pk)
    assert loaded is not None
    for model_pair in ((loaded, expected), (loaded.organization, expected.organization), (loaded.device, device)):
        got, want = model_pair
        for field in type(want)._meta.concrete_fields:
            if field.attname != "last_used_at":
                assert getattr(got, field.attname) == getattr(want, field.attname), field.attname
    assert loaded.scopes == ["metrics:read", "metrics:write"]
    assert loaded.device.tags == {"site": "lab"}
    assert loaded.organization.stale_after == timedelta(seconds=45)
    assert loaded.expires_at == expires and loaded.expires_at.tzinfo is not None
    loaded.name = "renamed"
    loaded.save(update_fields=["name"])  # a normal, saveable instance
    assert ApiKey.objects.get(pk=loaded.pk).name == "renamed"


def test_unknown_key_id_and_wrong_secret_do_the_same_work(org, monkeypatch, django_assert_num_queries):
    """Structural, not timed: the same HMACs, comparisons, queries, rows and (no) model instances on both paths."""
    import hmac as hmac_module

    from accounts import key_lookup

    issued = accounts.api_key_issue(organization=org, name="k", scopes=["metrics:read"])
    known_id = issued.api_key.key_id
    counts: dict[str, int] = {}

    def counting(name, real):
        def wrapper(*args, **kwargs):
            counts[name] = counts.get(name, 0) + 1
            return real(*args, **kwargs)

        return wrapper

    monkeypatch.setattr(keys, "digest", counting("hmac", keys.digest))
    monkeypatch.setattr(hmac_module, "compare_digest", counting("compare", hmac_module.compare_digest))
    monkeypatch.setattr(ApiKey, "from_db", classmethod(counting("instances", ApiKey.from_db.__func__)))
    rows: list[object] = []
    real_key_row = key_lookup.key_row

    def recording_key_row(key_id):
        row = real_key_row(key_id)
        rows.append(len(row.row))
        return row

    monkeypatch.setattr(accounts, "key_row", recording_key_row)

    def work(plaintext: str) -> dict[str, int]:
        counts.clear()
        with django_assert_num_queries(1):
            assert accounts.api_key_authenticate(plaintext) is None
        return dict(counts)

    wrong_secret = work(f"bcn_{known_id}_{'w' * 43}")
    unknown_id = work(f"bcn_{'0' * 16}_{'w' * 43}")
    assert wrong_secret == unknown_id == {"hmac": 1, "compare": 2}  # the process memo's comparison + the row's
    assert rows[0] == rows[1] > 0  # one row of the same width on both paths
    assert accounts.api_key_authenticate(issued.plaintext) is not None  # and the real key still works
