"""A process collecting to a paced Azure blob, to be SIGKILLed with rows waiting for their turn.

    TEST_AZURE_CONNECTION_STRING=... python tests/servers/paced_writer.py <container> <spool> <batches>

Collects batch 0 and flushes it (the blob's first append), then collects ``batches`` more (ids
``10 * batch + k``) without flushing; the partition clock stands still, so the destination's
pace is never due again and each sealed chunk waits, written ahead, in the spool. Prints
``sealed <rows>`` once every row is on disk, then ``young`` after one more batch, younger than
``flush_interval``, and waits to be killed.
"""

from __future__ import annotations

import os
import sys
import time
from datetime import datetime, timezone

import numpy as np

import modeltap
from modeltap.stores.azure import AzureBlobStore
from modeltap.testing import ManualClock

FLUSH_INTERVAL = 0.2


def main() -> None:
    container, spool, batches = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = AzureBlobStore(
        connection_string=os.environ["TEST_AZURE_CONNECTION_STRING"], container=container, max_blocks=300
    )
    clock = ManualClock(datetime(2026, 11, 24, 10, tzinfo=timezone.utc))
    modeltap.configure(store=store, clock=clock, flush_interval=FLUSH_INTERVAL, spool_dir=spool)
    c = modeltap.Collector("m", feature_names=["id"])
    c.collect(np.arange(10, dtype=np.float64)[:, None])
    assert modeltap.flush(timeout=30)
    for batch in range(1, batches + 1):
        c.collect(np.arange(10 * batch, 10 * batch + 10, dtype=np.float64)[:, None])
        time.sleep(FLUSH_INTERVAL / 2)
    expected = 10 * (batches + 1)  # batch 0 went through the spool too
    for _ in range(600):  # up to a minute
        if modeltap.stats()["rows_spooled"] >= expected:
            break
        time.sleep(0.1)
    s = modeltap.stats()
    print(f"sealed {s['rows_spooled']} written {s['rows_written']}", flush=True)
    c.collect(np.arange(10 * (batches + 1), 10 * (batches + 2), dtype=np.float64)[:, None])
    print("young", flush=True)
    time.sleep(600)


if __name__ == "__main__":
    main()
