"""Collection switched off and on while the process runs: by API, at start, by a watched file."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

import modeltap
from conftest import files, read


@pytest.fixture(autouse=True)
def _switch_back_on() -> object:
    yield
    modeltap.set_enabled(True)


def test_the_process_switch_turns_every_collector_off_and_on(store: modeltap.LocalStore) -> None:
    a = modeltap.Collector("m", "inputs", ["x"])
    b = modeltap.Collector("m", "predictions", ["y"], enabled=False)
    a.collect(np.array([1.0]))
    modeltap.set_enabled(False)
    a.collect(np.array([2.0]))
    late = modeltap.Collector("m", "labels", ["z"])  # made while off: off too
    late.collect(np.array([3.0]))
    modeltap.set_enabled(True)
    a.collect(np.array([4.0]))
    b.collect(np.array([5.0]))  # its own switch is still off
    late.collect(np.array([6.0]))
    assert a.enabled and not b.enabled
    assert modeltap.flush()
    got = {p.parent.parent.parent.parent.name: read(p).iloc[:, 0].tolist() for p in files(store)}
    assert got == {"inputs": [1.0, 4.0], "labels": [6.0]}
    assert modeltap.stats()["rows_disabled"] == 3
    with pytest.raises(TypeError):
        modeltap.set_enabled("no")  # type: ignore[arg-type]


def test_a_watched_file_switches_collection_without_a_restart(store: modeltap.LocalStore, tmp_path: Path) -> None:
    config = tmp_path / "modeltap.json"
    config.write_text(json.dumps({"enabled": False}))
    modeltap.watch_config(config)
    assert not modeltap.switch.enabled()  # read at once
    c = modeltap.Collector("m", feature_names=["x"])
    c.collect(np.array([1.0]))
    config.write_text(json.dumps({"enabled": True, "note": "changed size and mtime"}))
    deadline = time.monotonic() + 15
    while not modeltap.switch.enabled() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert modeltap.switch.enabled()
    c.collect(np.array([2.0]))
    config.write_text("{broken")  # reported, and the state stays as it was
    time.sleep(1.5)
    assert modeltap.switch.enabled()
    modeltap.switch._state.watcher.stop()  # type: ignore[union-attr]
    modeltap.switch._state.watcher = None
    assert modeltap.flush()
    (path,) = files(store)
    assert read(path)["x"].tolist() == [2.0]


def test_modeltap_enabled_false_starts_the_process_switched_off(tmp_path: Path) -> None:
    script = (
        "import numpy as np, modeltap\n"
        f"modeltap.configure(store=modeltap.LocalStore({str(tmp_path)!r}))\n"
        "modeltap.Collector('m', feature_names=['x']).collect(np.array([1.0]))\n"
        "modeltap.flush(); print(modeltap.stats()['rows_disabled'])\n"
    )
    env = {**os.environ, "MODELTAP_ENABLED": "false"}
    out = subprocess.run([sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True).stdout
    assert out.strip() == "1" and not list(tmp_path.rglob("*.csv"))


@pytest.mark.parametrize("kind", ["fifo", "/dev/zero", "directory", "too large", "growing nesting"])
def test_a_config_that_is_not_a_small_regular_file_is_reported_once_and_ignored(kind: str, tmp_path: Path) -> None:
    # In a child process, bounded: today a FIFO blocks Collector() forever, /dev/zero reads without end.
    config = tmp_path / "config.json"
    if kind == "fifo":
        os.mkfifo(config)
    elif kind == "/dev/zero":
        config = Path("/dev/zero")
    elif kind == "directory":
        config.mkdir()
    elif kind == "too large":
        config.write_text(json.dumps({"enabled": False, "pad": "x" * (1 << 20)}))
    else:
        config.write_text("[" * 60_000)  # deep enough to exhaust the JSON parser's recursion
    script = (
        "import logging, numpy as np, modeltap\n"
        "logging.basicConfig(level=logging.WARNING, format='%(levelname)s %(message)s')\n"
        f"modeltap.configure(store=modeltap.LocalStore({str(tmp_path / 'data')!r}))\n"
        "c = modeltap.Collector('m', feature_names=['x'])\n"
        "for _ in range(3): modeltap.switch._state.watcher.check()  # an unchanged file is not read again\n"
        "c.collect(np.array([1.0]))\n"
        "print('flushed', modeltap.flush(), modeltap.switch.enabled())\n"
    )
    env = {**os.environ, "MODELTAP_CONFIG": str(config)}
    done = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, timeout=120, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "flushed True True"
    errors = [line for line in done.stderr.splitlines() if line.startswith("ERROR") and "cannot read" in line]
    assert len(errors) == 1, done.stderr
    reason = {
        "fifo": "a FIFO",
        "/dev/zero": "a character device",
        "directory": "a directory",
        "too large": "larger than",
        "growing nesting": "cannot read",
    }[kind]
    assert reason in errors[0]


def test_a_config_read_stops_at_its_limit(tmp_path: Path) -> None:
    small = tmp_path / "c.json"
    small.write_bytes(b"x" * 100)
    assert modeltap.switch.read_config(small, limit=100) == b"x" * 100
    with pytest.raises(ValueError, match="larger than 99 bytes"):
        modeltap.switch.read_config(small, limit=99)
