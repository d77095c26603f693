"""The process-wide pipeline and its life: created on first use, replaced by ``configure()``,
rebuilt in forked children, flushed at exit, on SIGTERM and when a ``multiprocessing`` child
ends. What moves collectors is the pipeline's own business (``Pipeline.hand_over``)."""

from __future__ import annotations

import atexit
import logging
import os
import signal
import sys
import threading
from typing import Any

from modeltap import _native
from modeltap.layout import StreamPath
from modeltap.pipeline import Options, Pipeline, add_counters, idle_stats
from modeltap.stores import from_environment
from modeltap.stores.base import Store
from modeltap.stores.local import LocalStore

logger = logging.getLogger("modeltap")


class _Process:
    """This process's modeltap state; a forked child rebuilds it (see ``_after_fork_in_child``)."""

    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.pipeline: Pipeline | None = None
        self.options = Options()
        self.default_store: Store | None = None
        #: The counters of pipelines configure() replaced, carried into stats().
        self.retired: dict[str, Any] = {}
        # Pipelines a forked child inherited: their threads do not exist there and their locks
        # may be held forever, so they are never touched, closed or freed.
        self.orphans: list[Pipeline] = []
        self.hooks_installed = False
        self.previous_sigterm: Any = None


_process = _Process()

EXIT_TIMEOUT = 30.0
#: Runs modeltap's exit flush among multiprocessing's finalizers, before those with priority 0
#: and before the child's ``os._exit``.
_CHILD_EXIT_PRIORITY = 10


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
    """Replaces the pipeline's settings. Existing collectors move to the new pipeline first,
    then the old one is flushed and closed: rows collected meanwhile are not lost, and its
    counters carry on in ``stats()`` (unless ``close()`` had ended it: then they start afresh)."""
    with _process.lock:
        new_options = Options(**options)
        old = _process.pipeline
        before = (_process.options, _process.default_store)
        _process.options = new_options
        if store is not None:
            _process.default_store = store
        if old is None:
            return
        try:
            new = Pipeline(new_options, default_store)
        except BaseException:
            # A call that raises changes nothing: the old pipeline carries on as it was.
            _process.options, _process.default_store = before
            raise
        _process.pipeline = new
        old.hand_over(new)
        if old.closed:
            # close() ended that pipeline's life before: counting starts afresh.
            _process.retired = {}
            return
        if not old.close(EXIT_TIMEOUT):
            logger.error("modeltap: the replaced pipeline did not close in time; see its counted losses")
        _process.retired = add_counters(old.stats(), _process.retired)


def adopt(handle: _native.StreamHandle, path: StreamPath, store: Store | None) -> None:
    """Binds a new collector to the process's pipeline."""
    with _process.lock:
        # Collectors are made in init(), on the main thread: the place to hook SIGTERM.
        _install_hooks()
        pipeline().adopt(handle, path, store)


def current_stats() -> dict[str, Any] | None:
    """The process's counters (the running pipeline's and those of the ones it replaced), or
    None before any pipeline has started. Starts nothing."""
    p = _process.pipeline
    if p is None:
        return add_counters(idle_stats(), _process.retired) if _process.retired else None
    return add_counters(p.stats(), _process.retired)


def stats() -> dict[str, Any]:
    """The process's counters; all zero before any pipeline has started. Starts nothing."""
    return current_stats() or idle_stats()


def flush(timeout: float | None = 30.0) -> bool:
    p = _process.pipeline
    return True if p is None else p.flush(timeout)


def close(timeout: float | None = EXIT_TIMEOUT) -> bool:
    p = _process.pipeline
    return True if p is None else p.close(timeout)


def _after_fork_in_child() -> None:
    # Another thread may have held the lock at the fork; in the child it never lets go.
    _process.lock = threading.RLock()
    # The parent's counts are the parent's.
    _process.retired = {}
    old = _process.pipeline
    if old is None:
        return
    _process.orphans.append(old)
    _process.pipeline = None
    new = pipeline()
    old.hand_over_after_fork(new)
    # A multiprocessing child (Process, Pool worker) ends in os._exit, which skips atexit: its
    # finalizers are what runs last. They are cleared after this hook, so the finalizer is
    # registered from multiprocessing's own after-fork step. Loaded already if it forked us.
    mp_util = sys.modules.get("multiprocessing.util")
    if mp_util is not None:
        mp_util.register_after_fork(_process, _flush_when_child_ends)


def _flush_when_child_ends(_: object) -> None:
    import multiprocessing.util  # noqa: PLC0415 - loaded: it called us

    multiprocessing.util.Finalize(None, _at_exit, exitpriority=_CHILD_EXIT_PRIORITY)


def _at_exit() -> None:
    p = _process.pipeline
    # A close under way is waited for, not skipped: SIGTERM can arrive during the exit flush
    # (a Pool worker that ends as the pool terminates it), and its default action kills.
    if p is not None and not p.finished and not p.close(EXIT_TIMEOUT):
        logger.error("modeltap: rows still unwritten at exit were lost: %s", p.stats()["rows_dropped"])


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
