"""The spool: chunks a store could not take now wait on disk, then go in order.

The spool is a trust boundary. Its folder is private (0700, owned by this process's user, not a
symlink; see :func:`open_private_folder`), opened once and then used only through that open
folder, so a folder swapped in later is never written to. Every entry and every field read
back is checked as user input: names of this spool's own form, regular files only, path parts
through :func:`modeltap.layout.check_part`, lengths, rows and resume tokens that agree with the
bytes. What fails goes to ``damaged/`` (a file that does not parse) or ``rejected/`` (a
directory, FIFO or symlink), logged once, and never stops the others.

One file per chunk, ``<time_ns>-<pid>-<seq>.chunk``, written crash-safely (temp file, fsync,
rename, fsync of the folder), so a chunk is in the spool whole or not at all:

    MTSPOOL2\\n<resume slot, rewritten in place>\\n<json: store, folder, stem, rows, lengths, crc32>\\n<header><data>

The json also holds ``schema`` (the record of the columns' types) when the chunk has one.

Before each append the deliverer records in the resume slot (one ``pwrite`` and an fsync)
where the append may land; a process killed after the append but before removing the file
leaves that record, and the next one asks the store whether the rows are there.

A chunk is delivered by whichever process holds its lock first (``lockf``, released if that
process dies), so processes sharing a folder never deliver a chunk twice. Chunks wait in one
queue per destination file (store, folder, stem): order is kept within it, and a chunk that can
never be delivered moves to ``dead/`` rather than holding the rest.

Cost does not grow with the number of waiting chunks: an index (built once from the folder
and each file's first bytes, then kept up to date) answers every question; the folder is
listed again only when its modification time says another process changed it.
"""

from __future__ import annotations

import bisect
import contextlib
import errno
import itertools
import json
import logging
import os
import re
import stat
import sys
import threading
import time
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from modeltap.columns import parse_schema
from modeltap.layout import check_part
from modeltap.stores.resume import parse as parse_resume

logger = logging.getLogger("modeltap.spool")

_MAGIC = b"MTSPOOL2\n"
#: The resume slot: ``<crc32 hex> <offset>@<file name>`` padded with spaces, ending in ``\n``.
_SLOT = 1024 - len(_MAGIC)
_PREFIX = len(_MAGIC) + _SLOT
_MAX_META = 64 << 10
_MAX_STORE_KEY = 2048
_SUFFIX = ".chunk"
_NAME = re.compile(r"\A[0-9]{20}-[0-9]{1,10}-[0-9]{8,20}\.chunk\Z")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
#: Folders of a stream: seven parts (subscription ... designation), then year, month, day[, hour].
_FOLDER_PARTS = (10, 11)
#: How often the folder's modification time is looked at for other processes' changes, and how
#: often it is listed again whatever that says (a file system with coarse timestamps).
_LOOK_EVERY = 1.0
_LIST_EVERY = 60.0

_O_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_O_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_O_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_O_DIRECTORY = getattr(os, "O_DIRECTORY", 0)

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


class SpoolRefused(OSError):
    """A spool folder that is not private to this process's user: it is not used."""


#: Where a chunk's rows go: (store key, folder, file stem).
Destination = tuple[str, str, str]


@dataclass
class SpooledChunk:
    """A chunk waiting in the spool for ``store`` (a store's ``key``), locked while held."""

    path: Path
    store: str
    folder: str
    rows: int
    header: bytes
    data: bytes
    resume: str | None
    stem: str = "data"
    fd: int = field(default=-1, repr=False, compare=False)
    #: The record of the columns' types ("" for a chunk spooled before they were recorded).
    schema: str = ""

    @property
    def destination(self) -> Destination:
        return (self.store, self.folder, self.stem)


@dataclass
class _Entry:
    destination: Destination
    size: int


