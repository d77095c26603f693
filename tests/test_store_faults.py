"""A store that fails: retried until it takes the chunk; given up only at a close deadline."""

from __future__ import annotations

import logging
import threading

import numpy as np
import pytest

import modeltap
from conftest import read


class FlakyStore(modeltap.LocalStore):
    """A LocalStore whose first ``failures`` appends raise, as a full or read-only disk would."""

    def __init__(self, root: str, failures: int) -> None:
        super().__init__(root)
        self.failures = failures
        self.calls = 0
        self.lock = threading.Lock()

    def append(self, folder: str, data: bytes, header: bytes) -> str:
        with self.lock:
            self.calls += 1
            if self.calls <= self.failures:
                raise OSError(28, "No space left on device")
        return super().append(folder, data, header)


def test_failed_appends_are_retried_and_nothing_is_lost_or_repeated(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    store = FlakyStore(str(tmp_path), failures=3)
    modeltap.configure(store=store, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["i"])
    for i in range(100):
        c.collect(np.array([float(i)]))
    with caplog.at_level(logging.WARNING, logger="modeltap"):
        assert modeltap.flush(timeout=30)
    assert "No space left on device" in caplog.text
    (path,) = sorted(tmp_path.rglob("*.csv"))
    assert read(path)["i"].tolist() == [float(i) for i in range(100)]
    s = modeltap.stats()
    assert s["store_errors"] == 3 and s["rows_written"] == 100
    assert modeltap.close()


def test_without_a_spool_close_gives_up_at_its_deadline_and_counts_the_loss(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    store = FlakyStore(str(tmp_path), failures=10**9)
    modeltap.configure(store=store, flush_interval=60.0, spool_max_bytes=0)
    c = modeltap.Collector("m", feature_names=["i"])
    c.collect(np.arange(5.0).reshape(5, 1))
    with caplog.at_level(logging.ERROR, logger="modeltap"):
        assert not modeltap.close(timeout=0.5)
        assert "close() timed out" in caplog.text
    # The uploader gives up on its next retry and counts what it held.
    for _ in range(100):
        if modeltap.stats()["rows_dropped"]["store"] == 5:
            break
        threading.Event().wait(0.1)
    assert modeltap.stats()["rows_dropped"]["store"] == 5


def test_close_leaves_undelivered_rows_in_the_spool_for_the_next_pipeline(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    store = FlakyStore(str(tmp_path / "data"), failures=10**9)
    modeltap.configure(store=store, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["i"])
    c.collect(np.arange(5.0).reshape(5, 1))
    with caplog.at_level(logging.WARNING, logger="modeltap"):
        assert not modeltap.flush(timeout=0.5)
        assert not modeltap.close(timeout=1.0)
    assert "1 chunks stay in the spool" in caplog.text
    s = modeltap.stats()
    assert s["rows_spooled"] == 5 and s["spool_chunks"] == 1 and s["rows_dropped"]["store"] == 0
    assert not list((tmp_path / "data").rglob("*.csv"))
    # The next pipeline with a working store at the same place delivers them.
    modeltap.configure(store=modeltap.LocalStore(tmp_path / "data"), flush_interval=60.0)
    assert modeltap.flush(timeout=30)
    (path,) = sorted((tmp_path / "data").rglob("*.csv"))
    assert read(path)["i"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    assert modeltap.stats()["spool_chunks"] == 0
    assert modeltap.close()


@pytest.mark.parametrize("bad", [object(), "path"])
def test_store_must_be_a_store(store: modeltap.LocalStore, bad: object) -> None:
    with pytest.raises(TypeError, match="store must have append/flush/close"):
        modeltap.Collector("m", store=bad)  # type: ignore[arg-type]


class UnsyncableStore(modeltap.LocalStore):
    def flush(self) -> None:
        raise OSError(5, "Input/output error")


def test_flush_reports_a_store_that_could_not_make_rows_durable(tmp_path, caplog) -> None:  # type: ignore[no-untyped-def]
    modeltap.configure(store=UnsyncableStore(tmp_path), flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["i"])
    c.collect(np.array([1.0]))
    with caplog.at_level(logging.ERROR, logger="modeltap"):
        assert not modeltap.flush()
    assert "failed to flush" in caplog.text
    assert modeltap.stats()["rows_written"] == 1
    modeltap.close()
