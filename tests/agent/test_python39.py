"""The agent under real Python 3.9 (and 3.10) interpreters, with nothing but the standard library.

Each run is a subprocess started with `-S` (no `site`: no site-packages, no .pth files) and
PYTHONPATH=agent only, in an empty working directory, so a stray third-party import fails.
(`-I` would also drop PYTHONPATH.) The interpreters come from BEACON_TEST_PY39 / BEACON_TEST_PY310,
else pyenv's, else `python3.9`/`python3.10` on PATH; missing ones skip (fail under CI=true).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.agent.conftest import AGENT_DIR, FIXTURE_PROC, Rig
from tests.agent.live import wait_for

PYENV = Path(os.environ.get("PYENV_ROOT", "/root/.pyenv")) / "versions"


def find_python(version: str) -> str | None:
    explicit = os.environ.get(f"BEACON_TEST_PY{version.replace('.', '')}")
    if explicit:
        return explicit

    def patch_level(path: Path) -> int:
        return int(path.parts[-3].rsplit(".", 1)[-1]) if path.parts[-3].rsplit(".", 1)[-1].isdigit() else -1

    for candidate in sorted(PYENV.glob(f"{version}.*/bin/python"), key=patch_level, reverse=True):
        return str(candidate)  # the newest patch release pyenv has
    return shutil.which(f"python{version}")


def interpreter(version: str) -> str:
    from tests.conftest import require_server  # lazily: that module imports Django

    python = find_python(version)
    hint = f"BEACON_TEST_PY{version.replace('.', '')}"
    require_server(python is not None, f"no Python {version} interpreter (set {hint})")
    assert python is not None
    require_server(os.access(python, os.X_OK), f"{hint}={python} is not an executable")
    out = subprocess.run([python, "-S", "-c", "import sys; print('%d.%d' % sys.version_info[:2])"], capture_output=True)
    assert out.stdout.decode().strip() == version, f"{python} is not Python {version}: {out.stdout!r} {out.stderr!r}"
    return python


@pytest.fixture(scope="module")
def py39() -> str:
    return interpreter("3.9")


@pytest.fixture(scope="module", params=["3.9", "3.10"])
def old_python(request: pytest.FixtureRequest) -> str:
    return interpreter(request.param)


def run(python: str, args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess[str]:
    flags = [] if python == sys.executable else ["-S"]  # the 3.11 reference run keeps its venv
    environ = {"PATH": "/usr/bin:/bin", "PYTHONPATH": str(AGENT_DIR), "BEACON_CONFIG": "none", **env}
    return subprocess.run(
        [python, *flags, *args], cwd=cwd, env=environ, capture_output=True, text=True, timeout=60, check=False
    )


def run_json(python: str, code: str, cwd: Path, *argv: str) -> Any:
    out = run(python, ["-c", code, *argv], cwd)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


# --- (a) every module imports, with no site-packages in reach -----------------------------------------

IMPORT_ALL = """
import importlib, json, pkgutil, sys
import beacon_agent
names = ["beacon_agent"] + [m.name for m in pkgutil.walk_packages(beacon_agent.__path__, "beacon_agent.")
                            if m.name != "beacon_agent.__main__"]  # __main__ runs the CLI on import
for name in names:
    importlib.import_module(name)
print(json.dumps({"version": list(sys.version_info[:2]), "modules": names, "path": sys.path,
                  "site": "site" in sys.modules, "loaded": sorted({m.split(".")[0] for m in sys.modules})}))