def open_private_folder(path: str | os.PathLike[str]) -> int:
    """An open descriptor of the folder ``path``, made private to this process's user.

    It is created 0700 when missing. An existing one is refused (:class:`SpoolRefused`) when
    it is a symlink or not a folder, belongs to another user, or others may write to it (they
    could have planted chunks); one that others may only read is made 0700. Parents are made
    as usual.
    """
    path = Path(os.path.abspath(path))
    path.parent.mkdir(parents=True, exist_ok=True)
    with contextlib.suppress(FileExistsError):
        os.mkdir(path, 0o700)
    try:
        fd = os.open(path, os.O_RDONLY | _O_DIRECTORY | _O_NOFOLLOW | _O_CLOEXEC)
    except OSError as exc:
        if exc.errno in (errno.ELOOP, errno.ENOTDIR, errno.EMLINK):
            raise SpoolRefused(exc.errno, f"the spool folder {path} is a symlink or not a folder") from None
        raise
    if not hasattr(os, "geteuid"):  # pragma: no cover - Windows: the folder's ACL decides
        return fd
    st = os.fstat(fd)
    try:
        if not stat.S_ISDIR(st.st_mode):
            raise SpoolRefused(errno.ENOTDIR, f"the spool folder {path} is not a folder")
        if st.st_uid != os.geteuid():
            raise SpoolRefused(
                errno.EPERM, f"the spool folder {path} belongs to uid {st.st_uid}, not to this process's {os.geteuid()}"
            )
        if st.st_mode & 0o022:
            raise SpoolRefused(
                errno.EPERM, f"the spool folder {path} is writable by other users (mode {stat.S_IMODE(st.st_mode):o})"
            )
        if st.st_mode & 0o077:
            os.fchmod(fd, 0o700)
            logger.info("modeltap: made the spool folder %s private (it was %o)", path, stat.S_IMODE(st.st_mode))
    except BaseException:
        os.close(fd)
        raise
    return fd


