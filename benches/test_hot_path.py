"""The cost collect() adds to a scoring thread.

Budgets (DESIGN.md): a 1x6 float64 row at a median of at most 0.5 us, and a 1000x100 array at
most 2x that, since nothing is copied. Run: ``make bench``.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

import modeltap
from conftest import CountingStore

MEDIANS: dict[str, float] = {}


def _run(benchmark: Any, name: str, shape: tuple[int, int], rounds: int, iterations: int) -> None:
    c = modeltap.Collector(f"bench_{name}", feature_names=[f"f{i}" for i in range(shape[1])])
    x = np.random.default_rng(0).random(shape)
    before = modeltap.stats()["rows_dropped"]["ring_full"]
    benchmark.pedantic(c.collect, args=(x,), rounds=rounds, iterations=iterations, warmup_rounds=1)
    assert modeltap.stats()["rows_dropped"]["ring_full"] == before, "every measured call must be accepted"
    if benchmark.stats is not None:
        MEDIANS[name] = benchmark.stats.stats.median
        benchmark.extra_info["median_us"] = round(benchmark.stats.stats.median * 1e6, 3)


def test_collect_1x6_float64(benchmark: Any, counting_store: CountingStore) -> None:
    _run(benchmark, "1x6", (1, 6), rounds=100, iterations=1000)


def test_collect_1000x100_float64(benchmark: Any, counting_store: CountingStore) -> None:
    _run(benchmark, "1000x100", (1000, 100), rounds=50, iterations=10)


def test_large_array_costs_no_more_than_twice_a_row(counting_store: CountingStore) -> None:
    if len(MEDIANS) < 2:
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    ratio = MEDIANS["1000x100"] / MEDIANS["1x6"]
    print(
        f"\ncollect() median: 1x6 {MEDIANS['1x6'] * 1e9:.0f} ns, 1000x100 {MEDIANS['1000x100'] * 1e9:.0f} ns, "
        f"ratio {ratio:.2f} (budget <= 2)"
    )
    # A gross-regression guard only (this is a shared, noisy machine): a copy of 800 kB would
    # cost ~100x a row, not 4x.
    assert ratio < 4
