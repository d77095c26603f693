"""Drift: a planted shift in one feature is flagged, the others are not; the report renders in
headless Chromium without the network."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modeltap
from conftest import clock_at
from modeltap.drift import Thresholds, compare
from modeltap.drift.metrics import psi

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"


def _collect_days(store_root: Path, shift: float) -> None:
    """Three days of inputs; from the second day on, ``income`` is shifted by ``shift`` sds."""
    clock = clock_at(2026, 11, 20, 12)
    modeltap.configure(store=modeltap.LocalStore(store_root), clock=clock, flush_interval=60.0)
    c = modeltap.Collector("m", "inputs", ["age", "income", "region"])
    rng = np.random.default_rng(7)
    for day in (20, 21, 22):
        clock.set(datetime(2026, 11, day, 12, tzinfo=timezone.utc))
        n = 600
        income = rng.normal(50_000, 10_000, n) + (shift * 10_000 if day > 20 else 0.0)
        frame = pd.DataFrame(
            {"age": rng.normal(40, 12, n), "income": income, "region": rng.choice(["n", "s", "e", "w"], n)}
        )
        c.collect(frame)
        assert modeltap.flush()
    modeltap.close()


def _baseline(path: Path) -> Path:
    rng = np.random.default_rng(1)
    n = 2000
    pd.DataFrame(
        {
            "age": rng.normal(40, 12, n),
            "income": rng.normal(50_000, 10_000, n),
            "region": rng.choice(["n", "s", "e", "w"], n),
        }
    ).to_csv(path, index=False)
    return path


def _drift(tmp_path: Path, store_root: Path, out: Path) -> subprocess.CompletedProcess[str]:
    command = [
        sys.executable, "-m", "modeltap", "drift", "--store", str(store_root), "--model", "m",
        "--baseline", str(_baseline(tmp_path / "train.csv")), "--start", "2026-11-20", "--end", "2026-11-22",
        "--out", str(out), "--json",
    ]  # fmt: skip
    return subprocess.run(command, capture_output=True, text=True, check=False)


def test_a_planted_shift_is_flagged_and_only_there(tmp_path: Path) -> None:
    _collect_days(tmp_path / "data", shift=1.5)
    done = _drift(tmp_path, tmp_path / "data", tmp_path / "report.html")
    assert done.returncode == 1, done.stderr
    summary = json.loads(done.stdout)
    by_name = {f["name"]: f for f in summary["features"]}
    assert summary["drifted"] and by_name["income"]["drifted"]
    assert not by_name["age"]["drifted"] and not by_name["region"]["drifted"]
    assert summary["features"][0]["name"] == "income"  # ranked first by contribution
    assert by_name["income"]["psi"] > 0.2 > by_name["age"]["psi"]
    assert by_name["region"]["jensen_shannon"] < 0.1 and by_name["region"]["kind"] == "categorical"
    assert "DRIFT" in done.stderr and "income" in done.stderr


def test_no_shift_no_drift(tmp_path: Path) -> None:
    _collect_days(tmp_path / "data", shift=0.0)
    done = _drift(tmp_path, tmp_path / "data", tmp_path / "report.html")
    assert done.returncode == 0, done.stderr
    assert not json.loads(done.stdout)["drifted"]


def test_per_day_drift_follows_the_shift() -> None:
    rng = np.random.default_rng(3)
    base = pd.DataFrame({"x": rng.normal(0, 1, 1000)})
    stamps = pd.to_datetime(["2026-11-20T12:00:00Z"] * 500 + ["2026-11-21T12:00:00Z"] * 500)
    current = pd.DataFrame({"x": np.r_[rng.normal(0, 1, 500), rng.normal(2, 1, 500)], "$scoring_timestamp": stamps})
    result = compare(base, current, thresholds=Thresholds())
    assert result.magnitude_per_day["2026-11-20"] < 15 < result.magnitude_per_day["2026-11-21"]
    assert psi(base["x"].to_numpy(), base["x"].to_numpy()) == 0.0
    with pytest.raises(ValueError, match="features missing"):
        compare(base, current, features=["nope"])


def test_the_report_renders_in_headless_chromium_without_the_network(tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        if os.environ.get("CI"):
            pytest.fail(f"{CHROMIUM} is missing: make test installs Debian's chromium")
        pytest.skip("Debian's chromium is not installed (make test installs it)")
    _collect_days(tmp_path / "data", shift=1.5)
    report = tmp_path / "report.html"
    assert _drift(tmp_path, tmp_path / "data", report).returncode == 1
    text = report.read_text()
    assert "<script" not in text and "<link" not in text and "src=" not in text  # nothing to fetch
    flags = [
        "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync",
        f"--user-data-dir={tmp_path / 'profile'}",
    ]  # fmt: skip
    dom = subprocess.run(
        [CHROMIUM, *flags, "--dump-dom", report.as_uri()], capture_output=True, text=True, timeout=120, check=True
    ).stdout
    assert dom.count('<svg class="chart"') == 1 + 3  # drift over time, and one per feature
    assert "<polyline" in dom and dom.count("<rect") > 3 * 20 and "Drift detected" in dom
    shot = tmp_path / "report.png"
    subprocess.run(
        [CHROMIUM, *flags, f"--screenshot={shot}", "--window-size=1200,1600", report.as_uri()],
        capture_output=True, timeout=120, check=True,
    )  # fmt: skip
    assert shot.stat().st_size > 10_000
