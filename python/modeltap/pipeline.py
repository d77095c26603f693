"""The process's pipeline: the native core, the uploader thread, and the streams they serve.

One pipeline per process, shared by every Collector. The core's encoder thread turns collected
rows into sealed chunks; the uploader thread here waits for them inside native code (without
the GIL) and appends each to its stream's store, retrying until the store takes it.

The pipeline owns its collectors: it binds them, and moves them itself to the pipeline that
replaces it (``configure()``, a forked child).
"""

from __future__ import annotations

import logging
import os
import threading
import time
import weakref
from collections import defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from modeltap import _native
from modeltap.delivery import Deliveries, DeliveryCounters
from modeltap.layout import StreamPath
from modeltap.paces import Paces
from modeltap.stores.base import Store

logger = logging.getLogger("modeltap")

_DROP_REPORT_EVERY = 10.0


@dataclass(frozen=True)
class Options:
    """Pipeline-wide settings; see :func:`modeltap.configure`."""

    capacity: int = 65_536
    max_queue_bytes: int = 256 << 20
    chunk_bytes: int = 4 << 20
    #: None: what the default store asks for (5 s; 30 s for Azure, whose blobs take 50,000 appends).
    flush_interval: float | None = None
    max_sealed: int = 64
    #: None: ``$MODELTAP_SPOOL_DIR``, else ``<tempdir>/modeltap-spool-<uid>``.
    spool_dir: str | os.PathLike[str] | None = None
    #: 0 turns the spool off: undeliverable chunks then wait in memory (and hold up the rest).
    spool_max_bytes: int = 1 << 30
    #: A :class:`modeltap.testing.ManualClock`, for tests that cross midnight.
    clock: Any = None

    def __post_init__(self) -> None:
        for name in ("capacity", "max_queue_bytes", "chunk_bytes", "max_sealed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if self.flush_interval is not None and (
            not isinstance(self.flush_interval, (int, float))
            or isinstance(self.flush_interval, bool)
            or not self.flush_interval > 0
        ):
            raise ValueError(f"flush_interval must be a positive number of seconds, got {self.flush_interval!r}")
        if (
            not isinstance(self.spool_max_bytes, int)
            or isinstance(self.spool_max_bytes, bool)
            or self.spool_max_bytes < 0
        ):
            raise ValueError(f"spool_max_bytes must be an int >= 0, got {self.spool_max_bytes!r}")
        if self.spool_dir is not None and not isinstance(self.spool_dir, (str, os.PathLike)):
            raise TypeError(f"spool_dir must be a path, got {type(self.spool_dir).__name__}")
        if self.clock is not None and not isinstance(getattr(self.clock, "native", None), _native.ManualClock):
            raise TypeError(f"clock must be a modeltap.testing.ManualClock, got {type(self.clock).__name__}")


@dataclass(frozen=True)
class _Route:
    """Where a stream's chunks go; the stream's contract (header, stem) travels with them."""

    path: StreamPath
    #: None: the process's default store, whatever it is when the stream is bound.
    store: Store | None


@dataclass
class _Reported:
    failure: bool = False
    drops: dict[str, int] = field(default_factory=dict)


