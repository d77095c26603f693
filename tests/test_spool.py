"""The spool on its own: order, crash safety, damage, a full disk budget, several processes."""

from __future__ import annotations

import logging
import multiprocessing
import os
from pathlib import Path

import numpy as np
import pytest

import modeltap
from conftest import read
from modeltap.spool import Spool
from test_store_faults import FlakyStore


def test_chunks_come_back_in_order_and_whole(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    for i in range(5):
        assert spool.put("local:x", f"f/{i}", b"h\n", f"{i}\n".encode() * 3, 3, None if i else "7@blob")
    chunks = list(spool.claim(lambda key: True))
    assert [c.folder for c in chunks] == [f"f/{i}" for i in range(5)]
    assert chunks[0].resume == "7@blob" and chunks[1].resume is None
    assert chunks[2].header == b"h\n" and chunks[2].data == b"2\n2\n2\n" and chunks[2].rows == 3
    assert spool.census() == {"local:x": 5}


def test_a_damaged_file_is_set_aside_and_reported(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.put("k", "a", b"h\n", b"1\n", 1, None)
    spool.put("k", "b", b"h\n", b"2\n", 1, None)
    first = spool.files()[0]
    first.write_bytes(first.read_bytes()[:-1] + b"X")  # a flipped byte
    (tmp_path / "0-0-0.chunk").write_bytes(b"garbage")
    with caplog.at_level(logging.ERROR, logger="modeltap.spool"):
        assert [c.folder for c in spool.claim(lambda key: True)] == ["b"]
    assert "checksum mismatch" in caplog.text and "not a modeltap spool file" in caplog.text
    assert sorted(p.name for p in (tmp_path / "damaged").iterdir()) == sorted(["0-0-0.chunk", first.name])
    assert spool.damaged == 2


def test_a_full_spool_counts_and_logs_the_loss(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    modeltap.configure(
        store=FlakyStore(str(tmp_path / "data"), failures=10**9), flush_interval=60.0, spool_max_bytes=1000
    )
    c = modeltap.Collector("m", feature_names=["i"])
    with caplog.at_level(logging.ERROR, logger="modeltap"):
        for i in range(3):
            c.collect(np.full((5, 1), float(i)))
            modeltap.flush(timeout=0.2)
    s = modeltap.stats()
    assert s["rows_spooled"] == 5 and s["rows_dropped"]["spool_full"] == 10
    assert "the spool is full" in caplog.text
    modeltap.close(timeout=0.5)


def test_temp_files_of_dead_writers_are_cleaned(tmp_path: Path) -> None:
    dead = tmp_path / ".123-999999999-00000000.chunk.tmp"
    dead.write_bytes(b"half a chunk")
    Spool(tmp_path, max_bytes=1 << 20).clean_temp()
    assert not dead.exists()


def _hold(path: str, ready: multiprocessing.synchronize.Event, release: multiprocessing.synchronize.Event) -> None:
    spool = Spool(path, max_bytes=1 << 20)
    for _ in spool.claim(lambda key: True):
        ready.set()
        release.wait(30)
        return


def test_a_chunk_another_process_is_delivering_is_skipped(tmp_path: Path) -> None:
    spool = Spool(tmp_path, max_bytes=1 << 20)
    spool.put("k", "a", b"h\n", b"1\n", 1, None)
    spool.put("k", "b", b"h\n", b"2\n", 1, None)
    ctx = multiprocessing.get_context("spawn")
    ready, release = ctx.Event(), ctx.Event()
    other = ctx.Process(target=_hold, args=(str(tmp_path), ready, release))
    other.start()
    try:
        assert ready.wait(30)
        assert [c.folder for c in spool.claim(lambda key: True)] == ["b"]
    finally:
        release.set()
        other.join(30)
    assert [c.folder for c in spool.claim(lambda key: True)] == ["a", "b"]


def test_a_pipeline_keeps_a_stores_rows_in_order_while_its_spool_drains(tmp_path: Path) -> None:
    store = FlakyStore(str(tmp_path / "data"), failures=2)
    modeltap.configure(store=store, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["i"])
    for i in range(6):
        c.collect(np.array([float(i)]))
        assert modeltap.flush(timeout=30) == (i > 0) or i == 0
    assert modeltap.flush(timeout=30)
    (path,) = sorted((tmp_path / "data").rglob("*.csv"))
    assert read(path)["i"].tolist() == [float(i) for i in range(6)]
    assert modeltap.close()
    assert not list(Path(os.environ["MODELTAP_SPOOL_DIR"]).glob("*.chunk"))
