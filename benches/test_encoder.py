"""Suite 2, encoding: a 1,000,000 x 6 float64 matrix to CSV, modeltap's encoder thread beside
polars ``write_csv`` on one thread and ``pyarrow.csv.write_csv``. Budget: >= 1.5x polars.

modeltap's figure is collect() through flush() into a store that counts bytes, so it includes
queueing, chunking and handing chunks over, not only formatting.
"""

from __future__ import annotations

import io
from typing import Any

import numpy as np
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest

import modeltap
from conftest import CountingStore, median, size

ROWS = size(1_000_000, 300_000)
MATRIX = np.random.default_rng(0).random((ROWS, 6))
NAMES = [f"f{i}" for i in range(6)]
RESULTS: dict[str, tuple[float, int]] = {}


def _record(benchmark: Any, name: str, nbytes: int) -> None:
    m = median(benchmark)
    if m is not None:
        RESULTS[name] = (m, nbytes)
        benchmark.extra_info.update({"MB/s": round(nbytes / m / 1e6), "Mrows/s": round(ROWS / m / 1e6, 2)})


def test_modeltap(benchmark: Any, counting_store: CountingStore) -> None:
    benchmark.group = "encoding"
    c = modeltap.Collector("bench_encode", feature_names=NAMES)
    before = counting_store.bytes

    def collect_and_flush() -> None:
        c.collect(MATRIX)
        assert modeltap.flush(timeout=300)

    benchmark.pedantic(collect_and_flush, rounds=size(5, 3), iterations=1, warmup_rounds=1)
    rounds = 1 + (benchmark.stats.stats.rounds if benchmark.stats is not None else 0)
    _record(benchmark, "modeltap", (counting_store.bytes - before) // rounds)


def test_polars_one_thread(benchmark: Any) -> None:
    benchmark.group = "encoding"
    assert pl.thread_pool_size() == 1
    frame = pl.DataFrame(MATRIX, schema=NAMES)
    out = benchmark.pedantic(frame.write_csv, rounds=size(5, 3), iterations=1, warmup_rounds=1)
    _record(benchmark, "polars", len(out))


def test_pyarrow(benchmark: Any) -> None:
    benchmark.group = "encoding"
    table = pa.table({n: MATRIX[:, i] for i, n in enumerate(NAMES)})

    def write() -> int:
        sink = io.BytesIO()
        pacsv.write_csv(table, sink)
        return sink.tell()

    _record(benchmark, "pyarrow", benchmark.pedantic(write, rounds=size(5, 3), iterations=1, warmup_rounds=1))


def test_gross_regressions() -> None:
    if not {"modeltap", "polars"} <= RESULTS.keys():
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    ratio = RESULTS["polars"][0] / RESULTS["modeltap"][0]
    print(f"\nencoding: modeltap is {ratio:.2f}x polars on one thread (budget >= 1.5)")
    assert ratio > 0.5
