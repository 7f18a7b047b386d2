"""Settings → Members: an invitation emailed to a real SMTP server (aiosmtpd) and accepted through its link
(new account or signed-in user), single use, expiry, tampering; change role, remove; the last admin stays."""

from __future__ import annotations

import re
import time

import pytest
from django.contrib.auth.models import User
from django.test import Client

from accounts.models import AuditEntry, Invitation, Membership, Organization
from tests.notify_servers import SmtpSink
from tests.settings.conftest import People

pytestmark = pytest.mark.django_db
LINK = re.compile(r"(https://beacon\.example\.com)(/accounts/invite/(\d+)/([0-9a-z]+-[0-9a-f]+)/)")


@pytest.fixture(autouse=True)
def _public_url(settings: object) -> None:
    settings.PUBLIC_URL = "https://beacon.example.com"  # type: ignore[attr-defined]


def invite(people: People, org: Organization, smtp: SmtpSink, email: str, role: str = "viewer") -> str:
    """Invite from the page; return the path of the link in the email the SMTP server received."""
    before = len(smtp.messages)
    response = people.admin_client.post(f"/o/{org.slug}/settings/members/", {"email": email, "role": role})
    assert response.status_code == 200, response.content[:500]
    assert f"Invitation sent to <strong>{email}</strong>".encode() in response.content
    assert len(smtp.messages) == before + 1
    mail = smtp.messages[-1]
    assert mail.rcpt_tos == [email]
    assert mail.message["Subject"] == f"You are invited to {org.name} on Beacon"
    body = mail.message.get_content()
    assert f"alice invited you to join {org.name} on Beacon as {role}." in body
    match = LINK.search(body)
    assert match is not None, body
    return match.group(2)


def test_invite_new_person_creates_their_account(org: Organization, people: People, smtp_server: SmtpSink) -> None:
    path = invite(people, org, smtp_server, "new.person@example.com", role="admin")
    visitor = Client()
    page = visitor.get(path)
    assert page.status_code == 200 and b"Create account and join" in page.content
    response = visitor.post(
        path, {"username": "newbie", "password1": "A-long-pass-42!", "password2": "A-long-pass-42!"}
    )
    assert response.status_code == 302 and response["Location"] == f"/o/{org.slug}/"
    user = User.objects.get(username="newbie")
    assert user.email == "new.person@example.com" and user.check_password("A-long-pass-42!")
    assert Membership.objects.get(user=user, organization=org).role == "admin"
    assert visitor.get(f"/o/{org.slug}/settings/").status_code == 200  # signed in, and an admin
    entry = AuditEntry.objects.get(action="invitation.accept")
    assert entry.actor_user == user and entry.after == {
        "user": "newbie",
        "email": "new.person@example.com",
        "role": "admin",
    }
    assert AuditEntry.objects.get(action="invitation.create").after == {
        "email": "new.person@example.com",
        "role": "admin",
    }
    # Single use: the same link again is the "does not work" page, for anyone, and makes nothing.
    for client in (Client(), visitor):
        again = client.get(path)
        assert again.status_code == 404 and b"This invitation link does not work" in again.content
        assert client.post(path, {"username": "second", "password1": "x", "password2": "x"}).status_code == 404
    assert not User.objects.filter(username="second").exists()


def test_a_signed_in_user_joins_with_one_click(org: Organization, people: People, smtp_server: SmtpSink) -> None:
    path = invite(people, org, smtp_server, "olga@example.com")
    assert b"Join as olga" in people.outsider_client.get(path).content
    response = people.outsider_client.post(path)
    assert response.status_code == 302
    assert Membership.objects.get(user=people.outsider, organization=org).role == "viewer"
    assert Invitation.objects.get(email="olga@example.com").accepted_by == people.outsider


def test_an_existing_account_is_asked_to_sign_in(org: Organization, people: People, smtp_server: SmtpSink) -> None:
    path = invite(people, org, smtp_server, "olga@example.com")
    page = Client().get(path)
    assert page.status_code == 200 and b"An account with this address exists" in page.content
    assert b"Create account" not in page.content