class Spool:
    """A bounded, private folder of chunks waiting for their store.

    >>> spool = Spool("/var/lib/modeltap/spool", max_bytes=1 << 30)  # doctest: +SKIP
    """

    def __init__(self, directory: str | os.PathLike[str], max_bytes: int) -> None:
        if not isinstance(max_bytes, int) or isinstance(max_bytes, bool) or max_bytes < 0:
            raise ValueError(f"spool_max_bytes must be an int >= 0, got {max_bytes!r}")
        self.directory = Path(os.path.abspath(directory))
        self.max_bytes = max_bytes
        self._fd = open_private_folder(self.directory)
        self._seq = itertools.count()
        #: Files set aside by this process: unreadable, not files, or undeliverable.
        self.damaged = 0
        self.rejected = 0
        self.dead_letter = 0
        self._entries: dict[str, _Entry] = {}
        self._queues: dict[Destination, list[str]] = {}
        self._per_store: dict[str, int] = {}
        self._bytes = 0
        self._ignored: set[str] = set()  # names set aside already, or that could not be moved
        self._listed_mtime = -1
        self._looked_at = 0.0
        self._listed_at = 0.0
        # The uploader thread changes the index; stats() reads it from callers' threads.
        self._lock = threading.RLock()
        self._refresh(force=True)

    def __repr__(self) -> str:
        return f"Spool({str(self.directory)!r})"

    def close(self) -> None:
        """Closes the folder; what waits stays for the next process."""
        with self._lock:
            if self._fd >= 0:
                os.close(self._fd)
                self._fd = -1

    # -- the index ---------------------------------------------------------------------------

    def _refresh(self, *, force: bool = False) -> None:
        """Brings the index up to date with the folder, when another process may have changed it."""
        with self._lock:
            self._refresh_locked(force)

    def _refresh_locked(self, force: bool) -> None:
        if self._fd < 0:
            return  # closed: the index says what was left
        now = time.monotonic()
        if not force and now - self._looked_at < _LOOK_EVERY:
            return
        self._looked_at = now
        mtime = os.fstat(self._fd).st_mtime_ns
        if not force and mtime == self._listed_mtime and now - self._listed_at < _LIST_EVERY:
            return
        self._listed_mtime, self._listed_at = mtime, now
        present = set()
        with os.scandir(self._fd) as entries:
            for entry in entries:
                name = entry.name
                if not name.endswith(_SUFFIX):
                    continue
                present.add(name)
                if name not in self._entries and name not in self._ignored:
                    self._admit(name)
        for name in [n for n in self._entries if n not in present]:
            self._forget(name)  # delivered by another process

    def _admit(self, name: str) -> None:
        """Reads a new entry's description into the index, or sets it aside."""
        try:
            st = os.stat(name, dir_fd=self._fd, follow_symlinks=False)
        except FileNotFoundError:
            return
        if not stat.S_ISREG(st.st_mode):
            self._reject(name, "not a regular file")
            return
        if not _NAME.match(name):
            self._set_aside(name, "damaged", "not a name this spool writes")
            return
        try:
            fd = self._open(name, os.O_RDONLY)
        except FileNotFoundError:
            return
        except OSError as exc:
            self._reject(name, f"cannot be opened ({exc.strerror})")
            return
        try:
            head = os.pread(fd, _PREFIX + _MAX_META + 1, 0)
            meta, _, start = _parse_head(head)
            size = os.fstat(fd).st_size
            if size != start + meta.header + meta.data:
                raise SpoolDamaged(f"{size} bytes where its description says {start + meta.header + meta.data}")
        except SpoolDamaged as exc:
            self._set_aside(name, "damaged", str(exc))
            return
        finally:
            os.close(fd)
        self._index(name, meta.destination, size)

    def _index(self, name: str, destination: Destination, size: int) -> None:
        with self._lock:
            self._forget(name)
            self._index_locked(name, destination, size)

    def _index_locked(self, name: str, destination: Destination, size: int) -> None:
        self._entries[name] = _Entry(destination, size)
        bisect.insort(self._queues.setdefault(destination, []), name)
        self._per_store[destination[0]] = self._per_store.get(destination[0], 0) + 1
        self._bytes += size

    def _forget(self, name: str) -> None:
        with self._lock:
            self._forget_locked(name)

    def _forget_locked(self, name: str) -> None:
        entry = self._entries.pop(name, None)
        if entry is None:
            return
        queue = self._queues[entry.destination]
        i = bisect.bisect_left(queue, name)
        if i < len(queue) and queue[i] == name:
            del queue[i]
        if not queue:
            del self._queues[entry.destination]
        store = entry.destination[0]
        self._per_store[store] -= 1
        if not self._per_store[store]:
            del self._per_store[store]
        self._bytes -= entry.size

    # -- questions the index answers -----------------------------------------------------------

    def files(self) -> list[Path]:
        """Chunk files in the order they were spooled."""
        self._refresh()
        with self._lock:
            return [self.directory / n for n in sorted(self._entries)]

    def size(self) -> int:
        """Bytes of the chunks waiting."""
        self._refresh()
        with self._lock:
            return self._bytes

    def census(self) -> dict[str, int]:
        """How many chunks wait for each store."""
        self._refresh()
        with self._lock:
            return dict(self._per_store)

    def waiting(self, destination: Destination) -> bool:
        """Whether chunks wait for ``destination`` (new rows for it must queue behind them)."""
        self._refresh()
        with self._lock:
            return destination in self._queues

    def destinations(self) -> list[Destination]:
        """Destinations with chunks waiting, the one with the oldest chunk first."""
        self._refresh()
        with self._lock:
            return sorted(self._queues, key=lambda d: self._queues[d][0])

    # -- writing -----------------------------------------------------------------------------

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
        schema: str = "",
    ) -> bool:
        """Writes a chunk durably; False (and nothing written) when the spool has no room.
        ``name`` replaces an existing file in place (keeping its turn). Raises ValueError for
        fields that could not be read back (the same checks as reading)."""
        blob = _encode(store, folder, stem, rows, header, data, resume, schema)
        if not name and self.size() + len(blob) > self.max_bytes:
            return False
        name = name or self._new_name()
        self._write(name, blob)
        self._index(name, (store, folder, stem), len(blob))
        return True

    def put_dead(
        self, store: str, folder: str, header: bytes, data: bytes, rows: int, stem: str, reason: str, schema: str = ""
    ) -> None:
        """Keeps a chunk that can never be delivered in ``dead/``, for a person to look at."""
        blob = _encode(store, folder, stem, rows, header, data, None, schema)
        self._folder("dead")
        self._write(f"dead/{self._new_name()}", blob)
        self.dead_letter += 1
        _log_dead(rows, folder, stem, reason, self.directory / "dead")

    def _new_name(self) -> str:
        return f"{time.time_ns():020d}-{os.getpid()}-{next(self._seq):08d}{_SUFFIX}"

    def _write(self, name: str, blob: bytes) -> None:
        head, _, base = name.rpartition("/")
        temp = f"{head}/.{base}.tmp" if head else f".{base}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _O_NOFOLLOW | _O_CLOEXEC, 0o600, dir_fd=self._fd)
        try:
            _write_all(fd, blob)
            os.fsync(fd)
        except BaseException:
            os.close(fd)
            os.unlink(temp, dir_fd=self._fd)
            raise
        os.close(fd)
        os.replace(temp, name, src_dir_fd=self._fd, dst_dir_fd=self._fd)
        os.fsync(self._fd)

    # -- delivering --------------------------------------------------------------------------

    def claim_next(self, destination: Destination) -> SpooledChunk | None:
        """The oldest chunk of ``destination``, locked; None when there is none, or when
        another process is delivering it (its successors then wait, to keep their order)."""
        run = self.claim_run(destination, 0)
        return run[0] if run else None

    def claim_run(self, destination: Destination, max_bytes: int) -> list[SpooledChunk]:
        """The oldest chunks of ``destination``, locked, in order: the oldest, then those after
        it while their data stays within ``max_bytes`` in all, they share its header and types, and none
        of them (nor the oldest) holds a resume token (a chunk that may have landed goes alone).
        Empty when there is none, or when another process is delivering the oldest."""
        self._refresh()
        run: list[SpooledChunk] = []
        total = 0
        while True:
            with self._lock:
                queue = self._queues.get(destination, [])
                if len(queue) <= len(run) or queue[: len(run)] != [c.path.name for c in run]:
                    return run  # none left (or the queue changed under the run: it ends here)
                name = queue[len(run)]
            chunk = self._claim(name, destination)
            if isinstance(chunk, str):
                continue
            if chunk is None:
                return run
            if run and (
                total + len(chunk.data) > max_bytes
                or chunk.header != run[0].header
                or chunk.schema != run[0].schema
                or chunk.resume is not None
            ):
                self.release(chunk)
                return run
            run.append(chunk)
            total += len(chunk.data)
            if len(run) == 1 and (chunk.resume is not None or len(chunk.data) >= max_bytes):
                return run

    def _claim(self, name: str, destination: Destination) -> SpooledChunk | str | None:
        """Chunk file ``name``, locked: ``"gone"`` when it is not there (any more, or set
        aside), None when another process holds it."""
        try:
            fd = self._open(name, os.O_RDWR)
        except FileNotFoundError:
            self._forget(name)  # delivered by another process meanwhile
            return "gone"
        except OSError as exc:
            self._forget(name)
            self._reject(name, f"cannot be opened ({exc.strerror})")
            return "gone"
        try:
            if not _try_lock(fd):
                os.close(fd)
                return None
            st = os.fstat(fd)
            if st.st_nlink == 0:
                os.close(fd)
                self._forget(name)
                return "gone"
            chunk = _parse(self.directory / name, _read_all(fd, st.st_size), fd)
            if chunk.destination != destination:
                raise SpoolDamaged("its description changed since it was first read")
        except SpoolDamaged as exc:
            os.close(fd)
            self._forget(name)
            self._set_aside(name, "damaged", str(exc))
            return "gone"
        except BaseException:
            os.close(fd)
            raise
        return chunk

    def mark(self, chunk: SpooledChunk, resume: str) -> None:
        """Records durably, before an append, where its rows may land (see the module's doc)."""
        relative = _relative_resume(resume, chunk.folder, chunk.stem)
        slot = _slot(relative)
        written = os.pwrite(chunk.fd, slot, 0)
        if written != len(slot):
            raise OSError(errno.EIO, f"short write of the resume slot of {chunk.path.name}")
        os.fsync(chunk.fd)
        chunk.resume = resume

    def release(self, chunk: SpooledChunk) -> None:
        """Lets go of a chunk that stays in the spool."""
        if chunk.fd >= 0:
            os.close(chunk.fd)
            chunk.fd = -1

    def done(self, chunk: SpooledChunk) -> None:
        """Removes a delivered chunk (call while still holding it)."""
        name = chunk.path.name
        with contextlib.suppress(FileNotFoundError):
            os.unlink(name, dir_fd=self._fd)
        os.fsync(self._fd)
        self._forget(name)
        self.release(chunk)

    def update(self, chunk: SpooledChunk, data: bytes, rows: int, resume: str | None) -> None:
        """Rewrites a chunk in place with what is left of it (part landed, or may have)."""
        try:
            self.put(
                chunk.store,
                chunk.folder,
                chunk.header,
                data,
                rows,
                resume,
                name=chunk.path.name,
                stem=chunk.stem,
                schema=chunk.schema,
            )
        finally:
            self.release(chunk)

    def bury(self, chunk: SpooledChunk, reason: str) -> None:
        """Moves a chunk that can never be delivered to ``dead/``, for a person to look at."""
        self.dead_letter += 1
        name = chunk.path.name
        self._forget(name)
        try:
            self._move(name, "dead")
        except OSError as exc:
            self._ignored.add(name)  # not retried by this process ahead of the others
            logger.error("modeltap: could not move %s to dead/ (%s); this process skips it", name, exc.strerror)
        finally:
            self.release(chunk)
        _log_dead(chunk.rows, chunk.folder, chunk.stem, reason, self.directory / "dead")

    def clean_temp(self) -> None:
        """Removes temp files of writers that died before their rename."""
        with os.scandir(self._fd) as entries:
            names = [e.name for e in entries if e.name.startswith(".") and e.name.endswith(".tmp")]
        for name in names:
            try:
                pid = int(name.split("-")[1])
            except (IndexError, ValueError):
                pid = -1
            if pid != os.getpid() and not _alive(pid):
                try:
                    os.unlink(name, dir_fd=self._fd)
                except (FileNotFoundError, IsADirectoryError, PermissionError):
                    continue

    # -- setting aside -----------------------------------------------------------------------

    def _open(self, name: str, flags: int) -> int:
        fd = os.open(name, flags | _O_NOFOLLOW | _O_NONBLOCK | _O_CLOEXEC, dir_fd=self._fd)
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise OSError(errno.EINVAL, "not a regular file")
        return fd

    def _reject(self, name: str, reason: str) -> None:
        self.rejected += 1
        self._set_aside(name, "rejected", reason)

    def _set_aside(self, name: str, where: str, reason: str) -> None:
        if where == "damaged":
            self.damaged += 1
        self._ignored.add(name)
        try:
            self._move(name, where)
        except OSError as exc:
            logger.error(
                "modeltap: spool entry %s is %s (%s) and cannot be moved (%s); this process skips it",
                name,
                where,
                reason,
                exc.strerror,
            )
            return
        self._ignored.discard(name)
        logger.error("modeltap: spool entry %s is %s (%s); moved it to %s", name, where, reason, self.directory / where)

    def _folder(self, where: str) -> None:
        with contextlib.suppress(FileExistsError):
            os.mkdir(where, 0o700, dir_fd=self._fd)
        st = os.stat(where, dir_fd=self._fd, follow_symlinks=False)
        if not stat.S_ISDIR(st.st_mode):
            raise OSError(errno.ENOTDIR, f"{where} is not a folder")

    def _move(self, name: str, where: str) -> None:
        self._folder(where)
        try:
            os.rename(name, f"{where}/{name}", src_dir_fd=self._fd, dst_dir_fd=self._fd)
        except FileNotFoundError:
            return
        os.fsync(self._fd)


