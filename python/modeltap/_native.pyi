"""The native core (Rust): ring, encoder thread, chunker."""

from datetime import datetime
from typing import Literal, final

import numpy as np
from typing_extensions import Self, disjoint_base

__all__ = ["Chunk", "Core", "Correlation", "ManualClock", "StreamHandle", "csv_field"]

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
    def cols(self) -> int: ...
    @property
    def first_ns(self) -> int: ...
    @property
    def last_ns(self) -> int: ...
    @property
    def data(self) -> bytes: ...

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
    def _bind(
        self,
        core: Core,
        *,
        partition: str,
        meta: list[tuple[str, str | None]],
        ncols: int,
        block_timeout: float | None = None,
    ) -> None: ...
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
    def _collect_columns(
        self,
        columns: list[np.ndarray],
        correlation: Correlation | None = None,
        correlation_id: str | None = None,
        request_id: str | None = None,
    ) -> Correlation: ...
    @property
    def _ncols(self) -> int: ...
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
    def close(self, timeout: float) -> bool: ...
    def next_output(
        self, timeout: float
    ) -> tuple[Literal["chunk"], Chunk] | tuple[Literal["flushed"], int] | tuple[Literal["closed"], None] | None: ...
    def release(self) -> int: ...
    def join(self) -> None: ...
    @property
    def failure(self) -> str | None: ...
    @property
    def closed(self) -> bool: ...
    def stats(self) -> dict[str, int]: ...

def csv_field(text: str) -> str: ...
