"""How long a writer waits between appends to a blob that a whole fleet shares.

An append blob takes a fixed number of appends (50,000 on Azure), shared by every process that
writes it: every replica of a service appends its rows of the day to the same ``data.csv``. No
writer knows how many others there are, but each append answers with the blob's committed block
count, so every writer sees the same curve: blocks over time. From the (time, count) pairs it
gets back, a :class:`Pacer` estimates the fleet's append rate and sets its own interval so that
the count projected at the partition's end stays under the budget.

The rule, at each of the writer's own appends (time ``t``, count ``c``):

* the *allowed rate* is what is left of the budget over what is left of the partition,
  ``(budget - c) / (end - t)``, where the budget keeps a share of the blob's appends in reserve
  (the appends every writer makes as a partition ends, chunks delivered after it, late joiners,
  the header);
* the *fleet's rate* is the growth of the count over a window of recent observations (or, with
  only one, since the partition began: the blob was empty then);
* the interval is scaled by the ratio of the two. All writers see the same blob, so all scale by
  about the same ratio and the fleet's rate lands on the allowed rate, however many writers there
  are: intervals lengthen as the fleet grows and shorten as it shrinks. Lengthening takes the
  whole ratio at once (the budget comes first); shortening takes its square root per append,
  which damps the oscillation a lagging rate estimate would otherwise cause;
* the interval moves a quarter of the way (in log scale) toward the one the fleet published in
  the blob's metadata (``fleet_interval``, see :meth:`Pacer.publish`), never past the allowed
  rate. Scaling alone keeps whatever ratios writers' intervals had (a joiner's start, an unlucky
  window) for ever; this pull is what makes writers that joined hours apart share evenly. The
  counts alone cannot: they tell the fleet's rate, never how many writers make it.

The interval stays between ``floor`` (the configured ``flush_interval``) and ``ceiling``, and a
writer's next append is never later than the partition's end (every writer appends what it holds
then; the reserve pays for those appends). A joiner starts at the published interval, or at the
floor when the blob has none.

Pure: no I/O, no clock of its own. Times are seconds on any one scale (POSIX seconds of the
partition clock, say), passed in by the caller.

>>> policy = PacingPolicy(max_blocks=50_000, floor=30.0)
>>> pacer = Pacer(policy, start=0.0, end=86_400.0)
>>> pacer.observe(30.0, 2)  # the header and this writer's first append
>>> pacer.interval
30.0
"""

from __future__ import annotations

import math
from bisect import bisect_left, bisect_right, insort
from dataclasses import dataclass

#: How much a writer may shorten its interval per append, as a power of the ratio of rates.
_SHORTEN_GAIN = 0.5
#: How far each append moves a writer's interval toward the one its fleet published (log scale).
_PULL = 0.25
#: Observations kept; rates are estimated from the newest one and one inside the window.
_KEPT = 8
#: A published interval is refreshed once the writer's own differs from it by this factor.
_PUBLISH_FACTOR = 1.5


@dataclass(frozen=True)
class PacingPolicy:
    """The limits a :class:`Pacer` paces within.

    Args:
        max_blocks: Appends the blob takes (the service's limit, or a lower one in tests).
        floor: The shortest interval: the configured ``flush_interval``.
        ceiling: The longest interval; ``None``: a 24th of the partition (an hour for a day, 2.5
            minutes for an hour), which lets ``24 * budget`` busy writers share one blob.
        reserve: The share of ``max_blocks`` kept out of the pacing budget, for the appends
            every writer makes as the partition ends, chunks delivered after it (a spool
            draining), joiners that have not seen the blob yet, the header and the odd append
            split in two.
        window: Seconds of observations the fleet's rate is estimated over (at least two of
            this writer's intervals); ``None``: ``4 * floor``.
    """

    max_blocks: int
    floor: float
    ceiling: float | None = None
    reserve: float = 0.1
    window: float | None = None

    def __post_init__(self) -> None:
        if not isinstance(self.max_blocks, int) or isinstance(self.max_blocks, bool) or self.max_blocks < 1:
            raise ValueError(f"max_blocks must be a positive int, got {self.max_blocks!r}")
        _check_seconds("floor", self.floor)
        if self.ceiling is not None:
            _check_seconds("ceiling", self.ceiling)
            if self.ceiling < self.floor:
                raise ValueError(f"ceiling ({self.ceiling}) must not be below floor ({self.floor})")
        if self.window is not None:
            _check_seconds("window", self.window)
        if isinstance(self.reserve, bool) or not isinstance(self.reserve, (int, float)) or not 0 <= self.reserve < 1:
            raise ValueError(f"reserve must be a fraction in [0, 1), got {self.reserve!r}")

    @property
    def budget(self) -> int:
        """Appends the pacing plans for; the rest is the reserve."""
        return max(1, math.floor(self.max_blocks * (1 - self.reserve)))

    def ceiling_for(self, length: float) -> float:
        """The ceiling for a partition of ``length`` seconds."""
        return self.ceiling if self.ceiling is not None else max(self.floor, length / 24)


