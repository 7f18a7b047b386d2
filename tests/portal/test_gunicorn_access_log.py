"""gunicorn's own access log (the request line with its query string) never holds a key secret."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import requests

from tests.servers import free_port, wait_for_health

ROOT = Path(__file__).resolve().parents[2]
KEY_ID = "0123456789abcdef"
SECRET = "pasted-Secret_" + "q" * 30


def test_access_log_redacts_keys_in_urls(tmp_path: Path) -> None:
    port = free_port()
    access_log = tmp_path / "access.log"
    env = {**os.environ, "DEBUG": "1", "LOG_DIR": str(tmp_path), "BEACON_VAR_DIR": str(tmp_path / "var")}
    for name in ("DATABASE_URL", "CACHE_URL", "REDIS_URL"):
        env.pop(name, None)
    # The command line production uses minus the worker counts: the redaction comes from
    # gunicorn.conf.py, which gunicorn reads from its working directory.
    command = [str(ROOT / ".venv/bin/gunicorn"), "portal.wsgi", "-b", f"127.0.0.1:{port}", "-w", "1"]
    command += ["--access-logfile", str(access_log), "--error-logfile", str(tmp_path / "error.log")]
    proc = subprocess.Popen(command, cwd=ROOT, env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_for_health(url, proc, tmp_path / "error.log")
        key = f"bcn_{KEY_ID}_{SECRET}"
        search = requests.get(f"{url}/admin/accounts/apikey/?q={key}", allow_redirects=False, timeout=5)
        api = requests.get(f"{url}/api/v1/devices/?token={key}", timeout=5)
        assert (search.status_code, api.status_code) == (302, 401)
        assert SECRET in search.headers["Location"]  # unauthenticated: the login redirect's next= holds it
        login = search.headers["Location"]
        assert requests.get(login if login.startswith("http") else url + login, timeout=5).status_code == 200
    finally:
        proc.terminate()
        proc.wait(timeout=15)

    lines = access_log.read_text().splitlines()
    assert len(lines) >= 4, lines  # health, search, api, login page: the log is really written
    assert f"GET /admin/accounts/apikey/?q=bcn_{KEY_ID}_[redacted] HTTP/1.1" in access_log.read_text()
    assert f"GET /api/v1/devices/?token=bcn_{KEY_ID}_[redacted] HTTP/1.1" in access_log.read_text()
    for path in tmp_path.glob("*.log"):
        assert SECRET not in path.read_text(), path.name