"""


def test_every_module_imports_with_the_standard_library_only(old_python: str, tmp_path: Path) -> None:
    data = run_json(old_python, IMPORT_ALL, tmp_path)
    version = interpreter_version(old_python)
    assert data["version"] == version
    assert not data["site"]
    assert not [p for p in data["path"] if "site-packages" in p or "dist-packages" in p]
    expected = {f"beacon_agent.{p.stem}" for p in Path(AGENT_DIR, "beacon_agent").glob("*.py")} - {
        "beacon_agent.__init__",
        "beacon_agent.__main__",
    }
    collectors = Path(AGENT_DIR, "beacon_agent", "collectors").glob("*.py")
    expected |= {"beacon_agent", *(f"beacon_agent.collectors.{p.stem}" for p in collectors)}
    expected = {name.replace(".__init__", "") for name in expected}
    assert set(data["modules"]) == expected
    # Everything loaded is the interpreter's own standard library (3.11's list, plus 3.9's private names).
    third_party = set(data["loaded"]) - set(sys.stdlib_module_names) - {"beacon_agent", "__main__", "_bootlocale"}
    assert third_party == set()
    # The CLI entry point (python -m beacon_agent) parses its arguments under this interpreter.
    out = run(old_python, ["-m", "beacon_agent", "--version"], tmp_path)
    assert (out.returncode, out.stdout.strip()) == (0, "beacon-agent 0.1.0"), out.stderr


def interpreter_version(python: str) -> list[int]:
    out = subprocess.run([python, "-S", "-c", "import sys; print(*sys.version_info[:2])"], capture_output=True)
    return [int(x) for x in out.stdout.split()]


# --- (b) --print-config reads TOML through the minitoml fallback --------------------------------------

CONFIG = """\
# an agent config as an operator writes it
url = "https://beacon.example.com/"   # trailing slash is fine
api_key = 'bcn_k3y1d_s3cr3tS3CR3Ts3cr3t'
interval = 2.5
batch_size = 250
gzip = false
spool_max_bytes = "8MiB"
collectors = ["cpu", "mem", "load"]
ignore_interfaces = ["lo", "docker0"]

[tags]
site = "lab # 2"
rack = "r3"
"""

WHICH_PARSER = """
import json, sys
from beacon_agent.config import load_config
config = load_config(sys.argv[1], environ={})
print(json.dumps({"minitoml": "beacon_agent.minitoml" in sys.modules, "tomllib": "tomllib" in sys.modules,
                  "interval": config.interval}))
"""


def test_print_config_from_toml(old_python: str, tmp_path: Path) -> None:
    path = tmp_path / "beacon-agent.toml"
    path.write_text(CONFIG)
    out = run(old_python, ["-m", "beacon_agent", "--config", str(path), "--print-config"], tmp_path)
    assert out.returncode == 0, out.stderr
    assert "s3cr3t" not in out.stdout + out.stderr
    config = json.loads(out.stdout)
    assert config["api_key"] == "bcn_k3y1d_****"
    assert (config["url"], config["interval"], config["batch_size"], config["gzip"]) == (
        "https://beacon.example.com/",
        2.5,
        250,
        False,
    )
    assert config["spool_max_bytes"] == 8 * 1024 * 1024
    assert config["spool_segment_bytes"] == 1024 * 1024
    assert config["collectors"] == ["cpu", "mem", "load"]
    assert config["ignore_interfaces"] == ["lo", "docker0"]
    assert config["tags"] == {"site": "lab # 2", "rack": "r3"}
    # The same file through 3.11's tomllib gives the same configuration.
    reference = run(sys.executable, ["-m", "beacon_agent", "--config", str(path), "--print-config"], tmp_path)
    assert json.loads(reference.stdout) == config
    # It was the fallback that parsed it, and tomllib was never imported.
    parsed_by = run_json(old_python, WHICH_PARSER, tmp_path, str(path))
    assert parsed_by == {"minitoml": True, "tomllib": False, "interval": 2.5}
    assert run_json(sys.executable, WHICH_PARSER, tmp_path, str(path)) == {
        "minitoml": False,
        "tomllib": True,
        "interval": 2.5,
    }
    # What the subset does not take is refused with the line, and nothing starts (exit 4).
    path.write_text('url = "http://127.0.0.1:8000"\ntags = {site = "lab"}\n')
    bad = run(old_python, ["-m", "beacon_agent", "--config", str(path), "--print-config"], tmp_path)
    assert bad.returncode == 4
    assert "line 2: unsupported value" in bad.stderr and bad.stdout == ""


# --- (c) collectors on the recorded /proc give the same values as under 3.11 -------------------------

COLLECT = """
import json, os, shutil, sys, tempfile
from collections import namedtuple
from beacon_agent.collectors import COLLECTORS, Context, collect_all
from beacon_agent.lineprotocol import encode_batch

root = os.path.join(tempfile.mkdtemp(), "proc")
shutil.copytree(sys.argv[1], root)
StatVfs = namedtuple("StatVfs", "f_frsize f_blocks f_bfree f_bavail f_files f_ffree")
SIZES = {"/": StatVfs(4096, 1000000, 400000, 350000, 500000, 300000),
         "/boot/firmware": StatVfs(512, 1000000, 900000, 900000, 0, 0),
         "/mnt/usb stick": StatVfs(4096, 0, 0, 0, 0, 0)}

