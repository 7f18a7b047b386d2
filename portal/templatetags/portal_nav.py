"""`{% nav_link "url-name" "Label" %}`: one entry of the organization's navigation in templates/base.html.

The URL is reversed with the current organization (`org=`), and the link is marked `aria-current="page"`
on its page and below it (a load-test run under the load-test list), the overview on itself only.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse
from django.utils.html import format_html

register = template.Library()


@register.simple_tag(takes_context=True)
def nav_link(context: dict[str, Any], url_name: str, label: str) -> str:
    org = context.get("current_org_slug")
    request = context.get("request")
    if not org or request is None:
        return ""
    url = reverse(url_name, kwargs={"org": org})
    overview = reverse("org-overview", kwargs={"org": org})
    current = request.path == url or (url != overview and request.path.startswith(url))
    if current:
        return format_html('<li><a href="{}" aria-current="page">{}</a></li>', url, label)
    return format_html('<li><a href="{}">{}</a></li>', url, label)
