"""The process's pipeline: the native core, the uploader thread, and the streams they serve.

One pipeline per process, shared by every Collector. The core's encoder thread turns collected
rows into sealed chunks; the uploader thread here waits for them inside native code (without
the GIL) and appends each to its stream's store, retrying until the store takes it.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modeltap import _native
from modeltap.delivery import Deliveries
from modeltap.layout import StreamPath
from modeltap.stores.base import Store

logger = logging.getLogger("modeltap")

#: A column written after the values: (kind, title, the text of a ``constant``).
MetaColumn = tuple[str, str, "str | None"]

#: Columns written after the values of every row.
META_COLUMNS: tuple[MetaColumn, ...] = (
    ("correlation_id", "$correlation_id", None),
    ("timestamp", "$scoring_timestamp", None),
    ("request_id", "$request_id", None),
    ("row", "$row", None),
)

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


@dataclass
class StreamSpec:
    """Everything needed to (re)create a collector's stream on a pipeline."""

    path: StreamPath
    store: Store | None
    partition: str
    block_timeout: float | None
    names: list[str] | None
    meta: tuple[MetaColumn, ...] = META_COLUMNS
    #: Files are ``<stem>.csv``, ``<stem>.1.csv``, ...
    stem: str = "data"


@dataclass
class _Stream:
    spec: StreamSpec
    store: Store
    header_cache: bytes | None = None

    def header(self, cols: int) -> bytes:
        if self.header_cache is None:
            names = self.spec.names or [f"col_{i}" for i in range(cols)]
            fields = [*names, *(title for _, title, _ in self.spec.meta)]
            self.header_cache = (",".join(_native.csv_field(f) for f in fields) + "\n").encode()
        return self.header_cache


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
        self._streams: dict[int, _Stream] = {}
        self._reported = _Reported()
        self._cond = threading.Condition()
        self._close_deadline: float | None = None
        self._done_ticket = 0
        self._failed_tickets: set[int] = set()
        self._spool_tickets: list[int] = []
        self._closed = False
        self._abandon = False
        self._undelivered = 0
        self._uploader = threading.Thread(target=self._upload_loop, name="modeltap-uploader", daemon=True)
        self._uploader.start()

    # -- streams -----------------------------------------------------------------------------

    def register(self, handle: _native.StreamHandle, spec: StreamSpec) -> None:
        """Binds ``handle`` (a Collector) to a new stream of this pipeline."""
        store = spec.store if spec.store is not None else self._default_store()
        handle._bind(
            self._core,
            partition=spec.partition,
            meta=[(kind, value) for kind, _, value in spec.meta],
            ncols=len(spec.names) if spec.names else 0,
            block_timeout=spec.block_timeout,
        )
        with self._cond:
            self._streams[handle._stream_id] = _Stream(spec, store)
            self._deliveries.add_store(store)

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
                last_report = now
            try:
                self._deliveries.drain()
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
        stream = self._streams[chunk.stream]
        folder = stream.spec.path.folder(chunk.year, chunk.month, chunk.day, chunk.hour)
        self._deliveries.deliver(
            stream.store,
            folder,
            stream.header(chunk.cols),
            chunk.data,
            chunk.rows,
            give_up=lambda: self._abandon,
            stem=stream.spec.stem,
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
        if any(new.values()):
            detail = ", ".join(f"{k.removeprefix('rows_dropped_')}: {v}" for k, v in new.items() if v)
            logger.warning("modeltap dropped rows (%s); raise capacity or use policy='block'", detail)
        self._reported.drops = drops

    # -- flush, close, stats -----------------------------------------------------------------

    def flush(self, timeout: float | None = 30.0) -> bool:
        """Waits until everything collected before the call is in its store; False on timeout."""
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
        return not self._undelivered

    @property
    def closed(self) -> bool:
        return bool(self._core.closed)

    def stats(self) -> dict[str, Any]:
        native = self._core.stats()
        with self._cond:
            c = self._deliveries.counters
            spool = self._deliveries.spool
            out: dict[str, Any] = {
                "rows_collected": native["rows_collected"],
                "rows_dropped": {
                    "ring_full": native["rows_dropped_ring_full"],
                    "timeout": native["rows_dropped_timeout"],
                    "closed": native["rows_dropped_closed"],
                    "encoder": native["rows_dropped_encoder"],
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
                "spool_chunks": self._deliveries.pending(),
                "spool_damaged": 0 if spool is None else spool.damaged,
                "spool_rejected": 0 if spool is None else spool.rejected,
                "spool_dead_letter": 0 if spool is None else spool.dead_letter,
                "spool_error": self._deliveries.spool_error,
                "store_errors": c.store_errors,
                "last_store_error": c.last_error,
                "encoder_error": self._core.failure,
            }
        return out


def _remaining(deadline: float | None) -> float:
    if deadline is None:
        return 365 * 24 * 3600.0
    return max(0.0, deadline - time.monotonic())
