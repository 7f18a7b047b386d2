"""The agent's device when none is configured: held until known, then tagged; cached per key id."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

from beacon_agent.agent import UNRESOLVED_MAX_BATCHES, Agent
from beacon_agent.config import Config
from beacon_agent.identity import DeviceResolver

from tests.agent.conftest import FIXTURE_PROC


def test_points_are_held_untagged_until_the_device_is_known_then_tagged(tmp_path: Path) -> None:
    answers: list[str | None] = [None, None, "edge-bound"]
    config = Config(state_dir=str(tmp_path), proc=FIXTURE_PROC, collectors=["mem"], tags={"site": "lab"})
    agent = Agent(config, resolve_device=lambda: answers.pop(0))
    agent.collect()
    agent.flush()  # portal cannot say yet: nothing queued, nothing spooled
    assert not agent.pending and agent.spool.empty() and agent.buffer
    agent.collect()
    agent.flush()
    assert not agent.pending
    held = len(agent.buffer)
    agent.flush()  # now known: every held point goes out with the bound device
    assert sum(batch.points for batch in agent.pending) == held and not agent.buffer
    lines = [gzip.decompress(batch.payload).decode() for batch in agent.pending]
    assert all(",device=edge-bound," in line and "site=lab" in line for body in lines for line in body.splitlines())
    agent.collect()
    assert {p.tags["device"] for p in agent.buffer} == {"edge-bound"}


def test_held_points_are_bounded_and_counted_as_dropped(tmp_path: Path) -> None:
    config = Config(state_dir=str(tmp_path), proc=FIXTURE_PROC, collectors=["mem"], batch_size=1)
    agent = Agent(config, resolve_device=lambda: None)
    for _ in range(UNRESOLVED_MAX_BATCHES + 5):
        agent.collect()
    assert len(agent.buffer) == UNRESOLVED_MAX_BATCHES
    assert agent.counters["dropped_points"] == 2 * (UNRESOLVED_MAX_BATCHES + 5) - UNRESOLVED_MAX_BATCHES


def test_a_configured_device_never_asks(tmp_path: Path) -> None:
    def ask() -> str:
        raise AssertionError("asked the portal although device is configured")

    agent = Agent(
        Config(state_dir=str(tmp_path), device="pi-1", proc=FIXTURE_PROC, collectors=["mem"]), resolve_device=ask
    )
    agent.collect()
    agent.flush()
    assert agent.pending and agent.device == "pi-1"


def test_unreachable_portal_uses_the_cached_device_of_the_same_key_only(tmp_path: Path) -> None:
    cache = tmp_path / "device.json"
    cache.write_text(json.dumps({"key_id": "kid1", "device": "edge-7"}))
    down = "http://127.0.0.1:9"
    resolver = DeviceResolver(Config(url=down, api_key="bcn_kid1_secret", timeout=2), str(cache))
    assert resolver() == "edge-7" and resolver.source == "cache"
    assert "cannot reach" in resolver.reason
    other = DeviceResolver(Config(url=down, api_key="bcn_kid2_secret", timeout=2), str(cache))
    assert other() is None  # another key's binding says nothing about this one
