"""When the queue is full: drop (never block) and count, or block up to a timeout."""

from __future__ import annotations

import threading
import time

import numpy as np

import modeltap


class SlowStore(modeltap.LocalStore):
    """A real LocalStore behind a gate, so the pipeline backs up."""

    def __init__(self, root: str) -> None:
        super().__init__(root)
        self.gate = threading.Event()

    def append(self, folder: str, data: bytes, header: bytes) -> str:
        self.gate.wait()
        return super().append(folder, data, header)


def test_full_ring_under_drop_never_blocks_and_counts_every_row(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SlowStore(str(tmp_path))
    modeltap.configure(store=store, capacity=8, chunk_bytes=64, max_sealed=1, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["a", "b"])
    row = np.ones((3, 2))
    slowest = 0.0
    for _ in range(5000):
        t0 = time.perf_counter()
        c.collect(row)
        slowest = max(slowest, time.perf_counter() - t0)
    s = modeltap.stats()
    dropped = s["rows_dropped"]["ring_full"]
    assert dropped > 0
    assert s["rows_collected"] + dropped == 15000
    assert slowest < 0.5, f"collect() waited {slowest:.3f}s under policy='drop'"
    store.gate.set()
    assert not modeltap.flush()  # rows were lost since the last flush
    assert modeltap.flush()  # and none since that one
    s = modeltap.stats()
    assert s["rows_written"] == s["rows_collected"] == 15000 - dropped
    assert modeltap.close()


def test_block_waits_for_room_and_loses_nothing(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SlowStore(str(tmp_path))
    modeltap.configure(store=store, capacity=4, chunk_bytes=64, max_sealed=1, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["a"], policy="block", timeout=30.0)
    opener = threading.Timer(0.3, store.gate.set)
    opener.start()
    for i in range(500):
        c.collect(np.array([float(i)]))
    assert modeltap.flush()
    s = modeltap.stats()
    assert s["rows_written"] == 500
    assert sum(s["rows_dropped"].values()) == 0
    assert modeltap.close()


def test_block_gives_up_after_its_timeout_and_counts(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SlowStore(str(tmp_path))
    modeltap.configure(store=store, capacity=2, chunk_bytes=16, max_sealed=1, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["a"], policy="block", timeout=0.01)
    for i in range(50):
        c.collect(np.array([float(i)]))
    assert modeltap.stats()["rows_dropped"]["timeout"] > 0
    store.gate.set()
    assert modeltap.close()


def test_a_blocked_collect_does_not_hold_the_gil(tmp_path) -> None:  # type: ignore[no-untyped-def]
    store = SlowStore(str(tmp_path))
    modeltap.configure(store=store, capacity=1, chunk_bytes=16, max_sealed=1, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["a"], policy="block", timeout=30.0)
    done = threading.Event()

    def producer() -> None:
        for i in range(20):
            c.collect(np.array([float(i)]))
        done.set()

    t = threading.Thread(target=producer)
    t.start()
    # The producer is stuck waiting for room; this thread must still run Python.
    spins = 0
    while spins < 1000 and not done.is_set():
        spins += 1
        time.sleep(0.0005)
    assert not done.is_set() and spins == 1000
    store.gate.set()
    t.join(30)
    assert done.is_set()
    assert modeltap.flush()
    assert modeltap.stats()["rows_written"] == 20
    assert modeltap.close()
