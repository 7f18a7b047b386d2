"""413 handling: a batch too large for the portal is split in halves (by lines) and resent, in order.

The sender here is a stand-in with a byte limit (the live test in test_live_413.py uses the real
portal); what is checked is the agent's bookkeeping: order, exactly once, spool acks, counters.
"""

from __future__ import annotations

import gzip
from pathlib import Path

import pytest
from beacon_agent.agent import Agent, Batch
from beacon_agent.config import Config
from beacon_agent.lineprotocol import split_body
from beacon_agent.sender import OK, RETRY, TOO_LARGE, Result, compress


def lines(n: int, start: int = 0, width: int = 40) -> list[bytes]:
    return [f'm,device=d v={i}i,pad="{"x" * width}" {1_700_000_000_000 + i}\n'.encode() for i in range(start, n)]


class LimitedPortal:
    """Answers 413 for bodies over `limit` bytes (as sent, uncompressed here), else 204; records what it took."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.requests: list[tuple[int, list[bytes]]] = []
        self.stored: list[bytes] = []
        self.fail_next: list[Result] = []  # injected answers (e.g. a network error mid-split)

    def send(self, payload: bytes, gzipped: bool = True) -> Result:
        body = gzip.decompress(payload) if gzipped else payload
        got = [line + b"\n" for line in body.split(b"\n") if line]
        if self.fail_next:
            result = self.fail_next.pop(0)
        elif len(body) > self.limit:
            result = Result(TOO_LARGE, 413, f"request body is {len(body)} bytes; the limit is {self.limit}")
        else:
            result = Result(OK, 204, "stored")
            self.stored.extend(got)
        self.requests.append((result.status, got))
        return result


def make_agent(tmp_path: Path, portal: LimitedPortal, **overrides: object) -> Agent:
    config = Config(state_dir=str(tmp_path / "state"), gzip=False, backoff_initial=0.01, backoff_max=0.02)
    for key, value in overrides.items():
        setattr(config, key, value)
    return Agent(config, sender=portal, persistent=True)  # type: ignore[arg-type]


def drain(agent: Agent) -> None:
    for _ in range(1000):
        agent.next_send = 0.0  # no waiting: backoff timing is not what is tested here
        if agent.send_one() is None:
            return
    raise AssertionError("did not drain")


def test_split_body_halves_by_lines_in_order() -> None:
    body = b"".join(lines(5))
    first, second = split_body(body)
    assert first + second == body
    assert (first.count(b"\n"), second.count(b"\n")) == (2, 3)
    assert split_body(b'a v=1 1\nb v="x\ry" 2') == (b"a v=1 1\n", b'b v="x\ry" 2\n')  # \r is not a line end
    with pytest.raises(ValueError, match="one line"):
        split_body(b"a v=1 1\n")


def test_pending_batch_is_split_recursively_and_arrives_once_in_order(tmp_path: Path) -> None:
    body = b"".join(lines(10))
    portal = LimitedPortal(limit=len(body) // 3)  # needs quarters: 10 → 5+5 → 2+3 each
    agent = make_agent(tmp_path, portal)
    agent.pending.append(Batch(compress(body), 10))
    drain(agent)
    assert portal.stored == lines(10)  # every line, once, in order
    assert [(status, len(got)) for status, got in portal.requests] == [
        (413, 10),
        (413, 5),
        (204, 2),
        (204, 3),
        (413, 5),
        (204, 2),
        (204, 3),
    ]
    assert agent.counters["discarded_points"] == 0
    assert agent.stats["sent_points"] == 10 and agent.stats["split_batches"] == 3


def test_spooled_record_split_acks_only_when_every_part_is_done(tmp_path: Path) -> None:
    body = b"".join(lines(8))
    portal = LimitedPortal(limit=len(body) // 2 + 10)
    agent = make_agent(tmp_path, portal)
    agent.spool.append(compress(body), 8)
    agent.spool.append(compress(b"".join(lines(9, 8))), 1)
    # The merged replay (9 points) is too large → records one by one → the 8-line record is halved;
    # a network error after the first half must not resend it.
    assert agent.send_one().status == 413  # merged
    assert agent.send_one().status == 413  # the 8-line record alone
    assert agent.spool.points == 9  # nothing acked yet
    assert agent.send_one().status == 204  # first half
    assert agent.spool.points == 5  # its lines are off the count; the record is acked after the last part
    assert agent.spool.first().skip == 4  # type: ignore[union-attr]
    portal.fail_next.append(Result(RETRY, 0, "cannot reach"))
    assert agent.send_one().outcome == RETRY
    drain(agent)
    assert portal.stored == lines(9)
    assert agent.spool.empty() and agent.spool.points == 0
    assert [len(got) for status, got in portal.requests if status == 204] == [4, 4, 1]


def test_a_single_line_still_too_large_is_discarded_and_counted(tmp_path: Path) -> None:
    small = lines(4)
    huge = lines(5, 4, width=400)[0]
    portal = LimitedPortal(limit=300)
    agent = make_agent(tmp_path, portal)
    body = b"".join([*small[:2], huge, *small[2:]])
    agent.pending.append(Batch(compress(body), 5))
    drain(agent)
    assert portal.stored == small  # all but the oversized line, in order
    assert agent.counters["discarded_points"] == 1
    assert sum(got == [huge] for _status, got in portal.requests) == 1  # tried alone once, never again


def test_spill_after_split_keeps_the_halves_in_order(tmp_path: Path) -> None:
    body = b"".join(lines(6))
    portal = LimitedPortal(limit=len(body) // 2 + 10)
    agent = make_agent(tmp_path, portal)
    agent.pending.append(Batch(compress(body), 6))
    agent.pending.append(Batch(compress(b"".join(lines(8, 6))), 2))
    assert agent.send_one().status == 413
    assert [b.points for b in agent.pending] == [3, 3, 2]
    portal.fail_next.append(Result(RETRY, 503, "busy"))
    assert agent.send_one().outcome == RETRY  # spills the halves and the next batch to the spool, in order
    assert not agent.pending and agent.spool.points == 8
    drain(agent)
    assert portal.stored == lines(8)


def test_once_splits_too(tmp_path: Path) -> None:
    body = b"".join(lines(6))
    portal = LimitedPortal(limit=len(body) // 2 + 10)
    agent = make_agent(tmp_path, portal)
    assert agent._send_whole(body).outcome == OK
    assert portal.stored == lines(6)
    tiny = LimitedPortal(limit=10)
    agent = make_agent(tmp_path, tiny)
    assert agent._send_whole(body).outcome == TOO_LARGE  # no single line fits: `once` says rejected


def test_a_restart_mid_split_resends_only_the_parts_not_yet_stored(tmp_path: Path) -> None:
    body = b"".join(lines(8))
    portal = LimitedPortal(limit=len(body) // 2 + 10)
    agent = make_agent(tmp_path, portal)
    agent.spool.append(compress(body), 8)
    agent.spool.append(compress(b"".join(lines(9, 8))), 1)
    agent.single_left = 1  # as after a refused merged replay: the 8-line record alone
    assert agent.send_one().status == 413
    assert agent.send_one().status == 204  # the first half is stored...
    assert agent.spool.points == 5  # ...and taken off the spool's count
    assert (tmp_path / "state" / "spool" / "cursor").read_text().split()[2] == "4"  # durably
    del agent  # the agent dies here: the second half was never sent

    restarted = make_agent(tmp_path, portal)
    assert restarted.spool.points == 5
    head = restarted.spool.first()
    assert head is not None and (head.points, head.skip) == (4, 4)
    drain(restarted)
    assert portal.stored == lines(9)  # the first half was not sent again
    assert restarted.spool.empty() and restarted.spool.points == 0
    assert (
        not (tmp_path / "state" / "spool" / "cursor").exists()
        or len((tmp_path / "state" / "spool" / "cursor").read_text().split()) == 2
    )  # the skip is gone once the record is acked


def test_a_full_spool_drops_only_the_undelivered_lines_of_a_split_record(tmp_path: Path) -> None:
    body = b"".join(lines(8))
    portal = LimitedPortal(limit=len(body) // 2 + 10)
    agent = make_agent(tmp_path, portal, spool_max_bytes=4096, spool_segment_bytes=1024)
    agent.spool.append(compress(body), 8)
    assert agent.send_one().status == 413
    assert agent.send_one().status == 204  # 4 of 8 stored
    segment = agent.spool.cursor[0]
    for _ in range(100):  # fill until the record's segment is dropped
        if segment not in agent.spool.segments:
            break
        agent.spool.append(compress(b"".join(lines(13, 10))), 3)
    dropped = agent.counters["dropped_points"]
    # The dropped segment held the split record and some 3-point batches: 4 + 3k (all 8 would be 8 + 3k).
    assert dropped % 3 == 1
    spooled = agent.spool.points
    drain(agent)  # the dropped record's last part is not sent, nor acked over newer data
    assert portal.stored[:4] == lines(4)
    assert len(portal.stored) == 4 + spooled
    assert lines(8)[4] not in portal.stored
    assert agent.spool.empty() and agent.spool.points == 0
