"""The agent loop: collect on a schedule, batch, send, spool on failure, replay in order.

Single-threaded on purpose: one Python thread is the smallest footprint, and a
blocked send delays the next collection by at most `timeout` seconds.

Ordering invariant: batches reach the portal in the order they were flushed.
A batch goes to the in-memory `pending` queue only while the spool is empty and
no backoff is running; otherwise it is appended to the spool. On a retryable failure
every pending batch is moved to the spool (behind older spooled ones), and the
sender always drains the spool before `pending`.
"""

from __future__ import annotations

import collections
import gzip
import logging
import math
import os
import random
import tempfile
import threading
import time
from dataclasses import dataclass
from typing import Callable, Deque, Dict, List, Optional

from beacon_agent import sender as sender_mod
from beacon_agent.collectors import Context, collect_all
from beacon_agent.config import Config
from beacon_agent.lineprotocol import Point, encode_batch, split_body
from beacon_agent.sender import Result, Sender
from beacon_agent.spool import Counters, Record, Spool

log = logging.getLogger("beacon_agent")

# While the device is unknown (portal not yet asked), at most this many batches are held in memory.
UNRESOLVED_MAX_BATCHES = 10


@dataclass
class Batch:
    payload: bytes  # gzip line protocol
    points: int


def make_context(config: Config) -> Context:
    return Context(proc=config.proc, percpu=config.percpu, ignore_interfaces=frozenset(config.ignore_interfaces))