class Pipeline:
    """The native core plus the uploader thread that feeds the stores."""

    def __init__(self, options: Options, default_store: Callable[[], Store]) -> None:
        self.options = options
        self._default_store = default_store
        first_store = default_store()
        hint: float = getattr(first_store, "flush_interval_hint", 5.0)
        flush_interval = float(options.flush_interval if options.flush_interval is not None else hint)
        self._deliveries = Deliveries.open(options.spool_dir, options.spool_max_bytes)
        # Appends to blobs that count them are paced on the partition's clock (the rows' clock).
        manual = None if options.clock is None else options.clock.native
        self._deliveries.paces = Paces(
            floor=flush_interval, clock=time.time if manual is None else lambda: float(manual.now_ns) / 1e9
        )
        self._deliveries.add_store(first_store)
        self._core = _native.Core(
            capacity=options.capacity,
            max_queue_bytes=options.max_queue_bytes,
            chunk_bytes=options.chunk_bytes,
            flush_interval=flush_interval,
            max_sealed=options.max_sealed,
            nonce=int.from_bytes(os.urandom(8), "little"),
            clock=None if options.clock is None else options.clock.native,
        )
        self._routes: dict[int, _Route] = {}
        self._stores: dict[int, Store] = {}
        self._collectors: weakref.WeakValueDictionary[int, _native.StreamHandle] = weakref.WeakValueDictionary()
        self._successor: Pipeline | None = None
        self._reported = _Reported()
        self._cond = threading.Condition()
        self._close_deadline: float | None = None
        self._done_ticket = 0
        self._failed_tickets: set[int] = set()
        self._spool_tickets: list[int] = []
        self._closed = False
        #: True once a close() has returned having stopped both threads and closed the stores.
        self.finished = False
        self._abandon = False
        self._undelivered = 0
        #: Losses (see _losses) the last flush() to return had seen.
        self._losses_reported = 0
        self._uploader = threading.Thread(target=self._upload_loop, name="modeltap-uploader", daemon=True)
        self._uploader.start()

    # -- streams -----------------------------------------------------------------------------

    def adopt(self, handle: _native.StreamHandle, path: StreamPath, store: Store | None) -> None:
        """Binds ``handle`` (a collector) to this pipeline; its rows go to ``store`` under ``path``."""
        with self._cond:
            successor = self._successor
            if successor is None:
                self._bind(handle, _Route(path, store))
                return
        successor.adopt(handle, path, store)

    def _bind(self, handle: _native.StreamHandle, route: _Route) -> None:
        store = route.store if route.store is not None else self._default_store()
        sid = handle._stream_id
        self._routes[sid] = route
        self._stores[sid] = store
        self._deliveries.add_store(store)
        self._collectors[sid] = handle
        # Last: from here on, collect() queues into this pipeline.
        handle._bind(self._core)

    def hand_over(self, successor: Pipeline) -> None:
        """Moves every collector to ``successor``; rows offered here after close() go there too,
        so collecting threads lose nothing while this pipeline closes."""
        with self._cond:
            self._successor = successor
            moving = [(h, self._routes[sid]) for sid, h in list(self._collectors.items())]
        for handle, route in moving:
            successor.adopt(handle, route.path, route.store)
        self._core.retire_into(successor._core)

    def hand_over_after_fork(self, successor: Pipeline) -> None:
        """``hand_over`` in a forked child, where this pipeline's threads do not exist and its
        locks may be held forever: nothing here is locked, flushed or closed."""
        for sid, handle in list(self._collectors.items()):
            route = self._routes[sid]
            successor.adopt(handle, route.path, route.store)

    # -- the uploader ------------------------------------------------------------------------

    def _upload_loop(self) -> None:
        last_report = time.monotonic()
        while True:
            try:
                out = self._core.next_output(0.25)
            except BaseException:
                logger.exception("modeltap uploader: unexpected error waiting for chunks")
                time.sleep(0.1)
                continue
            now = time.monotonic()
            if now - last_report >= _DROP_REPORT_EVERY:
                self._report_drops()
                self._deliveries.forget_ended_paces()
                last_report = now
            try:
                # A flush waiting for the spool does not wait for any destination's pace.
                self._deliveries.drain(unpaced=bool(self._spool_tickets))
                if self._spool_tickets and not self._deliveries.pending():
                    self._spool_drained()
            except Exception:  # a bug here must not stop deliveries
                logger.exception("modeltap uploader: unexpected error draining the spool")
            if out is None:
                continue
            try:
                if self._handle(out):
                    return
            except Exception:  # a bug here must not stop deliveries
                logger.exception("modeltap uploader: unexpected error handling %s", out[0])

    def _handle(self, out: tuple[str, Any]) -> bool:
        """Acts on one output of the encoder; True once it has closed."""
        if out[0] == "chunk":
            self._deliver(out[1])
            return False
        if out[0] == "closed":
            # Until close()'s deadline, give the spool every chance; what is left waits on disk.
            deadline = self._close_deadline
            while self._deliveries.pending() and (deadline is None or time.monotonic() < deadline - 0.5):
                self._deliveries.drain(None if deadline is None else deadline - 0.5, now_or_never=True)
                if self._deliveries.pending():
                    time.sleep(0.2)
        else:
            self._deliveries.drain(now_or_never=True)
        durable = self._flush_stores()
        if out[0] == "flushed":
            with self._cond:
                if not durable:
                    self._failed_tickets.add(out[1])
                if self._deliveries.pending():
                    # Done only once the spool has delivered what it holds (or flush() times out).
                    self._spool_tickets.append(out[1])
                else:
                    self._done_ticket = max(self._done_ticket, out[1])
                self._cond.notify_all()
            return False
        self._report_drops()
        left = self._deliveries.pending()
        if left:
            logger.warning("modeltap: %d chunks stay in the spool for the next process to deliver", left)
        with self._cond:
            self._closed = True
            self._undelivered = left
            self._cond.notify_all()
        return True

    def _spool_drained(self) -> None:
        durable = self._flush_stores()
        with self._cond:
            tickets, self._spool_tickets = self._spool_tickets, []
            if not durable:
                self._failed_tickets.update(tickets)
            self._done_ticket = max(self._done_ticket, *tickets)
            self._cond.notify_all()

    def _deliver(self, chunk: _native.Chunk) -> None:
        folder = self._routes[chunk.stream].path.folder(chunk.year, chunk.month, chunk.day, chunk.hour)
        self._deliveries.deliver(
            self._stores[chunk.stream],
            folder,
            chunk.header,
            chunk.data,
            chunk.rows,
            give_up=lambda: self._abandon,
            stem=chunk.stem,
            schema=chunk.schema,
        )

    def _flush_stores(self) -> bool:
        """Flushes every store; False if one failed (its rows are written but may not be durable)."""
        with self._cond:
            stores = list(self._deliveries.stores.values())
        ok = True
        for store in stores:
            try:
                store.flush()
            except Exception:
                logger.exception("modeltap: %r failed to flush", store)
                ok = False
        return ok

    def _report_drops(self) -> None:
        failure = self._core.failure
        if failure is not None and not self._reported.failure:
            self._reported.failure = True
            logger.error("modeltap: the encoder thread failed (%s); rows are now counted as dropped", failure)
        stats = self._core.stats()
        drops = {k: v for k, v in stats.items() if k.startswith("rows_dropped_")}
        new = {k: v - self._reported.drops.get(k, 0) for k, v in drops.items()}
        unreadable = new.pop("rows_dropped_arrow_import", 0)
        if unreadable:
            logger.error(
                "modeltap: dropped %d rows whose Arrow data could not be read when encoded (%s)",
                unreadable,
                self._core.last_arrow_error,
            )
        if any(new.values()):
            detail = ", ".join(f"{k.removeprefix('rows_dropped_')}: {v}" for k, v in new.items() if v)
            logger.warning("modeltap dropped rows (%s); raise capacity or use policy='block'", detail)
        self._reported.drops = drops

    # -- flush, close, stats -----------------------------------------------------------------

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Waits until everything collected before the call is in its store (or its spool, when
        that is the only way left) and durable. True only if, moreover, no row was lost.

        The contract, exactly: True when (1) every chunk holding rows collected before the call
        was appended to its store, or drained from the spool, before ``timeout``, (2) every store
        then flushed without error (fsync), and (3) no row was counted in ``stats()["rows_dropped"]``
        (any reason: ``ring_full``, ``timeout``, ``closed``, ``encoder``, ``arrow_import``, ``store``,
        ``spool_full``, ...) and no spool file was set aside as damaged, between the return of
        the previous ``flush()`` (the start of the pipeline for the first) and the return of this
        one. The window is conservative: a row collected by another thread during the call and
        lost before it returns also makes it False; a loss is never missed by every flush.
        """
        base = self._losses_reported
        settled = self._settle(timeout)
        lost = self._losses()
        with self._cond:
            self._losses_reported = max(self._losses_reported, lost)
        return settled and lost == base

    def _losses(self) -> int:
        """Rows counted lost so far (every reason), plus spool files set aside as damaged."""
        stats = self.stats()
        return int(sum(stats["rows_dropped"].values())) + int(stats.get("spool_damaged") or 0)

    def _settle(self, timeout: float | None) -> bool:
        """Waits for everything collected before the call to reach its store; False on timeout
        or when a store failed to flush."""
        deadline = None if timeout is None else time.monotonic() + timeout
        ticket = self._core.flush(_remaining(deadline))
        if ticket is None:
            with self._cond:
                # Closed: everything was flushed then, unless close() had to give up.
                return self._closed and not self._abandon
        with self._cond:
            done = self._cond.wait_for(
                lambda: self._done_ticket >= ticket or self._closed, timeout=_remaining(deadline)
            )
            return done and self._done_ticket >= ticket and ticket not in self._failed_tickets

    def close(self, timeout: float | None = 30.0) -> bool:
        """Flushes everything and stops both threads. Rows that could not be stored by the
        deadline are counted as ``dropped_store`` and logged."""
        deadline = None if timeout is None else time.monotonic() + timeout
        self._close_deadline = deadline
        if not self._core.close(_remaining(deadline)):
            logger.error("modeltap: close() timed out: the encoder did not take the close request")
            return False
        with self._cond:
            done = self._cond.wait_for(lambda: self._closed, timeout=_remaining(deadline))
            if not done:
                self._abandon = True
        if not done:
            logger.error("modeltap: close() timed out with chunks still undelivered; giving up on them")
            return False
        self._core.join()
        for store in list(self._deliveries.stores.values()):
            try:
                store.close()
            except Exception:
                logger.exception("modeltap: %r failed to close", store)
        self._deliveries.close()
        self.finished = True
        return not self._undelivered

    @property
    def closed(self) -> bool:
        return bool(self._core.closed)

    def stats(self) -> dict[str, Any]:
        with self._cond:
            spool = self._deliveries.spool
            return _stats(
                self._core.stats(),
                self._deliveries.counters,
                self._deliveries.pending(),
                _SpoolCounts() if spool is None else _SpoolCounts(spool.damaged, spool.rejected, spool.dead_letter),
                self._deliveries.spool_error,
                self._core.failure,
                {} if self._deliveries.paces is None else self._deliveries.paces.state(),
            )


def idle_stats() -> dict[str, Any]:
    """The counters before any pipeline has run: all zero."""
    return _stats(defaultdict(int), DeliveryCounters(), 0, _SpoolCounts(), None, None, {})


#: Values of stats() that describe the present, not a count since start: not carried over.
_GAUGES = frozenset(
    (
        "queue_depth",
        "queue_capacity",
        "queue_bytes",
        "open_chunks",
        "open_bytes",
        "spool_chunks",
        "spool_damaged",
        "spool_rejected",
        "spool_dead_letter",
        "pacing",
    )
)


def add_counters(live: dict[str, Any], retired: dict[str, Any]) -> dict[str, Any]:
    """``live`` stats with the counters of ``retired`` (pipelines configure() replaced) added."""
    out = dict(live)
    for key, value in retired.items():
        if key in _GAUGES:
            if out.get(key) is None:
                out[key] = value
        elif isinstance(value, dict):
            out[key] = add_counters(out.get(key, {}), value)
        elif isinstance(value, int) and not isinstance(value, bool):
            out[key] = out.get(key, 0) + value
        elif key not in out or out[key] is None:
            out[key] = value
    return out


@dataclass(frozen=True)
class _SpoolCounts:
    """Files the spool set aside: unreadable, not a file, undeliverable."""

    damaged: int = 0
    rejected: int = 0
    dead_letter: int = 0


def _stats(
    native: Mapping[str, int],
    c: DeliveryCounters,
    spool_chunks: int,
    spool: _SpoolCounts,
    spool_error: str | None,
    failure: str | None,
    pacing: dict[str, dict[str, Any]],
) -> dict[str, Any]:
    return {
        "rows_collected": native["rows_collected"],
        "rows_dropped": {
            "ring_full": native["rows_dropped_ring_full"],
            "timeout": native["rows_dropped_timeout"],
            "closed": native["rows_dropped_closed"],
            "encoder": native["rows_dropped_encoder"],
            "arrow_import": native["rows_dropped_arrow_import"],
            "store": c.rows_dropped_store,
            "spool_full": c.rows_dropped_spool_full,
            "dead_letter": c.rows_dropped_dead_letter,
        },
        "rows_disabled": native["rows_disabled"],
        "rows_sampled_out": native["rows_sampled_out"],
        "rows_encoded": native["rows_encoded"],
        "rows_written": c.rows_written,
        "bytes_encoded": native["bytes_encoded"],
        "bytes_written": c.bytes_written,
        "chunks_sealed": native["chunks_sealed"],
        "chunks_written": c.chunks_written,
        "records_collected": native["records_collected"],
        "queue_depth": native["ring_depth"],
        "queue_capacity": native["ring_capacity"],
        "queue_bytes": native["queue_bytes"],
        "open_chunks": native["open_chunks"],
        "open_bytes": native["open_bytes"],
        "rows_spooled": c.rows_spooled,
        "spool_chunks": spool_chunks,
        "spool_damaged": spool.damaged,
        "spool_rejected": spool.rejected,
        "spool_dead_letter": spool.dead_letter,
        "spool_error": spool_error,
        "store_errors": c.store_errors,
        "last_store_error": c.last_error,
        "encoder_error": failure,
        "pacing": pacing,
    }


def _remaining(deadline: float | None) -> float:
    if deadline is None:
        return 365 * 24 * 3600.0
    return max(0.0, deadline - time.monotonic())
