"""install.sh staged with DESTDIR (no root, no systemd): files, modes, launcher, and the staged agent runs."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path

from tests.agent.conftest import AGENT_DIR


def test_install_sh_stages_a_working_agent(tmp_path: Path) -> None:
    env = {"PATH": os.environ["PATH"], "DESTDIR": str(tmp_path)}
    args = ["--url", "https://beacon.example.com", "--key", "bcn_kid9_topsecret", "--device", "pi-9"]
    out = subprocess.run(
        ["sh", os.path.join(AGENT_DIR, "install.sh"), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    assert "topsecret" not in out.stdout + out.stderr
    config = tmp_path / "etc" / "beacon-agent.toml"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600  # it holds the key
    launcher = (tmp_path / "usr" / "local" / "bin" / "beacon-agent").read_text()
    assert 'PYTHONPATH="/opt/beacon-agent/lib" exec' in launcher
    unit = (tmp_path / "etc" / "systemd" / "system" / "beacon-agent.service").read_text()
    for directive in ("DynamicUser=yes", "ProtectSystem=strict", "StateDirectory=beacon-agent", "NoNewPrivileges=yes"):
        assert directive in unit
    staged = subprocess.run(
        [sys.executable, "-m", "beacon_agent", "--config", str(config), "--print-config"],
        env={"PATH": os.environ["PATH"], "PYTHONPATH": str(tmp_path / "opt" / "beacon-agent" / "lib")},
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    )
    shown = json.loads(staged.stdout)
    assert (shown["url"], shown["device"], shown["api_key"]) == ("https://beacon.example.com", "pi-9", "bcn_kid9_****")
    assert shown["spool_max_bytes"] == 64 * 1024 * 1024

    again = subprocess.run(["sh", os.path.join(AGENT_DIR, "install.sh")], env=env, capture_output=True, text=True)
    assert again.returncode == 0 and "Keeping the existing" in again.stdout  # re-run keeps the config
