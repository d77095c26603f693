"""Getting sealed chunks into their stores: straight away when a store takes them, through the
spool when it does not, and never out of order for a destination file.

Runs on the uploader thread only. A chunk goes to the spool when its store raises, or when
chunks of its destination file (store, folder, stem) already wait there (so rows keep their
order); the spool is drained in order per destination, with backoff per destination, between
the encoder's outputs and at flush and close. A chunk that fails for good (see
:func:`modeltap.stores.errors.is_permanent`) goes to the spool's ``dead/`` folder, counted as
``rows_dropped["dead_letter"]``, and holds nothing else up.

A store whose blobs count their appends (Azure: see :mod:`modeltap.paces`) is paced: with a
spool, each of its chunks is written ahead to the spool as soon as it is sealed, and its
destination's head chunks go in one append (up to a block) when the destination's pacer says
the append is due, or when ``flush()`` or ``close()`` asks.
"""

from __future__ import annotations

import inspect
import logging
import os
import random
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path

from modeltap.paces import Paces, paced, partition_bounds
from modeltap.redact import guard_loggers, redact
from modeltap.spool import Destination, Spool, SpooledChunk, SpoolRefused
from modeltap.stores.base import Store
from modeltap.stores.errors import StoreError, is_permanent
from modeltap.stores.resume import count_rows
from modeltap.stores.resume import parse as parse_resume

logger = logging.getLogger("modeltap")

_RETRY_FIRST = 0.05
_RETRY_MAX = 30.0
_DRAIN_BUDGET = 0.5


def _append(
    store: Store, folder: str, data: bytes, header: bytes, *, stem: str, schema: str, resume: str | None = None
) -> str:
    # Optional arguments only when needed: a store of the user's may not take them.
    extra: dict[str, str] = {}
    if stem != "data":
        extra["stem"] = stem
    if resume:
        extra["resume"] = resume
    if schema and _takes(store, "schema"):
        extra["schema"] = schema
    return store.append(folder, data, header, **extra)


def _takes(store: Store, name: str) -> bool:
    """Whether ``store.append`` takes the keyword ``name`` (a user's store may not)."""
    return _accepts(store.append, name)


def _accepts(method: Callable[..., object], name: str) -> bool:
    try:
        parameters = inspect.signature(method).parameters.values()
    except (TypeError, ValueError):
        return False
    return any(p.name == name or p.kind is inspect.Parameter.VAR_KEYWORD for p in parameters)


def _position(position: Callable[..., str], chunk: SpooledChunk) -> str:
    """Where ``chunk`` will land: the store's ``position()``, told the chunk's column types
    where it takes them (the blob it claims records them)."""
    if chunk.schema and _accepts(position, "schema"):
        return position(chunk.folder, chunk.header, stem=chunk.stem, schema=chunk.schema)
    return position(chunk.folder, chunk.header, stem=chunk.stem)


def takes_resume(store: Store) -> bool:
    """Whether ``store.append`` takes ``resume=`` (a user's store, or a subclass of ours that
    overrides ``append``, may not): only then can a spooled chunk be looked for before it is
    appended again."""
    return _takes(store, "resume")


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
    rows_dropped_dead_letter: int = 0
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


@dataclass(frozen=True)
class _Sealed:
    """A sealed chunk on its way to one destination file (store ``key``, ``folder``, ``stem``)."""

    key: str
    folder: str
    header: bytes
    data: bytes
    rows: int
    stem: str
    schema: str

    @property
    def destination(self) -> Destination:
        return (self.key, self.folder, self.stem)


