"""Concurrent HTTP clients that score for a while and time every request."""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np


@dataclass
class LoadResult:
    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0

    @property
    def requests_per_second(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0

    def percentile(self, q: float) -> float:
        return float(np.percentile(self.latencies, q)) if self.latencies else float("nan")


def drive(
    url: str,
    bodies: list[bytes],
    clients: int,
    seconds: float,
    progress: Callable[[float, int], None] | None = None,
) -> LoadResult:
    """``clients`` threads, each with its own keep-alive connection, POST bodies for ``seconds``."""
    import httpx  # noqa: PLC0415 - the demo extra

    result = LoadResult()
    lock = threading.Lock()
    stop = threading.Event()
    done = [0] * clients  # each client counts its own: no lock on the request path

    def client(index: int) -> None:
        mine: list[float] = []
        errors = 0
        with httpx.Client(timeout=10.0) as http:
            i = index
            while not stop.is_set():
                t = time.perf_counter()
                try:
                    r = http.post(url, content=bodies[i % len(bodies)], headers={"content-type": "application/json"})
                    ok = r.status_code == 200
                except httpx.HTTPError:
                    ok = False
                if ok:
                    mine.append(time.perf_counter() - t)
                    done[index] += 1
                else:
                    errors += 1
                i += clients
        with lock:
            result.latencies.extend(mine)
            result.errors += errors

    threads = [threading.Thread(target=client, args=(i,), daemon=True) for i in range(clients)]
    start = time.perf_counter()
    for t in threads:
        t.start()
    while (elapsed := time.perf_counter() - start) < seconds:
        if progress is not None:
            progress(elapsed, sum(done))
        time.sleep(min(0.2, seconds - elapsed))
    stop.set()
    for t in threads:
        t.join()
    result.seconds = time.perf_counter() - start
    return result