@dataclass(frozen=True)
class PacingState:
    """What ``stats()`` and the Prometheus metrics show of one stream's blob.

    ``projected_blocks`` is where the blob's count is heading at the pace just set: the count
    now plus, until the partition's end, the fleet's measured rate (``fleet_rate``, appends per
    second) scaled as this writer scaled its interval. Over ``budget`` only when the ceiling
    holds the interval back: the fleet is too large for one blob at that ceiling. ``share`` is
    this writer's part of the blob's recent appends (1.0 alone; about 1/N among N like it).
    """

    interval: float
    blocks: int
    own_blocks: int
    projected_blocks: int
    fleet_rate: float
    share: float
    budget: int


@dataclass(frozen=True, order=True)
class _Seen:
    at: float
    blocks: int
    #: This writer's own appends up to and including this observation.
    own: int


class Pacer:
    """One writer's pace for one blob (a stream's partition), from what the blob says.

    Call :meth:`observe` with the count each append answers (and once with the count read when
    the writer first finds the blob, ``own=False``); append again once :meth:`due` says so.

    Args:
        policy: The limits.
        start, end: The partition's bounds, in the caller's seconds.
        fleet_interval: The interval the blob's writers published (see :meth:`publish`), if
            the blob had one: a joiner starts there instead of at the floor.
    """

    def __init__(self, policy: PacingPolicy, start: float, end: float, fleet_interval: float | None = None) -> None:
        if not (math.isfinite(start) and math.isfinite(end)) or end <= start:
            raise ValueError(f"a partition must end after it starts, got start={start!r}, end={end!r}")
        self.policy = policy
        self.start = float(start)
        self.end = float(end)
        self.ceiling = policy.ceiling_for(self.end - self.start)
        self._interval = policy.floor
        self._published: float | None = None
        if fleet_interval is not None and math.isfinite(fleet_interval) and fleet_interval > 0:
            self._interval = self._published = _clamp(float(fleet_interval), policy.floor, self.ceiling)
        #: The fleet's rate at the pace this writer set last (the measured rate, rescaled).
        self._paced = 0.0
        self._seen: list[_Seen] = []
        self._top = 0
        self._own = 0
        self._last_own: float | None = None
        self._rate = 0.0
        self._share = 0.0

    # -- what the blob says ------------------------------------------------------------------

    def observe(self, at: float, blocks: int, *, own: bool = True, fleet_interval: float | None = None) -> None:
        """Takes the blob's committed block count as seen at ``at``.

        ``own``: the count answered one of this writer's appends (its own blocks are counted,
        so it can tell its share); False for a count read without appending. Observations may
        come out of order or with noisy times: the count never falls, so a later time with a
        lower count is read as the higher count seen before it. ``fleet_interval``: the interval
        the blob's metadata held, when the writer read it (see :meth:`publish`).
        """
        if not math.isfinite(at):
            raise ValueError(f"at must be a finite time, got {at!r}")
        if isinstance(blocks, bool) or not isinstance(blocks, int) or blocks < 0:
            raise ValueError(f"blocks must be an int >= 0, got {blocks!r}")
        if fleet_interval is not None and math.isfinite(fleet_interval) and fleet_interval > 0:
            self._published = _clamp(float(fleet_interval), self.policy.floor, self.ceiling)
            if not self._own and own is False:
                self._interval = self._published
        if own:
            self._own += 1
            self._last_own = at if self._last_own is None else max(self._last_own, at)
        insort(self._seen, _Seen(float(at), blocks, self._own))
        self._top = max(self._top, blocks)
        if len(self._seen) > _KEPT:
            del self._seen[0]
        self._rate = self._paced = self._fleet_rate()
        if own:
            self._repace(at)

    def _repace(self, at: float) -> None:
        blocks = self.blocks
        left = self.policy.budget - blocks
        remaining = self.end - at
        before = self._interval
        if remaining <= 0:
            # Late rows of an ended partition: deliver now, from the reserve.
            self._interval = self.policy.floor
        elif left <= 0:
            self._interval = self.ceiling
        else:
            allowed = left / max(remaining, self.policy.floor)
            ratio = max(self._rate, 1e-12) / allowed
            scaled = self._interval * ratio ** (1.0 if ratio > 1 else _SHORTEN_GAIN)
            interval = scaled
            if self._published is not None:
                # The one restoring force between writers: scaling alone keeps whatever ratios
                # their intervals had (a joiner's guess, an unlucky window) for ever. It never
                # shortens past the allowed rate: the budget comes first.
                pulled = scaled ** (1 - _PULL) * self._published**_PULL
                interval = max(pulled, self._interval * ratio) if ratio <= 1 else max(pulled, scaled)
            self._interval = _clamp(interval, self.policy.floor, self.ceiling)
        # Every writer scales about as this one did, so the fleet's rate scales with it.
        self._paced = self._rate * before / self._interval

    def _fleet_rate(self) -> float:
        """Blocks per second, all writers together, over the window (or since the start)."""
        seen = self._seen
        newest = seen[-1].at
        floor = self.policy.floor
        window = max(self.policy.window or 4 * floor, 2 * self._interval)
        # Spans shorter than the floor say more about request latency than about the fleet.
        end = bisect_right(seen, newest - floor, key=_at)
        if end == 0:
            # Only one moment seen: the average since the partition began, when the blob was empty.
            if self._top:
                self._share = min(1.0, self._own / self._top)
            return self._top / max(newest - self.start, floor)
        first = min(bisect_left(seen, newest - window, key=_at), end - 1)
        # Counts never fall: a noisy order of observations must not make a rate negative.
        low = max(s.blocks for s in seen[: first + 1])
        grown = self._top - low
        if grown > 0:
            self._share = min(1.0, (self._own - seen[first].own) / grown)
        return max(0, grown) / (newest - seen[first].at)

    # -- what the writer does ----------------------------------------------------------------

    @property
    def interval(self) -> float:
        """Seconds between this writer's appends, as paced now."""
        return self._interval

    @property
    def blocks(self) -> int:
        """The highest block count seen."""
        return self._top

    def next_append(self) -> float:
        """When this writer's next append is due: an interval after its last, never after the
        partition's end (every writer appends what it holds then)."""
        if self._last_own is None:
            # A writer that found the blob already written waits its interval like the others.
            return self._seen[0].at + self._interval if self._seen else self.start
        return min(self._last_own + self._interval, max(self.end, self._last_own))

    def due(self, now: float) -> bool:
        """Whether an append at ``now`` keeps the pace."""
        return now >= self.next_append()

    def publish(self, published: float | None) -> float | None:
        """The interval to publish in the blob's metadata for joiners, or None to leave
        ``published`` (what the blob holds now) as it is: it is refreshed only when this
        writer's interval has moved a good way from it, so that writers rarely write it."""
        if published is not None and published > 0:
            change = self._interval / published
            if 1 / _PUBLISH_FACTOR < change < _PUBLISH_FACTOR:
                return None
        return self._interval

    def state(self, now: float) -> PacingState:
        """The figures ``stats()`` shows for this stream."""
        remaining = max(0.0, self.end - now)
        return PacingState(
            interval=self._interval,
            blocks=self.blocks,
            own_blocks=self._own,
            projected_blocks=self.blocks + math.ceil(self._paced * remaining),
            fleet_rate=self._rate,
            share=self._share,
            budget=self.policy.budget,
        )


