"""``modeltap demo`` from end to end, short: a real service, real clients, real files."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def test_the_demo_serves_scores_collects_and_reports(tmp_path: Path) -> None:
    command = [sys.executable, "-m", "modeltap", "demo", "--duration", "1", "--clients", "2", "--store", "out"]
    done = subprocess.run(command, cwd=tmp_path, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr[-3000:]
    out = done.stdout
    assert "collection on" in out and "collection off" in out and "requests/s" in out
    collected = int(out.split("rows collected: ")[1].split()[0].replace(",", ""))
    off = int(out.split("not collected while off: ")[1].split()[0].replace(",", ""))
    assert collected > 0 and off > 0
    inputs = sorted((tmp_path / "out").rglob("inputs/**/data.csv"))
    predictions = sorted((tmp_path / "out").rglob("predictions/**/data.csv"))
    assert inputs and predictions
    header = inputs[0].read_text().splitlines()[0]
    assert header.startswith("age,sex,bmi,bp,s1,s2,s3,s4,s5,s6,$aml_dc_correlation_id")
    # Every collected request is in the files, inputs and predictions alike.
    rows = sum(len(p.read_text().splitlines()) - 1 for p in inputs)
    assert rows == collected // 2 == sum(len(p.read_text().splitlines()) - 1 for p in predictions)
    assert "training a ridge regression" in done.stderr and "collection on" in done.stderr


def test_demo_help_explains_every_flag() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "modeltap", "demo", "--help"], capture_output=True, text=True, check=True
    )
    for flag in ("--duration", "--clients", "--rows", "--store", "--port", "--lines"):
        assert flag in done.stdout
