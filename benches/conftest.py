"""Shared set-up of the benchmark suites.

``MODELTAP_BENCH=short`` (what CI runs, with ``--benchmark-enable``) shrinks every suite to a few
rounds on small inputs and keeps only the gross-regression checks, which compare ratios against
a peer measured in the same run, never absolute times. ``python benches/report.py`` runs the
full suites and prints the table.
"""

from __future__ import annotations

import os

# polars reads this once, at import: the encoding suite compares one thread with one thread.
os.environ.setdefault("POLARS_MAX_THREADS", "1")

import platform
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import modeltap

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

SHORT = os.environ.get("MODELTAP_BENCH", "full") == "short"


def size(full: int, short: int) -> int:
    """``full`` in a full run, ``short`` in CI's short mode."""
    return short if SHORT else full


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
    modeltap.configure(store=store, capacity=1 << 20, max_queue_bytes=1 << 40, spool_max_bytes=0)
    yield store
    assert modeltap.close(timeout=120)


def median(benchmark: Any) -> float | None:
    """The benchmark's median in seconds; None when benchmarks are disabled."""
    return None if benchmark.stats is None else float(benchmark.stats.stats.median)


def cpu_model() -> str:
    try:
        with open("/proc/cpuinfo") as f:
            return next(line.split(":", 1)[1].strip() for line in f if line.startswith("model name"))
    except (OSError, StopIteration):
        return platform.processor() or platform.machine()


def pytest_report_header() -> str:
    return f"machine: {cpu_model()}, {os.cpu_count()} cores; mode: {'short' if SHORT else 'full'}"
