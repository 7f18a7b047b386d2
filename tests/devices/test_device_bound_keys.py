"""A device-bound key sees only its own device; /api/v1/whoami names what a key acts for."""

from __future__ import annotations

from devices import services


def test_device_bound_key_lists_only_its_own_device(org, other_org, issue_key, client_for):
    own = services.device_create(organization=org, name="edge-own")
    services.device_create(organization=org, name="edge-sibling")
    services.device_create(organization=other_org, name="foreign")
    bound = client_for(issue_key(org, ["metrics:read"], device=own))

    listed = bound.get("/api/v1/devices/")
    assert listed.status_code == 200
    assert [row["name"] for row in listed.json()["results"]] == ["edge-own"]
    # An org-wide key of the same org still sees both.
    wide = client_for(issue_key(org, ["metrics:read"])).get("/api/v1/devices/")
    assert [row["name"] for row in wide.json()["results"]] == ["edge-own", "edge-sibling"]


def test_device_detail_own_device_only(org, other_org, issue_key, client_for):
    own = services.device_create(organization=org, name="Edge Own", tags={"site": "lab"})
    services.device_create(organization=org, name="edge-sibling")
    services.device_create(organization=other_org, name="foreign")
    bound = client_for(issue_key(org, ["metrics:read"], device=own))

    detail = bound.get("/api/v1/devices/edge-own")
    assert detail.status_code == 200
    shown = detail.json()
    assert (shown["name"], shown["tags"], shown["state"]) == ("Edge Own", {"site": "lab"}, "unseen")
    for slug in ("edge-sibling", "foreign", "nope"):
        missing = bound.get(f"/api/v1/devices/{slug}")
        assert missing.status_code == 404, slug
        assert missing.json()["code"] == "not_found"
    wide = client_for(issue_key(org, ["metrics:read"]))
    assert wide.get("/api/v1/devices/edge-sibling").json()["name"] == "edge-sibling"
    assert wide.get("/api/v1/devices/foreign").status_code == 404  # another org's device


def test_status_counts_only_the_bound_device(org, issue_key, client_for):
    own = services.device_create(organization=org, name="edge-own")
    services.device_create(organization=org, name="edge-sibling")
    body = client_for(issue_key(org, ["metrics:read"], device=own)).get("/api/v1/status").json()
    assert body["devices"] == {"live": 0, "stale": 0, "offline": 0, "unseen": 1}
    assert body["device"] == "edge-own"


def test_whoami_names_the_bound_device_for_any_scope(org, issue_key, client_for):
    own = services.device_create(organization=org, name="edge-own")
    bound = client_for(issue_key(org, ["metrics:write"], device=own), header="token").get("/api/v1/whoami")
    assert bound.status_code == 200
    body = bound.json()
    assert (body["organization"], body["device"], body["scopes"]) == (org.slug, "edge-own", ["metrics:write"])
    assert body["key_id"] and "bcn_" not in str(body)  # the id, never the key

    wide = client_for(issue_key(org, ["metrics:write"])).get("/api/v1/whoami").json()
    assert wide["device"] is None

    anonymous = client_for("bcn_nope_nope").get("/api/v1/whoami")
    assert anonymous.status_code == 401
