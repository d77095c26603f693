"""Suite 4, end to end: rows/s from collect() into a real store until flushed, with
``policy="block"``; and with ``policy="drop"``, the share of rows dropped at a fixed offered load.

Stores: LocalStore (a temp folder) and AzureBlobStore on Azurite (a real server, on this machine).
Peer: the hand-written queue + thread + csv writer on the same rows into a local file.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import modeltap
from conftest import median, size
from peers.handwritten import QueueCsvWriter

ROWS = size(1_000_000, 64_000)
BATCH = np.random.default_rng(0).random((32, 6))
FEATURES = [f"f{i}" for i in range(6)]
RESULTS: dict[str, float] = {}


@pytest.fixture(scope="module")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Any]:
    from servers.azurite import Azurite  # noqa: PLC0415 - from tests/, on the path once conftest ran

    with Azurite(tmp_path_factory.mktemp("azurite")) as server:
        yield server


def _store(kind: str, root: Path, azurite: Any) -> Any:
    if kind == "local":
        return modeltap.LocalStore(root)
    return modeltap.AzureBlobStore(connection_string=azurite.connection_string, container=f"b{time.time_ns()}")


@pytest.mark.parametrize("kind", ["local", "azurite"])
def test_block_policy_rows_per_second(benchmark: Any, kind: str, tmp_path: Path, request: Any) -> None:
    benchmark.group = "end to end"
    azurite = request.getfixturevalue("azurite") if kind == "azurite" else None

    def setup() -> tuple[tuple[Any, dict[str, Any]], dict[str, Any]]:
        modeltap.configure(store=_store(kind, tmp_path / str(time.time_ns()), azurite), spool_max_bytes=0)
        # stats() keeps counting across configure(): each round checks its own rows.
        return (modeltap.Collector("e2e", "inputs", FEATURES, policy="block", timeout=60), modeltap.stats()), {}

    def run(c: modeltap.Collector, before: dict[str, Any]) -> None:
        for _ in range(ROWS // 32):
            c.collect(BATCH)
        assert modeltap.flush(timeout=600)
        s = modeltap.stats()
        assert s["rows_written"] - before["rows_written"] == ROWS
        assert sum(s["rows_dropped"].values()) == sum(before["rows_dropped"].values())

    benchmark.pedantic(run, setup=setup, rounds=size(3, 1), iterations=1)
    m = median(benchmark)
    modeltap.close()
    if m is not None:
        RESULTS[kind] = ROWS / m
        benchmark.extra_info["rows/s"] = round(ROWS / m)


def test_peer_queue_thread_csv_rows_per_second(benchmark: Any, tmp_path: Path) -> None:
    benchmark.group = "end to end"

    def run() -> None:
        writer = QueueCsvWriter(tmp_path / f"{time.time_ns()}.csv", FEATURES)
        for _ in range(ROWS // 32):
            writer.collect(BATCH)
        writer.close()

    benchmark.pedantic(run, rounds=size(3, 1), iterations=1)
    m = median(benchmark)
    if m is not None:
        RESULTS["handwritten"] = ROWS / m
        benchmark.extra_info["rows/s"] = round(ROWS / m)


def test_drop_policy_at_a_fixed_offered_load(tmp_path: Path) -> None:
    """Offers 1x6 rows at 200,000 rows/s for a while into a deliberately small queue; reports
    the share dropped. No timing assertion: it shows what ``drop`` does under overload."""
    modeltap.configure(store=modeltap.LocalStore(tmp_path), capacity=1024, spool_max_bytes=0)
    c = modeltap.Collector("e2e_drop", "inputs", FEATURES, policy="drop")
    before = modeltap.stats()
    row = BATCH[:1]
    rate, seconds = 200_000, size(5, 1) / 2
    start = time.perf_counter()
    offered = 0
    while (elapsed := time.perf_counter() - start) < seconds:
        due = int(elapsed * rate)
        while offered < due:
            c.collect(row)
            offered += 1
    lossless = modeltap.flush(timeout=120)  # False when rows were dropped before it
    assert modeltap.flush(timeout=120)  # everything settled; the drops were reported once
    s = modeltap.stats()
    dropped = s["rows_dropped"]["ring_full"] - before["rows_dropped"]["ring_full"]
    assert s["rows_written"] - before["rows_written"] + dropped == offered
    assert lossless == (dropped == 0)
    RESULTS["drop share"] = dropped / offered
    print(f"\ndrop policy: offered {offered:,} rows at {rate:,}/s, dropped {dropped / offered:.1%}")
    modeltap.close()


def test_gross_regressions() -> None:
    if not {"local", "handwritten"} <= RESULTS.keys():
        pytest.skip("benchmarks disabled (run with --benchmark-enable)")
    ratio = RESULTS["local"] / RESULTS["handwritten"]
    print(f"\nend to end: LocalStore {RESULTS['local']:,.0f} rows/s, {ratio:.1f}x queue + thread + csv")
    assert ratio > 1.0
