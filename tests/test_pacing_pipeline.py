"""Pacing through the whole pipeline, against Azurite: sealed chunks wait on disk for their
destination's turn, go in one append when it comes, and survive a SIGKILL exactly once."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pytest
from prometheus_client import CollectorRegistry, generate_latest

import modeltap
import modeltap.metrics
from conftest import blob_lines
from modeltap.stores.azure import INTERVAL_KEY, AzureBlobStore, parse_interval
from modeltap.testing import ManualClock
from servers.azurite import Azurite

WRITER = Path(__file__).parent / "servers" / "paced_writer.py"
DAY_FOLDER = "default/default/default/default/m/default/general/2026/11/24"


def _store(azurite: Azurite, container: str) -> AzureBlobStore:
    return AzureBlobStore(connection_string=azurite.connection_string, container=container, max_blocks=300)


def _ids(store: AzureBlobStore) -> Counter[int]:
    files = blob_lines(store)
    assert list(files) == [f"{DAY_FOLDER}/data.csv"], list(files)
    lines = files[f"{DAY_FOLDER}/data.csv"]
    column = lines[0].split(",").index("id")
    return Counter(int(float(line.split(",")[column])) for line in lines[1:])


def _blocks(store: AzureBlobStore) -> int:
    client = store._container.get_blob_client(f"{DAY_FOLDER}/data.csv")
    return int(client.get_blob_properties().append_blob_committed_block_count)


@dataclass(frozen=True)
class _Paced:
    store: AzureBlobStore
    #: The partition's clock: it stands still until a test advances it.
    clock: ManualClock
    #: A collector of one column, ``id``, whose row 0 is appended already.
    ids: modeltap.Collector


@pytest.fixture
def paced(azurite: Azurite, container: str, tmp_path: Path) -> Iterator[_Paced]:
    """The process pipeline on a paced Azurite store, after its first append (the blob's
    header and row 0), with a spool to wait in; closed, losing nothing, after the test."""
    store = _store(azurite, container)
    clock = ManualClock(datetime(2026, 11, 24, 10, tzinfo=timezone.utc))
    modeltap.configure(store=store, clock=clock, flush_interval=0.1, spool_dir=tmp_path / "spool")
    try:
        ids = modeltap.Collector("m", feature_names=["id"])
        ids.collect(np.zeros((1, 1)))
        assert modeltap.flush()
        assert _blocks(store) == 2, "the first append: the header and row 0"
        yield _Paced(store, clock, ids)
    finally:
        assert modeltap.close()


def test_sealed_chunks_wait_on_disk_and_go_in_one_append_when_due(paced: _Paced) -> None:
    registry = CollectorRegistry()
    modeltap.metrics.register(registry)
    for k in range(1, 6):
        paced.ids.collect(np.full((1, 1), float(k)))
        _wait(lambda k=k: modeltap.stats()["rows_spooled"] >= k + 1)  # the flushed row went through it too
    # Sealed and on disk; the partition clock stood still, so none was due.
    assert _blocks(paced.store) == 2
    pacing = modeltap.stats()["pacing"][f"{DAY_FOLDER}/data"]
    assert pacing["blocks"] == 2 and pacing["interval"] >= 0.1
    assert pacing["projected_blocks"] >= 2
    text = generate_latest(registry).decode()
    assert f'modeltap_blob_blocks{{file="{DAY_FOLDER}/data"}} 2.0' in text
    assert "modeltap_append_interval_seconds{" in text and "modeltap_blob_projected_blocks{" in text
    paced.clock.advance(3600)
    _wait(lambda: modeltap.stats()["rows_written"] == 6)
    assert _blocks(paced.store) == 3, "the five waiting chunks went in one append"
    assert modeltap.stats()["pacing"][f"{DAY_FOLDER}/data"]["blocks"] == 3
    assert modeltap.close()
    assert _ids(paced.store) == Counter(range(6))


def test_a_writer_killed_with_rows_waiting_for_their_turn_loses_none_that_were_sealed(
    azurite: Azurite, container: str, tmp_path: Path
) -> None:
    spool = tmp_path / "spool"
    batches = 8
    child = subprocess.Popen(
        [sys.executable, str(WRITER), container, str(spool), str(batches)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "TEST_AZURE_CONNECTION_STRING": azurite.connection_string},
    )
    try:
        assert child.stdout is not None
        sealed = child.stdout.readline()
        assert sealed.startswith(f"sealed {10 * (batches + 1)} written 10"), (sealed, child.stderr.read())
        assert child.stdout.readline() == "young\n"
    finally:
        child.send_signal(signal.SIGKILL)
        child.communicate(timeout=30)
    store = _store(azurite, container)
    assert _ids(store) == Counter(range(10)), "only the flushed batch was appended before the kill"

    # The successor delivers what the killed process had written ahead, exactly once.
    modeltap.configure(store=store, flush_interval=0.1, spool_dir=spool)
    modeltap.Collector("m", feature_names=["id"])
    assert modeltap.close()
    ids = _ids(store)
    assert max(ids.values()) == 1, "no row twice"
    assert set(range(10 * (batches + 1))) <= set(ids), "every row sealed before the kill"
    assert set(ids) <= set(range(10 * (batches + 2)))


def _wait(condition: Callable[[], bool], tries: int = 600) -> None:
    for _ in range(tries):
        if condition():
            return
        time.sleep(0.05)
    raise AssertionError("timed out waiting for the pipeline")


def test_the_fleet_interval_is_published_in_the_blob_and_hostile_metadata_is_ignored(
    paced: _Paced, azurite: Azurite, container: str
) -> None:
    store = paced.store
    client = store._container.get_blob_client(f"{DAY_FOLDER}/data.csv")
    published = client.get_blob_properties().metadata[INTERVAL_KEY]
    assert float(published) == modeltap.stats()["pacing"][f"{DAY_FOLDER}/data"]["interval"]
    assert modeltap.close()
    # Anyone with access writes the blob's metadata: what is not a plain interval is ignored.
    header = store.read_bytes(f"{DAY_FOLDER}/data.csv").split(b"\n", 1)[0] + b"\n"
    for hostile in ("-5", "0", "nan", "inf", "1e999", "9" * 40, "abc", "", "1" * 1000):
        client.set_blob_metadata({INTERVAL_KEY: hostile})
        reader = _store(azurite, container)
        reader.position(DAY_FOLDER, header)  # reads the blob's properties
        seen = reader.blob_seen(DAY_FOLDER)
        assert seen is not None and seen[2] is None, hostile
        reader.close()
    assert parse_interval({INTERVAL_KEY: "90.5"}) == 90.5
    assert parse_interval(None) is None and parse_interval({INTERVAL_KEY: 5}) is None
