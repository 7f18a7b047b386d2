from __future__ import annotations

from rest_framework import serializers

from devices.models import Device


class DeviceSerializer(serializers.ModelSerializer[Device]):
    state = serializers.ChoiceField(choices=["live", "stale", "offline", "unseen"], read_only=True)

    class Meta:
        model = Device
        fields = ["name", "slug", "tags", "description", "created_at", "last_seen_at", "state"]
        read_only_fields = fields


class WhoamiSerializer(serializers.Serializer[dict]):
    key_id = serializers.CharField(help_text="The key's public id (the `<keyid>` of `bcn_<keyid>_<secret>`).")
    organization = serializers.CharField(help_text="The organization's slug.")
    device = serializers.CharField(
        allow_null=True, help_text="The device a device-bound key forces on every point; null for an org-wide key."
    )
    scopes = serializers.ListField(child=serializers.CharField())
    expires_at = serializers.DateTimeField(allow_null=True)
