"""Webhooks per Standard Webhooks 1.0: the body, the signed headers, and one POST."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime

from django.conf import settings
from django.utils import timezone
from standardwebhooks import Webhook

from notifications.models import Delivery, Notification
from notifications.outcome import Outcome, parse_retry_after
from portal import netguard

USER_AGENT = "Beacon-Webhooks/1"
# Receivers answer with a status; the body is only kept (truncated) for the delivery log.
MAX_RESPONSE_BYTES = 4096


def webhook_body(notification: Notification) -> str:
    """`{"type", "timestamp", "data"}`, minified. The timestamp is the event's, the same on every retry."""
    created = notification.created_at.astimezone(UTC).isoformat().replace("+00:00", "Z")
    document = {"type": notification.event_type, "timestamp": created, "data": notification.payload}
    return json.dumps(document, separators=(",", ":"), sort_keys=True)


def signed_headers(*, secret: str, msg_id: str, body: str, timestamp: datetime | None = None) -> dict[str, str]:
    """webhook-id / webhook-timestamp / webhook-signature (`v1,<base64 HMAC-SHA256 of id.timestamp.body>`)."""
    when = timestamp or datetime.fromtimestamp(int(time.time()), tz=UTC)
    return {
        "content-type": "application/json",
        "user-agent": USER_AGENT,
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(when.timestamp())),
        "webhook-signature": Webhook(secret).sign(msg_id, when.astimezone(UTC), body),
    }


def _excerpt(data: bytes) -> str:
    return data[:200].decode("utf-8", "replace")


def send_webhook(delivery: Delivery) -> Outcome:
    endpoint = delivery.endpoint
    assert endpoint is not None
    if not endpoint.enabled:
        return Outcome(ok=False, permanent=True, error=f"endpoint disabled: {endpoint.disabled_reason}")
    body = webhook_body(delivery.notification)
    headers = signed_headers(secret=endpoint.secret, msg_id=delivery.webhook_msg_id, body=body)
    try:
        response = netguard.request(
            "POST",
            endpoint.url,
            body=body.encode(),
            headers=headers,
            timeout=settings.NOTIFY_WEBHOOK_TIMEOUT_SECONDS,
            max_response_bytes=MAX_RESPONSE_BYTES,
        )
    except netguard.UnsafeUrl as exc:
        return Outcome(ok=False, permanent=True, error=f"refused: {exc}")
    except OSError as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")
    status = response.status
    if 200 <= status < 300:
        return Outcome(ok=True, response_code=status)
    if status == 410:
        return Outcome(
            ok=False,
            response_code=status,
            permanent=True,
            error="410 Gone",
            disable_reason=f"the receiver answered 410 Gone at {timezone.now():%Y-%m-%d %H:%M:%S} UTC",
        )
    retry_after = parse_retry_after(response.headers.get("retry-after"), now=timezone.now())
    return Outcome(
        ok=False, response_code=status, error=f"HTTP {status}: {_excerpt(response.body)}", retry_after=retry_after
    )
