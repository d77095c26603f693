"""Suite 1, the hot path: what one collect() call costs a scoring thread.

Budgets: a 1x6 float64 row at a median of at most 0.5 us, and a 1000x100 array at most 2x that,
since nothing is copied. Peer: ``queue.Queue.put`` of the same data, the first step of what a
user writes by hand.
"""

from __future__ import annotations

import queue
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modeltap
from conftest import SHORT, CountingStore, median, size

MEDIANS: dict[str, float] = {}
FASTEST: dict[str, float] = {}

_RNG = np.random.default_rng(0)
INPUTS: dict[str, Any] = {
    "1x6": _RNG.random((1, 6)),
    "32x6": _RNG.random((32, 6)),
    "1000x100": _RNG.random((1000, 100)),
    "1x6 with two strings": [[0.1, 0.2, 0.3, 0.4, "north", "premium"]],
    "DataFrame 1x6": pd.DataFrame(_RNG.random((1, 6)), columns=[f"f{i}" for i in range(6)]),
}


def _measure(benchmark: Any, name: str, fn: Any, arg: Any, iterations: int) -> None:
    benchmark.group = "hot path"
    benchmark.pedantic(fn, args=(arg,), rounds=size(50, 8), iterations=iterations, warmup_rounds=1)
    m = median(benchmark)
    if m is not None:
        MEDIANS[name] = m
        FASTEST[name] = float(benchmark.stats.stats.min)
        benchmark.extra_info["median_us"] = round(m * 1e6, 3)


@pytest.mark.parametrize("name", list(INPUTS))
def test_collect(benchmark: Any, counting_store: CountingStore, name: str) -> None:
    data = INPUTS[name]
    ncols = 100 if name == "1000x100" else 6
    c = modeltap.Collector(f"bench_{name.replace(' ', '_')}", feature_names=[f"f{i}" for i in range(ncols)])
    before = modeltap.stats()["rows_dropped"]["ring_full"]
    # The large array: fewer calls, or the encoder has billions of values to catch up on.
    iterations = size(20, 50) if name == "1000x100" else size(1000, 200)
    _measure(benchmark, f"collect {name}", c.collect, data, iterations)
    assert modeltap.stats()["rows_dropped"]["ring_full"] == before, "every measured call must be accepted"


def test_peer_queue_put_1x6(benchmark: Any) -> None:
    q: queue.Queue[Any] = queue.Queue()
    _measure(benchmark, "queue.put 1x6", q.put, INPUTS["1x6"], size(1000, 200))


def test_gross_regressions() -> None:
    """CI's guard, as ratios against in-run peers, with margins no noise reaches."""
    if not {"collect 1x6", "collect 1000x100", "queue.put 1x6"} <= MEDIANS.keys():
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    large = FASTEST["collect 1000x100"] / FASTEST["collect 1x6"]
    vs_queue = FASTEST["collect 1x6"] / FASTEST["queue.put 1x6"]
    print(f"\nhot path: 1000x100 / 1x6 = {large:.2f} (budget <= 2); collect / queue.put = {vs_queue:.2f}")
    # A copy of 800 kB would cost ~100x a row; a Python-level slow path would cost many puts.
    assert large < 4
    assert vs_queue < (6 if SHORT else 4)
