"""The native core (Rust): ring, encoder thread, chunker."""

from collections.abc import Sequence
from datetime import datetime
from typing import Literal, final

from typing_extensions import Self, disjoint_base

__all__ = [
    "Chunk",
    "Core",
    "Correlation",
    "ManualClock",
    "StreamHandle",
    "_set_frame_blocks",
    "place_columns",
    "process_enabled",
    "set_process_enabled",
]

@final
class Correlation:
    """The ids of one request; pass it to another collector's ``collect(..., correlation=...)``."""

    @property
    def id(self) -> str: ...
    @property
    def request_id(self) -> str | None: ...
    @property
    def timestamp_ns(self) -> int: ...
    @property
    def timestamp(self) -> datetime: ...

@final
class Chunk:
    @property
    def stream(self) -> int: ...
    @property
    def year(self) -> int: ...
    @property
    def month(self) -> int: ...
    @property
    def day(self) -> int: ...
    @property
    def hour(self) -> int | None: ...
    @property
    def rows(self) -> int: ...
    @property
    def data(self) -> bytes: ...
    @property
    def header(self) -> bytes:
        """The stream's header line, fixed before any of its rows was accepted."""
    @property
    def schema(self) -> str:
        """The record of every column's type (see `modeltap.columns.parse_schema`), which stores
        keep with each file they start."""
    @property
    def stem(self) -> str:
        """The stream's file stem: files are ``<stem>.csv``, ``<stem>.1.csv``, ..."""

@final
class ManualClock:
    def __new__(cls, ns: int) -> ManualClock: ...
    def set_ns(self, ns: int) -> None: ...
    @property
    def now_ns(self) -> int: ...

@disjoint_base
class StreamHandle:
    """One collector's handle on the core; ``modeltap.Collector`` subclasses it."""

    def __new__(cls, *args: object, **kwargs: object) -> Self: ...
    def _define(
        self,
        *,
        partition: str,
        meta: list[tuple[str, str, str | None]],
        stem: str,
        names: Sequence[str] | None = None,
        block_timeout: float | None = None,
    ) -> None: ...
    def _bind(self, core: Core) -> None: ...
    def collect(
        self,
        data: object,
        correlation: Correlation | None = None,
        *,
        correlation_id: str | None = None,
        request_id: str | None = None,
        copy: bool = False,
    ) -> Correlation:
        """Queues rows for writing and returns their Correlation."""
    @property
    def feature_names(self) -> tuple[str, ...] | None:
        """The value columns' names, once fixed."""
    @property
    def _stream_id(self) -> int: ...
    @property
    def enabled(self) -> bool: ...
    @enabled.setter
    def enabled(self, on: bool) -> None: ...
    @property
    def sample_rate(self) -> float: ...
    @sample_rate.setter
    def sample_rate(self, rate: float) -> None: ...

@final
class Core:
    def __new__(
        cls,
        *,
        capacity: int,
        max_queue_bytes: int,
        chunk_bytes: int,
        flush_interval: float,
        max_sealed: int,
        nonce: int,
        clock: ManualClock | None = None,
    ) -> Core: ...
    def flush(self, timeout: float) -> int | None: ...
    def retire_into(self, successor: Core) -> None: ...
    def close(self, timeout: float) -> bool: ...
    def next_output(
        self, timeout: float
    ) -> tuple[Literal["chunk"], Chunk] | tuple[Literal["flushed"], int] | tuple[Literal["closed"], None] | None: ...
    def join(self) -> None: ...
    @property
    def failure(self) -> str | None: ...
    @property
    def last_arrow_error(self) -> str | None: ...
    @property
    def closed(self) -> bool: ...
    def stats(self) -> dict[str, int]: ...

def process_enabled() -> bool: ...
def set_process_enabled(on: bool) -> None: ...
def place_columns(names: list[str], labels: list[str]) -> list[int]:
    """Where each of a stream's fixed ``names`` is among a frame's or dict's ``labels``: by name
    when all are there, else by position; a ``ValueError`` when by position a column would be
    written under another of the names."""

def _set_frame_blocks(on: bool) -> None:
    """Turns the native reading of pandas frames' numpy blocks on or off (tests)."""
