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
from modeltap.stores.base import Store
from modeltap.stores.local import LocalStore

if TYPE_CHECKING:
    from modeltap.collector import Collector

logger = logging.getLogger("modeltap")

_lock = threading.RLock()
_pipeline: Pipeline | None = None
_options = Options()
_default_store: Store | None = None
_collectors: weakref.WeakSet[Collector] = weakref.WeakSet()
# Pipelines a forked child inherited: their threads do not exist there and their locks may be
# held forever, so they are never touched, closed or freed.
_orphans: list[Pipeline] = []
_hooks_installed = False
_previous_sigterm: Any = None

EXIT_TIMEOUT = 30.0


def default_store() -> Store:
    """The store for collectors created without one: ``./modeldata`` unless configured."""
    global _default_store
    with _lock:
        if _default_store is None:
            _default_store = LocalStore("./modeldata")
        return _default_store


def pipeline() -> Pipeline:
    """The process's pipeline, started on first use."""
    global _pipeline
    p = _pipeline
    if p is not None:
        return p
    with _lock:
        if _pipeline is None:
            _install_hooks()
            _pipeline = Pipeline(_options, default_store)
        return _pipeline


def configure(store: Store | None = None, **options: Any) -> None:
    """Replaces the pipeline's settings; the current pipeline is flushed and closed first and
    existing collectors move to the new one."""
    global _pipeline, _options, _default_store
    with _lock:
        new_options = Options(**options)
        old = _pipeline
        _pipeline = None
        if old is not None:
            old.close(EXIT_TIMEOUT)
        _options = new_options
        if store is not None:
            _default_store = store
        live = list(_collectors)
        if live:
            new = pipeline()
            for c in live:
                c._bind(new)


def add_collector(c: Collector) -> None:
    with _lock:
        _collectors.add(c)
        # Collectors are made in init(), on the main thread: the place to hook SIGTERM.
        _install_hooks()


def flush(timeout: float | None = 30.0) -> bool:
    p = _pipeline
    return True if p is None else p.flush(timeout)


def close(timeout: float | None = EXIT_TIMEOUT) -> bool:
    p = _pipeline
    return True if p is None else p.close(timeout)


def _after_fork_in_child() -> None:
    global _pipeline, _lock
    _lock = threading.RLock()
    old = _pipeline
    if old is None:
        return
    _orphans.append(old)
    _pipeline = None
    new = pipeline()
    for c in list(_collectors):
        c._bind(new)


def _at_exit() -> None:
    p = _pipeline
    if p is not None and not p.closed:
        p.close(EXIT_TIMEOUT)


def _on_sigterm(signum: int, frame: Any) -> None:
    try:
        _at_exit()
    finally:
        previous = _previous_sigterm
        if callable(previous):
            previous(signum, frame)
        elif previous != signal.SIG_IGN:
            # The default action: die of SIGTERM, as the process would have without us.
            signal.signal(signal.SIGTERM, signal.SIG_DFL)
            os.kill(os.getpid(), signal.SIGTERM)


def _install_hooks() -> None:
    global _hooks_installed, _previous_sigterm
    if _hooks_installed:
        return
    _hooks_installed = True
    atexit.register(_at_exit)
    if threading.current_thread() is threading.main_thread() and hasattr(signal, "SIGTERM"):
        try:
            _previous_sigterm = signal.getsignal(signal.SIGTERM)
            signal.signal(signal.SIGTERM, _on_sigterm)
        except ValueError:  # pragma: no cover - not the main interpreter
            logger.debug("modeltap: cannot install a SIGTERM handler here")


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)

