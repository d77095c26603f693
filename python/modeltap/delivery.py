"""Getting sealed chunks into their stores: straight away when a store takes them, through the
spool when it does not, and never out of order for a store.

Runs on the uploader thread only. A chunk goes to the spool when its store raises, or when
chunks of that store already wait there (so rows keep their order); the spool is drained in
order, with backoff per store, between the encoder's outputs and at flush and close.
"""

from __future__ import annotations

import logging
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from modeltap.redact import guard_loggers, redact
from modeltap.spool import Spool
from modeltap.stores.base import Store
from modeltap.stores.errors import StoreError

logger = logging.getLogger("modeltap")

_RETRY_FIRST = 0.05
_RETRY_MAX = 30.0
_DRAIN_BUDGET = 0.5


def _append(store: Store, folder: str, data: bytes, header: bytes, *, stem: str, resume: str | None = None) -> str:
    # Optional arguments only when needed: a store of the user's may not take them.
    extra: dict[str, str] = {}
    if stem != "data":
        extra["stem"] = stem
    if resume:
        extra["resume"] = resume
    return store.append(folder, data, header, **extra)


def default_spool_dir() -> Path:
    """``$MODELTAP_SPOOL_DIR``, else a folder of this user's in the system's temp folder."""
    configured = os.environ.get("MODELTAP_SPOOL_DIR")
    if configured:
        return Path(configured)
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"modeltap-spool-{user}"


def store_key(store: Store) -> str:
    """A stable, secret-free name of ``store``; spooled chunks find their store by it. A user's
    store whose ``key`` quotes a credential gets it cut (every spool file holds the key)."""
    key = getattr(store, "key", None)
    return redact(str(key)) if key else f"{type(store).__qualname__}@{id(store):x}"


@dataclass
class DeliveryCounters:
    rows_written: int = 0
    bytes_written: int = 0
    chunks_written: int = 0
    rows_spooled: int = 0
    rows_dropped_store: int = 0
    rows_dropped_spool_full: int = 0
    store_errors: int = 0
    last_error: str | None = None


@dataclass
class _Backoff:
    delay: float = _RETRY_FIRST
    not_before: float = 0.0
    failures: int = 0

    def failed(self, now: float, cap: float) -> float:
        self.failures += 1
        wait = random.uniform(self.delay / 2, self.delay)
        self.not_before = now + wait
        self.delay = min(self.delay * 2, cap)
        return wait