def append_bytes(interval: float, bytes_per_second: float, max_block_bytes: int) -> int:
    """Bytes one append carries when a stream writing ``bytes_per_second`` appends every
    ``interval`` seconds: at most one block of the service (``max_block_bytes``); a writer
    with more appends again at once, which costs appends the pacing then sees.

    >>> append_bytes(600.0, 10_000.0, 100 << 20)
    6000000
    """
    _check_seconds("interval", interval)
    if not math.isfinite(bytes_per_second) or bytes_per_second < 0:
        raise ValueError(f"bytes_per_second must be a finite rate >= 0, got {bytes_per_second!r}")
    if isinstance(max_block_bytes, bool) or not isinstance(max_block_bytes, int) or max_block_bytes < 1:
        raise ValueError(f"max_block_bytes must be a positive int, got {max_block_bytes!r}")
    return min(max_block_bytes, math.ceil(interval * bytes_per_second))


def max_writers(policy: PacingPolicy, length: float) -> int:
    """Busy writers one blob holds for a partition of ``length`` seconds, each appending at
    the ceiling: more than that and the blob fills before the partition ends.

    >>> max_writers(PacingPolicy(max_blocks=50_000, floor=30.0), 86_400.0)
    1875
    """
    _check_seconds("length", length)
    return math.floor(policy.budget * policy.ceiling_for(length) / length)


def _at(seen: _Seen) -> float:
    return seen.at


def _clamp(value: float, low: float, high: float) -> float:
    return min(high, max(low, value))


def _check_seconds(name: str, value: object) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or value <= 0:
        raise ValueError(f"{name} must be a positive number of seconds, got {value!r}")
