"""The spool: chunks a store could not take now wait on disk, then go in order.

One file per chunk, ``<time_ns>-<pid>-<seq>.chunk``, written crash-safely (temp file, fsync,
rename, fsync of the folder), so a chunk is in the spool whole or not at all. A file is

    MTSPOOL1\\n<json: store, folder, rows, header and data lengths, crc32, resume>\\n<header><data>

and is delivered by whichever process holds its lock first (``lockf``, released if that
process dies), so processes sharing a spool folder never deliver a chunk twice. A file that
does not parse or whose checksum fails is moved to ``damaged/`` and reported.
"""

from __future__ import annotations

import itertools
import json
import logging
import os
import sys
import time
import zlib
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

logger = logging.getLogger("modeltap.spool")

_MAGIC = b"MTSPOOL1\n"
_SUFFIX = ".chunk"

if sys.platform != "win32":
    import fcntl

    def _try_lock(fd: int) -> bool:
        try:
            fcntl.lockf(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            return False
        return True

else:  # pragma: no cover - one process per spool folder on Windows

    def _try_lock(fd: int) -> bool:
        return True


class SpoolDamaged(Exception):
    """A spool file that cannot be read back as the chunk it was written as."""


@dataclass(frozen=True)
class SpooledChunk:
    """A chunk waiting in the spool for ``store`` (a store's ``key``)."""

    path: Path
    store: str
    folder: str
    rows: int
    header: bytes
    data: bytes
    resume: str | None
    stem: str = "data"


class Spool:
    """A bounded folder of chunks waiting for their store.

    >>> spool = Spool("/var/lib/modeltap/spool", max_bytes=1 << 30)
    """

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int) -> None:
        if not isinstance(max_bytes, int) or max_bytes < 0:
            raise ValueError(f"spool_max_bytes must be an int >= 0, got {max_bytes!r}")
        self.directory = Path(directory)
        self.max_bytes = max_bytes
        self.directory.mkdir(parents=True, exist_ok=True)
        self._seq = itertools.count()
        self.damaged = 0

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r})"

    def files(self) -> list[Path]:
        """Chunk files in the order they were spooled."""
        try:
            return sorted(p for p in self.directory.iterdir() if p.name.endswith(_SUFFIX))
        except FileNotFoundError:
            return []

    def size(self) -> int:
        total = 0
        for p in self.files():
            try:
                total += p.stat().st_size
            except FileNotFoundError:
                continue
        return total

    def put(
        self,
        store: str,
        folder: str,
        header: bytes,
        data: bytes,
        rows: int,
        resume: str | None,
        name: str = "",
        stem: str = "data",
    ) -> bool:
        """Writes a chunk durably; False (and nothing written) when the spool has no room.
        ``name`` replaces an existing file in place (keeping its turn)."""
        payload = header + data
        meta = {
            "store": store,
            "folder": folder,
            "rows": rows,
            "header": len(header),
            "data": len(data),
            "crc32": zlib.crc32(payload),
            "resume": resume,
            "stem": stem,
        }
        blob = _MAGIC + json.dumps(meta, separators=(",", ":")).encode() + b"\n" + payload
        if not name and self.size() + len(blob) > self.max_bytes:
            return False
        name = name or f"{time.time_ns():020d}-{os.getpid()}-{next(self._seq):08d}{_SUFFIX}"
        final = self.directory / name
        temp = self.directory / f".{name}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o600)
        try:
            view = memoryview(blob)
            while view:
                view = view[os.write(fd, view) :]
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            temp.unlink(missing_ok=True)
            raise
        os.close(fd)
        os.replace(temp, final)
        _fsync_dir(self.directory)
        return True

    def claim(self, wanted: Callable[[str], bool]) -> Iterator[SpooledChunk]:
        """Yields the chunks for the stores ``wanted`` (by key) that no other process is
        delivering, oldest first, each locked while the caller holds it; the caller ends a
        delivery with :meth:`done` or by moving on."""
        for path in self.files():
            try:
                fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:
                continue  # delivered by another process meanwhile
            try:
                if not _try_lock(fd) or os.fstat(fd).st_nlink == 0:
                    continue
                head = os.pread(fd, 64 << 10, 0)
                store = _store_of(head)
                if store is not None and not wanted(store):
                    continue
                try:
                    chunk = _parse(path, _read_all(fd))
                except SpoolDamaged as exc:
                    self._set_aside(path, str(exc))
                    continue
                yield chunk
            finally:
                os.close(fd)

    def done(self, chunk: SpooledChunk) -> None:
        """Removes a delivered chunk (call while :meth:`claim` still holds it)."""
        chunk.path.unlink(missing_ok=True)
        _fsync_dir(self.directory)

    def update(self, chunk: SpooledChunk, data: bytes, rows: int, resume: str | None) -> None:
        """Rewrites a chunk in place with what is left of it (part landed, or may have)."""
        self.put(chunk.store, chunk.folder, chunk.header, data, rows, resume, name=chunk.path.name, stem=chunk.stem)

    def census(self) -> dict[str, int]:
        """How many chunks wait for each store."""
        counts: dict[str, int] = {}
        for path in self.files():
            try:
                with open(path, "rb") as f:
                    store = _store_of(f.read(64 << 10))
            except OSError:
                continue
            if store is not None:  # a damaged one is reported when its turn comes
                counts[store] = counts.get(store, 0) + 1
        return counts

    def clean_temp(self) -> None:
        """Removes temp files of writers that died before their rename."""
        for p in self.directory.glob(".*.tmp"):
            try:
                pid = int(p.name.split("-")[1])
            except (IndexError, ValueError):
                pid = -1
            if pid != os.getpid() and not _alive(pid):
                p.unlink(missing_ok=True)

    def _set_aside(self, path: Path, reason: str) -> None:
        self.damaged += 1
        target = self.directory / "damaged"
        target.mkdir(exist_ok=True)
        try:
            os.replace(path, target / path.name)
        except FileNotFoundError:
            return
        logger.error("modeltap: spool file %s is damaged (%s); moved it to %s", path.name, reason, target)


