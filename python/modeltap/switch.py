"""Collection on or off for the whole process, while it runs: by API, by an environment
variable at start, or by a watched configuration file.

>>> modeltap.set_enabled(False)   # every collector's collect() becomes a counted no-op

``MODELTAP_ENABLED=false`` starts the process with collection off. ``MODELTAP_CONFIG`` names a
JSON file, ``{"enabled": false}``, that is watched (checked every second): edit it, or replace it
(a Kubernetes ConfigMap update does), and collection follows without a restart.
"""

from __future__ import annotations

import json
import logging
import os
import threading
from collections.abc import Callable
from pathlib import Path

from modeltap import _native

logger = logging.getLogger("modeltap")


class _State:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.watcher: _Watcher | None = None


_state = _State()
# The switch itself is one atomic in the native core, read by every admission.
_native.set_process_enabled(
    os.environ.get("MODELTAP_ENABLED", "true").strip().lower() not in ("0", "false", "no", "off")
)


def enabled() -> bool:
    """Whether collection is on for this process."""
    return _native.process_enabled()


def set_enabled(on: bool) -> None:
    """Switches collection on or off for every collector of the process, now and to come."""
    if not isinstance(on, bool):
        raise TypeError(f"set_enabled() takes a bool, got {type(on).__name__}")
    with _state.lock:
        changed = on != _native.process_enabled()
        _native.set_process_enabled(on)
    if changed:
        logger.info("modeltap: collection switched %s", "on" if on else "off")


def watch(path: str | os.PathLike[str], interval: float = 1.0) -> None:
    """Follows ``{"enabled": true|false}`` in the JSON file at ``path`` from now on.

    >>> modeltap.watch_config("/etc/modeltap/config.json")
    """
    watcher = _Watcher(Path(path), interval, set_enabled)
    with _state.lock:
        if _state.watcher is not None:
            _state.watcher.stop()
        _state.watcher = watcher
    watcher.check()
    watcher.start()


def watch_from_environment() -> None:
    """Starts watching ``$MODELTAP_CONFIG``, if set and not watched yet."""
    path = os.environ.get("MODELTAP_CONFIG")
    if path and _state.watcher is None:
        watch(path)


class _Watcher:
    """Polls a file's mtime and size; a change re-reads it. Polling, not inotify: it must work
    for files replaced through symlinks (ConfigMaps) and on every platform."""

    def __init__(self, path: Path, interval: float, apply: Callable[[bool], None]) -> None:
        self.path = path
        self.interval = interval
        self.apply = apply
        self.seen: tuple[int, int] | None = None
        self.stopped = threading.Event()
        self.thread = threading.Thread(target=self._run, name="modeltap-config", daemon=True)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.stopped.set()

    def _run(self) -> None:
        while not self.stopped.wait(self.interval):
            self.check()

    def check(self) -> None:
        try:
            st = self.path.stat()
        except OSError:
            if self.seen is not None:
                logger.warning("modeltap: %s is gone; collection stays %s", self.path, _on_off())
                self.seen = None
            return
        stamp = (st.st_mtime_ns, st.st_size)
        if stamp == self.seen:
            return
        self.seen = stamp
        try:
            value = json.loads(self.path.read_text())["enabled"]
            if not isinstance(value, bool):
                raise TypeError(f"'enabled' must be true or false, got {value!r}")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            logger.error("modeltap: cannot read %s (%s); collection stays %s", self.path, exc, _on_off())
            return
        self.apply(value)


def _on_off() -> str:
    return "on" if enabled() else "off"


def _after_fork_in_child() -> None:
    # The watcher thread does not exist in a forked child (a pre-fork server's worker): restart it.
    _state.lock = threading.Lock()
    old = _state.watcher
    if old is not None:
        _state.watcher = _Watcher(old.path, old.interval, old.apply)
        _state.watcher.seen = old.seen
        _state.watcher.start()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)
