"""Static checks that docker/ and the README match the code (no Docker engine runs here)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from django.urls import resolve

ROOT = Path(__file__).resolve().parents[2]
_ENV_CALL = re.compile(r'env_(?:str|bool|int_list|int|list|secret|database|url)\(\s*"([A-Z0-9_]+)"')


def settings_env_vars() -> set[str]:
    found = set()
    for path in [ROOT / "portal" / "settings.py", *sorted((ROOT / "portal").glob("settings_*.py"))]:
        found |= set(_ENV_CALL.findall(path.read_text()))
    return found


def test_settings_read_the_core_variables():
    # Guards the regex below against silently matching nothing.
    assert {"DATABASE_URL", "SECRET_KEY", "DEBUG", "API_KEY_PEPPER", "LOG_DIR"} <= settings_env_vars()


def test_readme_documents_every_environment_variable():
    readme = (ROOT / "README.md").read_text()
    table_names = set(re.findall(r"^\| `([A-Z0-9_]+)`", readme, flags=re.MULTILINE))
    missing = settings_env_vars() - table_names
    assert not missing, f"README configuration table lacks: {sorted(missing)}"
    stale = table_names - settings_env_vars() - {"CI"}
    assert not stale, f"README documents variables settings.py never reads: {sorted(stale)}"


def test_compose_only_sets_variables_the_settings_read():
    compose = yaml.safe_load((ROOT / "docker" / "compose.yaml").read_text())
    known = settings_env_vars()
    known |= {f"{name}_FILE" for name in known}
    for service in ("migrate", "web", "worker", "beat"):
        env = compose["services"][service]["environment"]
        unknown = set(env) - known
        assert not unknown, f"{service} sets variables settings.py ignores: {sorted(unknown)}"
        assert env["DEBUG"] == "0"


def test_dockerfile_copies_existing_paths_and_runs_the_wsgi_app():
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    for source in re.findall(r"^COPY (?!--from)(\S+)", dockerfile, flags=re.MULTILINE):
        assert (ROOT / source).exists(), f"Dockerfile copies missing path {source}"
    apps = {line.split()[0] for line in re.findall(r"^COPY (\w+)/ ", dockerfile, flags=re.MULTILINE)}
    python_packages = {p.parent.name for p in ROOT.glob("*/apps.py")} | {"portal"}
    assert python_packages <= apps, f"Dockerfile does not copy {sorted(python_packages - apps)}"
    assert '"gunicorn", "portal.wsgi"' in dockerfile
    assert resolve("/health").url_name == "health"


def test_systemd_units_run_existing_management_commands():
    from django.core.management import get_commands

    service = (ROOT / "docker" / "systemd" / "beacon-prune.service").read_text()
    command = re.search(r"^ExecStart=\S+python manage\.py (\w+)", service, flags=re.MULTILINE)
    assert command is not None and command.group(1) in get_commands()
    timer = (ROOT / "docker" / "systemd" / "beacon-prune.timer").read_text()
    assert "OnCalendar=" in timer and "WantedBy=timers.target" in timer


def test_docs_cite_no_design_decision_numbers():
    # The design document is not shipped: "design decision 13" tells a reader nothing.
    texts = [
        ROOT / "README.md",
        *(ROOT / "docs").glob("*.md"),
        *(ROOT / "agent").rglob("*.py"),
        ROOT / "agent" / "README.md",
    ]
    cited = [str(p.relative_to(ROOT)) for p in texts if re.search(r"design decision \d", p.read_text(), re.IGNORECASE)]
    assert not cited, f"cite what the decision says instead: {cited}"
