from __future__ import annotations

from rest_framework import serializers

from devices.models import Device


class DeviceSerializer(serializers.ModelSerializer[Device]):
    state = serializers.ChoiceField(choices=["live", "stale", "offline", "unseen"], read_only=True)

    class Meta:
        model = Device
        fields = ["name", "slug", "tags", "description", "created_at", "last_seen_at", "state"]
        read_only_fields = fields