def test_expired_and_tampered_links_do_not_work(
    org: Organization, people: People, smtp_server: SmtpSink, settings: object
) -> None:
    path = invite(people, org, smtp_server, "late@example.com")
    invitation_id, token = path.split("/")[3], path.split("/")[4]
    other = invite(people, org, smtp_server, "other@example.com")
    # Another invitation's token on this one, and a changed signature: both refused.
    assert Client().get(f"/accounts/invite/{invitation_id}/{other.split('/')[4]}/").status_code == 404
    changed = token[:-1] + ("1" if token[-1] == "0" else "0")  # one character of the signature changed
    assert Client().get(f"/accounts/invite/{invitation_id}/{changed}/").status_code == 404
    assert Client().get(path).status_code == 200
    settings.INVITATION_TIMEOUT_SECONDS = 1  # type: ignore[attr-defined]
    time.sleep(2.1)
    response = Client().post(path, {"username": "late", "password1": "A-long-pass-42!", "password2": "A-long-pass-42!"})
    assert response.status_code == 404 and not User.objects.filter(username="late").exists()


def test_invite_bad_input_and_existing_member(org: Organization, people: People, smtp_server: SmtpSink) -> None:
    url = f"/o/{org.slug}/settings/members/"
    bad = people.admin_client.post(url, {"email": "not-an-email", "role": "viewer"})
    assert bad.status_code == 400 and b"Enter a valid email address." in bad.content
    member = people.admin_client.post(url, {"email": "Victor@Example.com", "role": "viewer"})
    assert member.status_code == 400 and b"victor@example.com is already a member of" in member.content
    role = people.admin_client.post(url, {"email": "x@example.com", "role": "owner"})
    assert (
        role.status_code == 400 and b"Select a valid choice. owner is not one of the available choices." in role.content
    )
    assert smtp_server.messages == [] and Invitation.objects.count() == 0


def test_a_refusing_mail_server_leaves_no_invitation(org: Organization, people: People, smtp_server: SmtpSink) -> None:
    smtp_server.refuse.add("bounce@example.com")
    response = people.admin_client.post(
        f"/o/{org.slug}/settings/members/", {"email": "bounce@example.com", "role": "viewer"}
    )
    assert response.status_code == 400
    assert b"The invitation email to bounce@example.com could not be sent" in response.content
    assert Invitation.objects.count() == 0 and not AuditEntry.objects.filter(action="invitation.create").exists()


def _membership(org: Organization, user: User) -> Membership:
    return Membership.objects.get(organization=org, user=user)


def test_change_role_and_remove(org: Organization, people: People) -> None:
    viewer = _membership(org, people.viewer)
    response = people.admin_client.post(f"/o/{org.slug}/settings/members/{viewer.pk}/role/", {"role": "admin"})
    assert response.status_code == 302
    assert _membership(org, people.viewer).role == "admin"
    entry = AuditEntry.objects.get(action="membership.change_role")
    assert (entry.target, entry.before, entry.after) == ("member 'victor'", {"role": "viewer"}, {"role": "admin"})
    assert people.admin_client.post(f"/o/{org.slug}/settings/members/{viewer.pk}/remove/").status_code == 302
    assert not Membership.objects.filter(pk=viewer.pk).exists()
    assert AuditEntry.objects.get(action="membership.remove").before == {"user": "victor", "role": "admin"}
    assert people.viewer_client.get(f"/o/{org.slug}/").status_code == 404  # no longer a member


def test_the_last_admin_can_be_neither_demoted_nor_removed(org: Organization, people: People) -> None:
    me = people.admin_membership
    for action, data in (("role", {"role": "viewer"}), ("remove", {})):
        response = people.admin_client.post(f"/o/{org.slug}/settings/members/{me.pk}/{action}/", data)
        assert response.status_code == 400
        assert f"alice is the last admin of {org.name}; make another member admin first".encode() in response.content
    assert _membership(org, people.admin).role == "admin"
    assert not AuditEntry.objects.filter(action__startswith="membership.").exists()
    # With a second admin, the first may step down.
    viewer = _membership(org, people.viewer)
    people.admin_client.post(f"/o/{org.slug}/settings/members/{viewer.pk}/role/", {"role": "admin"})
    assert (
        people.admin_client.post(f"/o/{org.slug}/settings/members/{me.pk}/role/", {"role": "viewer"}).status_code == 302
    )
    assert _membership(org, people.admin).role == "viewer"
    assert people.admin_client.get(f"/o/{org.slug}/settings/").status_code == 403  # now a viewer
