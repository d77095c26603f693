"""A fleet of writers sharing one append blob, simulated: no Azure, no threads, a clock of events.

Each writer paces itself with its own :class:`modeltap.pacing.Pacer` and sees only what a real
writer sees: the blob's count in the answer to each of its appends (with a noisy time), and the
interval the fleet published in the blob's metadata (a writer reads the blob's properties before
most appends: another writer has appended since its last). The blob counts every append:
headers, the appends every writer makes as the partition ends or as it leaves, chunks delivered
after the end, and the odd append split in two.
"""

from __future__ import annotations

import heapq
import math
import random
from dataclasses import dataclass

from modeltap.pacing import Pacer, PacingPolicy

DAY = 86_400.0
HOUR = 3_600.0


@dataclass(frozen=True)
class Member:
    """One writer: when it joins and leaves, and how often it has rows (0: always)."""

    join: float
    leave: float = math.inf
    #: Mean seconds between rows; 0 for a busy stream that always has rows to append.
    row_gap: float = 0.0


@dataclass
class _Writer:
    member: Member
    pacer: Pacer
    #: When the oldest row not yet appended was collected (None: nothing waits).
    waiting_since: float | None = None
    next_row: float = math.inf


@dataclass
class Outcome:
    """What one simulated partition came to."""

    blocks: int
    budget: int
    max_blocks: int
    appends: int
    #: (time, interval) of every writer after each of its appends.
    intervals: list[tuple[float, float]]
    #: (time, projected count) as each writer saw it after each of its appends.
    projections: list[tuple[float, int]]
    #: The longest any row waited for its append.
    longest_wait: float
    #: (writer index, time, interval, the blob's count) after each append, in order.
    timeline: list[tuple[int, float, float, int]]


@dataclass
class Fleet:
    """A partition ``[start, start + length)`` and the writers of its blob."""

    policy: PacingPolicy
    members: list[Member]
    start: float = 0.0
    length: float = DAY
    seed: int = 0
    #: Noise on the time a writer stamps an answer with (request latency, clock skew), seconds.
    jitter: float = 1.0
    #: Chance that an append costs a second block (a chunk split at the block limit, a retry).
    split: float = 0.01
    #: Share of writers that deliver one more chunk after the partition ends (a spool draining).
    stragglers: float = 0.5
    #: Whether writers read the interval the fleet published in the blob's metadata.
    metadata: bool = True
    #: (time, blocks) appended by writers that do not pace (an older version, a backfill).
    unpaced: tuple[tuple[float, int], ...] = ()

    def run(self) -> Outcome:
        return _Run(self).run()


class _Run:
    """One simulated partition: a queue of events over a shared blob."""

    def __init__(self, fleet: Fleet) -> None:
        self.fleet = fleet
        self.rng = random.Random(fleet.seed)
        self.end = fleet.start + fleet.length
        self.blocks = 0
        self.published: float | None = None
        self.writers: list[_Writer | None] = [None] * len(fleet.members)
        self.events: list[tuple[float, int, str, int]] = []
        self.seq = 0
        self.outcome = Outcome(0, fleet.policy.budget, fleet.policy.max_blocks, 0, [], [], 0.0, [])

    def run(self) -> Outcome:
        f = self.fleet
        for i, m in enumerate(f.members):
            if m.join < self.end:
                self.push(max(f.start, m.join), "join", i)
        for k, (at, _) in enumerate(f.unpaced):
            self.push(at, "unpaced", k)
        while self.events:
            now, _, kind, i = heapq.heappop(self.events)
            if kind == "unpaced":
                self.blocks += f.unpaced[i][1] + (0 if self.blocks else 1)
            elif kind == "join":
                self.join(i, now)
            elif kind == "leave":
                self.leave(i, now)
            else:
                self.wake(i, now)
        # After the end: some writers deliver one more chunk of the partition (a spool draining).
        for w in self.writers:
            if w is not None and self.rng.random() < f.stragglers:
                self.blocks += 1
                self.outcome.appends += 1
        self.outcome.blocks = self.blocks
        return self.outcome

    def push(self, at: float, kind: str, index: int) -> None:
        self.seq += 1
        heapq.heappush(self.events, (at, self.seq, kind, index))

    def noisy(self, now: float) -> float:
        return now + self.rng.uniform(-self.fleet.jitter, self.fleet.jitter)

    def fleet_interval(self) -> float | None:
        return self.published if self.fleet.metadata else None

    def join(self, i: int, now: float) -> None:
        m = self.fleet.members[i]
        pacer = Pacer(self.fleet.policy, self.fleet.start, self.end)
        if self.blocks:
            # The writer finds the blob: its count and metadata, read before its first append.
            pacer.observe(self.noisy(now), self.blocks, own=False, fleet_interval=self.fleet_interval())
        w = self.writers[i] = _Writer(m, pacer)
        if m.row_gap:
            w.next_row = now + self.rng.expovariate(1 / m.row_gap)
        else:
            w.waiting_since = now
        if m.leave < self.end:
            self.push(m.leave, "leave", i)
        self.schedule(i, w, now)

    def leave(self, i: int, now: float) -> None:
        w = self.writers[i]
        if w is None:
            return
        if w.waiting_since is not None:
            self.append(i, w, now)  # close() appends what it holds
        self.writers[i] = None

    def wake(self, i: int, now: float) -> None:
        w = self.writers[i]
        if w is None or now > self.end:
            return
        if w.member.row_gap and w.waiting_since is None:
            if w.next_row > now:
                self.schedule(i, w, now)
                return
            w.waiting_since = w.next_row
        if not w.pacer.due(now):
            self.schedule(i, w, now)
            return
        self.append(i, w, now)
        if w.member.row_gap:
            w.next_row = now + self.rng.expovariate(1 / w.member.row_gap)
        else:
            w.waiting_since = now
        if now < self.end:
            self.schedule(i, w, now)

    def schedule(self, i: int, w: _Writer, now: float) -> None:
        due = w.pacer.next_append()
        if w.member.row_gap and w.waiting_since is None:
            due = max(due, w.next_row)  # a quiet stream waits for a row, then for the pace
        self.push(max(now, due), "append", i)

    def append(self, i: int, w: _Writer, now: float) -> None:
        out = self.outcome
        if self.blocks == 0:
            self.blocks = 1  # the header, by whoever creates the blob
        self.blocks += 2 if self.rng.random() < self.fleet.split else 1
        out.appends += 1
        if w.waiting_since is not None:
            out.longest_wait = max(out.longest_wait, now - w.waiting_since)
        w.waiting_since = None
        w.pacer.observe(self.noisy(now), self.blocks, fleet_interval=self.fleet_interval())
        if now < self.end:
            interval = w.pacer.interval
            out.intervals.append((now, interval))
            out.timeline.append((i, now, interval, self.blocks))
            out.projections.append((now, w.pacer.state(now).projected_blocks))
        fresh = w.pacer.publish(self.published)
        if fresh is not None:
            self.published = fresh


def steady(n: int, join: float = 0.0, leave: float = math.inf, row_gap: float = 0.0) -> list[Member]:
    return [Member(join, leave, row_gap) for _ in range(n)]


def staggered(n: int, first: float, last: float, leave: float = math.inf, row_gap: float = 0.0) -> list[Member]:
    """``n`` writers joining one by one, evenly between ``first`` and ``last``."""
    step = (last - first) / max(1, n - 1)
    return [Member(first + k * step, leave, row_gap) for k in range(n)]
