"""Configuration: defaults < TOML file < environment (`BEACON_<KEY>`).

The file is `/etc/beacon-agent.toml` unless `--config` or `BEACON_CONFIG` says
otherwise; a missing default file is fine (env-only setups), a missing explicit
one is an error. Every bad value raises ConfigError naming the key and its source.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import sys
from dataclasses import dataclass, field
from typing import Any, Dict, List, Mapping, Optional

DEFAULT_PATH = "/etc/beacon-agent.toml"
ALL_COLLECTORS = ["cpu", "mem", "disk", "diskio", "net", "load", "uptime", "procs"]
_SIZE = re.compile(r"^\s*(\d+)\s*([kmg]i?b?|b)?\s*$", re.IGNORECASE)
_SIZE_UNITS = {"": 1, "b": 1, "k": 1000, "m": 1000**2, "g": 1000**3, "ki": 1024, "mi": 1024**2, "gi": 1024**3}


class ConfigError(ValueError):
    pass


@dataclass
class Config:
    url: str = "http://127.0.0.1:8000"
    api_key: str = ""
    api_key_file: str = ""  # read at load time; keeps the key out of the unit file and env
    org: str = ""  # sent as ?org= for InfluxDB compatibility; the key decides the org
    bucket: str = ""
    # The `device` tag. Empty: learned from the portal (GET /api/v1/whoami) — a device-bound key's own
    # device, else the hostname. A device-bound key refuses any other name, so leave it empty for one.
    device: str = ""
    interval: float = 10.0  # seconds between collections
    collection_jitter: float = 0.0  # random 0..jitter s added to each collection, spreads a fleet's load
    flush_interval: float = 10.0
    flush_jitter: float = 0.0
    batch_size: int = 1000  # points per request; a full buffer flushes early
    precision: str = "ms"
    gzip: bool = True
    timeout: float = 10.0  # per HTTP request
    state_dir: str = "/var/lib/beacon-agent"
    spool_max_bytes: int = 64 * 1024 * 1024
    spool_segment_bytes: int = 0  # 0: max_bytes/8, within 1 KiB..1 MiB (dropping frees 1/8 of the spool)
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    shutdown_timeout: float = 5.0  # how long SIGTERM may spend sending before spooling the rest
    collectors: List[str] = field(default_factory=lambda: list(ALL_COLLECTORS))
    percpu: bool = False
    ignore_interfaces: List[str] = field(default_factory=lambda: ["lo"])
    proc: str = "/proc"
    log_level: str = "info"
    tags: Dict[str, str] = field(default_factory=dict)

    @property
    def write_url(self) -> str:
        from urllib.parse import urlencode

        query = {"precision": self.precision}
        if self.org:
            query["org"] = self.org
        if self.bucket:
            query["bucket"] = self.bucket
        return f"{self.url.rstrip('/')}/api/v2/write?{urlencode(query)}"

    def masked(self) -> Dict[str, Any]:
        data = dataclasses.asdict(self)
        data["api_key"] = mask_key(self.api_key)
        return data


def mask_key(key: str) -> str:
    """`bcn_<keyid>_<secret>` → `bcn_<keyid>_****`: the key id identifies it, the secret never shows."""
    if not key:
        return ""
    parts = key.split("_")
    if len(parts) >= 3 and parts[0] == "bcn":
        return f"bcn_{parts[1]}_****"
    return "****"


def _read_file(path: str) -> Dict[str, Any]:
    with open(path, "rb") as fh:
        raw = fh.read()
    text = raw.decode("utf-8")
    if path.endswith(".json"):
        return json.loads(text)
    if sys.version_info >= (3, 11):
        import tomllib

        return tomllib.loads(text)
    from beacon_agent import minitoml

    return minitoml.loads(text)


def _coerce(name: str, value: Any, default: Any, source: str) -> Any:
    try:
        if isinstance(default, bool):
            if isinstance(value, bool):
                return value
            if str(value).lower() in ("1", "true", "yes", "on"):
                return True
            if str(value).lower() in ("0", "false", "no", "off"):
                return False
            raise ValueError("expected true/false")
        if isinstance(default, int):
            if isinstance(value, int) and not isinstance(value, bool):
                return value
            match = _SIZE.match(str(value))  # sizes may be written "64MiB"
            if not match:
                raise ValueError("expected an integer (sizes may use KB/MB/GB/KiB/MiB/GiB)")
            unit = (match.group(2) or "").lower().rstrip("b")
            return int(match.group(1)) * _SIZE_UNITS[unit]
        if isinstance(default, float):
            return float(value)
        if isinstance(default, list):
            if isinstance(value, str):
                return [item.strip() for item in value.split(",") if item.strip()]
            if not isinstance(value, list):
                raise ValueError("expected a list")
            return [str(item) for item in value]
        if isinstance(default, dict):
            if isinstance(value, str):  # env form: "site=lab,rack=3"
                pairs = [item.split("=", 1) for item in value.split(",") if item.strip()]
                if any(len(p) != 2 for p in pairs):
                    raise ValueError("expected key=value pairs separated by commas")
                return {k.strip(): v.strip() for k, v in pairs}
            if not isinstance(value, dict):
                raise ValueError("expected a table")
            return {str(k): str(v) for k, v in value.items()}
        return str(value)
    except (TypeError, ValueError) as exc:
        raise ConfigError(f"{source}: {name} = {value!r}: {exc}") from exc


def load_config(path: Optional[str] = None, environ: Optional[Mapping[str, str]] = None) -> Config:
    env = os.environ if environ is None else environ
    explicit = path or env.get("BEACON_CONFIG")
    file_path = explicit or _systemd_credential(env) or DEFAULT_PATH
    data: Dict[str, Any] = {}
    if file_path == "none":
        pass  # BEACON_CONFIG=none: environment only, even if /etc/beacon-agent.toml exists
    elif os.path.exists(file_path):
        try:
            data = _read_file(file_path)
        except (ValueError, OSError) as exc:  # tomllib/minitoml/json errors are ValueErrors
            raise ConfigError(f"{file_path}: {exc}") from exc
    elif explicit:
        raise ConfigError(f"config file {file_path} does not exist")
    # Accept both flat keys and an [agent] table (Telegraf users write the latter).
    if isinstance(data.get("agent"), dict):
        agent_table = data.pop("agent")
        data = {**data, **agent_table}
    defaults = Config()
    known = {f.name: getattr(defaults, f.name) for f in dataclasses.fields(Config)}
    values: Dict[str, Any] = {}
    for key, value in data.items():
        if key not in known:
            raise ConfigError(f"{file_path}: unknown setting {key!r} (known: {', '.join(sorted(known))})")
        values[key] = _coerce(key, value, known[key], file_path)
    for key, default in known.items():
        env_name = f"BEACON_{key.upper()}"
        if env_name in env:
            values[key] = _coerce(key, env[env_name], default, f"environment {env_name}")
    if "state_dir" not in values and env.get("STATE_DIRECTORY"):
        values["state_dir"] = env["STATE_DIRECTORY"].split(":")[0]  # systemd's StateDirectory=
    config = Config(**values)
    return _finish(config)


def _systemd_credential(env: Mapping[str, str]) -> Optional[str]:
    # Under the shipped unit, systemd passes the root-only config file as a credential (LoadCredential=).
    directory = env.get("CREDENTIALS_DIRECTORY")
    if directory and os.path.exists(os.path.join(directory, "beacon-agent.toml")):
        return os.path.join(directory, "beacon-agent.toml")
    return None


def _finish(config: Config) -> Config:
    if config.api_key_file and not config.api_key:
        try:
            with open(config.api_key_file, encoding="utf-8") as fh:
                config.api_key = fh.read().strip()
        except OSError as exc:
            raise ConfigError(f"api_key_file {config.api_key_file}: {exc.strerror}") from exc
    if not re.match(r"^https?://", config.url):
        raise ConfigError(f"url {config.url!r} must start with http:// or https://")
    if config.precision not in ("s", "ms", "us", "ns"):
        raise ConfigError(f"precision {config.precision!r} must be one of s, ms, us, ns")
    unknown = sorted(set(config.collectors) - set(ALL_COLLECTORS))
    if unknown:
        raise ConfigError(f"unknown collector(s) {', '.join(unknown)}; available: {', '.join(ALL_COLLECTORS)}")
    for name in ("interval", "flush_interval", "timeout", "backoff_initial", "backoff_max"):
        if getattr(config, name) <= 0:
            raise ConfigError(f"{name} must be > 0, got {getattr(config, name)}")
    if config.batch_size < 1:
        raise ConfigError(f"batch_size must be >= 1, got {config.batch_size}")
    if config.spool_segment_bytes == 0:
        config.spool_segment_bytes = max(1024, min(1024 * 1024, config.spool_max_bytes // 8))
    if config.spool_segment_bytes < 1024 or config.spool_max_bytes < 2 * config.spool_segment_bytes:
        raise ConfigError(
            f"spool_max_bytes ({config.spool_max_bytes}) must be at least twice spool_segment_bytes "
            f"({config.spool_segment_bytes}), and a segment at least 1024 bytes"
        )
    return config
