"""Absolute links for emails, webhooks and client output, built from the one PUBLIC_URL setting."""

from __future__ import annotations

from django.conf import settings


def public_url(path: str) -> str:
    """`PUBLIC_URL` + path, e.g. public_url("/o/acme/services/api/") → https://beacon.example.com/o/acme/..."""
    base = str(settings.PUBLIC_URL).rstrip("/")
    return f"{base}/{path.lstrip('/')}"
