"""Forked children, SIGTERM and interpreter exit lose nothing collect() accepted."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import threading
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modeltap
from conftest import files, read

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX process semantics")


def _run(code: str, tmp_path: Path, **kwargs: object) -> subprocess.Popen[str]:
    script = textwrap.dedent(code)
    return subprocess.Popen(
        [sys.executable, "-c", script],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,  # type: ignore[call-overload]
    )


def _terminate_when_ready(proc: subprocess.Popen[str]) -> tuple[str, str]:
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.send_signal(signal.SIGTERM)
    return proc.communicate(timeout=30)


def test_forked_child_collects_with_its_own_pipeline(tmp_path: Path) -> None:
    store = modeltap.LocalStore(tmp_path)
    modeltap.configure(store=store, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["who", "i"])
    for i in range(100):
        c.collect(np.array([0.0, float(i)]))  # parent rows, still in memory at the fork
    pid = os.fork()
    if pid == 0:  # the child: collect, close, and leave without running the parent's atexit
        status = 1
        try:
            for i in range(100):
                c.collect(np.array([1.0, float(i)]))
            status = 0 if modeltap.close(timeout=20) else 2
        finally:
            os._exit(status)
    for i in range(100, 200):
        c.collect(np.array([0.0, float(i)]))
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert modeltap.close()
    df = read(files(store)[0])
    parent = df[df["who"] == 0.0]["i"].tolist()
    child = df[df["who"] == 1.0]["i"].tolist()
    assert sorted(parent) == [float(i) for i in range(200)], "each parent row exactly once"
    assert sorted(child) == [float(i) for i in range(100)], "each child row exactly once"
    assert df["$correlation_id"].nunique() == 300


def test_sigterm_flushes_what_was_collected_then_dies_of_it(tmp_path: Path) -> None:
    proc = _run(
        """
        import sys, time, numpy as np, modeltap
        modeltap.configure(flush_interval=3600.0)  # nothing is written before the signal
        c = modeltap.Collector("m", feature_names=["i"])
        for i in range(10_000):
            c.collect(np.array([float(i)]))
        print("ready", flush=True)
        time.sleep(60)
        """,
        tmp_path,
    )
    _, err = _terminate_when_ready(proc)
    assert proc.returncode == -signal.SIGTERM, err
    (path,) = sorted((tmp_path / "modeldata").rglob("*.csv"))
    assert read(path)["i"].tolist() == [float(i) for i in range(10_000)]


def test_sigterm_chains_an_earlier_handler(tmp_path: Path) -> None:
    proc = _run(
        """
        import signal, sys, time, numpy as np
        def mine(signum, frame):
            print("mine ran", flush=True)
            sys.exit(3)
        signal.signal(signal.SIGTERM, mine)
        import modeltap
        modeltap.configure(flush_interval=3600.0)
        c = modeltap.Collector("m", feature_names=["i"])
        c.collect(np.arange(5.0).reshape(5, 1))
        print("ready", flush=True)
        time.sleep(60)
        """,
        tmp_path,
    )
    out, err = _terminate_when_ready(proc)
    assert proc.returncode == 3, err
    assert "mine ran" in out
    (path,) = sorted((tmp_path / "modeldata").rglob("*.csv"))
    assert len(read(path)) == 5


def test_interpreter_exit_flushes(tmp_path: Path) -> None:
    proc = _run(
        """
        import numpy as np, modeltap
        modeltap.configure(flush_interval=3600.0)
        c = modeltap.Collector("m", feature_names=["i"])
        for i in range(1000):
            c.collect(np.array([float(i)]))
        """,
        tmp_path,
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (path,) = sorted((tmp_path / "modeldata").rglob("*.csv"))
    assert len(read(path)) == 1000


def test_context_of_a_prefork_server(tmp_path: Path) -> None:
    """gunicorn --preload: the master creates collectors, workers fork and collect."""
    proc = _run(
        """
        import os, numpy as np, modeltap
        c = modeltap.Collector("m", feature_names=["worker", "i"])
        kids = []
        for w in range(3):
            pid = os.fork()
            if pid == 0:
                for i in range(500):
                    c.collect(np.array([float(w), float(i)]))
                os._exit(0 if modeltap.close(timeout=20) else 1)
            kids.append(pid)
        codes = [os.waitstatus_to_exitcode(os.waitpid(p, 0)[1]) for p in kids]
        assert codes == [0, 0, 0], codes
        """,
        tmp_path,
    )
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    (path,) = sorted((tmp_path / "modeldata").rglob("*.csv"))
    df = read(path)
    assert len(df) == 1500
    assert df.groupby("worker")["i"].nunique().tolist() == [500, 500, 500]
    assert path.read_text().count("worker,i,") == 1, "one header, though three processes wrote"


def test_forks_while_the_parent_is_busy_never_deadlock(tmp_path: Path) -> None:
    """Fork at random moments of the parent's collecting, flushing and appending."""
    store = modeltap.LocalStore(tmp_path)
    modeltap.configure(store=store, flush_interval=0.01, chunk_bytes=256)
    c = modeltap.Collector("m", designation="inputs")
    stop = threading.Event()

    def busy() -> None:
        while not stop.is_set():
            c.collect(pd.DataFrame({"who": [0.0] * 5, "i": [1.0] * 5}))
            modeltap.flush()

    worker = threading.Thread(target=busy)
    worker.start()
    kids = []
    try:
        for _ in range(20):
            time.sleep(0.005)
            pid = os.fork()
            if pid == 0:
                status = 1
                try:
                    c.collect(pd.DataFrame({"who": [1.0] * 10, "i": [float(x) for x in range(10)]}))
                    status = 0 if modeltap.close(timeout=20) else 2
                finally:
                    os._exit(status)
            kids.append(pid)
    finally:
        stop.set()
        worker.join()
    deadline = time.monotonic() + 60
    codes = {}
    while len(codes) < len(kids) and time.monotonic() < deadline:
        for pid in kids:
            if pid not in codes:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    codes[pid] = os.waitstatus_to_exitcode(status)
        time.sleep(0.05)
    for pid in kids:
        if pid not in codes:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
    assert list(codes.values()) == [0] * len(kids), f"children stuck or failed: {len(kids) - len(codes)} stuck"
    assert modeltap.close()
    df = pd.concat(read(p) for p in files(store))
    assert (df["who"] == 1.0).sum() == 10 * len(kids)


