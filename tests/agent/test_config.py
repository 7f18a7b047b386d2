"""Config: TOML file (stdlib tomllib and the 3.9/3.10 fallback parser), env overrides, masking, errors."""

from __future__ import annotations

import json
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from beacon_agent import minitoml
from beacon_agent.cli import main
from beacon_agent.config import ConfigError, load_config, mask_key

from tests.agent.conftest import AGENT_DIR

SAMPLE = """
# Beacon agent
url = "https://beacon.example.com"   # trailing comment
api_key = "bcn_k1d_s3cr3t#notacomment"
interval = 15
flush_interval = 2.5
gzip = false
spool_max_bytes = "8MiB"
collectors = ["cpu", "mem", 'net']

[tags]
site = "lab #2"
rack = "r-1"
"""


def test_minitoml_matches_tomllib_on_the_sample() -> None:
    assert minitoml.loads(SAMPLE) == tomllib.loads(SAMPLE)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("url = [1, 2\n", "line 1"),
        ("a = 1\na = 2\n", "line 2"),
        ("just words\n", "line 1"),
        ("x = 1979-05-27\n", "unsupported value"),
    ],
)
def test_minitoml_errors_name_the_line(text: str, where: str) -> None:
    with pytest.raises(minitoml.TOMLDecodeError, match=where):
        minitoml.loads(text)


def test_file_then_env_overrides(tmp_path: Path) -> None:
    path = tmp_path / "agent.toml"
    path.write_text(SAMPLE)
    config = load_config(str(path), environ={"BEACON_INTERVAL": "5", "BEACON_TAGS": "site=edge,zone=b"})
    assert config.url == "https://beacon.example.com"
    assert config.api_key == "bcn_k1d_s3cr3t#notacomment"
    assert config.interval == 5.0  # env wins over the file
    assert config.flush_interval == 2.5
    assert config.gzip is False
    assert config.spool_max_bytes == 8 * 1024 * 1024
    assert config.collectors == ["cpu", "mem", "net"]
    assert config.tags == {"site": "edge", "zone": "b"}
    assert config.write_url == "https://beacon.example.com/api/v2/write?precision=ms"


def test_agent_table_and_json_config(tmp_path: Path) -> None:
    toml_path = tmp_path / "a.toml"
    toml_path.write_text('[agent]\nurl = "http://portal:8000"\nbatch_size = 50\n')
    assert load_config(str(toml_path), environ={}).batch_size == 50
    json_path = tmp_path / "a.json"
    json_path.write_text(json.dumps({"url": "http://portal:8000", "device": "pi-7", "spool_max_bytes": 4096}))
    config = load_config(str(json_path), environ={})
    assert (config.device, config.spool_max_bytes) == ("pi-7", 4096)


def test_api_key_file(tmp_path: Path) -> None:
    (tmp_path / "key").write_text("bcn_abc_def\n")
    config = load_config(None, environ={"BEACON_API_KEY_FILE": str(tmp_path / "key")})
    assert config.api_key == "bcn_abc_def"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"BEACON_INTERVAL": "ten"}, "BEACON_INTERVAL: interval = 'ten'"),
        ({"BEACON_INTERVAL": "0"}, "interval must be > 0"),
        ({"BEACON_URL": "portal:8000"}, "must start with http"),
        ({"BEACON_COLLECTORS": "cpu,gpu"}, "unknown collector"),
        ({"BEACON_SPOOL_MAX_BYTES": "1KB"}, "at least twice spool_segment_bytes"),
        ({"BEACON_GZIP": "maybe"}, "expected true/false"),
        ({"BEACON_CONFIG": "/nonexistent/beacon.toml"}, "does not exist"),
    ],
)
def test_bad_values_are_clear_errors(env: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        load_config(None, environ=env)


def test_unknown_key_in_file(tmp_path: Path) -> None:
    path = tmp_path / "a.toml"
    path.write_text('url = "http://x"\nintervall = 3\n')
    with pytest.raises(ConfigError, match="unknown setting 'intervall'"):
        load_config(str(path), environ={})


def test_mask_key() -> None:
    assert mask_key("bcn_AbC123_verysecretpart") == "bcn_AbC123_****"
    assert mask_key("something-else") == "****"
    assert mask_key("") == ""


def test_print_config_masks_the_key_in_a_plain_python(tmp_path: Path) -> None:
    # A subprocess without Django or the portal on the path: the agent must stand alone.
    env = {"PATH": "/usr/bin:/bin", "BEACON_API_KEY": "bcn_kid42_topsecretvalue", "BEACON_DEVICE": "pi-1"}
    out = subprocess.run(
        [
            sys.executable,
            "-I",
            "-c",
            f"import sys; sys.path.insert(0, {AGENT_DIR!r}); from beacon_agent.cli import main; "
            "sys.exit(main(['--print-config']))",
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=30,
        check=True,
    ).stdout
    shown = json.loads(out)
    assert shown["api_key"] == "bcn_kid42_****"
    assert shown["device"] == "pi-1"
    assert "topsecretvalue" not in out


def test_cli_config_error_exit_code(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BEACON_BATCH_SIZE", "0")
    assert main(["--print-config"]) == 4
    assert "batch_size must be >= 1" in capsys.readouterr().err


def test_systemd_credential_and_state_directory(tmp_path: Path) -> None:
    (tmp_path / "beacon-agent.toml").write_text('url = "http://portal:8000"\napi_key = "bcn_a_b"\n')
    config = load_config(None, environ={"CREDENTIALS_DIRECTORY": str(tmp_path), "STATE_DIRECTORY": "/var/lib/x"})
    assert (config.url, config.api_key, config.state_dir) == ("http://portal:8000", "bcn_a_b", "/var/lib/x")


def test_config_none_means_environment_only() -> None:
    config = load_config(None, environ={"BEACON_CONFIG": "none", "BEACON_URL": "http://p:1"})
    assert config.url == "http://p:1"


def test_example_config_loads_with_both_parsers() -> None:
    path = Path(AGENT_DIR, "beacon-agent.example.toml")
    text = path.read_text()
    assert minitoml.loads(text) == tomllib.loads(text)
    config = load_config(str(path), environ={})
    assert config.collectors == ["cpu", "mem", "disk", "diskio", "net", "load", "uptime", "procs"]
    assert config.spool_max_bytes == 64 * 1024 * 1024
