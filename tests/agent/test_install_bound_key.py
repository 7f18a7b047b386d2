"""install.sh with a device-bound key and no --device, against a live portal: points land on the bound device.

The documented path ("a bound key forces its own device; --device is optional"): the staged agent
learns its device from the key (GET /api/v1/whoami) instead of tagging points with the hostname,
which the portal refuses with 403 for a device-bound key.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from pathlib import Path

from tests.agent.conftest import AGENT_DIR, Rig
from tests.agent.live import parse_line, wait_for


def _staged(tmp_path: Path, url: str, key: str) -> tuple[Path, dict[str, str]]:
    env = {"PATH": os.environ["PATH"], "DESTDIR": str(tmp_path / "root")}
    out = subprocess.run(
        ["sh", os.path.join(AGENT_DIR, "install.sh"), "--url", url, "--key", key],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert out.returncode == 0, out.stderr
    config = tmp_path / "root" / "etc" / "beacon-agent.toml"
    assert "device" not in config.read_text()  # no --device: nothing configured
    run_env = {
        "PATH": os.environ["PATH"],
        "PYTHONPATH": str(tmp_path / "root" / "opt" / "beacon-agent" / "lib"),
        "BEACON_STATE_DIR": str(tmp_path / "state"),
        "BEACON_INTERVAL": "0.5",
        "BEACON_FLUSH_INTERVAL": "0.5",
        "BEACON_COLLECTION_JITTER": "0",
    }
    return config, run_env


def test_install_bound_key_no_device(rig: Rig, tmp_path: Path) -> None:
    assert socket.gethostname() != rig.tenant.device  # else the test could pass by luck
    config, env = _staged(tmp_path, rig.proxy.url, rig.tenant.write_key)
    agent = [sys.executable, "-m", "beacon_agent", "--config", str(config)]

    check = subprocess.run([*agent, "check"], env=env, capture_output=True, text=True, timeout=60)
    assert check.returncode == 0, check.stdout + check.stderr
    assert f"device:  {rig.tenant.device} (the key's bound device)" in check.stdout

    once = subprocess.run([*agent, "once"], env=env, capture_output=True, text=True, timeout=60)
    assert once.returncode == 0, once.stderr
    assert len(rig.portal.series(rig.tenant, "cpu", ["usage_idle"], cpu="cpu-total")["usage_idle"]) == 1

    log = open(tmp_path / "run.log", "wb")  # noqa: SIM115 - closed below
    daemon = subprocess.Popen([*agent, "run"], env=env, stdout=log, stderr=subprocess.STDOUT)
    try:
        assert wait_for(lambda: len(rig.portal.series(rig.tenant, "mem", ["total"])["total"]) >= 2, 30), (
            tmp_path / "run.log"
        ).read_text()
    finally:
        daemon.terminate()
        assert daemon.wait(timeout=30) == 0
        log.close()
    writes = [parse_line(line) for line in rig.proxy.stored_lines()]
    assert writes and {tags["device"] for _m, tags, _f, _t in writes} == {rig.tenant.device}
    assert all(ex.status == 204 for ex in rig.proxy.exchanges), [ex.status for ex in rig.proxy.exchanges]
    # The answer is cached per key, so a restart while the portal is down still tags correctly.
    assert rig.tenant.device in (tmp_path / "state" / "device.json").read_text()