# -- the file format -----------------------------------------------------------------------------


def _log_dead(rows: int, folder: str, stem: str, reason: str, where: Path) -> None:
    logger.error(
        "modeltap: %d rows for %s/%s can never be delivered (%s); kept their chunk in %s",
        rows,
        folder,
        stem,
        reason,
        where,
    )


def _encode(
    store: str, folder: str, stem: str, rows: int, header: bytes, data: bytes, resume: str | None, schema: str = ""
) -> bytes:
    """A spool file's bytes; ValueError for fields that could not be read back (the same
    checks as reading)."""
    _check_meta(store, folder, stem, rows, header, data)
    _check_schema(schema)
    meta: dict[str, object] = {
        "store": store,
        "folder": folder,
        "stem": stem,
        "rows": rows,
        "header": len(header),
        "data": len(data),
        "crc32": zlib.crc32(data, zlib.crc32(header)),
    }
    if schema:
        meta["schema"] = schema
    line = json.dumps(meta, separators=(",", ":")).encode() + b"\n"
    return b"".join((_slot(_relative_resume(resume, folder, stem)), line, header, data))


def _slot(relative: str | None) -> bytes:
    token = (relative or "").encode()
    body = b"%08x %s" % (zlib.crc32(token), token)
    if len(body) > _SLOT - 1:
        raise ValueError("a resume token too long for the spool's resume slot")
    return _MAGIC + body.ljust(_SLOT - 1) + b"\n"


