"""Helpers for testing code that collects: a clock you set by hand."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

from modeltap import _native

_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)


class ManualClock:
    """A UTC clock for ``modeltap.configure(clock=...)``; rows are partitioned by its time.

    >>> clock = ManualClock(datetime(2024, 2, 29, 23, 59, 59, 999000, tzinfo=timezone.utc))
    """

    def __init__(self, start: datetime) -> None:
        self.native = _native.ManualClock(_to_ns(start))

    def set(self, when: datetime) -> None:
        self.native.set_ns(_to_ns(when))

    def advance(self, seconds: float) -> None:
        self.native.set_ns(self.native.now_ns + round(seconds * 1e9))

    def now(self) -> datetime:
        return _EPOCH + timedelta(microseconds=self.native.now_ns // 1000)


def _to_ns(when: datetime) -> int:
    if when.tzinfo is None:
        raise ValueError("ManualClock takes aware datetimes (tzinfo=timezone.utc), got a naive one")
    delta = when - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
