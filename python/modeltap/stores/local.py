"""A directory on disk: the default store, no set-up needed."""

from __future__ import annotations

import errno
import hashlib
import logging
import os
import secrets
import sys
from collections.abc import Iterator
from pathlib import Path

from modeltap.columns import SCHEMA_FOLDER
from modeltap.layout import file_name
from modeltap.stores.base import StoredFile
from modeltap.stores.resume import holds_rows
from modeltap.stores.resume import parse as parse_resume
from modeltap.stores.resume import token as resume_token

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


#: Where each file's last append began and should end: a hidden folder at the root, which no
#: reader's glob of ``*/*/.../data.csv`` or folder prefix reaches.
JOURNAL_FOLDER = ".modeltap/appends"
#: New files are written here whole, then linked into place.
TEMP_FOLDER = ".modeltap/tmp"
#: ``<inode> <start> <end>\n``: the inode tells a record of this file from one of a deleted
#: file that had the same path.
_JOURNAL_BYTES = 63
_SEARCH_WINDOW = 16 << 20

_OPEN_FLAGS = os.O_RDWR | os.O_APPEND | os.O_CREAT | getattr(os, "O_CLOEXEC", 0)


class LocalStore:
    """Writes each stream's rows under ``root`` in the Azure ML folder layout.

    Several processes can append to the same files: each append holds an exclusive lock on the
    file, so rows never interleave and only the first writer writes the header. A failed write
    is cut back off the file; before each append its start is recorded (fsynced) under
    ``<root>/.modeltap/``, so the next writer cuts back an append whose writer was killed
    half-way: later rows always start on a row boundary.

    >>> store = LocalStore("./modeldata")
    """

    def __init__(self, root: str | os.PathLike[str] = "./modeldata", *, fsync: bool = True) -> None:
        self.root = Path(root)
        self.fsync = fsync
        # No lock: appends and flushes come from one uploader thread (a lock copied mid-append
        # into a forked child would never be released there), and set updates are atomic.
        self._dirty: set[Path] = set()
        self._new_dirs: set[Path] = set()
        # Files whose header (and recorded types) we have read and found ours; neither changes
        # once written.
        self._verified: dict[tuple[str, bytes, str | None], Path] = {}
        # The record of each folder's column types this store last appended with.
        self._schemas: dict[str, str | None] = {}

    def __repr__(self) -> str:
        return f"LocalStore({str(self.root)!r})"

    @property
    def key(self) -> str:
        """A stable name of this store: spooled rows find their store by it."""
        return f"local:{self.root.resolve()}"

    def append(
        self,
        folder: str,
        data: bytes,
        header: bytes,
        *,
        stem: str = "data",
        resume: str | None = None,
        schema: str | None = None,
    ) -> str:
        """Appends rows to ``<root>/<folder>/<stem>.csv``, writing ``header`` first in a new file.

        ``schema`` (the record of the columns' types, :func:`modeltap.columns.parse_schema`) is
        kept for a new file in ``<root>/.modeltap/schema/<its path>.schema``, outside the data's
        folders; a file whose recorded types differ is not appended to (the next one is).

        ``resume`` (from :meth:`position`, taken before an earlier try whose outcome is
        unknown, such as one a killed process made) looks for the rows first: when they are
        there, nothing is written again."""
        directory = self.root / folder
        if not directory.is_dir():
            self._make_dirs(directory)
        found = None if resume is None else self._find(folder, stem, resume, data)
        if found is not None:
            return found
        self._schemas[f"{folder}/{stem}"] = schema
        key = (f"{folder}/{stem}", header, schema)
        index = 0
        target = self._verified.get(key)
        while True:
            path = target or directory / file_name(index, stem)
            fits = target is not None or schema is None or self._types_fit(path, schema)
            outcome = self._append_to(path, data, header, verified=target is not None) if fits else "other types"
            if outcome == "written":
                self._verified[key] = path
                self._dirty.add(path)
                return str(path)
            what = "header" if outcome == "other header" else "recorded column types"
            logger.warning("%s has another %s; continuing in the next file of that folder", path, what)
            target = None
            index += 1

    def position(self, folder: str, header: bytes, *, stem: str = "data", schema: str | None = None) -> str:
        """A resume token for the next append of rows with ``header`` (and column types
        ``schema``) to ``folder``: it lands at or after the returned position, whichever writer
        appends first."""
        directory = self.root / folder
        if schema is None:
            schema = self._schemas.get(f"{folder}/{stem}")
        key = (f"{folder}/{stem}", header, schema)
        index = 0
        target = self._verified.get(key)
        while True:
            path = target or directory / file_name(index, stem)
            relative = f"{folder}/{path.name}"
            try:
                fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
            except FileNotFoundError:
                return resume_token(0, relative)
            try:
                _lock(fd)
                size = self._repair(fd, path)
                ours = size == 0 or target is not None or os.pread(fd, len(header), 0) == header
                if ours and (target is not None or schema is None or self._recorded_fits(path, schema)):
                    return resume_token(size, relative)
            finally:
                os.close(fd)
            target = None
            index += 1

    def _find(self, folder: str, stem: str, resume: str, data: bytes) -> str | None:
        """The file where ``data`` landed at or after the position of ``resume``; None if it did not."""
        offset, relative = parse_resume(resume, folder, stem)
        path = self.root / relative
        try:
            fd = os.open(path, os.O_RDWR | getattr(os, "O_CLOEXEC", 0))
        except FileNotFoundError:
            return None
        try:
            _lock(fd)
            size = self._repair(fd, path)
            start = offset
            while start + len(data) <= size:
                end = min(size, start + max(_SEARCH_WINDOW, 2 * len(data)))
                if holds_rows(os.pread(fd, end - start, start), data, at_row_start=start == offset):
                    logger.info("%s already holds rows an earlier try appended; not appending them again", path)
                    return str(path)
                if end == size:
                    break
                start = end - len(data)  # a match across the seam starts in this window
            return None
        finally:
            os.close(fd)

    def _append_to(self, path: Path, data: bytes, header: bytes, *, verified: bool) -> str:
        if not path.exists() and self._create(path, header + data):
            return "written"
        fd = os.open(path, _OPEN_FLAGS, 0o644)
        try:
            _lock(fd)
            size = self._repair(fd, path)
            if size == 0:
                payload = header + data
            else:
                if not verified and os.pread(fd, len(header), 0) != header:
                    return "other header"
                payload = data
            # Where this append starts, durable before it: a successor cuts back to it if this
            # writer dies half-way (a newline is not a row boundary inside a quoted field).
            self._journal(fd, path, size, size + len(payload))
            try:
                _write_all(fd, payload)
            except BaseException:
                os.ftruncate(fd, size)
                raise
            return "written"
        finally:
            os.close(fd)  # also releases the lock

    def _schema_path(self, path: Path) -> Path:
        # Not named *.csv: a glob for CSV files over the whole root must not find it.
        return self.root / SCHEMA_FOLDER / f"{path.relative_to(self.root).as_posix()}.schema"

    def _types_fit(self, path: Path, schema: str) -> bool:
        """Whether the file at ``path`` may take rows of these column types: it records them
        (recorded now, before the file exists, when nothing is recorded yet), or it is a file
        written before types were recorded."""
        side = self._schema_path(path)
        try:
            return side.read_text("ascii") == schema
        except FileNotFoundError:
            pass
        if path.exists() and path.stat().st_size > 0:
            return True  # an older file: its readers infer types, as before
        side.parent.mkdir(parents=True, exist_ok=True)
        if self._create(side, schema.encode("ascii")):
            return True
        return side.read_text("ascii") == schema  # another writer recorded them first

    def _recorded_fits(self, path: Path, schema: str) -> bool:
        """Whether the existing file at ``path`` records ``schema`` or nothing (an older file)."""
        try:
            return self._schema_path(path).read_text("ascii") == schema
        except FileNotFoundError:
            return True

    def read_schema(self, path: str) -> str | None:
        """The record of the column types of the file at ``path``; None for a file written
        before they were recorded."""
        try:
            return self._schema_path(self.root / path).read_text("ascii")
        except FileNotFoundError:
            return None

    def _create(self, path: Path, payload: bytes) -> bool:
        """Makes ``path`` appear whole, header and rows (readers never see it empty or torn);
        False when another writer made it first."""
        temp_dir = self.root / TEMP_FOLDER
        if not temp_dir.is_dir():
            temp_dir.mkdir(parents=True, exist_ok=True)
        temp = temp_dir / f"{os.getpid()}-{secrets.token_hex(8)}.tmp"
        fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            try:
                _write_all(fd, payload)
            finally:
                os.close(fd)
            os.link(temp, path)  # never replaces: of two writers making it, one wins
        except FileExistsError:
            return False
        except OSError as exc:
            # A file system without hard links, or no room: append in place instead.
            logger.debug("%s: could not create it whole (%s); appending in place", path, exc)
            return False
        finally:
            temp.unlink(missing_ok=True)
        return True

    def _repair(self, fd: int, path: Path) -> int:
        """Cuts a torn append (its writer was killed) off the locked file ``fd``; its size after."""
        st = os.fstat(fd)
        size = st.st_size
        begun = self._journaled(path, st.st_ino)
        if begun is not None:
            start, end = begun
            if start < size < end:
                logger.warning(
                    "%s ends in an append cut short (a writer was killed); cutting it back to its last whole append",
                    path,
                )
                os.ftruncate(fd, start)
                if self.fsync:
                    os.fsync(fd)
                return start
            if size == end:
                return size
        if size and os.pread(fd, 1, size - 1) != b"\n":
            # Not written through the journal (or it was lost): end that row at least.
            logger.warning("%s ended in a partial row (a writer was killed); starting a new line", path)
            _write_all(fd, b"\n")
            size += 1
        return size

    def _journal_path(self, path: Path) -> Path:
        relative = path.relative_to(self.root).as_posix()
        return self.root / JOURNAL_FOLDER / hashlib.sha256(relative.encode(errors="surrogatepass")).hexdigest()[:40]

    def _journaled(self, path: Path, inode: int) -> tuple[int, int] | None:
        try:
            raw = self._journal_path(path).read_bytes()
        except (FileNotFoundError, NotADirectoryError):
            return None
        fields = raw.split()
        if len(raw) != _JOURNAL_BYTES or len(fields) != 3 or not all(f.isdigit() for f in fields):
            return None
        ino, start, end = (int(f) for f in fields)
        return (start, end) if ino == inode and start <= end else None

    def _journal(self, data_fd: int, path: Path, start: int, end: int) -> None:
        journal = self._journal_path(path)
        if not journal.parent.is_dir():
            journal.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(journal, os.O_WRONLY | os.O_CREAT | getattr(os, "O_CLOEXEC", 0), 0o644)
        try:
            record = b"%020d %020d %020d\n" % (os.fstat(data_fd).st_ino, start, end)
            if os.pwrite(fd, record, 0) != len(record):
                raise OSError(errno.EIO, f"short write to {journal}")
            if self.fsync:
                os.fsync(fd)
        finally:
            os.close(fd)

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