def _read_slot(head: bytes) -> str | None:
    slot = head[len(_MAGIC) : _PREFIX]
    if len(slot) != _SLOT or not slot.endswith(b"\n"):
        raise SpoolDamaged("truncated in its resume slot")
    body = slot[:-1].rstrip(b" ")
    crc, _, token = body.partition(b" ")
    if len(crc) != 8 or not re.fullmatch(rb"[0-9a-f]{8}", crc) or int(crc, 16) != zlib.crc32(token):
        raise SpoolDamaged("its resume slot fails its checksum")
    try:
        return token.decode() or None
    except UnicodeDecodeError:
        raise SpoolDamaged("its resume slot is not UTF-8") from None


@dataclass(frozen=True)
class _Meta:
    store: str
    folder: str
    stem: str
    rows: int
    header: int
    data: int
    crc32: int
    schema: str

    @property
    def destination(self) -> Destination:
        return (self.store, self.folder, self.stem)


def _parse_head(head: bytes) -> tuple[_Meta, str | None, int]:
    """The checked description, resume token (relative) and payload offset of a file's head."""
    if not head.startswith(_MAGIC):
        raise SpoolDamaged("not a modeltap spool file of this version")
    relative = _read_slot(head)
    end = head.find(b"\n", _PREFIX)
    if end < 0 or end - _PREFIX > _MAX_META:
        raise SpoolDamaged("no description in its first bytes")
    try:
        meta = json.loads(head[_PREFIX:end])
    except (ValueError, RecursionError) as exc:
        raise SpoolDamaged(f"unreadable description: {exc}") from None
    if not isinstance(meta, dict):
        raise SpoolDamaged("its description is not an object")
    try:
        store, folder, stem = meta["store"], meta["folder"], meta["stem"]
        rows, header_len, data_len, crc = meta["rows"], meta["header"], meta["data"], meta["crc32"]
        for what, value in (("rows", rows), ("header", header_len), ("data", data_len), ("crc32", crc)):
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"{what} must be an int >= 0, got {value!r}")
        if not isinstance(store, str):
            raise ValueError("its store is not a str")
        _check_destination(store, folder, stem)
        if relative is not None:
            _absolute_resume(relative, folder, stem)
        schema = meta.get("schema", "")
        _check_schema(schema)
    except (KeyError, TypeError, ValueError) as exc:
        raise SpoolDamaged(f"refused description: {exc}") from None
    return _Meta(store, str(folder), str(stem), rows, header_len, data_len, crc, schema), relative, end + 1


