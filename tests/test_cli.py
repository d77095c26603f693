"""The data commands as a script runs them: output, exit statuses, messages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

import modeltap


def _modeltap(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "modeltap", *args], cwd=cwd, capture_output=True, text=True, check=False
    )


def _collect(store: modeltap.LocalStore) -> None:
    inputs = modeltap.Collector("m", "inputs", ["x", "kind"])
    preds = modeltap.Collector("m", "predictions", ["y"])
    for i in range(5):
        preds.collect(np.array([[i * 2.0]]), correlation=inputs.collect({"x": [float(i)], "kind": ["a"]}))
    assert modeltap.flush()


def test_ls_head_export(store: modeltap.LocalStore, tmp_path: Path) -> None:
    _collect(store)
    root = str(store.root)
    ls = _modeltap("ls", "--store", root, "--model", "m", cwd=tmp_path)
    assert ls.returncode == 0, ls.stderr
    header, row = ls.stdout.splitlines()
    assert header.split()[:4] == ["partition", "files", "rows", "bytes"]
    fields = row.split()
    assert fields[1:3] == ["1", "5"] and fields[4] < fields[5]  # first before last timestamp
    head = _modeltap("head", "--store", root, "--model", "m", "-n", "2", cwd=tmp_path)
    assert head.returncode == 0 and head.stdout.splitlines()[0].startswith("x,kind,$correlation_id")
    assert len(head.stdout.splitlines()) == 3
    out = tmp_path / "train.parquet"
    exported = _modeltap("export", "--store", root, "--model", "m", "--out", str(out), cwd=tmp_path)
    assert exported.returncode == 0 and "wrote 5 rows" in exported.stderr
    assert pd.read_parquet(out)[["x", "y"]].to_numpy().tolist() == [[float(i), i * 2.0] for i in range(5)]


def test_exit_statuses_a_script_can_rely_on(tmp_path: Path) -> None:
    nothing = _modeltap("ls", "--store", str(tmp_path), "--model", "m", cwd=tmp_path)
    assert nothing.returncode == 3 and "no inputs rows of m" in nothing.stderr
    empty = _modeltap("ls", "--store", str(tmp_path), cwd=tmp_path)
    assert empty.returncode == 3 and "no streams in" in empty.stderr
    bad_date = _modeltap("head", "--store", str(tmp_path), "--model", "m", "--start", "soon", cwd=tmp_path)
    assert bad_date.returncode == 2 and bad_date.stderr.startswith("modeltap head: start must be a date")
    no_baseline = _modeltap("drift", "--store", str(tmp_path), "--model", "m", "--baseline", "x.csv", cwd=tmp_path)
    assert no_baseline.returncode == 2 and "no baseline file" in no_baseline.stderr


def test_ls_without_a_model_lists_the_streams_and_a_wrong_stream_names_them(tmp_path: Path) -> None:
    store = modeltap.LocalStore(tmp_path / "modeldata")
    modeltap.configure(store=store, flush_interval=60.0)
    modeltap.Collector("m", "inputs", ["x"], model_version="10", service="svc", workspace="sub/rg/ws").collect([[1.0]])
    assert modeltap.close()
    listed = _modeltap("ls", "--store", str(store.root), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    (line,) = listed.stdout.splitlines()[1:]
    assert line.split()[:6] == ["sub/rg/ws", "svc", "m", "10", "inputs", "1"]
    # The README's mistake: reading without the version, service and workspace it was written with.
    wrong = _modeltap("head", "--store", str(store.root), "--model", "m", cwd=tmp_path)
    assert wrong.returncode == 3
    assert "version='10', service='svc', workspace='sub/rg/ws'" in wrong.stderr
    export = _modeltap("export", "--store", str(store.root), "--model", "m", "--out", "t.parquet", cwd=tmp_path)
    assert export.returncode == 3 and "version='10'" in export.stderr and not (tmp_path / "t.parquet").exists()
    ls_wrong = _modeltap("ls", "--store", str(store.root), "--model", "m", cwd=tmp_path)
    assert ls_wrong.returncode == 3 and "version='10'" in ls_wrong.stderr
