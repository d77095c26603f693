"""The contract every store keeps."""

from __future__ import annotations

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
        """Appends ``data`` (whole CSV rows) to the current file of ``folder``; returns its path."""
        ...

    def flush(self) -> None:
        """Makes everything appended so far durable."""
        ...

    def close(self) -> None:
        """Flushes and releases resources."""
        ...
