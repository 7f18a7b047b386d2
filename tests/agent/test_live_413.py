"""413 against a live portal with a small INGEST_MAX_BODY_BYTES: batches are split, nothing lost or repeated.

A second gunicorn on the live portal's (already migrated) database runs with a 2,000-byte body
limit; the agent sends uncompressed (gzip = false) so realistic batches are over it. The recording
proxy shows every request, its size and the portal's answer.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.agent.conftest import Rig
from tests.agent.live import Portal, parse_line, wait_for
from tests.agent.test_live import last_self_point, lines_of, seed_spool, spooled_points

LIMIT = 2000


@pytest.fixture(scope="module")
def small_portal(live_portal: Portal, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Portal]:
    portal = Portal(
        live_portal.root,
        live_portal.database,
        tmp_path_factory.mktemp("small-portal"),
        extra_env={"INGEST_MAX_BODY_BYTES": str(LIMIT)},
    )
    portal.start()
    yield portal
    portal.stop()


@pytest.fixture
def small_rig(small_portal: Portal, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Rig]:
    rig = Rig(small_portal, tmp_path, f"413 {request.node.name[:40]}")
    yield rig
    rig.close()


def body_size(lines: list[str]) -> int:
    return sum(len(line.encode()) + 1 for line in lines)


def test_413_splits_realistic_batches_every_point_arrives_once_in_order(small_rig: Rig) -> None:
    rig = small_rig
    agent = rig.agent(interval=0.5, flush_interval=2, gzip="false", backoff_initial=0.5, shutdown_timeout=10)
    agent.start()
    too_large = lambda: [ex for ex in rig.proxy.exchanges if ex.status == 413]  # noqa: E731
    assert wait_for(lambda: len(too_large()) >= 2 and len(lines_of(rig, "beacon_agent")) >= 8, 60), agent.log()
    assert agent.terminate(timeout=30) == 0, agent.log()

    exchanges = rig.proxy.exchanges
    assert {ex.status for ex in exchanges} == {204, 413}
    assert all(body_size(ex.lines) > LIMIT for ex in exchanges if ex.status == 413)
    assert all(body_size(ex.lines) <= LIMIT for ex in exchanges if ex.status == 204)
    stored = rig.proxy.stored_lines()
    assert len(set(stored)) == len(stored)  # none twice
    # Every line of every refused batch arrived later, exactly once, and in the batch's order.
    position = {line: i for i, line in enumerate(stored)}
    for ex in too_large():
        assert [position[line] for line in ex.lines] == sorted(position[line] for line in ex.lines)
    times = [parse_line(line)[3] for line in stored]
    assert times == sorted(times)  # rounds arrive in the order they were collected
    final = last_self_point(rig)
    assert final["discarded_points"] == 0 and final["dropped_points"] == 0
    assert len(lines_of(rig, "beacon_agent")) == final["collections"]  # every round, nothing lost
    load = [line for line in stored if line.startswith("system,") and "load1=" in line]
    assert len(load) == final["collections"]
    assert len(rig.portal.series(rig.tenant, "system", ["load1"])["load1"]) == final["collections"]
    assert spooled_points(agent) == 0
    assert "too large (HTTP 413" in agent.log()


def test_413_on_a_spooled_batch_splits_it_and_discards_only_a_line_that_never_fits(small_rig: Rig) -> None:
    rig = small_rig
    agent = rig.agent(interval=0.5, flush_interval=0.5, gzip="false", collectors="load")
    now_ms = int(time.time() * 1000)
    good = [f'split,device=edge-01 v={i}i,note="{"n" * 100}" {now_ms - 60_000 + i}' for i in range(10)]
    huge = f'split,device=edge-01 v=99i,note="{"h" * 2500}" {now_ms - 60_000 + 5}'
    record = "\n".join([*good[:5], huge, *good[5:]]) + "\n"
    seed_spool(agent, record.encode(), f"split,device=edge-01 v=10i {now_ms - 50_000}\n".encode())
    agent.start()
    assert wait_for(lambda: len(lines_of(rig, "system")) >= 3, 30), agent.log()
    assert agent.terminate(timeout=30) == 0, agent.log()

    first = rig.proxy.exchanges[0]
    assert (first.status, len(first.lines)) == (413, 12)  # the merged replay of both records
    split_lines = [line for line in rig.proxy.stored_lines() if line.startswith("split,")]
    assert split_lines == [*good, f"split,device=edge-01 v=10i {now_ms - 50_000}"]  # once each, in order
    alone = [ex for ex in rig.proxy.exchanges if ex.lines == [huge]]
    assert [ex.status for ex in alone] == [413]  # tried alone once, then discarded
    assert last_self_point(rig)["discarded_points"] == 1
    assert "portal rejected a batch of 1 points (HTTP 413" in agent.log()
    stored = rig.portal.series(rig.tenant, "split", ["v"])["v"]
    assert [v for _t, v in stored] == [*range(10), 10]
    assert spooled_points(agent) == 0
