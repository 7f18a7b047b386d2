"""Email through Django's email backend (SMTP in production, console/file in the demo)."""

from __future__ import annotations

import smtplib

from django.conf import settings
from django.core.mail import EmailMultiAlternatives

from notifications.models import Delivery
from notifications.outcome import Outcome


def _text(value: bytes | str) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else value


def send_email(delivery: Delivery) -> Outcome:
    notification = delivery.notification
    message = EmailMultiAlternatives(
        subject=notification.subject,
        body=notification.text,
        from_email=settings.DEFAULT_FROM_EMAIL,
        to=[delivery.email],
        # Lets a mail filter or a support person tie the message to the delivery log.
        headers={"X-Beacon-Notification": str(notification.pk), "X-Beacon-Kind": notification.kind},
    )
    if notification.html:
        message.attach_alternative(notification.html, "text/html")
    try:
        message.send()
    except smtplib.SMTPRecipientsRefused as exc:
        codes = sorted({code for code, _ in exc.recipients.values()})
        return Outcome(ok=False, permanent=all(c >= 500 for c in codes), error=f"recipient refused: {codes}")
    except smtplib.SMTPResponseException as exc:
        # 5xx is the server's final word; 4xx (greylisting, full queue) is worth another try.
        return Outcome(ok=False, permanent=exc.smtp_code >= 500, error=f"SMTP {exc.smtp_code}: {_text(exc.smtp_error)}")
    except (smtplib.SMTPException, OSError) as exc:
        return Outcome(ok=False, error=f"{type(exc).__name__}: {exc}")
    return Outcome(ok=True)
