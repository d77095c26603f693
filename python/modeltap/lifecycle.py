"""The process-wide pipeline and its life: created on first use, rebuilt in forked children,
flushed at exit and on SIGTERM."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import threading
import weakref
from typing import TYPE_CHECKING, Any

from modeltap.pipeline import Options, Pipeline
from modeltap.stores import from_environment
from modeltap.stores.base import Store
from modeltap.stores.local import LocalStore

if TYPE_CHECKING:
    from modeltap.collector import Collector

logger = logging.getLogger("modeltap")


class _Process:
    """This process's modeltap state; a forked child rebuilds it (see ``_after_fork_in_child``)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pipeline: Pipeline | None = None
        self.options = Options()
        self.default_store: Store | None = None
        self.collectors: weakref.WeakSet[Collector] = weakref.WeakSet()
        # Pipelines a forked child inherited: their threads do not exist there and their locks
        # may be held forever, so they are never touched, closed or freed.
        self.orphans: list[Pipeline] = []
        self.hooks_installed = False
        self.previous_sigterm: Any = None


_process = _Process()

EXIT_TIMEOUT = 30.0


def default_store() -> Store:
    """The store for collectors created without one: what ``configure()`` set, else what
    ``$MODELTAP_STORAGE`` or ``$AML_MODEL_DC_STORAGE`` names, else ``./modeldata``."""
    with _process.lock:
        if _process.default_store is None:
            _process.default_store = from_environment() or LocalStore("./modeldata")
        return _process.default_store


def pipeline() -> Pipeline:
    """The process's pipeline, started on first use."""
    p = _process.pipeline
    if p is not None:
        return p
    with _process.lock:
        if _process.pipeline is None:
            _install_hooks()
            _process.pipeline = Pipeline(_process.options, default_store)
        return _process.pipeline


def configure(store: Store | None = None, **options: Any) -> None:
    """Replaces the pipeline's settings; the current pipeline is flushed and closed first and
    existing collectors move to the new one."""
    with _process.lock:
        new_options = Options(**options)
        old = _process.pipeline
        _process.pipeline = None
        if old is not None:
            old.close(EXIT_TIMEOUT)
        _process.options = new_options
        if store is not None:
            _process.default_store = store
        live = list(_process.collectors)
        if live:
            new = pipeline()
            for c in live:
                c._attach(new)


def add_collector(c: Collector) -> None:
    with _process.lock:
        _process.collectors.add(c)
        # Collectors are made in init(), on the main thread: the place to hook SIGTERM.
        _install_hooks()


def current_stats() -> dict[str, Any] | None:
    """The running pipeline's counters, or None before one has started."""
    p = _process.pipeline
    return None if p is None else p.stats()


def flush(timeout: float | None = 30.0) -> bool:
    p = _process.pipeline
    return True if p is None else p.flush(timeout)


def close(timeout: float | None = EXIT_TIMEOUT) -> bool:
    p = _process.pipeline
    return True if p is None else p.close(timeout)


def _after_fork_in_child() -> None:
    # Another thread may have held the lock at the fork; in the child it never lets go.
    _process.lock = threading.RLock()
    old = _process.pipeline
    if old is None:
        return
    _process.orphans.append(old)
    _process.pipeline = None
    new = pipeline()
    for c in list(_process.collectors):
        c._attach(new)


def _at_exit() -> None:
    p = _process.pipeline
    if p is not None and not p.closed:
        p.close(EXIT_TIMEOUT)


def _on_sigterm(signum: int, frame: Any) -> None:
    try:
        _at_exit()
    finally:
        previous = _process.previous_sigterm
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            # The default action: die of SIGTERM, as the process would have without us.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)


def _install_hooks() -> None:
    if _process.hooks_installed:
        return
    _process.hooks_installed = True
    atexit.register(_at_exit)
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        try:
            _process.previous_sigterm = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # pragma: no cover - not the main interpreter
            logger.debug("modeltap: cannot install a SIGTERM handler here")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
