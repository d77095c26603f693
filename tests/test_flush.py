"""flush()'s answer: True only when every row collected before it is in its store, durable, and
no row was lost since the previous flush() returned."""

from __future__ import annotations

import threading
from pathlib import Path

import numpy as np

import modeltap
from test_store_faults import FlakyStore


class GatedStore(modeltap.LocalStore):
    """A real LocalStore behind a gate, so the pipeline backs up."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()

    def append(self, folder: str, data: bytes, header: bytes) -> str:
        self.gate.wait()
        return super().append(folder, data, header)


def test_nothing_lost_is_true(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["x"])
    c.collect(np.array([1.0]))
    assert modeltap.flush()
    assert modeltap.flush()  # nothing collected since: still True


def test_rows_dropped_by_a_full_queue(tmp_path: Path) -> None:
    store = GatedStore(tmp_path)
    modeltap.configure(store=store, capacity=4, chunk_bytes=64, max_sealed=1, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["x"])
    for i in range(2000):
        c.collect(np.array([float(i)]))
    assert modeltap.stats()["rows_dropped"]["ring_full"] > 0
    store.gate.set()
    assert not modeltap.flush()
    assert modeltap.flush()  # the loss was reported once; nothing lost since
    c.collect(np.array([1.0]))
    assert modeltap.flush()
    assert modeltap.close()


def test_rows_dropped_after_waiting_under_block(tmp_path: Path) -> None:
    store = GatedStore(tmp_path)
    modeltap.configure(store=store, capacity=2, chunk_bytes=16, max_sealed=1, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["x"], policy="block", timeout=0.01)
    for i in range(50):
        c.collect(np.array([float(i)]))
    assert modeltap.stats()["rows_dropped"]["timeout"] > 0
    store.gate.set()
    assert not modeltap.flush()
    assert modeltap.flush()
    assert modeltap.close()


def test_rows_collected_after_close(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", feature_names=["x"])
    c.collect(np.array([1.0]))
    assert modeltap.flush()
    pipeline = modeltap.lifecycle.pipeline()
    assert pipeline.close()
    c.collect(np.array([2.0]))
    assert pipeline.stats()["rows_dropped"]["closed"] == 1
    assert not pipeline.flush()
    assert pipeline.flush()


def test_rows_the_spool_had_no_room_for(tmp_path: Path) -> None:
    # The store refuses once; the spool cannot take the chunk; nothing waits afterwards, so only
    # the loss can make flush() False (it used to say True).
    store = FlakyStore(str(tmp_path / "data"), failures=1)
    modeltap.configure(store=store, flush_interval=60.0, spool_dir=tmp_path / "spool", spool_max_bytes=1)
    c = modeltap.Collector("m", feature_names=["x"])
    c.collect(np.array([1.0]))
    assert not modeltap.flush()
    s = modeltap.stats()
    assert s["rows_dropped"]["spool_full"] == 1 and s["spool_chunks"] == 0
    c.collect(np.array([2.0]))
    assert modeltap.flush()
    assert modeltap.close()


def test_rows_given_up_on_at_close(tmp_path: Path) -> None:
    store = FlakyStore(str(tmp_path / "data"), failures=10**9)
    modeltap.configure(store=store, flush_interval=60.0, spool_max_bytes=0)
    c = modeltap.Collector("m", feature_names=["x"])
    c.collect(np.array([1.0]))
    pipeline = modeltap.lifecycle.pipeline()
    assert not pipeline.close(timeout=1.0)
    # The uploader counts the rows when its retry next wakes up, just after close() returned.
    for _ in range(100):
        if pipeline.stats()["rows_dropped"]["store"]:
            break
        threading.Event().wait(0.1)
    assert pipeline.stats()["rows_dropped"]["store"] == 1
    assert not pipeline.flush()


def test_a_loss_during_a_flush_is_reported_by_one_flush_or_the_next(tmp_path: Path) -> None:
    # Losses counted while a flush waits belong to its window: never missed by both.
    store = GatedStore(tmp_path)
    modeltap.configure(store=store, capacity=4, chunk_bytes=64, max_sealed=1, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["x"])
    answers: list[bool] = []
    waiting = threading.Thread(target=lambda: answers.append(modeltap.flush()))
    c.collect(np.array([0.0]))
    waiting.start()
    for i in range(2000):
        c.collect(np.array([float(i)]))
    store.gate.set()
    waiting.join()
    answers.append(modeltap.flush())
    assert modeltap.stats()["rows_dropped"]["ring_full"] > 0
    assert answers.count(False) >= 1
    assert modeltap.flush()
    assert modeltap.close()
