"""A fleet's day in one blob, against Azurite: tens of writers share a blob of 300 appends.

Each writer is what a process runs: its own ``AzureBlobStore``, its own spool, and the
uploader's delivery path (:class:`modeltap.delivery.Deliveries` with its pacers), fed sealed
chunks as the encoder hands them over. The day is compressed (the partition clock is set by
the test, in steps), the blob's limit is scaled down (``max_blocks=300``) and so is the floor
(Azure's 30 s scaled by 60: 30 writers at the floor would spend 1,440 appends). Writers join and
leave mid-partition (a leaving writer's close() delivers what waits); each chunk is written
ahead to the spool and waits there for its destination's turn.
"""

from __future__ import annotations

import tracemalloc
from calendar import timegm
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conftest import blob_lines
from modeltap.delivery import Deliveries
from modeltap.paces import Paces
from modeltap.stores.azure import AzureBlobStore
from servers.azurite import Azurite

FOLDER = "sub/rg/ws/svc/model/1/inputs/2026/11/24"
START = float(timegm((2026, 11, 24, 0, 0, 0, 0, 0, 0)))
DAY = 86_400.0
HOUR = 3_600.0
HEADER = b"id\n"
MAX_BLOCKS = 300
#: Azure's 30 s flush interval of a day, scaled like the blob's 50,000 appends to 300.
FLOOR = 1800.0
#: Each step, every writer's encoder seals one chunk: a row every simulated minute.
STEP = 600.0


@dataclass
class _Clock:
    now: float = START

    def __call__(self) -> float:
        return self.now


@dataclass
class _Writer:
    name: str
    join: float
    leave: float
    store: AzureBlobStore
    deliveries: Deliveries
    made: int = 0
    gone: bool = False
    spooled_peak: int = 0
    rows_log: list[str] = field(default_factory=list)

    def seal(self) -> None:
        rows = [f"{self.name}-{self.made + k}" for k in range(int(STEP // 60))]
        self.made += len(rows)
        data = "".join(f"{r}\n" for r in rows).encode()
        self.deliveries.deliver(self.store, FOLDER, HEADER, data, len(rows), give_up=lambda: False)
        assert self.deliveries.spool is not None
        self.spooled_peak = max(self.spooled_peak, self.deliveries.spool.size())

    def drain(self, closing: bool) -> None:
        self.deliveries.drain(None, now_or_never=closing)


@pytest.fixture
def fleet(azurite: Azurite, container: str, tmp_path: Path) -> Iterator[tuple[list[_Writer], _Clock]]:
    clock = _Clock()
    # 8 all day, 12 from 06:00 to 18:00, 10 from 12:00 on.
    schedule = [(0.0, DAY)] * 8 + [(6 * HOUR, 18 * HOUR)] * 12 + [(12 * HOUR, DAY)] * 10
    writers = []
    for i, (join, leave) in enumerate(schedule):
        store = AzureBlobStore(
            connection_string=azurite.connection_string, container=container, max_blocks=MAX_BLOCKS, timeout=10.0
        )
        deliveries = Deliveries.open(tmp_path / f"spool{i}", 1 << 30)
        deliveries.paces = Paces(floor=FLOOR, clock=clock, ceiling=DAY / 4)
        deliveries.add_store(store)
        writers.append(_Writer(f"w{i}", START + join, START + leave, store, deliveries))
    yield writers, clock
    for w in writers:
        w.deliveries.close()
        w.store.close()


def test_tens_of_writers_joining_and_leaving_keep_a_scaled_day_in_one_azurite_blob(
    fleet: tuple[list[_Writer], _Clock],
) -> None:
    writers, clock = fleet
    unpaced = sum((w.leave - w.join) / FLOOR for w in writers)
    assert unpaced > 3 * MAX_BLOCKS, "at the floor, this fleet would fill three blobs"
    tracemalloc.start()
    memory: list[int] = []
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            while clock.now < START + DAY:
                active = [w for w in writers if not w.gone and w.join <= clock.now]
                for w in active:
                    w.seal()
                leaving = [w for w in active if clock.now + STEP >= w.leave]
                # Writers append concurrently, as processes do; a leaving one's close() delivers all.
                list(pool.map(_Writer.drain, active, [w in leaving for w in active]))
                for w in leaving:
                    w.gone = True
                memory.append(tracemalloc.get_traced_memory()[0])
                clock.now += STEP
    finally:
        tracemalloc.stop()

    store = writers[0].store
    files = blob_lines(store)
    assert list(files) == [f"{FOLDER}/data.csv"], "one blob for the day, no rollover"
    lines = files[f"{FOLDER}/data.csv"]
    assert lines[0] == "id"
    seen = Counter(lines[1:])
    assert max(seen.values()) == 1, "no row twice"
    assert set(seen) == {f"{w.name}-{k}" for w in writers for k in range(w.made)}, "every row"
    blocks = int(
        store._container.get_blob_client(f"{FOLDER}/data.csv").get_blob_properties().append_blob_committed_block_count
    )
    assert blocks <= MAX_BLOCKS
    for w in writers:
        assert w.deliveries.pending() == 0
        assert w.deliveries.counters.rows_written == w.made
    # Rows wait on disk, not in memory: what the process holds does not grow with the day.
    quarter = len(memory) // 4
    assert max(memory[quarter:]) < 2 * max(memory[:quarter]) + (4 << 20), memory
    print(
        f"\nwriters={len(writers)} rows={len(seen)} duplicates=0 blocks={blocks}/{MAX_BLOCKS} "
        f"(unpaced at the floor: {unpaced:.0f}) traced memory first quarter max={max(memory[:quarter])} "
        f"rest max={max(memory[quarter:])} largest spool={max(w.spooled_peak for w in writers)} bytes"
    )


def test_a_full_spool_sends_a_paced_chunk_now_instead_of_dropping_it(
    azurite: Azurite, container: str, tmp_path: Path
) -> None:
    clock = _Clock()
    store = AzureBlobStore(connection_string=azurite.connection_string, container=container, max_blocks=MAX_BLOCKS)
    # Room for about two chunks: the pace would hold the rest, the spool cannot.
    deliveries = Deliveries.open(tmp_path / "spool", 2 * 1024 + 2 * 600)
    deliveries.paces = Paces(floor=FLOOR, clock=clock)
    deliveries.add_store(store)
    try:
        rows = [f"r{k}-{j}" for k in range(8) for j in range(60)]
        for k in range(8):
            data = "".join(f"{r}\n" for r in rows[60 * k : 60 * (k + 1)]).encode()
            deliveries.deliver(store, FOLDER, HEADER, data, 60, give_up=lambda: False)
            deliveries.drain()
        deliveries.drain(now_or_never=True)
        assert deliveries.counters.rows_dropped_spool_full == 0
        assert deliveries.counters.rows_written == len(rows)
        assert blob_lines(store)[f"{FOLDER}/data.csv"] == ["id", *rows], "every row, once, in order"
    finally:
        deliveries.close()
        store.close()