def _parse(path: Path, raw: bytes, fd: int = -1) -> SpooledChunk:
    meta, relative, start = _parse_head(raw[: _PREFIX + _MAX_META + 1])
    header_len, data_len = meta.header, meta.data
    payload = memoryview(raw)[start:]
    if len(payload) != header_len + data_len:
        raise SpoolDamaged(f"{len(payload)} bytes of payload where {header_len + data_len} were written")
    if zlib.crc32(payload) != meta.crc32:
        raise SpoolDamaged("checksum mismatch")
    header, data = bytes(payload[:header_len]), bytes(payload[header_len:])
    store, folder, stem, rows = meta.store, meta.folder, meta.stem, meta.rows
    try:
        _check_meta(store, folder, stem, rows, header, data)
    except (TypeError, ValueError) as exc:
        raise SpoolDamaged(f"refused content: {exc}") from None
    resume = None if relative is None else _absolute_resume(relative, folder, stem)
    return SpooledChunk(path, store, folder, rows, header, data, resume, stem, fd, meta.schema)


def _check_schema(schema: object) -> None:
    """Refuses a record of column types the core could not have written."""
    if not isinstance(schema, str):
        raise ValueError(f"its column types record is a {type(schema).__name__}, not a str")
    if schema:
        parse_schema(schema)


