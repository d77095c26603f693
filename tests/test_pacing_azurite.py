"""The pacing model fed by a real service: tens of stores share one Azurite blob of 300 appends.

A compressed day (simulated seconds, stepped by the test), a test-only blob limit, writers with
their own ``AzureBlobStore`` joining and leaving mid-partition, appending concurrently. Each
writer paces from the blob's committed block count as the service reports it. Nothing here goes
through the pipeline yet: this is the model against the store it will be wired into.
"""

from __future__ import annotations

import math
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from itertools import repeat

from azure.core.exceptions import ResourceNotFoundError
from azure.storage.blob import BlobClient

from conftest import blob_lines
from fleet import DAY, HOUR
from modeltap.pacing import Pacer, PacingPolicy
from modeltap.stores.azure import AzureBlobStore
from servers.azurite import Azurite

FOLDER = "sub/rg/ws/svc/model/1/inputs/2026/11/24"
HEADER = b"id\n"
#: A scaled blob: 300 appends for the day; the floor (Azure's 30 s of a day, scaled by 60) lets
#: 30 writers at the floor spend 1,440 appends.
POLICY = PacingPolicy(max_blocks=300, floor=1800.0, ceiling=DAY / 4, reserve=0.25)
STEP = 300.0


@dataclass
class _Writer:
    name: str
    join: float
    leave: float
    store: AzureBlobStore
    pacer: Pacer | None = None
    rows: list[str] = field(default_factory=list)
    made: int = 0
    gone: bool = False

    def collect(self) -> None:
        # A row every simulated minute: they wait (here in memory; on disk once wired in).
        for _ in range(int(STEP // 60)):
            self.rows.append(f"{self.name}-{self.made}")
            self.made += 1

    def append(self, blob: BlobClient, now: float) -> None:
        self.store.append(FOLDER, "".join(f"{row}\n" for row in self.rows).encode(), HEADER)
        self.rows.clear()
        assert self.pacer is not None
        self.pacer.observe(now, blocks(blob))


def blocks(blob: BlobClient) -> int:
    """The blob's committed block count, as the answer to an append gives it."""
    try:
        props = blob.get_blob_properties()
    except ResourceNotFoundError:
        return 0
    return int(props.append_blob_committed_block_count or 0)


def test_tens_of_writers_keep_a_scaled_day_in_one_azurite_blob(azurite: Azurite, container: str) -> None:
    schedule = [(0.0, math.inf)] * 8 + [(6 * HOUR, 18 * HOUR)] * 12 + [(12 * HOUR, math.inf)] * 10
    writers = [
        _Writer(f"w{i}", join, leave, AzureBlobStore(connection_string=azurite.connection_string, container=container))
        for i, (join, leave) in enumerate(schedule)
    ]
    # Unpaced, at the floor, this fleet would spend several blobs' worth of appends.
    assert sum((min(DAY, leave) - join) / POLICY.floor for join, leave in schedule) > 3 * POLICY.max_blocks
    blob = BlobClient.from_connection_string(azurite.connection_string, container, f"{FOLDER}/data.csv")
    now = 0.0
    try:
        with ThreadPoolExecutor(max_workers=8) as pool:
            while now <= DAY:
                due = []
                for w in writers:
                    if w.gone or now < w.join:
                        continue
                    if w.pacer is None:
                        w.pacer = Pacer(POLICY, 0.0, DAY)
                        if found := blocks(blob):
                            w.pacer.observe(now, found, own=False)
                    w.collect()
                    if now >= w.leave or w.pacer.due(now):
                        due.append(w)  # a leaving writer's close() appends what it holds
                list(pool.map(_Writer.append, due, repeat(blob), repeat(now)))
                for w in due:
                    w.gone = now >= w.leave
                now += STEP
    finally:
        for w in writers:
            w.store.close()

    files = blob_lines(writers[0].store)
    assert list(files) == [f"{FOLDER}/data.csv"], "one blob for the day, no rollover"
    lines = files[f"{FOLDER}/data.csv"]
    assert lines[0] == "id"
    seen = Counter(lines[1:])
    assert max(seen.values()) == 1, "no row twice"
    assert all(not w.rows for w in writers), "every writer appended what it held by the day's end"
    assert set(seen) == {f"{w.name}-{k}" for w in writers for k in range(w.made)}, "every row, once"
    assert blocks(blob) <= POLICY.max_blocks
    blob.close()
