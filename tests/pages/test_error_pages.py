"""Error pages a customer may meet: a styled 404 (never Django's list of URL patterns, even with DEBUG=1),
a 403 naming the reason, and a 503 when the database does not answer (through a TCP proxy that cuts a real
PostgreSQL under a real gunicorn portal), which recovers without a restart."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from django.contrib.auth.models import User
from django.test import Client

from accounts import services as accounts
from accounts.models import Membership, Organization
from tests.proxy import TcpProxy
from tests.servers import GunicornPortal


@pytest.mark.django_db
def test_a_missing_page_is_a_styled_404_even_in_debug(member_client: Client, org: Organization, settings: Any) -> None:
    settings.DEBUG = True  # the demo's setting, where Django would show its technical 404
    response = member_client.get("/o/not-mine/")
    assert response.status_code == 404
    page = response.content.decode()
    assert "<h1>Page not found</h1>" in page and "No such organization among yours." in page
    assert "URLconf" not in page and "api/v1/" not in page
    assert 'href="/"' in page  # back to the person's organizations
    response = member_client.get(f"/o/{org.slug}/devices/nope/")
    assert response.status_code == 404 and "No such device in this organization." in response.content.decode()
    # The API keeps its JSON answers.
    assert member_client.get("/api/v1/devices/nope").json()["code"] == "not_found"


ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def collected_static() -> None:
    """Production settings serve pages from collectstatic's manifest: build it when static/ changed (~5 s)."""
    manifest = ROOT / "staticfiles" / "staticfiles.json"
    newest = max(p.stat().st_mtime for p in (ROOT / "static").rglob("*") if p.is_file())
    if manifest.exists() and manifest.stat().st_mtime >= newest:
        return
    env = {**os.environ, "DEBUG": "0", "SECRET_KEY": "collectstatic-" + "x" * 50, "API_KEY_PEPPER": "p" * 40}
    # As a deployment builds it: requirements/base.txt has no brotli, so whitenoise writes gzip files only. The
    # dev venv has brotli (locust's flask needs it), and whitenoise's brotli at quality 11 took ~30 s more.
    without_brotli = (
        "import runpy, sys; sys.modules['brotli'] = None; "
        "sys.argv = ['manage.py', 'collectstatic', '--noinput', '-v0']; "
        "runpy.run_path('manage.py', run_name='__main__')"
    )
    subprocess.run([sys.executable, "-c", without_brotli], cwd=ROOT, env=env, check=True, timeout=300)


@pytest.fixture
def db_proxy(settings: Any) -> Iterator[TcpProxy]:
    db = settings.DATABASES["default"]
    if "postgresql" not in db["ENGINE"]:
        pytest.skip("needs PostgreSQL (gunicorn runs in another process)")
    proxy = TcpProxy(db.get("HOST") or "127.0.0.1", int(db.get("PORT") or 5432))
    yield proxy
    proxy.close()


@pytest.mark.slow
@pytest.mark.django_db(transaction=True)
def test_pages_say_the_database_is_down_and_recover(
    collected_static: None, db_proxy: TcpProxy, settings: Any, tmp_path: Path
) -> None:
    org = accounts.organization_create(name="Outage Org")
    user = User.objects.create_user(username="outage", password="outage-pw-123")
    accounts.membership_grant(user=user, organization=org, role=Membership.Role.VIEWER)
    db = settings.DATABASES["default"]
    url = f"postgres://{db.get('USER') or 'postgres'}@127.0.0.1:{db_proxy.port}/{db['NAME']}"
    portal = GunicornPortal(
        env={"DATABASE_URL": url, "DB_CONNECT_TIMEOUT": "2", "DB_STATEMENT_TIMEOUT": "1000", "DB_CONN_MAX_AGE": "0"},
        log_dir=tmp_path,
    )
    try:
        # Sign in through the form (secure cookies are passed by hand: the test talks plain http).
        form = requests.get(f"{portal.url}/accounts/login/", timeout=30)
        assert form.status_code == 200, (form.status_code, form.text[:300])
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form.text).group(1)  # type: ignore[union-attr]
        cookies = {"csrftoken": form.cookies["csrftoken"]}
        signed_in = requests.post(
            f"{portal.url}/accounts/login/",
            data={"username": "outage", "password": "outage-pw-123", "csrfmiddlewaretoken": token},
            cookies=cookies,
            headers={"Referer": f"{portal.url}/accounts/login/"},
            allow_redirects=False,
            timeout=30,
        )
        assert signed_in.status_code == 302, signed_in.text[:500]
        session = {"sessionid": signed_in.cookies["sessionid"]}
        overview = f"{portal.url}/o/{org.slug}/"
        assert requests.get(overview, cookies=session, timeout=30).status_code == 200

        db_proxy.cut()
        down = requests.get(overview, cookies=session, timeout=30)
        assert down.status_code == 503, down.text[:500]
        assert down.headers["Retry-After"] == str(settings.OUTAGE_RETRY_AFTER_SECONDS)
        assert (
            "Beacon&#x27;s database is not answering" in down.text or "Beacon's database is not answering" in down.text
        )
        assert "docs/operations.md" in down.text
        assert not any(word in down.text for word in ("OperationalError", "psycopg", "5432", "Traceback"))

        db_proxy.restore()
        back = requests.get(overview, cookies=session, timeout=30)
        assert back.status_code == 200 and "Outage Org" in back.text
    finally:
        portal.close()
