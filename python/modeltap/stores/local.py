"""A directory on disk: the default store, no set-up needed."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Iterator
from pathlib import Path

from modeltap.layout import file_name
from modeltap.stores.base import StoredFile

logger = logging.getLogger("modeltap.stores.local")

if sys.platform != "win32":
    import fcntl

    def _lock(fd: int) -> None:
        # POSIX record locks belong to the process: a forked child does not inherit them, so a
        # fork in the middle of an append cannot leave the parent waiting on the child.
        fcntl.lockf(fd, fcntl.LOCK_EX)

else:  # pragma: no cover - no cross-process lock on Windows; one writer per file there

    def _lock(fd: int) -> None:
        return None


_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class LocalStore:
    """Writes each stream's rows under ``root`` in the Azure ML folder layout.

    Several processes can append to the same files: each append holds an exclusive lock on the
    file, so rows never interleave and only the first writer writes the header. A failed write
    is cut back off the file, so a file never ends in half a row.

    >>> store = LocalStore("./modeldata")
    """

    def __init__(self, root: str | os.PathLike[str] = "./modeldata", *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        # No lock: appends and flushes come from one uploader thread (a lock copied mid-append
        # into a forked child would never be released there), and set updates are atomic.
        self._dirty: set[Path] = set()
        self._new_dirs: set[Path] = set()
        # Files whose header we have read and found ours; a header never changes once written.
        self._verified: dict[tuple[str, bytes], Path] = {}

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    @property
    def key(self) -> str:
        """A stable name of this store: spooled rows find their store by it."""
        return f"local:{self.root.resolve()}"

    def append(self, folder: str, data: bytes, header: bytes, *, stem: str = "data") -> str:
        """Appends rows to ``<root>/<folder>/<stem>.csv``, writing ``header`` first in a new file."""
        directory = self.root / folder
        if not directory.is_dir():
            self._make_dirs(directory)
        key = (f"{folder}/{stem}", header)
        index = 0
        target = self._verified.get(key)
        while True:
            path = target or directory / file_name(index, stem)
            outcome = self._append_to(path, data, header, verified=target is not None)
            if outcome == "written":
                self._verified[key] = path
                self._dirty.add(path)
                return str(path)
            logger.warning("%s has another header; continuing in the next file of that folder", path)
            target = None
            index += 1

    def _append_to(self, path: Path, data: bytes, header: bytes, *, verified: bool) -> str:
        fd = os.open(path, _OPEN_FLAGS, 0o644)
        try:
            _lock(fd)
            size = os.fstat(fd).st_size
            if size == 0:
                payload = header + data
            else:
                if not verified and os.pread(fd, len(header), 0) != header:
                    return "other header"
                payload = data
                if os.pread(fd, 1, size - 1) != b"\n":
                    # A writer died mid-row: end that row so ours start on a line of their own.
                    logger.warning("%s ended in a partial row (a writer was killed); starting a new line", path)
                    payload = b"\n" + payload
            try:
                _write_all(fd, payload)
            except BaseException:
                os.ftruncate(fd, size)
                raise
            return "written"
        finally:
            os.close(fd)  # also releases the lock

    def _make_dirs(self, directory: Path) -> None:
        missing = []
        d = directory
        while not d.exists():
            missing.append(d)
            d = d.parent
        directory.mkdir(parents=True, exist_ok=True)
        # Their parents must be synced for new entries to survive a power cut.
        self._new_dirs.update(m.parent for m in missing)
        self._new_dirs.update(missing)

    def flush(self) -> None:
        """fsyncs every file appended to since the last flush, and new folders."""
        dirty, self._dirty = self._dirty, set()
        dirs, self._new_dirs = self._new_dirs, set()
        if not self.fsync:
            return
        for path in sorted(dirty):
            _fsync(path, os.O_RDONLY)
        for d in sorted(dirs, key=lambda p: len(p.parts), reverse=True):
            if d.exists() and sys.platform != "win32":
                _fsync(d, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))

    def close(self) -> None:
        self.flush()

    def list_files(self, prefix: str = "") -> Iterator[StoredFile]:
        """CSV files under the folder ``prefix`` of ``root``, in path order.

        >>> [f.path for f in LocalStore("./modeldata").list_files("sub/rg/ws")]  # doctest: +SKIP
        """
        base = self.root / prefix if prefix else self.root
        if not base.is_dir():
            return
        for path in sorted(base.rglob("*.csv")):
            if path.is_file():
                yield StoredFile(path.relative_to(self.root).as_posix(), path.stat().st_size)

    def read_bytes(self, path: str) -> bytes:
        """The content of the file at ``path`` (relative to ``root``)."""
        return (self.root / path).read_bytes()


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        n = os.write(fd, view)
        view = view[n:]


def _fsync(path: Path, flags: int) -> None:
    try:
        fd = os.open(path, flags)
    except FileNotFoundError:
        return
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
