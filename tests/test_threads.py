"""Many scoring threads, one pipeline: every accepted row exactly once."""

from __future__ import annotations

import threading

import numpy as np

import modeltap
from conftest import files, read


def test_concurrent_collectors_lose_and_repeat_nothing(store: modeltap.LocalStore) -> None:
    inputs = modeltap.Collector("m", designation="inputs", feature_names=["thread", "i"], policy="block", timeout=30)
    preds = modeltap.Collector("m", designation="predictions", feature_names=["p"], policy="block", timeout=30)

    def work(t: int) -> None:
        for i in range(2000):
            corr = inputs.collect(np.array([float(t), float(i)]))
            preds.collect(np.array([float(t * 10_000 + i)]), correlation=corr)

    threads = [threading.Thread(target=work, args=(t,)) for t in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert modeltap.flush()
    x, y = (read(p) for p in files(store))
    assert len(x) == len(y) == 16_000
    assert not x.duplicated(["thread", "i"]).any()
    joined = x.merge(y, on="$correlation_id")
    assert len(joined) == 16_000
    assert (joined["thread"] * 10_000 + joined["i"] == joined["p"]).all()


def test_flush_from_many_threads(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["i"])
    results: list[bool] = []

    def work() -> None:
        for i in range(200):
            c.collect(np.array([float(i)]))
            if i % 50 == 0:
                results.append(modeltap.flush())

    threads = [threading.Thread(target=work) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert all(results) and len(results) == 16
    assert modeltap.flush()
    assert modeltap.stats()["rows_written"] == 800
