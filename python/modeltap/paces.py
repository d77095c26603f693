"""The uploader's pacers: one :class:`modeltap.pacing.Pacer` per destination file whose store
reports what its blob says (Azure), fed with what each append answered.

A destination's partition (a UTC day, or an hour) is read off its folder's last parts
(``.../2026/11/24`` or ``.../2026/11/24/05``, see :meth:`modeltap.layout.StreamPath.folder`).
A pacer lives while its blob does: a rollover to the next file starts a new one, and one whose
partition has ended and whose chunks have all gone is forgotten.

>>> partition_bounds("sub/rg/ws/svc/m/1/inputs/2026/11/24/05")
(1795496400.0, 1795500000.0)
"""

from __future__ import annotations

import logging
from calendar import timegm
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from modeltap.pacing import Pacer, PacingPolicy
from modeltap.spool import Destination

logger = logging.getLogger("modeltap")

#: The longest append the pacer lets chunks grow to: the store's search for rows whose append's
#: outcome is unknown reads about this much, so it stays bounded.
MAX_APPEND_BYTES = 16 << 20


class PacedStore(Protocol):
    """What a store tells and takes for pacing (:class:`modeltap.stores.azure.AzureBlobStore`)."""

    max_blocks: int
    max_block_bytes: int

    def blob_seen(self, folder: str, stem: str = "data") -> tuple[str, int, float | None] | None: ...

    def publish_interval(self, folder: str, stem: str, seconds: float) -> bool: ...


def paced(store: object) -> PacedStore | None:
    """``store`` if it reports its blob's block count (only then is there anything to pace by)."""
    ok = all(callable(getattr(store, m, None)) for m in ("blob_seen", "publish_interval"))
    if not ok or not isinstance(getattr(store, "max_blocks", None), int):
        return None
    return store  # type: ignore[return-value]


def partition_bounds(folder: str) -> tuple[float, float] | None:
    """The UTC seconds a day or hour folder's partition starts and ends at; None for a folder
    of another shape (then its rows are not paced)."""
    parts = folder.split("/")
    try:
        if len(parts) >= 4 and len(parts[-1]) == 2 and len(parts[-4]) == 4:
            year, month, day, hour = (int(p) for p in parts[-4:])
            length = 3600.0
        else:
            year, month, day = (int(p) for p in parts[-3:])
            hour, length = 0, 86_400.0
        start = float(timegm((year, month, day, hour, 0, 0, 0, 0, 0)))
        if not (1 <= month <= 12 and 1 <= day <= 31 and 0 <= hour <= 23):
            return None
    except (ValueError, OverflowError):
        return None
    return start, start + length


@dataclass
class _Paced:
    pacer: Pacer
    blob: str | None = None
    published: float | None = None


@dataclass
class Paces:
    """The pacers of one uploader. ``clock``: the pipeline's time, POSIX seconds."""

    floor: float
    clock: Callable[[], float]
    max_append_bytes: int = MAX_APPEND_BYTES
    #: The longest interval; None: the pacing model's default (a 24th of the partition).
    ceiling: float | None = None
    pacers: dict[Destination, _Paced] = field(default_factory=dict)

    def due(self, destination: Destination, store: PacedStore) -> bool:
        """Whether an append to ``destination`` now keeps its pace (True for one not paced)."""
        entry = self._entry(destination, store)
        return entry is None or entry.pacer.due(self.clock())

    def append_bytes(self, store: PacedStore) -> int:
        """The most one paced append carries: one block of the store, at most
        :data:`MAX_APPEND_BYTES`."""
        return max(1, min(self.max_append_bytes, store.max_block_bytes))

    def appended(self, destination: Destination, store: PacedStore) -> None:
        """Feeds the pacer what the append just made answered; publishes the pace when due."""
        entry = self._entry(destination, store)
        seen = store.blob_seen(destination[1], destination[2])
        if entry is None or seen is None:
            return
        name, blocks, published = seen
        if entry.blob is not None and entry.blob != name:
            logger.warning("modeltap: %s rolled over to %s despite pacing; pacing that blob afresh", entry.blob, name)
            entry = self._new(destination, store, published)
            if entry is None:
                return
        entry.blob = name
        now = self.clock()
        entry.pacer.observe(now, blocks, fleet_interval=published)
        fresh = entry.pacer.publish(published)
        if (
            fresh is not None
            and now < entry.pacer.end
            and store.publish_interval(destination[1], destination[2], fresh)
        ):
            entry.published = fresh

    def forget_ended(self, waiting: Callable[[Destination], bool]) -> None:
        """Lets go of pacers of partitions that have ended and have nothing waiting."""
        now = self.clock()
        for destination in [d for d, e in self.pacers.items() if e.pacer.end < now and not waiting(d)]:
            del self.pacers[destination]

    def state(self) -> dict[str, dict[str, Any]]:
        """``stats()["pacing"]``: per destination file, its interval, block count, projection."""
        now = self.clock()
        out: dict[str, dict[str, Any]] = {}
        for (_, folder, stem), entry in sorted(self.pacers.items()):
            state = asdict(entry.pacer.state(now))
            state["blob"] = entry.blob
            state["partition_end"] = entry.pacer.end
            out[f"{folder}/{stem}"] = state
        return out

    def _entry(self, destination: Destination, store: PacedStore) -> _Paced | None:
        entry = self.pacers.get(destination)
        if entry is None:
            seen = store.blob_seen(destination[1], destination[2])
            entry = self._new(destination, store, None if seen is None else seen[2])
        return entry

    def _new(self, destination: Destination, store: PacedStore, published: float | None) -> _Paced | None:
        bounds = partition_bounds(destination[1])
        if bounds is None:
            return None
        policy = PacingPolicy(max_blocks=store.max_blocks, floor=self.floor, ceiling=self.ceiling)
        entry = self.pacers[destination] = _Paced(Pacer(policy, *bounds, fleet_interval=published))
        return entry
