"""The contracts every store keeps: appending (the uploader) and listing/reading (the readers)."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Protocol, runtime_checkable


@runtime_checkable
class Store(Protocol):
    """Appends CSV chunks to files named by a folder path.

    ``append`` is called from one uploader thread per process, but several processes may append
    to the same file: a store must never tear a row and must write ``header`` exactly once, as
    the first line of each file. It raises on failure and writes nothing in that case; the
    pipeline retries.
    """

    def append(self, folder: str, data: bytes, header: bytes) -> str:
        """Appends ``data`` (whole CSV rows) to the current file of ``folder``; returns its path.

        Stores may take keyword arguments the pipeline passes only when needed: ``stem`` (files
        named ``<stem>.csv`` rather than ``data.csv``, for Azure ML's v1 drop-in) and ``resume``
        (see :class:`modeltap.stores.StoreError`)."""
        ...

    def flush(self) -> None:
        """Makes everything appended so far durable."""
        ...

    def close(self) -> None:
        """Flushes and releases resources."""
        ...


@dataclass(frozen=True)
class StoredFile:
    """One file of a store: ``path`` is relative to the store's root (``sub/rg/.../data.csv``)."""

    path: str
    size: int


@runtime_checkable
class ReadableStore(Protocol):
    """A store whose files can be listed and read back, as the readers and the CLI do."""

    def list_files(self, prefix: str = "") -> Iterator[StoredFile]:
        """Files whose path starts with the folder ``prefix`` (``""``: all), in path order."""
        ...

    def read_bytes(self, path: str) -> bytes:
        """The whole content of the file at ``path``; ``FileNotFoundError`` when there is none."""
        ...