@dataclass
class Deliveries:
    """The uploader's way into the stores."""

    spool: Spool | None
    counters: DeliveryCounters = field(default_factory=DeliveryCounters)
    stores: dict[str, Store] = field(default_factory=dict)
    #: Chunks of each store known to wait in the spool (from this process and earlier ones).
    waiting: dict[str, int] = field(default_factory=dict)
    backoff: dict[str, _Backoff] = field(default_factory=dict)
    unknown_reported: set[str] = field(default_factory=set)

    @classmethod
    def open(cls, spool_dir: str | os.PathLike[str] | None, spool_max_bytes: int) -> Deliveries:
        if spool_max_bytes == 0:
            return cls(None)
        directory = Path(spool_dir) if spool_dir is not None else default_spool_dir()
        try:
            spool = Spool(directory, spool_max_bytes)
            spool.clean_temp()
            waiting = spool.census()
        except OSError as exc:
            logger.error("modeltap: cannot use %s as a spool (%s); undeliverable rows wait in memory", directory, exc)
            return cls(None)
        if waiting:
            logger.info("modeltap: %d chunks wait in the spool %s", sum(waiting.values()), directory)
        return cls(spool, waiting=waiting)

    def add_store(self, store: Store) -> None:
        guard_loggers()
        for key in (store_key(store), *getattr(store, "former_keys", ())):
            self.stores.setdefault(key, store)

    # -- the live path -----------------------------------------------------------------------

    def deliver(
        self,
        store: Store,
        folder: str,
        header: bytes,
        data: bytes,
        rows: int,
        give_up: Callable[[], bool],
        stem: str = "data",
    ) -> None:
        """Appends one chunk, or spools it; without a spool retries until the store takes it
        (or ``give_up()`` says close() ran out of time)."""
        key = store_key(store)
        if self.spool is not None and self.waiting.get(key):
            self._to_spool(key, folder, header, data, rows, None, stem)
            return
        delay = _RETRY_FIRST
        while True:
            try:
                _append(store, folder, data, header, stem=stem)
            except Exception as exc:  # noqa: BLE001 - any store failure is handled the same way
                self._failed(store, folder, exc)
                if self.spool is not None:
                    rest = getattr(exc, "rest", None)
                    if rest is not None:
                        self._written(rows - rest.count(b"\n"), len(data) - len(rest))
                    left = data if rest is None else rest
                    self._to_spool(key, folder, header, left, rows, getattr(exc, "resume", None), stem)
                    return
                if give_up():
                    self.counters.rows_dropped_store += rows
                    logger.error("modeltap: gave up on %d rows for %s after close() timed out", rows, folder)
                    return
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._written(rows, len(data))
            return

    def _to_spool(
        self, key: str, folder: str, header: bytes, data: bytes, rows: int, resume: str | None, stem: str
    ) -> None:
        assert self.spool is not None
        try:
            stored = self.spool.put(key, folder, header, data, rows, resume, stem=stem)
        except OSError as exc:
            stored = False
            logger.error("modeltap: could not write to the spool %s: %s", self.spool.directory, exc)
        if not stored:
            self.counters.rows_dropped_spool_full += rows
            logger.error(
                "modeltap: dropped %d rows for %s: the store did not take them and the spool is full (%d bytes)",
                rows,
                folder,
                self.spool.max_bytes,
            )
            return
        self.counters.rows_spooled += rows
        self.waiting[key] = self.waiting.get(key, 0) + 1
        self.backoff.setdefault(key, _Backoff())

    # -- the spool ---------------------------------------------------------------------------

    def drain(self, deadline: float | None = None, *, now_or_never: bool = False) -> None:
        """Delivers spooled chunks in order until ``deadline`` (a short budget by default).
        ``now_or_never`` ignores backoff (flush and close try once more)."""
        if self.spool is None or not any(self.waiting.get(k) for k in self.stores):
            if self.spool is not None and self.waiting and not self.unknown_reported.issuperset(self.waiting):
                self._report_unknown()
            return
        start = time.monotonic()
        deadline = start + _DRAIN_BUDGET if deadline is None else deadline
        now = time.monotonic()
        blocked = {
            k for k in self.stores if not now_or_never and now < self.backoff.setdefault(k, _Backoff()).not_before
        }
        for chunk in self.spool.claim(lambda key: key in self.stores and key not in blocked):
            now = time.monotonic()
            if now >= deadline:
                return
            store = self.stores[chunk.store]
            wait = self.backoff.setdefault(chunk.store, _Backoff())
            try:
                _append(store, chunk.folder, chunk.data, chunk.header, stem=chunk.stem, resume=chunk.resume)
            except Exception as exc:  # noqa: BLE001 - any store failure is handled the same way
                blocked.add(chunk.store)
                self._failed(store, chunk.folder, exc)
                rest: bytes | None = getattr(exc, "rest", None)
                resume: str | None = getattr(exc, "resume", None)
                if rest is not None or resume != chunk.resume:
                    left = chunk.data if rest is None else rest
                    if rest is not None:
                        self._written(chunk.rows - rest.count(b"\n"), len(chunk.data) - len(rest))
                    self.spool.update(chunk, left, rest.count(b"\n") if rest is not None else chunk.rows, resume)
                cap = 300.0 if isinstance(exc, StoreError) and not exc.retryable else _RETRY_MAX
                logger.info(
                    "modeltap: %r still fails; next try of its spooled rows in %.1fs", store, wait.failed(now, cap)
                )
                continue
            self.spool.done(chunk)
            self._written(chunk.rows, len(chunk.data))
            self.waiting[chunk.store] = max(0, self.waiting.get(chunk.store, 0) - 1)
            self.backoff[chunk.store] = _Backoff()
            if not self.waiting[chunk.store]:
                logger.info("modeltap: delivered every spooled chunk of %r", store)
        # Recount from the folder: other processes sharing it may have added or delivered chunks.
        self.waiting = {k: v for k, v in self.spool.census().items()}

    def pending(self) -> int:
        """Chunks of this process's stores that wait in the spool."""
        return sum(self.waiting.get(k, 0) for k in self.stores)

    def _report_unknown(self) -> None:
        for key in self.waiting:
            if key not in self.stores and key not in self.unknown_reported:
                self.unknown_reported.add(key)
                logger.warning(
                    "modeltap: the spool holds chunks for %s, which this process does not write to; left for it", key
                )

    # -- accounting --------------------------------------------------------------------------

    def _written(self, rows: int, nbytes: int) -> None:
        self.counters.rows_written += rows
        self.counters.bytes_written += nbytes
        self.counters.chunks_written += 1

    def _failed(self, store: Store, folder: str, exc: BaseException) -> None:
        self.counters.store_errors += 1
        message = redact(f"{type(exc).__name__}: {exc}")
        self.counters.last_error = message
        retryable = not isinstance(exc, StoreError) or exc.retryable
        # Loud for what needs a person (bad credentials, refused requests), quiet for weather.
        log = logger.warning if retryable else logger.error
        log("modeltap: %r did not take rows for %s: %s", store, folder, message)