@dataclass
class Deliveries:
    """The uploader's way into the stores."""

    spool: Spool | None
    counters: DeliveryCounters = field(default_factory=DeliveryCounters)
    stores: dict[str, Store] = field(default_factory=dict)
    #: Per destination file: a failing one waits without holding up the others.
    backoff: dict[Destination, _Backoff] = field(default_factory=dict)
    unknown_reported: set[str] = field(default_factory=set)
    #: Why there is no spool although one was asked for (a folder that is not private).
    spool_error: str | None = None
    #: The pacers of paced stores' destinations; None: nothing is paced.
    paces: Paces | None = None

    @classmethod
    def open(cls, spool_dir: str | os.PathLike[str] | None, spool_max_bytes: int) -> Deliveries:
        """Deliveries through a spool in ``spool_dir``. A folder that cannot be used (not
        private to this user, or not writable) is not used: collection goes on, what a store
        does not take waits in memory, and ``stats()["spool_error"]`` says why."""
        if spool_max_bytes == 0:
            return cls(None)
        directory = Path(spool_dir) if spool_dir is not None else default_spool_dir()
        try:
            spool = Spool(directory, spool_max_bytes)
            spool.clean_temp()
        except OSError as exc:
            reason = exc.strerror if isinstance(exc, SpoolRefused) else f"{type(exc).__name__}: {exc}"
            logger.error(
                "modeltap: not using %s as a spool: %s; rows a store does not take wait in memory", directory, reason
            )
            return cls(None, spool_error=str(reason))
        waiting = spool.census()
        if waiting:
            logger.info("modeltap: %d chunks wait in the spool %s", sum(waiting.values()), directory)
        return cls(spool)

    def close(self) -> None:
        """Lets go of the spool folder (once the uploader has stopped)."""
        if self.spool is not None:
            self.spool.close()

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
        schema: str = "",
    ) -> None:
        """Appends one chunk, or spools it; without a spool retries until the store takes it
        (or ``give_up()`` says close() ran out of time). A chunk that can never be appended
        goes to the dead-letter folder."""
        chunk = _Sealed(store_key(store), folder, header, data, rows, stem, schema)
        if self.spool is not None and self._paced(store, folder):
            # Paced: written ahead, appended when the destination's turn comes.
            if self._put_in_spool(chunk):
                return
            # The spool is full: what waits for this file goes now, whatever its pace, then this
            # chunk, as if unpaced; while the store fails too, the spool's overflow is counted.
            self._deliver_now(chunk.destination)
            if self.spool.waiting(chunk.destination):
                self._to_spool(chunk)
                return
        elif self.spool is not None and self.spool.waiting(chunk.destination):
            self._to_spool(chunk)
            return
        delay = _RETRY_FIRST
        while True:
            try:
                _append(store, folder, chunk.data, chunk.header, stem=chunk.stem, schema=chunk.schema)
            except Exception as exc:  # noqa: BLE001 - sorted by is_permanent
                self._failed(store, folder, exc)
                rest: bytes | None = getattr(exc, "rest", None)
                if rest is not None:
                    left_rows = count_rows(rest)
                    self._written(chunk.rows - left_rows, len(chunk.data) - len(rest))
                    chunk = replace(chunk, data=rest, rows=left_rows)
                if is_permanent(exc):
                    self._dead_letter(chunk, exc)
                    return
                if self.spool is not None:
                    self._to_spool(chunk, getattr(exc, "resume", None))
                    return
                if give_up():
                    self.counters.rows_dropped_store += chunk.rows
                    logger.error("modeltap: gave up on %d rows for %s after close() timed out", chunk.rows, folder)
                    return
                time.sleep(delay)
                delay = min(delay * 2, 5.0)
                continue
            self._written(chunk.rows, len(chunk.data))
            return

    def _put_in_spool(self, chunk: _Sealed, resume: str | None = None) -> bool:
        """Puts a chunk in the spool (and counts it spooled); False when the spool has no room
        (or fails). Paced chunks go here first; others when their store did not take them."""
        assert self.spool is not None
        try:
            stored = self.spool.put(
                chunk.key,
                chunk.folder,
                chunk.header,
                chunk.data,
                chunk.rows,
                _usable(resume, chunk.folder, chunk.stem),
                stem=chunk.stem,
                schema=chunk.schema,
            )
        except (OSError, ValueError) as exc:
            logger.error("modeltap: could not write to the spool %s: %s", self.spool.directory, exc)
            return False
        if stored:
            self.counters.rows_spooled += chunk.rows
        return stored

    def _deliver_now(self, destination: Destination) -> None:
        """Delivers what waits for ``destination``, whatever its pace, until the store fails."""
        while self._deliver_next(destination) in ("delivered", "paced", "dead"):
            pass

    def _to_spool(self, chunk: _Sealed, resume: str | None = None) -> None:
        assert self.spool is not None
        if self._put_in_spool(chunk, resume):
            return
        self.counters.rows_dropped_spool_full += chunk.rows
        logger.error(
            "modeltap: dropped %d rows for %s: the store did not take them and the spool could not "
            "(full at %d bytes, or failing)",
            chunk.rows,
            chunk.folder,
            self.spool.max_bytes,
        )

    def _dead_letter(self, chunk: _Sealed, exc: BaseException) -> None:
        """Rows no store will ever take: kept in the spool's ``dead/`` when there is one, and
        counted as dropped either way."""
        self.counters.rows_dropped_dead_letter += chunk.rows
        reason = redact(f"{type(exc).__name__}: {exc}")
        if self.spool is not None:
            try:
                self.spool.put_dead(
                    chunk.key,
                    chunk.folder,
                    chunk.header,
                    chunk.data,
                    chunk.rows,
                    chunk.stem,
                    reason,
                    schema=chunk.schema,
                )
                return
            except (OSError, ValueError) as spool_exc:
                logger.error("modeltap: could not keep undeliverable rows in the spool: %s", spool_exc)
        logger.error(
            "modeltap: dropped %d rows for %s/%s: they can never be delivered (%s)",
            chunk.rows,
            chunk.folder,
            chunk.stem,
            reason,
        )

    # -- the spool ---------------------------------------------------------------------------

    def _paced(self, store: Store, folder: str) -> bool:
        return self.paces is not None and paced(store) is not None and partition_bounds(folder) is not None

    def drain(self, deadline: float | None = None, *, now_or_never: bool = False, unpaced: bool = False) -> None:
        """Delivers spooled chunks, in order per destination file, until ``deadline`` (a short
        budget by default). ``now_or_never`` ignores backoff (flush and close try once more)
        and pacing; ``unpaced`` ignores pacing only (a flush waits for the spool)."""
        if self.spool is None:
            return
        destinations = self.spool.destinations()
        if not destinations:
            return
        if any(d[0] not in self.stores and d[0] not in self.unknown_reported for d in destinations):
            self._report_unknown(destinations)
        now = time.monotonic()
        deadline = now + _DRAIN_BUDGET if deadline is None else deadline
        failing: set[str] = set()  # stores that just failed: their other files wait for the next pass
        for destination in destinations:
            key = destination[0]
            if key not in self.stores or key in failing:
                continue
            wait = self.backoff.setdefault(destination, _Backoff())
            if not now_or_never and (now < wait.not_before or not (unpaced or self._due(destination))):
                continue
            while True:
                now = time.monotonic()
                if now >= deadline:
                    return
                outcome = self._deliver_next(destination)
                if outcome is None:
                    break  # none left, or another process is delivering its oldest chunk
                if outcome == "transient":
                    failing.add(key)
                    logger.info(
                        "modeltap: %r still fails; next try of its spooled rows for %s in %.1fs",
                        self.stores[key],
                        destination[1],
                        wait.failed(now, _RETRY_MAX),
                    )
                    break
                if outcome in ("delivered", "paced"):
                    self.backoff.pop(destination, None)
                    wait = self.backoff.setdefault(destination, _Backoff())
                if outcome == "paced" and not (now_or_never or unpaced):
                    break  # the next append waits for its turn

    def _due(self, destination: Destination) -> bool:
        """Whether ``destination``'s pace lets it append now (always, unless its store is paced)."""
        store = paced(self.stores[destination[0]])
        return self.paces is None or store is None or self.paces.due(destination, store)

    def _deliver_next(self, destination: Destination) -> str | None:
        """Delivers the oldest chunk of ``destination`` (of a paced store: the head chunks, in
        one append): its outcome, ``paced`` when it was delivered and the rest waits for the
        next turn, or None when there was nothing to claim."""
        assert self.spool is not None
        store = paced(self.stores[destination[0]])
        if self.paces is None or store is None:
            chunk = self.spool.claim_next(destination)
            return None if chunk is None else self._deliver_spooled(chunk)
        run = self.spool.claim_run(destination, self.paces.append_bytes(store))
        if not run:
            return None
        outcome = self._deliver_run(run)
        if outcome != "delivered":
            return outcome
        self.paces.appended(destination, store)
        # More waiting than one append takes (a busy stream, a backlog): it goes again at once.
        return "delivered" if self.spool.waiting(destination) else "paced"

    def _deliver_run(self, run: list[SpooledChunk]) -> str:
        """Appends claimed chunks of one destination (see :meth:`Spool.claim_run`) in one
        append: ``delivered``, ``transient`` or ``dead``. Each chunk's file records the position
        first, so after a kill each is looked for on its own; after a failure, what landed of
        the run is done and the rest waits, each chunk with the position to look from."""
        assert self.spool is not None
        if len(run) == 1:
            return self._deliver_spooled(run[0])
        first = run[0]
        store = self.stores[first.store]
        data = b"".join(c.data for c in run)
        try:
            try:
                position = getattr(store, "position", None) if takes_resume(store) else None
                if position is not None:
                    token = _position(position, first)
                    for chunk in run:
                        self.spool.mark(chunk, token)
                _append(store, first.folder, data, first.header, stem=first.stem, schema=first.schema)
            except Exception as exc:  # noqa: BLE001 - sorted by is_permanent
                self._failed(store, first.folder, exc)
                rest: bytes = getattr(exc, "rest", None) or data
                landed = len(data) - len(rest)
                resume = _usable(getattr(exc, "resume", None) or first.resume, first.folder, first.stem)
                # Part landed: the rest is tried (and, if it fails for good, buried) next.
                permanent = is_permanent(exc) and landed == 0
                for chunk in run:
                    if landed >= len(chunk.data):
                        landed -= len(chunk.data)
                        self._written(chunk.rows, len(chunk.data))
                        self.spool.done(chunk)
                    elif landed > 0:
                        left = chunk.data[landed:]
                        self._written(chunk.rows - count_rows(left), landed)
                        landed = 0
                        self.spool.update(chunk, left, count_rows(left), resume)
                    elif permanent:
                        self.counters.rows_dropped_dead_letter += chunk.rows
                        self.spool.bury(chunk, redact(f"{type(exc).__name__}: {exc}"))
                    elif resume is not None and resume != chunk.resume:
                        self.spool.mark(chunk, resume)
                return "dead" if permanent else "transient"
            for chunk in run:
                self._written(chunk.rows, len(chunk.data))
                self.spool.done(chunk)
            return "delivered"
        finally:
            for chunk in run:
                self.spool.release(chunk)

    def _deliver_spooled(self, chunk: SpooledChunk) -> str:
        """Appends one claimed chunk: ``delivered``, ``transient`` (it waits) or ``dead``."""
        assert self.spool is not None
        store = self.stores[chunk.store]
        try:
            try:
                # A chunk read back without a position has never been tried where it may have
                # landed: this try need not look for it first.
                earlier = chunk.resume
                position = getattr(store, "position", None) if takes_resume(store) else None
                if earlier is None and position is not None:
                    # Durable before the append: a process killed after it leaves the next one
                    # a place to look for the rows instead of appending them again.
                    self.spool.mark(chunk, _position(position, chunk))
                _append(
                    store, chunk.folder, chunk.data, chunk.header, stem=chunk.stem, schema=chunk.schema, resume=earlier
                )
            except Exception as exc:  # noqa: BLE001 - sorted by is_permanent
                self._failed(store, chunk.folder, exc)
                rest: bytes | None = getattr(exc, "rest", None)
                resume: str | None = getattr(exc, "resume", None) or chunk.resume
                if rest is not None:
                    rows = count_rows(rest)
                    self._written(chunk.rows - rows, len(chunk.data) - len(rest))
                    self.spool.update(chunk, rest, rows, _usable(resume, chunk.folder, chunk.stem))
                    return "transient"  # the rest is tried (and, if it fails for good, buried) next
                if is_permanent(exc):
                    self.counters.rows_dropped_dead_letter += chunk.rows
                    self.spool.bury(chunk, redact(f"{type(exc).__name__}: {exc}"))
                    return "dead"
                usable = _usable(resume, chunk.folder, chunk.stem)
                if usable is not None and usable != chunk.resume:
                    self.spool.mark(chunk, usable)
                return "transient"
            self._written(chunk.rows, len(chunk.data))
            self.spool.done(chunk)
            return "delivered"
        finally:
            self.spool.release(chunk)

    def forget_ended_paces(self) -> None:
        """Lets go of the pacers of partitions that have ended and have nothing waiting."""
        if self.paces is not None:
            spool = self.spool
            self.paces.forget_ended(lambda d: spool is not None and spool.waiting(d))

    def pending(self) -> int:
        """Chunks of this process's stores that wait in the spool."""
        if self.spool is None:
            return 0
        census = self.spool.census()
        return sum(census.get(k, 0) for k in self.stores)

    def _report_unknown(self, destinations: list[Destination]) -> None:
        for key, _, _ in destinations:
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
        # Loud for what needs a person (bad credentials, refused requests), quiet for weather.
        needs_a_person = is_permanent(exc) or (isinstance(exc, StoreError) and not exc.retryable)
        log = logger.error if needs_a_person else logger.warning
        log("modeltap: %r did not take rows for %s: %s", store, folder, message)


def _usable(resume: str | None, folder: str, stem: str) -> str | None:
    """A store's resume token, if it names a file of this destination (a user's store may make
    its own kind, which the spool cannot keep: those rows are then looked for nowhere)."""
    if resume is None:
        return None
    try:
        parse_resume(resume, folder, stem)
    except (TypeError, ValueError):
        logger.warning("modeltap: a resume token the spool cannot keep; an unknown outcome may repeat rows")
        return None
    return resume
