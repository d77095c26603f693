"""A core dropped without close(), or alive at interpreter exit: the process ends cleanly and
in time, no owner (a numpy array, pyarrow data whose release takes the GIL) is released on the
encoder thread, and every accepted row is read or counted as lost in the log."""

from __future__ import annotations

import json
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import read

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process semantics")

# Two streams of a core of its own: numpy blocks, and pyarrow tables over numpy memory (pyarrow
# takes the GIL to free those). One row a chunk and two chunks waiting at most: the encoder
# is stuck on its output with records queued behind it when the core goes.
_COLLECT = """
import gc, json, logging, sys
import numpy as np, pyarrow as pa
from modeltap import _native

logging.basicConfig(stream=sys.stderr, level=logging.ERROR, format="%(message)s")
core = _native.Core(
    capacity=256, max_queue_bytes=1 << 30, chunk_bytes=1, flush_interval=3600.0, max_sealed=2, nonce=7
)
handles = []
for stem in ("numbers", "tables"):
    handle = _native.StreamHandle()
    handle._define(partition="day", meta=[("row", "$row", None)], stem=stem)
    handle._bind(core)
    handles.append(handle)
for i in range(400):
    handles[0].collect(np.full((2, 3), float(i)))
    handles[1].collect(pa.table({"a": np.arange(3.0) + i, "b": np.arange(3, dtype=np.int64)}))
read = 0
out = core.next_output(10.0)
if out is not None and out[0] == "chunk":
    read += out[1].rows
stats = core.stats()
print(json.dumps({"collected": stats["rows_collected"], "read": read, "stats": stats}), flush=True)
"""

_LOST = re.compile(r"modeltap: (\d+) rows were still queued or unwritten when a pipeline was dropped without close\(\)")


def _run(code: str, tmp_path: Path) -> tuple[dict[str, object], str]:
    proc = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(code)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=False,  # the exit code is asserted with the stderr that explains it
        timeout=120,  # a hang fails here
    )
    assert proc.returncode == 0, proc.stderr
    first = proc.stdout.splitlines()[0]
    return json.loads(first), proc.stderr


def _lost(stderr: str) -> int:
    found = _LOST.findall(stderr)
    assert len(found) == 1, stderr
    return int(found[0])


def _accounted(report: dict[str, object], stderr: str) -> None:
    stats = report["stats"]
    assert isinstance(stats, dict)
    assert stats["rows_collected"] > 0 and stats["rows_dropped_ring_full"] > 0, "the ring filled up"
    assert stats["rows_dropped_encoder"] == stats["rows_dropped_arrow_import"] == 0
    # Every accepted row was read from the core, or is in the log.
    assert report["read"] + _lost(stderr) == report["collected"], stderr


def test_a_core_dropped_without_close_ends_its_encoder_and_logs_what_it_lost(tmp_path: Path) -> None:
    report, stderr = _run(
        _COLLECT
        + """
del handles, handle, out, core
gc.collect()
print("dropped", flush=True)
""",
        tmp_path,
    )
    _accounted(report, stderr)


def test_a_core_alive_at_interpreter_exit_with_rows_queued(tmp_path: Path) -> None:
    # The core goes while the interpreter finalizes (module globals are cleared).
    report, stderr = _run(_COLLECT, tmp_path)
    _accounted(report, stderr)


def test_collectors_left_open_at_exit_write_numpy_and_arrow_rows(tmp_path: Path) -> None:
    report, stderr = _run(
        """
        import json, numpy as np, pyarrow as pa, modeltap
        modeltap.configure(flush_interval=3600.0, capacity=1 << 16)
        numbers = modeltap.Collector("m", "inputs", feature_names=["a", "b"])
        tables = modeltap.Collector("m", "outputs", feature_names=["a", "b"])
        for i in range(500):
            numbers.collect(np.full((2, 2), float(i)))
            tables.collect(pa.table({"a": np.arange(3.0) + i, "b": np.arange(3, dtype=np.int64)}))
        print(json.dumps(modeltap.stats()), flush=True)
        """,
        tmp_path,
    )
    assert report["rows_collected"] == 500 * 5 and not any(report["rows_dropped"].values()), report  # type: ignore[union-attr]
    written = {path.parents[3].name: len(read(path)) for path in (tmp_path / "modeldata").rglob("*.csv")}
    assert written == {"inputs": 1000, "outputs": 1500}, (written, stderr)


def test_a_forked_child_drops_its_copy_of_a_core_without_waiting_for_the_parents_encoder(
    tmp_path: Path,
) -> None:
    # The child's copy of a core has records queued and an encoder thread that exists only in
    # the parent: dropping it must neither wait for that thread nor touch its queues.
    report, _ = _run(
        """
        import gc, json, os, signal, time
        import numpy as np
        from modeltap import _native

        core = _native.Core(
            capacity=64, max_queue_bytes=1 << 30, chunk_bytes=1, flush_interval=3600.0, max_sealed=1, nonce=3
        )
        handle = _native.StreamHandle()
        handle._define(partition="day", meta=[], stem="data")
        handle._bind(core)
        for i in range(200):
            handle.collect(np.full((1, 2), float(i)))
        pid = os.fork()
        if pid == 0:
            del handle, core
            gc.collect()
            os._exit(0)
        for _ in range(600):  # 30 s at most
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                break
            time.sleep(0.05)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            status = -1
        print(json.dumps({"child": status}), flush=True)
        """,
        tmp_path,
    )
    assert report == {"child": 0}, "the child hung dropping the core, and was killed"
