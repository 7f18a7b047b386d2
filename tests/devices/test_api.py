from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from devices import services


def test_device_list_shows_only_own_org_with_state(org, other_org, issue_key, client_for):
    now = timezone.now()
    live = services.device_create(organization=org, name="edge-live")
    live.last_seen_at = now - timedelta(seconds=30)
    live.save()
    stale = services.device_create(organization=org, name="edge-stale")
    stale.last_seen_at = now - timedelta(minutes=5)
    stale.save()
    services.device_create(organization=org, name="edge-unseen")
    services.device_create(organization=other_org, name="foreign-device")

    response = client_for(issue_key(org, ["metrics:read"])).get("/api/v1/devices/")

    assert response.status_code == 200
    states = {row["name"]: row["state"] for row in response.json()["results"]}
    assert states == {"edge-live": "live", "edge-stale": "stale", "edge-unseen": "unseen"}
