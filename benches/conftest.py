from __future__ import annotations

import os
import platform
from collections.abc import Iterator

import pytest

import modeltap


class CountingStore:
    """Takes chunks and keeps only their size: the hot-path benchmarks measure collect(), not disks."""

    def __init__(self) -> None:
        self.bytes = 0

    def append(self, folder: str, data: bytes, header: bytes) -> str:
        self.bytes += len(data)
        return folder

    def flush(self) -> None:
        pass

    def close(self) -> None:
        pass


@pytest.fixture(scope="module")
def counting_store() -> Iterator[CountingStore]:
    store = CountingStore()
    # A ring large enough that every benchmarked call is accepted: drops would be cheaper. The
    # byte bound is lifted too: the benchmarks queue one array many times, which pins it once,
    # though each record counts its full size.
    modeltap.configure(store=store, capacity=1 << 20, max_queue_bytes=1 << 40)
    yield store
    assert modeltap.close(timeout=120)


def pytest_report_header() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo") as f:
            cpu = next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        pass
    return f"machine: {cpu}, {os.cpu_count()} cores"
