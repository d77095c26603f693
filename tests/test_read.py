"""Reading collected rows back: types, date ranges, joins, duplicates, export, Azure."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

import modeltap
from conftest import clock_at, files
from modeltap.azureml import ModelDataCollector
from modeltap.stores import StoredFile
from modeltap.stores.azure import AzureBlobStore


class ListingStore(modeltap.LocalStore):
    """A LocalStore that remembers what was listed."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.listed: list[str] = []

    def list_files(self, prefix: str = "") -> Iterator[StoredFile]:
        self.listed.append(prefix)
        return super().list_files(prefix)


def test_types_come_back_as_they_went_in(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", "inputs")
    frame = pd.DataFrame(
        {
            "f": [1.5, np.nan, np.inf],
            "i": np.array([1, -(2**62), 3], dtype=np.int64),
            "b": [True, False, True],
            "t": pd.to_datetime(
                ["2024-02-29T23:59:59.5", "2025-01-01T00:00:00", "1999-12-31T01:02:03"], format="ISO8601"
            ),
            "s": ["plain", "with, comma", 'with "quotes"\nand a newline'],
            "gap": pd.array([1, None, 3], dtype="Int64"),
        }
    )
    c.collect(frame)
    assert modeltap.flush()
    got = modeltap.read(store, "m", start="2000-01-01", end="2100-01-01")
    assert str(got["f"].dtype) == "float64" and got["f"].iloc[0] == 1.5 and np.isnan(got["f"].iloc[1])
    assert got["f"].iloc[2] == np.inf
    assert str(got["i"].dtype) == "int64" and got["i"].tolist() == frame["i"].tolist()
    assert str(got["b"].dtype) == "bool" and got["b"].tolist() == [True, False, True]
    assert got["t"].tolist() == frame["t"].tolist()
    assert got["s"].tolist() == frame["s"].tolist()
    assert str(got["gap"].dtype) == "Int64" and got["gap"].isna().tolist() == [False, True, False]
    assert str(got["$scoring_timestamp"].dtype) == "datetime64[ns, UTC]"
    assert got["$row"].tolist() == [0, 1, 2]
    as_polars = modeltap.read(store, "m", start="2000-01-01", end="2100-01-01", format="polars")
    assert isinstance(as_polars, pl.DataFrame) and as_polars["i"].dtype == pl.Int64
    assert isinstance(modeltap.read(store, "m", start="2000-01-01", end="2100-01-01", format="arrow"), pa.Table)


def test_only_the_partitions_in_range_are_listed(tmp_path: Path) -> None:
    store = ListingStore(tmp_path)
    clock = clock_at(2026, 3, 30, 12)
    modeltap.configure(store=store, clock=clock, flush_interval=60.0)
    c = modeltap.Collector("m", "inputs", ["day"])
    for day in (30, 31):
        clock.set(datetime(2026, 3, day, 12, tzinfo=timezone.utc))
        c.collect(np.array([float(day)]))
        assert modeltap.flush()
    clock.set(datetime(2026, 4, 1, 12, tzinfo=timezone.utc))
    c.collect(np.array([1.0]))
    assert modeltap.flush()
    got = modeltap.read(store, "m", start="2026-03-31", end="2026-04-01")
    assert got["day"].tolist() == [31.0, 1.0]
    assert store.listed == [
        "default/default/default/default/m/default/inputs/2026/3/31",
        "default/default/default/default/m/default/inputs/2026/4/1",
    ]
    with pytest.warns(
        UserWarning, match=r"no inputs rows of m from 2025-01-01 to 2025-01-02; .* 2026-03-30 to 2026-04-01"
    ):
        assert modeltap.read(store, "m", start="2025-01-01", end="2025-01-02").empty
    with pytest.raises(ValueError, match=r"start .* is after end"):
        modeltap.read(store, "m", start="2026-04-02", end="2026-04-01")
    with pytest.raises(ValueError, match="must be a date"):
        modeltap.read(store, "m", start="yesterday")
    modeltap.close()


def test_read_joined_matches_rows_and_drops_duplicates(store: modeltap.LocalStore) -> None:
    inputs = modeltap.Collector("m", "inputs", ["x1", "x2"])
    preds = modeltap.Collector("m", "predictions", ["y"])
    labels = modeltap.Collector("m", "labels", ["label"])
    x = np.array([[1.0, 2.0], [3.0, 4.0]])
    corr = inputs.collect(x)
    preds.collect(np.array([[0.1], [0.2]]), correlation=corr)
    second = inputs.collect(np.array([[5.0, 6.0]]))
    preds.collect(np.array([[0.3]]), correlation=second)
    labels.collect(np.array([[1.0], [0.0]]), correlation=corr)  # the second request has no label yet
    assert modeltap.flush()
    # An at-least-once path delivered the predictions file's rows twice.
    (pred_file,) = [p for p in files(store) if "/predictions/" in str(p)]
    lines = pred_file.read_text().splitlines(keepends=True)
    pred_file.write_text("".join(lines + lines[1:]))
    joined = modeltap.read_joined(store, "m")
    assert joined[["x1", "x2", "y"]].to_numpy().tolist() == [[1.0, 2.0, 0.1], [3.0, 4.0, 0.2], [5.0, 6.0, 0.3]]
    assert joined["label"].tolist()[:2] == [1.0, 0.0] and np.isnan(joined["label"].iloc[2])


def test_read_joined_reads_azure_ml_v1_files(store: modeltap.LocalStore) -> None:
    inputs = ModelDataCollector("m", designation="inputs", feature_names=["a"])
    preds = ModelDataCollector("m", designation="predictions", feature_names=["p"])
    for value in (1.0, 2.0):
        corr = inputs.collect(np.array([[value], [value + 10]]))
        assert corr is not None
        preds.collect(preds.add_correlations(np.array([[value * 100], [value * 1000]]), corr))
    assert modeltap.flush()
    joined = modeltap.read_joined(store, "m")
    assert joined[["a", "p"]].to_numpy().tolist() == [[1.0, 100.0], [11.0, 1000.0], [2.0, 200.0], [12.0, 2000.0]]


def test_read_joined_keeps_azure_ml_v1_rows_delivered_twice_once(store: modeltap.LocalStore) -> None:
    inputs = ModelDataCollector("m", designation="inputs", feature_names=["a"])
    preds = ModelDataCollector("m", designation="predictions", feature_names=["p"])
    for batch in ([[1.0], [11.0]], [[2.0], [2.0], [3.0]]):  # the second call has two identical rows: data
        corr = inputs.collect(np.array(batch))
        assert corr is not None
        preds.collect(preds.add_correlations(np.array(batch) * 100, corr))
    assert modeltap.flush()
    # An at-least-once path delivered each file's rows twice (v1 rows carry no row number).
    for path in files(store):
        lines = path.read_text().splitlines(keepends=True)
        path.write_text("".join(lines + lines[1:]))
    joined = modeltap.read_joined(store, "m")
    assert joined[["a", "p"]].to_numpy().tolist() == [
        [1.0, 100.0],
        [11.0, 1100.0],
        [2.0, 200.0],
        [2.0, 200.0],
        [3.0, 300.0],
    ]


def test_a_stream_that_is_not_there_is_named_with_what_is(store: modeltap.LocalStore, tmp_path: Path) -> None:
    """The README's old mistake: written with version, service and workspace, read without."""
    kwargs = {"model_version": "10", "service": "svc", "workspace": "sub/rg/ws"}
    inputs = modeltap.Collector("m", "inputs", ["x"], **kwargs)
    modeltap.Collector("m", "predictions", ["y"], **kwargs).collect([[2.0]], correlation=inputs.collect([[1.0]]))
    assert modeltap.flush()
    with pytest.raises(modeltap.StreamNotFound, match=r"version='10', service='svc', workspace='sub/rg/ws'"):
        modeltap.read(store, "m", "inputs")
    with pytest.raises(modeltap.StreamNotFound, match="designation='predictions'"):
        modeltap.read_joined(store, "m")
    with pytest.raises(modeltap.StreamNotFound, match="holds no streams of model 'other'"):
        modeltap.read(store, "other")
    with pytest.raises(modeltap.StreamNotFound):
        modeltap.export(store, "m", tmp_path / "t.parquet")
    assert not (tmp_path / "t.parquet").exists()
    found = modeltap.streams(store)
    assert [(s.workspace, s.service, s.model, s.version, s.designation) for s in found] == [
        ("sub/rg/ws", "svc", "m", "10", "inputs"),
        ("sub/rg/ws", "svc", "m", "10", "predictions"),
    ]
    assert modeltap.read(store, "m", version="10", service="svc", workspace="sub/rg/ws")["x"].tolist() == [1.0]
    # Predictions and labels that were never collected leave the inputs alone in the join.
    joined = modeltap.read_joined(store, "m", version="10", service="svc", workspace="sub/rg/ws")
    assert joined[["x", "y"]].to_numpy().tolist() == [[1.0, 2.0]] and "label" not in joined.columns


def test_export_writes_a_parquet_training_set(store: modeltap.LocalStore, tmp_path: Path) -> None:
    inputs = modeltap.Collector("m", "inputs", ["x"])
    preds = modeltap.Collector("m", "predictions", ["y"])
    preds.collect(np.array([[2.0]]), correlation=inputs.collect(np.array([[1.0]])))
    assert modeltap.flush()
    assert modeltap.export(store, "m", tmp_path / "train.parquet") == 1
    table = pq.read_table(tmp_path / "train.parquet")
    assert table.column("x").to_pylist() == [1.0] and table.column("y").to_pylist() == [2.0]
    with pytest.raises(ValueError, match="format must be"):
        modeltap.export(store, "m", tmp_path / "x", format="xlsx")  # type: ignore[arg-type]


def test_reads_from_azure(azure_store: AzureBlobStore) -> None:
    modeltap.configure(store=azure_store, flush_interval=60.0)
    c = modeltap.Collector("m", "inputs", ["x"])
    c.collect(np.array([[1.0], [2.0]]))
    assert modeltap.close()
    assert modeltap.read(azure_store, "m")["x"].tolist() == [1.0, 2.0]