def _rss_bytes() -> int:
    try:
        with open("/proc/self/status", encoding="ascii", errors="replace") as fh:
            for line in fh:
                if line.startswith("VmRSS:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


class Agent:
    def __init__(
        self,
        config: Config,
        sender: Optional[Sender] = None,
        clock: Callable[[], float] = time.monotonic,
        rng: Optional[random.Random] = None,
        persistent: bool = True,
        resolve_device: Optional[Callable[[], Optional[str]]] = None,
    ) -> None:
        self.config = config
        self.sender = sender or Sender(config)
        self.clock = clock
        self.rng = rng or random.Random()
        state_dir = config.state_dir
        if not persistent:  # `once` sends one batch and exits: it needs no state dir (nor permission for one)
            self._tmp = tempfile.TemporaryDirectory(prefix="beacon-agent-")
            state_dir = self._tmp.name
        os.makedirs(state_dir, mode=0o700, exist_ok=True)
        self.counters = Counters(os.path.join(state_dir, "counters.json"))
        self.spool = Spool(
            os.path.join(state_dir, "spool"), config.spool_max_bytes, config.spool_segment_bytes, self.counters
        )
        self.ctx = make_context(config)
        # No `device` configured: `resolve_device` asks the portal (identity.DeviceResolver). Until it
        # answers, points are collected without the tag and held in memory (see flush).
        self.resolve_device = resolve_device if not config.device else None
        self.device: Optional[str] = config.device or (None if resolve_device else "")
        self.tags = dict(config.tags)
        if self.device is not None:
            self.tags["device"] = self.device
        self.buffer: List[Point] = []
        self.pending: Deque[Batch] = collections.deque()
        self.stop = threading.Event()
        self.next_send = 0.0  # monotonic time before which nothing is sent (backoff)
        self.failures = 0  # consecutive failed sends, drives the backoff exponent
        self.single_left = 0  # after a rejected merged replay: how many spool records to send one at a time
        # After a 413 on a spooled record: its remaining halves (sent before anything else), and the record
        # to ack when the last one is done.
        self.parts: Deque[Batch] = collections.deque()
        self.parts_records: Optional[List[Record]] = None
        self.stats: Dict[str, int] = collections.Counter()  # type: ignore[assignment]

    # --- collecting ------------------------------------------------------------------------------------

    def collect(self) -> int:
        self.ctx.tick()
        points, failed = collect_all(self.ctx, self.config.collectors)
        self.stats["collections"] += 1
        self.stats["collect_errors"] += failed
        points.append(self._self_point())
        for point in points:
            point.tags = {**self.tags, **point.tags}
        self.buffer.extend(points)
        if self.device is None and len(self.buffer) > UNRESOLVED_MAX_BATCHES * self.config.batch_size:
            # Held while the device is unknown: bounded like the spool, oldest dropped and counted.
            excess = len(self.buffer) - UNRESOLVED_MAX_BATCHES * self.config.batch_size
            del self.buffer[:excess]
            self.counters.add("dropped_points", excess)
        return len(points)

    def _ensure_device(self) -> bool:
        """True once the device tag is known; tags the points collected before it was."""
        if self.device is not None:
            return True
        assert self.resolve_device is not None
        device = self.resolve_device()
        if device is None:
            return False
        self.device = device
        self.tags["device"] = device
        for point in self.buffer:
            point.tags = {**point.tags, "device": device}
        log.info("device tag: %s", device)
        return True

    def _self_point(self) -> Point:
        # Telegraf-style `internal` metrics: measurement `beacon_agent`, so the drop counter is
        # `beacon_agent_dropped_points` in a Prometheus/Grafana naming scheme.
        user, system = os.times()[:2]
        fields = {
            "dropped_points": self.counters["dropped_points"],
            "discarded_points": self.counters["discarded_points"],
            "spool_bytes": self.spool.size_bytes,
            "spooled_points": self.spool.points,
            "sent_points": self.stats["sent_points"],
            "send_failures": self.stats["send_failures"],
            "collections": self.stats["collections"],
            "collect_errors": self.stats["collect_errors"],
            "rss_bytes": _rss_bytes(),
            "cpu_seconds": round(user + system, 3),
        }
        return Point("beacon_agent", {}, dict(fields), self.ctx.now_ns)

    def flush(self) -> None:
        """Encode the buffer into batches of at most batch_size points and queue them."""
        if not self._ensure_device():
            return
        while self.buffer:
            chunk, self.buffer = self.buffer[: self.config.batch_size], self.buffer[self.config.batch_size :]
            body = encode_batch(chunk, self.config.precision)
            if not body:
                continue
            batch = Batch(sender_mod.compress(body), body.count(b"\n"))
            if self.spool.empty() and not self.pending_backoff():
                self.pending.append(batch)
            else:
                self._to_spool(batch)

    def _to_spool(self, batch: Batch) -> None:
        try:
            self.spool.append(batch.payload, batch.points)
        except OSError as exc:
            # Disk full or read-only: losing this batch beats crashing and losing the buffer too.
            self.counters.values["dropped_points"] += batch.points
            log.error("cannot spool %d points (%s); dropped", batch.points, exc)

    def pending_backoff(self) -> bool:
        return self.clock() < self.next_send

    # --- sending ---------------------------------------------------------------------------------------

    def _spill(self) -> None:
        while self.pending:
            self._to_spool(self.pending.popleft())

    def _backoff(self, result: Result) -> float:
        self.failures += 1
        # Exponential with "equal jitter": half fixed, half random, so a fleet recovering from the
        # same outage does not return in lockstep.
        ceiling = min(self.config.backoff_max, self.config.backoff_initial * 2 ** (self.failures - 1))
        delay = ceiling / 2 + self.rng.uniform(0, ceiling / 2)
        if result.retry_after is not None:
            delay = max(delay, result.retry_after)  # the server said when; never earlier
        self.next_send = self.clock() + delay
        return delay

    def _next_payload(self) -> tuple:
        """(payload, points, spool records or None, pending batch or None) for the oldest unsent data."""
        if not self.spool.empty():
            records = self.spool.peek(1 if self.single_left else self.config.batch_size)
            if len(records) == 1:
                return records[0].payload, records[0].points, records, None
            # Merge small spooled batches into one request: replay is bounded by round trips.
            body = b"".join(gzip.decompress(r.payload) for r in records)
            return sender_mod.compress(body), sum(r.points for r in records), records, None
        if self.pending:
            batch = self.pending[0]
            return batch.payload, batch.points, None, batch
        return b"", 0, None, None

    def send_one(self) -> Optional[Result]:
        """Try the oldest unsent batch once. None when there is nothing to send."""
        if self.parts and not self._parts_head_spooled():
            # A full spool dropped the record being split; its unsent lines are counted as dropped.
            self.parts.clear()
            self.parts_records = None
            self.single_left = max(0, self.single_left - 1)
        if self.parts:
            return self._send_part()
        payload, points, records, batch = self._next_payload()
        if not points:
            return None
        result = self.sender.send(payload)
        if result.outcome == sender_mod.OK:
            self._done(records, batch)
            self._sent(points)
            if records is not None and self.single_left:
                self.single_left -= 1
            return result
        self.stats["send_failures"] += 1
        if result.outcome in (sender_mod.REJECTED, sender_mod.TOO_LARGE):
            if records is not None and len(records) > 1:
                # One of several merged batches is bad (or the merge is too big): retry them one by
                # one, so only a bad one is lost and a 413 splits only the batch that is too large.
                self.single_left = len(records)
                return result
            if result.outcome == sender_mod.TOO_LARGE and points > 1:
                self._split(payload, points, records, batch, result)
                return result
            self._done(records, batch)
            self._discard(points, result)
            self.single_left = max(0, self.single_left - 1)
            return result
        return self._failed(result)

    def _split(
        self, payload: bytes, points: int, records: Optional[List[Record]], batch: Optional[Batch], result: Result
    ) -> None:
        """413: replace the batch by its two halves (by lines), sent in order, each split again if needed."""
        first, second = split_body(gzip.decompress(payload))
        halves = [Batch(sender_mod.compress(body), body.count(b"\n")) for body in (first, second)]
        log.warning(
            "portal refused a batch of %d points as too large (HTTP 413: %s); splitting it into %d + %d",
            points,
            result.message,
            halves[0].points,
            halves[1].points,
        )
        self.stats["split_batches"] += 1
        if self.parts:  # a part of a spooled record: the halves take its place at the head
            self.parts.popleft()
            self.parts.extendleft(reversed(halves))
        elif batch is not None:  # in memory: the halves replace it in `pending` (and spill in order)
            self.pending.popleft()
            self.pending.extendleft(reversed(halves))
        else:
            # A spooled record cannot be rewritten in place (append-only): its parts are sent from
            # memory, the cursor records how many of its leading lines are done after each part, and
            # the record is acked once the last one is done.
            self.parts.extend(halves)
            self.parts_records = records

    def _parts_head_spooled(self) -> bool:
        head = self.spool.first()
        if head is None or not self.parts_records:
            return False
        return (head.segment, head.offset) == (self.parts_records[0].segment, self.parts_records[0].offset)

    def _send_part(self) -> Result:
        part = self.parts[0]
        result = self.sender.send(part.payload)
        if result.outcome == sender_mod.OK:
            self.parts.popleft()
            self._sent(part.points)
            self._part_done()
            return result
        self.stats["send_failures"] += 1
        if result.outcome == sender_mod.TOO_LARGE and part.points > 1:
            self._split(part.payload, part.points, None, None, result)
            return result
        if result.outcome in (sender_mod.REJECTED, sender_mod.TOO_LARGE):
            self.parts.popleft()
            self._discard(part.points, result)
            self._part_done()
            return result
        return self._failed(result)  # the parts stay in memory, the record in the spool: retried later

    def _part_done(self) -> None:
        if self.parts_records is None:
            return
        if self.parts:
            # Persist how far into the record we are, so a restart resends only the parts not yet stored.
            record = self.parts_records[0]
            self.spool.advance_within(record, record.points - sum(part.points for part in self.parts))
            return
        records, self.parts_records = self.parts_records, None
        head = self.spool.first()
        # Only if the record is still the spool's head (a full spool may have dropped it meanwhile).
        if head is not None and (head.segment, head.offset) == (records[0].segment, records[0].offset):
            self.spool.ack(records)
        self.single_left = max(0, self.single_left - 1)

    def _sent(self, points: int) -> None:
        self.stats["sent_points"] += points
        self.stats["sent_batches"] += 1
        self.failures = 0
        self.next_send = 0.0

    def _discard(self, points: int, result: Result) -> None:
        self.counters.add("discarded_points", points)
        log.error(
            "portal rejected a batch of %d points (HTTP %d%s): %s; discarded, it would never be accepted",
            points,
            result.status,
            f", line {result.line}" if result.line else "",
            result.message,
        )

    def _failed(self, result: Result) -> Result:
        self._spill()
        delay = self._backoff(result)
        if result.outcome == sender_mod.AUTH:
            log.error(
                "AUTHENTICATION/CONFIGURATION ERROR: HTTP %d from %s: %s. Check api_key (BEACON_API_KEY) and url; "
                "points are kept in the spool (%d points, %d bytes) and retried in %.1f s",
                result.status,
                self.config.url,
                result.message.rstrip("."),  # the portal's sentence already ends in one
                self.spool.points,
                self.spool.size_bytes,
                delay,
            )
        else:
            log.warning(
                "send failed (%s): %s; %d points spooled, retrying in %.1f s",
                f"HTTP {result.status}" if result.status else "network",
                result.message,
                self.spool.points,
                delay,
            )
        return result

    def _done(self, records: Optional[List[Record]], batch: Optional[Batch]) -> None:
        if records is not None:
            self.spool.ack(records)
        elif batch is not None:
            self.pending.popleft()

    def pump(self, deadline: float) -> None:
        """Send until nothing is left, a failure starts a backoff, or `deadline` (monotonic) passes."""
        while self.clock() < deadline and not self.pending_backoff():
            result = self.send_one()
            if result is None or result.outcome in (sender_mod.RETRY, sender_mod.AUTH):
                return

    def has_unsent(self) -> bool:
        return bool(self.pending) or not self.spool.empty()

    # --- the loop --------------------------------------------------------------------------------------

    def _jitter(self, amount: float) -> float:
        return self.rng.uniform(0, amount) if amount > 0 else 0.0

    def run(self) -> int:
        interval = self.config.interval
        now = self.clock()
        next_collect = now
        next_flush = now + self.config.flush_interval + self._jitter(self.config.flush_jitter)
        log.info(
            "beacon-agent started: url=%s device=%s interval=%ss collectors=%s spool=%d points",
            self.config.url,
            self.device if self.device is not None else "(asking the portal)",
            interval,
            ",".join(self.config.collectors),
            self.spool.points,
        )
        while not self.stop.is_set():
            now = self.clock()
            if now >= next_collect:
                self.collect()
                # Stay on the grid; after a long stall skip the missed rounds rather than burst.
                next_collect += interval * max(1, math.ceil((now - next_collect) / interval + 1e-9))
                next_collect += self._jitter(self.config.collection_jitter)
            if self.buffer and (len(self.buffer) >= self.config.batch_size or now >= next_flush):
                self.flush()
                next_flush = now + self.config.flush_interval + self._jitter(self.config.flush_jitter)
            self.pump(deadline=next_collect)
            wake = min(next_collect, next_flush)
            if self.has_unsent():
                wake = min(wake, max(self.next_send, self.clock() + 0.001))
            self.stop.wait(max(0.0, wake - self.clock()))
        return self.shutdown()

    def shutdown(self) -> int:
        """Flush on SIGTERM: send what we can within shutdown_timeout, spool the rest durably."""
        self.flush()
        deadline = self.clock() + self.config.shutdown_timeout
        while self.has_unsent() and self.clock() < deadline:
            if self.pending_backoff():
                if self.next_send >= deadline:
                    break  # honour Retry-After/backoff even when stopping: the spool keeps the rest
                time.sleep(self.next_send - self.clock())
            self.pump(deadline)
        self._spill()
        log.info(
            "beacon-agent stopped: sent %d points; %d points left in the spool for the next start",
            self.stats["sent_points"],
            self.spool.points,
        )
        return 0

    def once(self, settle: float = 1.0) -> Result:
        """Collect (two samples `settle` s apart, so cpu percentages exist) and send one batch, no spool."""
        if not self._ensure_device():
            reason = getattr(self.resolve_device, "reason", "")
            return sender_mod.Result(sender_mod.RETRY, 0, f"cannot learn this key's device: {reason}")
        self.ctx.tick()
        collect_all(self.ctx, self.config.collectors)
        time.sleep(settle)
        self.collect()
        body = encode_batch(self.buffer, self.config.precision)
        self.buffer = []
        return self._send_whole(body)

    def _send_whole(self, body: bytes) -> Result:
        """`once`: send a body, halving it on 413 like `run` does; the first failure is the answer."""
        result = self.sender.send(sender_mod.compress(body))
        if result.outcome != sender_mod.TOO_LARGE or body.count(b"\n") < 2:
            return result
        first, second = split_body(body)
        results = [self._send_whole(first), self._send_whole(second)]
        return next((r for r in results if r.outcome != sender_mod.OK), results[-1])
