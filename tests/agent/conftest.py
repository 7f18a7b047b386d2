"""Agent tests: the agent package is stdlib-only and imported from agent/ without installing it.

Nothing here imports Django: the agent must stay importable with a plain Python.
"""

from __future__ import annotations

import os
import sys

AGENT_DIR = os.path.join(os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))), "agent")
if AGENT_DIR not in sys.path:
    sys.path.insert(0, AGENT_DIR)

FIXTURE_PROC = os.path.join(os.path.dirname(os.path.abspath(__file__)), "fixtures", "proc")


# --- live portal fixtures (Django is only imported lazily, inside fixtures) ---------------------------

import itertools  # noqa: E402
from collections.abc import Iterator  # noqa: E402
from pathlib import Path  # noqa: E402
from urllib.parse import urlparse  # noqa: E402

import pytest  # noqa: E402

from tests.agent.live import (  # noqa: E402
    AgentProcess,
    Portal,
    RecordingProxy,
    Tenant,
    portal_root,
    postgres_available,
    write_endpoint_missing,
)

_tenant_numbers = itertools.count(1)


def _live_database() -> str:
    # A database of its own next to the suite's, so parallel checkouts never share one.
    base = urlparse(os.environ.get("DATABASE_URL", "")).path.lstrip("/") or "beacon"
    return f"{base}_agentlive"


@pytest.fixture(scope="session")
def live_portal(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    from tests.conftest import require_server  # lazily: that module imports Django

    missing = write_endpoint_missing()
    require_server(missing is None, missing or "")
    require_server(postgres_available(), "PostgreSQL is not listening on 127.0.0.1:5432")
    portal = Portal(portal_root(), _live_database(), tmp_path_factory.mktemp("portal"))
    portal.prepare()
    portal.start()
    yield portal
    portal.stop()
    portal.drop_database()


class Rig:
    """One test's tenant, a recording proxy in front of the portal, and agent processes."""

    def __init__(self, portal: Portal, workdir: Path, name: str, rate_limit: str = "") -> None:
        self.portal = portal
        self.workdir = workdir
        self.tenant: Tenant = portal.tenant(f"{name} {next(_tenant_numbers)}", rate_limit=rate_limit)
        self.proxy = RecordingProxy(portal.port)
        self.agents: list[AgentProcess] = []

    def agent(self, key: str | None = None, **settings: object) -> AgentProcess:
        workdir = self.workdir / f"agent{len(self.agents)}"
        workdir.mkdir()
        agent = AgentProcess(workdir, self.proxy.url, key or self.tenant.write_key, self.tenant.device, **settings)
        self.agents.append(agent)
        return agent

    def close(self) -> None:
        for agent in self.agents:
            agent.kill()
        self.proxy.close()


@pytest.fixture
def rig(live_portal: Portal, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    if live_portal.proc is None or live_portal.proc.poll() is not None:
        live_portal.start()  # a previous test stopped it and failed before restarting
    rig = Rig(live_portal, tmp_path, request.node.name)
    yield rig
    rig.close()
