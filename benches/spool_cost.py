"""What an idle process costs while chunks wait in its spool: CPU % over an idle stretch.

    .venv/bin/python benches/spool_cost.py [chunks] [seconds]

Fills a fresh spool with ``chunks`` (20,000 by default, ~3.4 kB each, as in issue 11) for a
store that is down, starts a pipeline on it, lets it sit idle for ``seconds`` (10) and prints
the process's CPU time over that stretch as a share of one core; then spools 2,000 new chunks
and prints how fast. The cost must not grow with the number of chunks waiting.
"""

from __future__ import annotations

import logging
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

import modeltap
from modeltap import spool as spool_module


class DownStore(modeltap.LocalStore):
    """A store that takes nothing (a full disk, a network outage)."""

    def append(self, folder: str, data: bytes, header: bytes, **kwargs: str) -> str:  # type: ignore[override]
        raise OSError(28, "No space left on device")


def cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    chunks = int(sys.argv[1]) if len(sys.argv) > 1 else 20_000
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10.0
    logging.basicConfig(level=logging.CRITICAL)
    with tempfile.TemporaryDirectory(ignore_cleanup_errors=True) as tmp:
        spool_dir = Path(tmp) / "spool"
        store = DownStore(Path(tmp) / "data")
        spool_module.Spool(spool_dir, max_bytes=1).close()
        row = b"0.5,1.5,2.5,3.5,4.5,5.5,loan-1,2026-11-24T00:00:00.000000Z,0123456789abcdef,0\n"
        data = row * 40
        for i in range(chunks):
            folder = f"sub/rg/ws/svc/m{i % 4}/1/inputs/2026/11/24"
            blob = spool_module._encode(store.key, folder, "data", 40, b"a,b,c,d,e,f\n", data, None)
            (spool_dir / f"{i:020d}-1-{i % 10**8:08d}.chunk").write_bytes(blob)
        size = sum(p.stat().st_size for p in spool_dir.iterdir())
        started = time.monotonic()
        # Chunks seal by size (about 40 rows each), as under load; flush() would retry the spool.
        modeltap.configure(store=store, spool_dir=spool_dir, flush_interval=1.0, chunk_bytes=3000)
        collector = modeltap.Collector("m0", feature_names=list("abcdef"), workspace="sub/rg/ws", service="svc")
        print(f"{chunks} chunks ({size / 1e6:.0f} MB) waiting; index built in {time.monotonic() - started:.2f}s")
        time.sleep(2.0)  # past start-up
        before, t0 = cpu(), time.monotonic()
        time.sleep(seconds)
        used, wall = cpu() - before, time.monotonic() - t0
        print(f"idle: {100 * used / wall:.1f} % of one core over {wall:.1f}s")
        before_spooled = modeltap.stats()["rows_spooled"]
        t0 = time.monotonic()
        for _ in range(2000):
            collector.collect(np.ones((40, 6)))
        while modeltap.stats()["rows_spooled"] - before_spooled < 2000 * 40 and time.monotonic() - t0 < 120:
            time.sleep(0.01)
        spooled = modeltap.stats()["rows_spooled"] - before_spooled
        took = time.monotonic() - t0
        print(f"spooling: {spooled} new rows in {took:.2f}s ({spooled / took:,.0f} rows/s)")
        modeltap.close(timeout=1)


if __name__ == "__main__":
    main()
