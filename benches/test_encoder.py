"""The encoder thread's throughput: a 1,000,000 x 6 float64 matrix from collect() to a store.

Figures are CSV bytes per second of wall time, collect() through flush(). Peers (polars,
pyarrow) join this suite later; run: ``make bench``.
"""

from __future__ import annotations

from typing import Any

import numpy as np

import modeltap
from conftest import CountingStore


def test_encode_1m_by_6_float64(benchmark: Any, counting_store: CountingStore) -> None:
    c = modeltap.Collector("bench_encode", feature_names=[f"f{i}" for i in range(6)])
    x = np.random.default_rng(0).random((1_000_000, 6))
    before = counting_store.bytes

    def collect_and_flush() -> None:
        c.collect(x)
        assert modeltap.flush(timeout=120)

    benchmark.pedantic(collect_and_flush, rounds=3, iterations=1)
    if benchmark.stats is not None:
        per_round = (counting_store.bytes - before) / benchmark.stats.stats.rounds
        median = benchmark.stats.stats.median
        benchmark.extra_info["MB/s"] = round(per_round / median / 1e6)
        benchmark.extra_info["Mrows/s"] = round(1e6 / median / 1e6, 2)
        print(f"\nencoder: {per_round / median / 1e6:.0f} MB/s of CSV, {1 / median:.2f} M rows/s (median of 3)")