def _store_of(head: bytes) -> str | None:
    """The store key in a spool file's first bytes; None if they do not parse."""
    end = head.find(b"\n", len(_MAGIC))
    if not head.startswith(_MAGIC) or end < 0:
        return None
    try:
        return str(json.loads(head[len(_MAGIC) : end])["store"])
    except (ValueError, KeyError, TypeError):
        return None


def _parse(path: Path, raw: bytes) -> SpooledChunk:
    if not raw.startswith(_MAGIC):
        raise SpoolDamaged("not a modeltap spool file")
    end = raw.find(b"\n", len(_MAGIC))
    if end < 0:
        raise SpoolDamaged("truncated before its payload")
    try:
        meta = json.loads(raw[len(_MAGIC) : end])
        store, folder, rows = str(meta["store"]), str(meta["folder"]), int(meta["rows"])
        header_len, data_len, crc = int(meta["header"]), int(meta["data"]), int(meta["crc32"])
        resume = meta.get("resume")
        stem = str(meta.get("stem") or "data")
    except (ValueError, KeyError, TypeError) as exc:
        raise SpoolDamaged(f"unreadable description: {exc}") from None
    payload = raw[end + 1 :]
    if len(payload) != header_len + data_len:
        raise SpoolDamaged(f"{len(payload)} bytes of payload where {header_len + data_len} were written")
    if zlib.crc32(payload) != crc:
        raise SpoolDamaged("checksum mismatch")
    return SpooledChunk(
        path,
        store,
        folder,
        rows,
        payload[:header_len],
        payload[header_len:],
        None if resume is None else str(resume),
        stem,
    )


def _read_all(fd: int) -> bytes:
    parts: list[bytes] = []
    offset = 0
    while True:
        part = os.pread(fd, 1 << 20, offset)
        if not part:
            return b"".join(parts)
        parts.append(part)
        offset += len(part)


def _fsync_dir(directory: Path) -> None:
    if sys.platform == "win32":  # pragma: no cover
        return
    fd = os.open(directory, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _alive(pid: int) -> bool:
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
