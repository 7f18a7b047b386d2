"""Password reset by email: Django's views with Beacon's pages, the email through a real SMTP server, the link
built from PUBLIC_URL, working once."""

from __future__ import annotations

import re

import pytest
from django.test import Client

from tests.notify_servers import SmtpSink
from tests.settings.conftest import People

pytestmark = pytest.mark.django_db


def test_reset_by_email_then_sign_in(people: People, smtp_server: SmtpSink, settings: object) -> None:
    settings.PUBLIC_URL = "https://beacon.example.com"  # type: ignore[attr-defined]
    visitor = Client()
    login = visitor.get("/accounts/login/")
    assert b'href="/accounts/password/reset/"' in login.content
    form = visitor.get("/accounts/password/reset/")
    assert form.status_code == 200 and b"Reset your password" in form.content and b'class="auth card"' in form.content
    response = visitor.post("/accounts/password/reset/", {"email": "alice@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    assert b"Check your email" in visitor.get(response["Location"]).content
    assert len(smtp_server.messages) == 1
    mail = smtp_server.messages[0]
    assert mail.rcpt_tos == ["alice@example.com"] and mail.message["Subject"] == "Reset your Beacon password"
    match = re.search(r"https://beacon\.example\.com(/accounts/reset/[^/\s]+/[^/\s]+/)", mail.message.get_content())
    assert match is not None, mail.message.get_content()
    # Django redirects the token URL to one without the token (kept in the session), then takes the new password.
    confirm = visitor.get(match.group(1), follow=True)
    assert b"Choose a new password" in confirm.content
    done = visitor.post(
        confirm.redirect_chain[-1][0], {"new_password1": "Brand-new-pass-77", "new_password2": "Brand-new-pass-77"}
    )
    assert done.status_code == 302 and done["Location"] == "/accounts/reset/done/"
    people.admin.refresh_from_db()
    assert people.admin.check_password("Brand-new-pass-77")
    assert Client().post("/accounts/login/", {"username": "alice", "password": "Brand-new-pass-77"}).status_code == 302
    # The link worked once.
    assert b"This link does not work" in Client().get(match.group(1), follow=True).content


def test_an_unknown_address_gets_the_same_answer_and_no_email(smtp_server: SmtpSink, people: People) -> None:
    response = Client().post("/accounts/password/reset/", {"email": "nobody@example.com"})
    assert response.status_code == 302 and response["Location"] == "/accounts/password/reset/sent/"
    assert smtp_server.messages == []
