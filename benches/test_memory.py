"""Suite 5, memory: peak RSS while collecting 10,000,000 rows stays flat after warm-up (the first
half, while the queue fills to its bound).

A child process collects 32x6 batches into a LocalStore and samples its own RSS; the check is
growth after warm-up relative to the RSS at warm-up, a ratio, never a number of megabytes.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

from conftest import size

ROWS = size(10_000_000, 1_000_000)
# The producer here outruns the encoder and the store, so the queue and the sealed chunks waiting
# for the store fill to their bounds first (capacity; max_sealed x chunk_bytes): RSS rises to
# those bounds, then must stay flat. The short run lowers them to reach them within its rows.
BOUNDS = (
    {"capacity": 8192, "max_sealed": 16}
    if size(1, 0)
    else {"capacity": 2048, "chunk_bytes": 256 << 10, "max_sealed": 8}
)

CHILD = textwrap.dedent(
    """
    import json, sys
    import numpy as np
    import modeltap

    def rss():
        with open("/proc/self/status") as f:
            return next(int(l.split()[1]) * 1024 for l in f if l.startswith("VmRSS"))

    rows, root, bounds = int(sys.argv[1]), sys.argv[2], json.loads(sys.argv[3])
    modeltap.configure(store=modeltap.LocalStore(root), spool_max_bytes=0, **bounds)
    c = modeltap.Collector("mem", "inputs", [f"f{i}" for i in range(6)], policy="block", timeout=60)
    batch = np.random.default_rng(0).random((32, 6))
    samples = []
    calls = rows // 32
    for i in range(calls):
        c.collect(batch.copy())  # a fresh array per request, as a service has
        if i % (calls // 20) == 0:
            samples.append(rss())
    assert modeltap.flush(timeout=600)
    samples.append(rss())
    print(json.dumps({"samples": samples, "written": modeltap.stats()["rows_written"]}))
    """
)


def test_rss_stays_flat(tmp_path: Path) -> None:
    command = [sys.executable, "-c", CHILD, str(ROWS), str(tmp_path), json.dumps(BOUNDS)]
    out = subprocess.run(command, capture_output=True, text=True, check=True).stdout
    result = json.loads(out)
    samples = result["samples"]
    assert result["written"] == ROWS
    warm = samples[len(samples) // 2]  # half-way: the queue and the chunks have reached their bounds
    peak = max(samples[len(samples) // 2 :])
    growth = peak / warm
    mib = 2**20
    print(f"\nmemory: {ROWS:,} rows, RSS after warm-up {warm / mib:.0f} MiB, peak {peak / mib:.0f} MiB ({growth:.2f}x)")
    assert growth < 1.25