def test_sigkill_loses_at_most_what_flush_interval_had_not_written(tmp_path: Path) -> None:
    proc = _run(
        """
        import time, numpy as np, modeltap
        modeltap.configure(flush_interval=0.2)
        c = modeltap.Collector("m", feature_names=["i"])
        for i in range(1000):
            c.collect(np.array([float(i)]))
        time.sleep(2)  # ten flush intervals
        print("ready", flush=True)
        time.sleep(60)
        """,
        tmp_path,
    )
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "ready"
    proc.kill()
    proc.communicate(timeout=30)
    (path,) = sorted((tmp_path / "modeldata").rglob("*.csv"))
    assert read(path)["i"].tolist() == [float(i) for i in range(1000)]


def test_configure_while_threads_collect_loses_nothing(store: modeltap.LocalStore) -> None:
    """Collectors move to the new pipeline before the old one closes; late rows follow them."""
    c = modeltap.Collector("m", feature_names=["thread", "i"], policy="block", timeout=30.0)
    threads, calls = 4, 3_000
    started = threading.Barrier(threads + 1)

    def work(t: int) -> None:
        started.wait()
        for i in range(calls):
            c.collect(np.array([float(t), float(i)]))

    workers = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
    for w in workers:
        w.start()
    started.wait()
    for interval in (30.0, 40.0, 50.0):
        modeltap.configure(store=store, flush_interval=interval)
    for w in workers:
        w.join()
    assert modeltap.flush()
    stats = modeltap.stats()
    assert stats["rows_dropped"] == dict.fromkeys(stats["rows_dropped"], 0)
    assert stats["rows_collected"] == threads * calls, "counters carry across configure()"
    assert stats["rows_written"] == threads * calls
    df = pd.concat([read(p) for p in files(store)])
    assert len(df) == threads * calls
    assert not df.duplicated(["thread", "i"]).any()


_MULTIPROCESSING = """
import multiprocessing, sys
import numpy as np, modeltap

modeltap.configure(flush_interval=3600.0)
c = modeltap.Collector("m", feature_names=["who", "i"])
c.collect(np.array([-1.0, 0.0]))

def work(who):
    for i in range(250):
        c.collect(np.array([float(who), float(i)]))
    return who

if __name__ == "__main__":
    ctx = multiprocessing.get_context("fork")
    how = sys.argv[1]
    if how == "process":
        ps = [ctx.Process(target=work, args=(who,)) for who in range(2)]
        for p in ps:
            p.start()
        for p in ps:
            p.join(60)
        assert [p.exitcode for p in ps] == [0, 0]
    elif how == "pool-close":
        pool = ctx.Pool(2)
        assert sorted(pool.map(work, range(4))) == [0, 1, 2, 3]
        pool.close()
        pool.join()
    else:  # the context manager terminates the workers: SIGTERM
        with ctx.Pool(2) as pool:
            assert sorted(pool.map(work, range(4))) == [0, 1, 2, 3]
    assert modeltap.close()
"""


@pytest.mark.parametrize(("how", "children"), [("process", 2), ("pool-close", 4), ("pool-with", 4)])
def test_rows_of_multiprocessing_children_are_written(tmp_path: Path, how: str, children: int) -> None:
    (tmp_path / "job.py").write_text(_MULTIPROCESSING)
    out = subprocess.run(
        [sys.executable, "job.py", how], cwd=tmp_path, capture_output=True, text=True, timeout=120, check=False
    )
    assert out.returncode == 0, out.stderr
    df = pd.concat([read(p) for p in sorted((tmp_path / "modeldata").rglob("*.csv"))])
    assert (df["who"] == -1.0).sum() == 1, "the parent's row, once"
    kids = df[df["who"] >= 0]
    assert sorted(kids.groupby("who").size().tolist()) == [250] * children
    assert not kids.duplicated(["who", "i"]).any()
