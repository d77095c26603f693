"""The partition is the UTC day (or hour) of the collect() call."""

from __future__ import annotations

import time

import numpy as np

import modeltap
from conftest import clock_at, files, read


def test_last_millisecond_and_midnight_land_in_two_days(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = clock_at(2024, 2, 29, 23, 59, 59, 999000)
    store = modeltap.LocalStore(tmp_path)
    modeltap.configure(store=store, clock=clock, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["a"])
    c.collect(np.array([[1.0], [2.0]]))
    clock.advance(0.001)
    c.collect(np.array([[3.0]]))
    assert modeltap.close()
    paths = files(store)
    assert [p.relative_to(tmp_path).parts[7:] for p in paths] == [
        ("2024", "2", "29", "data.csv"),
        ("2024", "3", "1", "data.csv"),
    ]
    assert read(paths[0])["a"].tolist() == [1.0, 2.0]
    assert read(paths[1])["a"].tolist() == [3.0]
    assert read(paths[0])["$scoring_timestamp"][0] == "2024-02-29T23:59:59.999000Z"


def test_predictions_follow_their_inputs_day(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = clock_at(2024, 12, 31, 23, 59, 59, 999999)
    store = modeltap.LocalStore(tmp_path)
    modeltap.configure(store=store, clock=clock, flush_interval=60.0)
    inputs = modeltap.Collector("m", designation="inputs", feature_names=["a"])
    preds = modeltap.Collector("m", designation="predictions", feature_names=["p"])
    corr = inputs.collect(np.array([1.0]))
    clock.advance(1)  # the model took a second: it is next year now
    preds.collect(np.array([2.0]), correlation=corr)
    assert modeltap.close()
    days = {p.relative_to(tmp_path).parts[6]: p.relative_to(tmp_path).parts[7:10] for p in files(store)}
    assert days == {"inputs": ("2024", "12", "31"), "predictions": ("2024", "12", "31")}


def test_hour_partitions(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = clock_at(2024, 3, 1, 7, 59, 59)
    store = modeltap.LocalStore(tmp_path)
    modeltap.configure(store=store, clock=clock, flush_interval=60.0)
    c = modeltap.Collector("m", feature_names=["a"], partition="hour")
    c.collect(np.array([1.0]))
    clock.advance(1)
    c.collect(np.array([2.0]))
    assert modeltap.close()
    assert [p.relative_to(tmp_path).parts[7:] for p in files(store)] == [
        ("2024", "3", "1", "07", "data.csv"),
        ("2024", "3", "1", "08", "data.csv"),
    ]


def test_a_finished_day_is_sealed_without_a_flush(tmp_path) -> None:  # type: ignore[no-untyped-def]
    clock = clock_at(2024, 3, 1, 23, 59, 59)
    store = modeltap.LocalStore(tmp_path)
    modeltap.configure(store=store, clock=clock, flush_interval=3600.0)
    c = modeltap.Collector("m", feature_names=["a"])
    c.collect(np.array([1.0]))
    clock.advance(1)
    deadline = time.monotonic() + 10
    while not files(store) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert len(files(store)) == 1
    modeltap.close()


def test_rolled_over_files_are_read_in_the_order_they_were_written(tmp_path) -> None:  # type: ignore[no-untyped-def]
    from modeltap.readers.partitions import partitions  # noqa: PLC0415

    folder = tmp_path / "default/default/default/default/m/default/inputs/2026/11/24"
    folder.mkdir(parents=True)
    names = ["data.csv", *(f"data.{i}.csv" for i in range(1, 12))]
    for i, name in enumerate(names):
        (folder / name).write_text(f"i\n{i}\n")
    (part,) = partitions(str(tmp_path), "m", start="2026-11-24", end="2026-11-24")
    assert [f.path.rpartition("/")[2] for f in part.files] == names
    frame = modeltap.read(str(tmp_path), "m", start="2026-11-24", end="2026-11-24")
    assert list(frame["i"]) == list(range(len(names)))
