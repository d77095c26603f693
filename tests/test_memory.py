"""Zero copy, measured: collect() allocates nothing per value, and releases what it holds."""

from __future__ import annotations

import gc
import sys
import threading
import tracemalloc

import numpy as np

import modeltap


def test_collect_does_not_copy_numeric_arrays(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=[f"f{i}" for i in range(100)])
    x = np.random.default_rng(0).random((1000, 100))  # 800 kB
    c.collect(x)  # warm up
    modeltap.flush()
    tracemalloc.start()
    try:
        for _ in range(50):
            c.collect(x)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    # 50 copies would be 40 MB; what is allocated is per call, not per value.
    assert peak < 1_000_000, f"collect() allocated {peak} bytes for 50 calls"
    assert modeltap.flush()


def test_references_are_released_after_encoding(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["a", "b"])
    x = np.ones((10, 2))
    baseline = sys.getrefcount(x)
    for _ in range(100):
        c.collect(x)
    assert sys.getrefcount(x) > baseline, "queued records hold the array"
    assert modeltap.flush()
    c.collect(np.ones((1, 2)))  # each collect releases a few references the encoder is done with
    deadline = 200
    while sys.getrefcount(x) > baseline and deadline:
        modeltap.flush()
        deadline -= 1
    gc.collect()
    assert sys.getrefcount(x) == baseline


def test_queued_bytes_are_bounded(tmp_path) -> None:  # type: ignore[no-untyped-def]
    class GatedStore(modeltap.LocalStore):
        gate = threading.Event()

        def append(self, folder: str, data: bytes, header: bytes) -> str:
            self.gate.wait()
            return super().append(folder, data, header)

    store = GatedStore(tmp_path)
    modeltap.configure(store=store, max_queue_bytes=4 << 20, max_sealed=1, chunk_bytes=1 << 16)
    c = modeltap.Collector("m", feature_names=[f"f{i}" for i in range(100)])
    for _ in range(200):  # 160 MB of fresh arrays, each pinned while queued
        c.collect(np.ones((1000, 100)))
        assert modeltap.stats()["queue_bytes"] <= 4 << 20
    s = modeltap.stats()
    assert s["rows_dropped"]["ring_full"] > 0
    store.gate.set()
    assert not modeltap.flush()  # rows were lost since the last flush
    assert modeltap.flush()  # and none since that one
    s = modeltap.stats()
    assert s["rows_written"] + s["rows_dropped"]["ring_full"] == 200 * 1000
    assert s["queue_bytes"] == 0
    assert modeltap.close()
