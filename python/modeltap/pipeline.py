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
from modeltap.layout import StreamPath
from modeltap.stores.base import Store

logger = logging.getLogger("modeltap")

#: Columns written after the values of every row.
META_COLUMNS: tuple[tuple[str, str], ...] = (
    ("correlation_id", "$correlation_id"),
    ("timestamp", "$scoring_timestamp"),
    ("request_id", "$request_id"),
    ("row", "$row"),
)

_RETRY_FIRST = 0.05
_RETRY_MAX = 5.0
_DROP_REPORT_EVERY = 10.0


@dataclass(frozen=True)
class Options:
    """Pipeline-wide settings; see :func:`modeltap.configure`."""

    capacity: int = 65_536
    max_queue_bytes: int = 256 << 20
    chunk_bytes: int = 4 << 20
    flush_interval: float = 5.0
    max_sealed: int = 64
    #: A :class:`modeltap.testing.ManualClock`, for tests that cross midnight.
    clock: Any = None

    def __post_init__(self) -> None:
        for name in ("capacity", "max_queue_bytes", "chunk_bytes", "max_sealed"):
            value = getattr(self, name)
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(self.flush_interval, (int, float)) or not self.flush_interval > 0:
            raise ValueError(f"flush_interval must be a positive number of seconds, got {self.flush_interval!r}")
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
    meta: tuple[tuple[str, str], ...] = META_COLUMNS


@dataclass
class _Stream:
    spec: StreamSpec
    store: Store
    header_cache: bytes | None = None

    def header(self, cols: int) -> bytes:
        if self.header_cache is None:
            names = self.spec.names or [f"col_{i}" for i in range(cols)]
            fields = [*names, *(title for _, title in self.spec.meta)]
            self.header_cache = (",".join(_native.csv_field(f) for f in fields) + "\n").encode()
        return self.header_cache


@dataclass
class _Counters:
    rows_written: int = 0
    bytes_written: int = 0
    chunks_written: int = 0
    rows_dropped_store: int = 0
    store_errors: int = 0
    last_error: str | None = None
    reported_failure: bool = False
    reported_drops: dict[str, int] = field(default_factory=dict)


class Pipeline:
    """The native core plus the uploader thread that feeds the stores."""

    def __init__(self, options: Options, default_store: Callable[[], Store]) -> None:
        self.options = options
        self._default_store = default_store
        self._core = _native.Core(
            capacity=options.capacity,
            max_queue_bytes=options.max_queue_bytes,
            chunk_bytes=options.chunk_bytes,
            flush_interval=float(options.flush_interval),
            max_sealed=options.max_sealed,
            nonce=int.from_bytes(os.urandom(8), "little"),
            clock=None if options.clock is None else options.clock.native,
        )
        self._streams: dict[int, _Stream] = {}
        self._stores: dict[int, Store] = {}
        self._counters = _Counters()
        self._cond = threading.Condition()
        self._done_ticket = 0
        self._failed_tickets: set[int] = set()
        self._closed = False
        self._abandon = False
        self._uploader = threading.Thread(target=self._upload_loop, name="modeltap-uploader", daemon=True)
        self._uploader.start()

    # -- streams -----------------------------------------------------------------------------

    def register(self, handle: _native.StreamHandle, spec: StreamSpec) -> None:
        """Binds ``handle`` (a Collector) to a new stream of this pipeline."""
        store = spec.store if spec.store is not None else self._default_store()
        handle._bind(
            self._core,
            partition=spec.partition,
            meta=[(kind, None) for kind, _ in spec.meta],
            ncols=len(spec.names) if spec.names else 0,
            block_timeout=spec.block_timeout,
        )
        with self._cond:
            self._streams[handle._stream_id] = _Stream(spec, store)
            self._stores[id(store)] = store

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
        stored = self._flush_stores()
        if out[0] == "flushed":
            with self._cond:
                if not stored:
                    self._failed_tickets.add(out[1])
                self._done_ticket = max(self._done_ticket, out[1])
                self._cond.notify_all()
            return False
        self._report_drops()
        with self._cond:
            self._closed = True
            self._cond.notify_all()
        return True

    def _deliver(self, chunk: _native.Chunk) -> None:
        stream = self._streams[chunk.stream]
        folder = stream.spec.path.folder(chunk.year, chunk.month, chunk.day, chunk.hour)
        delay = _RETRY_FIRST
        while True:
            try:
                stream.store.append(folder, chunk.data, stream.header(chunk.cols))
            except Exception as exc:  # noqa: BLE001 - any store failure is retried the same way
                with self._cond:
                    self._counters.store_errors += 1
                    self._counters.last_error = f"{type(exc).__name__}: {exc}"
                    abandon = self._abandon
                if abandon:
                    with self._cond:
                        self._counters.rows_dropped_store += chunk.rows
                    logger.error(
                        "modeltap: gave up on %d rows for %s after close() timed out: %s",
                        chunk.rows,
                        folder,
                        self._counters.last_error,
                    )
                    return
                logger.warning(
                    "modeltap: %s rejected a chunk for %s (%s); retrying in %.2fs",
                    stream.store,
                    folder,
                    self._counters.last_error,
                    delay,
                )
                time.sleep(delay)
                delay = min(delay * 2, _RETRY_MAX)
                continue
            with self._cond:
                self._counters.rows_written += chunk.rows
                self._counters.bytes_written += len(chunk.data)
                self._counters.chunks_written += 1
            return

    def _flush_stores(self) -> bool:
        """Flushes every store; False if one failed (its rows are written but may not be durable)."""
        with self._cond:
            stores = list(self._stores.values())
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
        if failure is not None and not self._counters.reported_failure:
            self._counters.reported_failure = True
            logger.error("modeltap: the encoder thread failed (%s); rows are now counted as dropped", failure)
        stats = self._core.stats()
        drops = {k: v for k, v in stats.items() if k.startswith("rows_dropped_")}
        new = {k: v - self._counters.reported_drops.get(k, 0) for k, v in drops.items()}
        if any(new.values()):
            detail = ", ".join(f"{k.removeprefix('rows_dropped_')}: {v}" for k, v in new.items() if v)
            logger.warning("modeltap dropped rows (%s); raise capacity or use policy='block'", detail)
        self._counters.reported_drops = drops

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
        for store in list(self._stores.values()):
            try:
                store.close()
            except Exception:
                logger.exception("modeltap: %r failed to close", store)
        return True

    @property
    def closed(self) -> bool:
        return bool(self._core.closed)

    def stats(self) -> dict[str, Any]:
        native = self._core.stats()
        with self._cond:
            c = self._counters
            out: dict[str, Any] = {
                "rows_collected": native["rows_collected"],
                "rows_dropped": {
                    "ring_full": native["rows_dropped_ring_full"],
                    "timeout": native["rows_dropped_timeout"],
                    "closed": native["rows_dropped_closed"],
                    "encoder": native["rows_dropped_encoder"],
                    "store": c.rows_dropped_store,
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
                "store_errors": c.store_errors,
                "last_store_error": c.last_error,
                "encoder_error": self._core.failure,
            }
        return out


def _remaining(deadline: float | None) -> float:
    if deadline is None:
        return 365 * 24 * 3600.0
    return max(0.0, deadline - time.monotonic())