def _check_destination(store: object, folder: object, stem: object) -> None:
    """Refuses a destination a collector could not have had: the same checks as its names."""
    if not isinstance(store, str) or not store or len(store) > _MAX_STORE_KEY or _CONTROL.search(store):
        raise ValueError("the store key must be a short str without control characters")
    if not isinstance(folder, str):
        raise TypeError(f"folder must be a str, got {type(folder).__name__}")
    parts = folder.split("/")
    if len(parts) not in _FOLDER_PARTS:
        raise ValueError(f"folder must have {' or '.join(map(str, _FOLDER_PARTS))} parts, got {len(parts)}")
    for part in parts:
        check_part(part, "a folder part")
    if not all(p.isdigit() and p.isascii() for p in parts[7:]):
        raise ValueError("the date parts of the folder must be digits")
    check_part(stem, "file stem")


def _check_meta(store: str, folder: str, stem: str, rows: int, header: bytes, data: bytes) -> None:
    _check_destination(store, folder, stem)
    if not isinstance(rows, int) or isinstance(rows, bool) or rows < 0:
        raise ValueError(f"rows must be an int >= 0, got {rows!r}")
    if not header.endswith(b"\n"):
        raise ValueError("the header must be one whole line")
    if data and not data.endswith(b"\n"):
        raise ValueError("the data must be whole rows")
    lines = data.count(b"\n")
    if rows > lines or (data and not rows):
        raise ValueError(f"{rows} rows cannot be {lines} lines")


def _relative_resume(resume: str | None, folder: str, stem: str) -> str | None:
    """A store's resume token without its folder, as the slot keeps it; ValueError for one
    that does not name a file of this chunk's folder and stem."""
    if resume is None:
        return None
    offset, file = parse_resume(resume, folder, stem)
    return f"{offset}@{file[len(folder) + 1 :]}"


def _absolute_resume(relative: str, folder: str, stem: str) -> str:
    offset, _, file = relative.partition("@")
    resume = f"{offset}@{folder}/{file}"
    parse_resume(resume, folder, stem)
    return resume


def _read_all(fd: int, size: int) -> bytes:
    parts: list[bytes] = []
    offset = 0
    while offset < size:
        part = os.pread(fd, min(1 << 20, size - offset), offset)
        if not part:
            break
        parts.append(part)
        offset += len(part)
    return b"".join(parts)


def _write_all(fd: int, payload: bytes) -> None:
    view = memoryview(payload)
    while view:
        view = view[os.write(fd, view) :]


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
