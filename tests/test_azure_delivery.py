"""Exactly once into Azure, through unknown outcomes, faults, several writers, an outage and a
SIGKILL: every row arrives once, every blob has one header, no row is torn."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pytest

import modeltap
from conftest import blob_lines
from modeltap.stores.azure import AzureBlobStore
from modeltap.stores.errors import StoreError
from servers.azurite import KEY, Azurite
from servers.faults import FaultProxy

FOLDER = "sub/rg/ws/svc/model/1/inputs/2026/11/24"
WRITER = Path(__file__).parent / "servers" / "writer.py"
HEADER = "writer,i,payload,$correlation_id,$scoring_timestamp,$request_id,$row"


@pytest.fixture
def proxy(azurite: Azurite) -> FaultProxy:
    p = FaultProxy(azurite.port, withhold_for=0.8, seed=7)
    yield p  # type: ignore[misc]
    p.close()


@pytest.mark.parametrize("mode", ["withhold", "error_after", "reset_after"])
def test_an_append_that_landed_unseen_is_not_written_again(
    azurite: Azurite, proxy: FaultProxy, container: str, mode: str
) -> None:
    store = AzureBlobStore(connection_string=proxy.connection_string(KEY), container=container, timeout=0.5)
    store.append(FOLDER, b"1\n", b"h\n")
    proxy.fail_next(mode)
    store.append(FOLDER, b"2\n", b"h\n")
    assert proxy.counts[mode] == 1
    assert blob_lines(store, FOLDER) == {f"{FOLDER}/data.csv": ["h", "1", "2"]}


@pytest.mark.parametrize("mode", ["withhold", "reset_after"])
def test_it_is_found_also_when_other_writers_appended_after_it(
    azurite: Azurite, proxy: FaultProxy, container: str, mode: str
) -> None:
    mine = AzureBlobStore(connection_string=proxy.connection_string(KEY), container=container, timeout=0.5)
    other = AzureBlobStore(connection_string=azurite.connection_string, container=container)
    mine.append(FOLDER, b"mine 1\n", b"h\n")
    proxy.fail_next(mode)
    # While this writer waits for the answer it never gets, another writer appends twice.
    appended = threading.Thread(target=lambda: [other.append(FOLDER, f"other {i}\n".encode(), b"h\n") for i in (1, 2)])
    proxy.after_applied = appended.start
    mine.append(FOLDER, b"mine 2\n", b"h\n")
    appended.join()
    lines = blob_lines(mine, FOLDER)[f"{FOLDER}/data.csv"]
    assert sorted(lines) == sorted(["h", "mine 1", "mine 2", "other 1", "other 2"])


def test_a_failed_condition_after_a_lost_answer_still_finds_the_rows(
    azurite: Azurite, proxy: FaultProxy, container: str
) -> None:
    store = AzureBlobStore(connection_string=proxy.connection_string(KEY), container=container, timeout=0.5)
    store.append(FOLDER, b"1\n", b"h\n")
    proxy.fail_next("withhold")
    proxy.fail_next("error")  # the look-up after it fails too
    store.append(FOLDER, b"2\n", b"h\n")
    assert blob_lines(store, FOLDER)[f"{FOLDER}/data.csv"] == ["h", "1", "2"]


def test_block_count_exceeded_from_the_service_rolls_over(azurite: Azurite, proxy: FaultProxy, container: str) -> None:
    store = AzureBlobStore(connection_string=proxy.connection_string(KEY), container=container)
    store.append(FOLDER, b"1\n", b"h\n")
    proxy.fail_next("answer", status=409, code="BlockCountExceedsLimit")
    store.append(FOLDER, b"2\n", b"h\n")
    assert blob_lines(store, FOLDER) == {f"{FOLDER}/data.csv": ["h", "1"], f"{FOLDER}/data.1.csv": ["h", "2"]}


def test_throttling_is_retried_and_lands_once(azurite: Azurite, proxy: FaultProxy, container: str) -> None:
    store = AzureBlobStore(connection_string=proxy.connection_string(KEY), container=container)
    store.append(FOLDER, b"1\n", b"h\n")
    for _ in range(3):
        proxy.fail_next("answer", status=503, code="ServerBusy")
    proxy.fail_next("answer", status=429, code="TooManyRequests")
    store.append(FOLDER, b"2\n", b"h\n")
    assert blob_lines(store, FOLDER)[f"{FOLDER}/data.csv"] == ["h", "1", "2"]


def _run_writers(env: dict[str, str], container: str, writers: int, rows: int, chunk_bytes: int) -> list[dict]:  # type: ignore[type-arg]
    procs = [
        subprocess.Popen(
            [sys.executable, str(WRITER), str(w), str(rows), container, str(chunk_bytes)],
            env={**os.environ, **env},
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(writers)
    ]
    results = []
    for p in procs:
        out, err = p.communicate(timeout=600)
        assert p.returncode == 0, err[-3000:]
        results.append(json.loads(out.splitlines()[-1]))
    return results


def _check_exactly_once(store: AzureBlobStore, writers: int, rows: int) -> None:
    blobs = blob_lines(store)
    seen: Counter[tuple[int, int]] = Counter()
    for lines in blobs.values():
        assert lines[0] == HEADER and lines.count(HEADER) == 1
        for line in lines[1:]:
            fields = line.split(",")
            assert len(fields) == 7, f"torn row: {line!r}"
            w, i, value = int(float(fields[0])), int(float(fields[1])), float(fields[2])
            assert value == w * 1_000_003.0 + i * 0.5, f"altered row: {line!r}"
            seen[(w, i)] += 1
    assert len(seen) == writers * rows, "rows missing"
    assert max(seen.values()) == 1, f"rows written twice: {[k for k, v in seen.items() if v > 1][:5]}"


# Three writers through faults take ~70 s alone on 2 cores; the time limit only guards a hang.
@pytest.mark.timeout(400)
def test_under_twenty_percent_faults_every_row_arrives_exactly_once(
    azurite: Azurite, proxy: FaultProxy, container: str
) -> None:
    proxy.rate = 0.2
    env = {
        "TEST_AZURE_CONNECTION_STRING": proxy.connection_string(KEY),
        "TEST_AZURE_TIMEOUT": "0.5",
        "TEST_AZURE_RETRY_FOR": "5",
        # Paced appends gather chunks; a small block keeps them many, so faults are met.
        "TEST_AZURE_MAX_BLOCK_BYTES": "6144",
    }
    results = _run_writers(env, container, writers=3, rows=3000, chunk_bytes=2048)
    _check_exactly_once(AzureBlobStore(connection_string=azurite.connection_string, container=container), 3, 3000)
    applied_unseen = sum(proxy.counts[m] for m in ("withhold", "error_after", "reset_after"))
    assert applied_unseen >= 10, proxy.counts  # the case that duplicates rows was really met
    assert sum(r["store_errors"] for r in results) > 0


def test_four_processes_write_50000_rows_each_into_one_blob(azurite: Azurite, container: str) -> None:
    env = {"TEST_AZURE_CONNECTION_STRING": azurite.connection_string}
    results = _run_writers(env, container, writers=4, rows=50_000, chunk_bytes=32 << 10)
    store = AzureBlobStore(connection_string=azurite.connection_string, container=container)
    assert len(list(store.list_files())) == 1
    _check_exactly_once(store, 4, 50_000)
    assert sum(r["chunks_written"] for r in results) > 4 * 50  # many interleaved appends


def test_an_outage_of_30_seconds_loses_nothing(tmp_path: Path, container: str) -> None:
    server = Azurite(tmp_path / "azurite")
    server.start()
    try:
        store = AzureBlobStore(connection_string=server.connection_string, container=container, timeout=2, retry_for=2)
        modeltap.configure(store=store, flush_interval=0.5)
        c = modeltap.Collector("m", "inputs", ["phase", "i"], policy="block", timeout=30)
        sent = 0

        def collect_for(seconds: float, phase: float) -> None:
            nonlocal sent
            end = time.monotonic() + seconds
            while time.monotonic() < end:
                c.collect(np.array([[phase, float(sent)]]))
                sent += 1
                time.sleep(0.005)

        collect_for(2, 0)
        server.stop()
        collect_for(30, 1)
        assert modeltap.stats()["rows_spooled"] > 0
        server.start()  # same port, same data folder
        collect_for(2, 2)
        assert modeltap.flush(timeout=120)
        s = modeltap.stats()
        assert s["rows_written"] == sent and s["spool_chunks"] == 0
        assert modeltap.close()
        ((_, lines),) = blob_lines(store).items()
        assert lines.count(lines[0]) == 1
        assert [int(float(line.split(",")[1])) for line in lines[1:]] == list(range(sent))
    finally:
        server.stop()


def test_rows_spooled_by_a_killed_process_are_delivered_by_the_next(tmp_path: Path, container: str) -> None:
    server = Azurite(tmp_path / "azurite")
    server.start()
    server.stop()  # down while the first process runs: its rows can only go to the spool
    spool = tmp_path / "spool"
    env = {
        **os.environ,
        "TEST_AZURE_CONNECTION_STRING": server.connection_string,
        "TEST_AZURE_TIMEOUT": "1",
        "TEST_AZURE_RETRY_FOR": "1",
        "MODELTAP_SPOOL_DIR": str(spool),
    }
    first = subprocess.Popen(
        [sys.executable, str(WRITER), "0", "500", container, "4096", "--kill-after-spool"],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
    )
    assert first.stdout is not None
    with first.stdout:
        try:
            assert first.stdout.readline().strip() == "SPOOLED"
        finally:
            first.send_signal(signal.SIGKILL)
            first.wait(30)
    assert list(spool.glob("*.chunk"))
    server.start()
    try:
        # The next process with the same spool folder and store delivers them, then its own.
        second = subprocess.run(
            [sys.executable, str(WRITER), "1", "10", container, "4096"],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
        assert second.returncode == 0, second.stderr[-3000:]
        assert not list(spool.glob("*.chunk"))
        store = AzureBlobStore(connection_string=server.connection_string, container=container)
        rows = [line.split(",")[:2] for lines in blob_lines(store).values() for line in lines[1:]]
        assert sorted((int(float(w)), int(float(i))) for w, i in rows) == [(0, i) for i in range(500)] + [
            (1, i) for i in range(10)
        ]
    finally:
        server.stop()


def test_when_only_part_of_a_large_chunk_landed_the_error_carries_the_rest(
    azurite: Azurite, proxy: FaultProxy, container: str
) -> None:
    store = AzureBlobStore(
        connection_string=proxy.connection_string(KEY), container=container, max_block_bytes=4, retry_for=0.5
    )
    store.append(FOLDER, b"0\n", b"h\n")
    proxy.fail_next("pass", match="comp=appendblock")  # the first piece goes through
    for _ in range(20):
        proxy.fail_next("answer", match="comp=appendblock", status=503, code="ServerBusy")
    with pytest.raises(StoreError) as info:
        store.append(FOLDER, b"1\n2\n3\n", b"h\n")
    assert info.value.rest == b"3\n"
    proxy.script.clear()
    store.append(FOLDER, info.value.rest, b"h\n", resume=info.value.resume)
    assert blob_lines(store, FOLDER)[f"{FOLDER}/data.csv"] == ["h", "0", "1", "2", "3"]