def statvfs(path):
    if path not in SIZES:
        raise OSError(2, "not mounted")
    return SIZES[path]

ctx = Context(proc=root, percpu=True, statvfs=statvfs)
ctx.tick(now_ns=1000000000, monotonic=100.0)
first, failed_first = collect_all(ctx, list(COLLECTORS))
os.replace(os.path.join(root, "stat.next"), os.path.join(root, "stat"))
os.replace(os.path.join(root, "net", "dev.next"), os.path.join(root, "net", "dev"))
ctx.tick(now_ns=11000000000, monotonic=110.0)
second, failed_second = collect_all(ctx, list(COLLECTORS))
points = first + second
print(json.dumps({"failed": [failed_first, failed_second],
                  "points": [[p.measurement, p.tags, p.fields, p.time_ns] for p in points],
                  "body": encode_batch(points, "ns").decode()}))
"""


def test_collectors_give_the_same_values_under_3_9_and_3_11(py39: str, tmp_path: Path) -> None:
    old = run_json(py39, COLLECT, tmp_path, FIXTURE_PROC)
    new = run_json(sys.executable, COLLECT, tmp_path, FIXTURE_PROC)
    assert old["failed"] == [0, 0]
    assert old["points"] == new["points"]
    assert old["body"] == new["body"]  # byte for byte the same line protocol
    # And the values are the recorded ones (see test_collectors.py for their derivation).
    by_name: dict[tuple[str, str], dict[str, Any]] = {}
    for measurement, tags, fields, time_ns in old["points"]:
        if time_ns == 11_000_000_000:
            by_name[(measurement, tags.get("cpu") or tags.get("interface") or tags.get("path") or "")] = fields
    assert by_name[("cpu", "cpu-total")]["usage_user"] == 30.0
    assert by_name[("cpu", "cpu0")]["usage_user"] == 30.0
    assert by_name[("mem", "")]["total"] == 2_048_000 * 1024
    assert by_name[("mem", "")]["used_percent"] == 50.0
    assert by_name[("net", "eth0")]["bytes_recv_per_sec"] == 10_000.0
    assert by_name[("disk", "/")]["used"] == 4096 * 600_000
    assert by_name[("system", "")] in ({"load1": 0.52, "load5": 0.58, "load15": 0.59, "n_cpus": 2}, {"uptime": 86461})
    assert len(old["points"]) > 20


# --- (d) `beacon-agent once` and `run` under 3.9 against the live portal -----------------------------


def test_once_and_run_under_3_9_store_points(py39: str, rig: Rig) -> None:
    agent = rig.agent(interval=0.5, flush_interval=0.5, shutdown_timeout=5)
    agent.interpreter = [py39, "-S"]
    done = agent.run("once")
    assert done.returncode == 0, done.stderr
    assert "batch stored (HTTP 204)" in done.stderr
    cpu = rig.portal.series(rig.tenant, "cpu", ["usage_idle"], cpu="cpu-total")["usage_idle"]
    assert len(cpu) == 1 and 0 <= cpu[0][1] <= 100
    with open("/proc/meminfo") as fh:
        mem_total = int(fh.readline().split()[1]) * 1024
    assert [v for _t, v in rig.portal.series(rig.tenant, "mem", ["total"])["total"]] == [mem_total]

    # The daemon: a few rounds, SIGTERM flushes, every round stored (spool and loop code under 3.9 too).
    daemon = rig.agent(interval=0.5, flush_interval=0.5, shutdown_timeout=5, collectors="load")
    daemon.interpreter = [py39, "-S"]
    before = len(rig.proxy.exchanges)
    daemon.start()
    stored = lambda: [ex for ex in rig.proxy.exchanges[before:] if ex.status == 204]  # noqa: E731
    assert wait_for(lambda: sum(len(ex.lines) for ex in stored()) >= 8, 30), daemon.log()
    assert daemon.terminate(timeout=30) == 0, daemon.log()
    lines = [line for ex in stored() for line in ex.lines if line.startswith("system,")]
    load = rig.portal.series(rig.tenant, "system", ["load1"])["load1"]
    assert len(load) == len(lines) + 1 >= 4  # the daemon's rounds, plus the one from `once`
    assert "Traceback" not in daemon.log()
