"""What a user writes by hand: a queue, a thread and the ``csv`` module."""

from __future__ import annotations

import csv
import queue
import threading
import time
from pathlib import Path
from typing import Any

_STOP = object()


class QueueCsvWriter:
    """``collect(row)`` puts ``(timestamp, row)`` on a queue; a thread writes CSV lines."""

    def __init__(self, path: Path, header: list[str]) -> None:
        self.queue: queue.Queue[Any] = queue.Queue()
        self.file = open(path, "w", newline="")  # noqa: SIM115 - closed in close()
        self.writer = csv.writer(self.file)
        self.writer.writerow([*header, "timestamp"])
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def collect(self, rows: Any) -> None:
        self.queue.put((time.time(), rows))

    def _run(self) -> None:
        while True:
            item = self.queue.get()
            if item is _STOP:
                return
            stamp, rows = item
            for row in rows.tolist():
                self.writer.writerow([*row, stamp])

    def close(self) -> None:
        self.queue.put(_STOP)
        self.thread.join()
        self.file.close()
