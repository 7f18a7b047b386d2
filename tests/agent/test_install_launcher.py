"""install.sh's launcher names a real interpreter, never a version-manager shim found first on PATH.

A pyenv shim picks its Python from the caller's environment and home directory; the agent's service
(DynamicUser, ProtectHome) has neither, so a launcher naming the shim fails under systemd.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

from tests.agent.conftest import AGENT_DIR


def _fake_shim(directory: Path) -> Path:
    """A pyenv-style shim: a shell script that execs the real interpreter."""
    directory.mkdir()
    shim = directory / "python3"
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" "$@"\n')
    shim.chmod(0o755)
    return shim


def _install(tmp_path: Path, *extra: str) -> str:
    shims = tmp_path / "shims"
    env = {"PATH": f"{shims}:{os.environ['PATH']}", "DESTDIR": str(tmp_path / "root")}
    args = ["--url", "https://beacon.example.com", "--key", "bcn_kid9_topsecret", *extra]
    out = subprocess.run(
        ["sh", os.path.join(AGENT_DIR, "install.sh"), *args], env=env, capture_output=True, text=True, timeout=60
    )
    assert out.returncode == 0, out.stderr
    launcher = (tmp_path / "root" / "usr" / "local" / "bin" / "beacon-agent").read_text()
    match = re.search(r'exec "([^"]+)" -m beacon_agent', launcher)
    assert match, launcher
    return match.group(1)


def test_launcher_skips_a_shim_first_on_path(tmp_path: Path) -> None:
    shim = _fake_shim(tmp_path / "shims")
    interpreter = _install(tmp_path)
    assert interpreter != str(shim)
    if os.access("/usr/bin/python3", os.X_OK):
        assert interpreter == "/usr/bin/python3"
    version = subprocess.run([interpreter, "-c", "import sys; print(sys.version_info >= (3, 9))"], capture_output=True)
    assert version.stdout.strip() == b"True"


def test_launcher_resolves_a_shim_given_with_python(tmp_path: Path) -> None:
    shim = _fake_shim(tmp_path / "shims")
    interpreter = _install(tmp_path, "--python", str(shim))
    # The shim runs sys.executable; the launcher names that, not the script.
    assert interpreter == sys.executable
    assert "shims" not in interpreter
