"""A scoring process for the multi-process tests: collects numbered rows into an Azure store.

    python tests/servers/writer.py <writer> <rows> <container> <chunk_bytes> [--kill-after-spool]

The connection string comes in ``$TEST_AZURE_CONNECTION_STRING`` (never on a command line).
Rows are ``writer, i, payload`` with a payload derived from both, so a reader can tell a torn
or altered row from a whole one. Prints the pipeline's stats as JSON when done; with
``--kill-after-spool`` prints ``SPOOLED`` once every row sits in the spool, then waits to be killed.
"""

from __future__ import annotations

import json
import os
import sys
import time

import numpy as np

import modeltap
from modeltap.stores.azure import AzureBlobStore


def payload(writer: float, i: float) -> float:
    return writer * 1_000_003.0 + i * 0.5


def main() -> int:
    writer, rows, container, chunk_bytes = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], int(sys.argv[4])
    kill_after_spool = "--kill-after-spool" in sys.argv
    store = AzureBlobStore(
        connection_string=os.environ["TEST_AZURE_CONNECTION_STRING"],
        container=container,
        timeout=float(os.environ.get("TEST_AZURE_TIMEOUT", "5")),
        retry_for=float(os.environ.get("TEST_AZURE_RETRY_FOR", "10")),
        # Paced appends carry at most a block: a small block keeps appends many (and faults met).
        max_block_bytes=int(os.environ.get("TEST_AZURE_MAX_BLOCK_BYTES", str(100 << 20))),
    )
    modeltap.configure(store=store, chunk_bytes=chunk_bytes, flush_interval=0.5)
    c = modeltap.Collector(
        "fleet", "inputs", ["writer", "i", "payload"], workspace="sub/rg/ws", policy="block", timeout=60.0
    )
    for i in range(rows):
        c.collect(np.array([float(writer), float(i), payload(writer, i)]))
    if kill_after_spool:
        while modeltap.stats()["rows_spooled"] < rows:
            time.sleep(0.05)
        print("SPOOLED", flush=True)
        time.sleep(3600)
    ok = modeltap.flush(timeout=float(os.environ.get("TEST_FLUSH_TIMEOUT", "120")))
    print(json.dumps({"flushed": ok, **modeltap.stats()}), flush=True)
    return 0 if ok and modeltap.close() else 1


if __name__ == "__main__":
    sys.exit(main())
