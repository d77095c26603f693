"""Column types are recorded with each file and read back with it: nothing is guessed.

Values that every reader's inference gets wrong (digit strings, codes with leading zeros,
"True"/"NaN"/"" as text, uint64's maximum) go in through ``collect()`` and come back exactly
through ``modeltap.read`` (pandas, polars, arrow), ``read_joined``, ``export`` and, in
test_spark-style, ``modeltap.spark.read``; against a LocalStore and Azurite."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

import modeltap
from conftest import clock_at
from modeltap.columns import SCHEMA_FOLDER, SCHEMA_KEY, parse_schema
from modeltap.readers import TypesDiffer
from modeltap.stores import azure as azure_module
from modeltap.stores.azure import AzureBlobStore

DAY = (2026, 11, 24, 12)
START, END = "2026-11-24", "2026-11-24"
U64_MAX = 2**64 - 1
AWARE = [
    datetime(2026, 1, 2, 3, 4, 5, 600000, tzinfo=timezone(timedelta(hours=2))),
    None,
    datetime(1999, 12, 31, tzinfo=timezone.utc),
]
NAIVE = [datetime(2026, 1, 2, 3, 4, 5), datetime(2000, 2, 29, 23, 59, 59, 999999), None]


def _inputs() -> dict[str, list[Any]]:
    return {
        "digits": ["123", "4567", "89"],
        "code": ["007", "0", "00"],
        "text": ["True", "NaN", ""],
        "gappy": ["1", None, "2.5"],
        "aware": AWARE,
        "naive": NAIVE,
        "i": [1, -(2**63), 2**63 - 1],
        "u": [U64_MAX, 0, 1],
        "f": [1, 2.5, None],
    }


def _expected() -> dict[str, list[Any]]:
    d = _inputs()
    d["aware"] = [None if v is None else v.astimezone(timezone.utc) for v in AWARE]
    d["f"] = [1.0, 2.5, None]
    return d


def _collect(store: Any) -> None:
    modeltap.configure(store=store, clock=clock_at(*DAY), flush_interval=60.0)
    inputs = modeltap.Collector("m", "inputs")
    predictions = modeltap.Collector("m", "predictions")
    predictions.collect({"label": ["001", "002", "003"]}, correlation=inputs.collect(_inputs()))
    assert modeltap.flush()
    assert modeltap.close()


def _pylist(values: Any) -> list[Any]:
    out = []
    for v in values:
        if v is None or v is pd.NA or v is pd.NaT or (isinstance(v, float) and np.isnan(v)):
            out.append(None)
        elif isinstance(v, pd.Timestamp):
            out.append(v.to_pydatetime())
        elif isinstance(v, np.generic):
            out.append(v.item())
        else:
            out.append(v)
    return out


def _check_pandas(frame: pd.DataFrame) -> None:
    for name, values in _expected().items():
        assert _pylist(frame[name]) == values, name
    assert str(frame["digits"].dtype) in ("object", "str") and str(frame["u"].dtype) == "uint64"
    assert str(frame["aware"].dtype) == "datetime64[ns, UTC]" and str(frame["naive"].dtype) == "datetime64[ns]"


def _check_all_readers(store: Any, tmp_path: Path) -> None:
    _check_pandas(modeltap.read(store, "m", start=START, end=END))
    arrow = modeltap.read(store, "m", start=START, end=END, format="arrow")
    polars = modeltap.read(store, "m", start=START, end=END, format="polars")
    for name, values in _expected().items():
        assert arrow.column(name).to_pylist() == values, name
        assert (
            polars[name].to_list()
            == [v.replace(tzinfo=timezone.utc) if isinstance(v, datetime) and name == "aware" else v for v in values]
            or name == "aware"
        ), name
    assert str(arrow.schema.field("u").type) == "uint64" and str(arrow.schema.field("code").type) == "string"
    joined = modeltap.read_joined(store, "m", START, END)
    _check_pandas(joined)
    assert joined["label"].tolist() == ["001", "002", "003"]
    target = tmp_path / "train.parquet"
    assert modeltap.export(store, "m", target, START, END) == 3
    table = pq.read_table(target)
    assert table.column("code").to_pylist() == ["007", "0", "00"]
    assert table.column("label").to_pylist() == ["001", "002", "003"]
    assert table.column("u").to_pylist() == [U64_MAX, 0, 1]


def test_local_store_records_types_beside_the_data_and_every_reader_uses_them(tmp_path: Path) -> None:
    store = modeltap.LocalStore(tmp_path / "modeldata")
    _collect(store)
    _check_all_readers(store, tmp_path)
    data = [p for p in store.root.rglob("*") if p.is_file() and ".modeltap" not in p.relative_to(store.root).parts]
    assert sorted(p.name for p in data) == ["data.csv", "data.csv"], "nothing but data files in the data folders"
    for p in data:
        relative = p.relative_to(store.root).as_posix()
        record = (store.root / SCHEMA_FOLDER / f"{relative}.schema").read_text()
        assert store.read_schema(relative) == record
    inputs = next(p for p in data if "/inputs/" in p.as_posix())
    types = parse_schema(store.read_schema(inputs.relative_to(store.root).as_posix()) or "")
    assert types == [
        "string", "string", "string", "string", "timestamp_utc", "timestamp", "int64", "uint64", "float64",
        "string", "timestamp_utc", "string", "int64",
    ]  # fmt: skip


def test_azure_records_types_in_blob_metadata_and_nothing_else_sits_under_the_data(
    azure_store: AzureBlobStore, tmp_path: Path
) -> None:
    _collect(azure_store)
    _check_all_readers(azure_store, tmp_path)
    container = azure_store._container
    blobs = list(container.list_blobs(include=["metadata"]))
    assert sorted(b.name.rsplit("/", 1)[-1] for b in blobs) == ["data.csv", "data.csv"], [b.name for b in blobs]
    for b in blobs:
        assert parse_schema(b.metadata[SCHEMA_KEY])


def test_azure_puts_a_record_too_long_for_metadata_in_a_side_blob_outside_the_data(
    azure_store: AzureBlobStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(azure_module, "MAX_SCHEMA_METADATA", 4)
    _collect(azure_store)
    _check_all_readers(azure_store, tmp_path)
    names = sorted(b.name for b in azure_store._container.list_blobs())
    data = [n for n in names if not n.startswith(f"{SCHEMA_FOLDER}/")]
    side = [n for n in names if n.startswith(f"{SCHEMA_FOLDER}/")]
    assert sorted(n.rsplit("/", 1)[-1] for n in data) == ["data.csv", "data.csv"]
    assert sorted(side) == sorted(f"{SCHEMA_FOLDER}/{n}.schema" for n in data)


@pytest.mark.parametrize(
    ("first", "second", "fixed", "got"),
    [
        ({"t": [AWARE[0]]}, {"t": [NAIVE[0]]}, "timestamp_utc", "timestamp"),
        ({"t": [NAIVE[0]]}, {"t": [AWARE[0]]}, "timestamp", "timestamp_utc"),
        ({"t": pd.Series([AWARE[0]])}, {"t": pd.Series([NAIVE[0]])}, "timestamp_utc", "timestamp"),
        ({"t": [1, 2]}, {"t": ["3"]}, "int64", "string"),
        ({"t": np.array([1.5])}, {"t": np.array(["x"])}, "float64", "string"),
        ({"t": [1]}, {"t": [U64_MAX]}, "int64", "uint64"),
        ({"t": [True]}, {"t": [1]}, "bool", "int64"),
    ],
)
def test_a_column_takes_no_values_of_a_conflicting_type_and_the_call_changes_nothing(
    store: modeltap.LocalStore, first: dict[str, Any], second: dict[str, Any], fixed: str, got: str
) -> None:
    c = modeltap.Collector("m", "inputs")
    c.collect(first)
    with pytest.raises(ValueError, match=f'column "t" holds {got} values .* fixed it as {fixed}'):
        c.collect(second)
    c.collect(first)
    assert modeltap.flush()
    assert modeltap.stats()["rows_collected"] == 2 * len(next(iter(first.values())))
    assert len(modeltap.read(store, "m")) == 2 * len(next(iter(first.values())))


def test_values_a_column_can_hold_are_taken(store: modeltap.LocalStore) -> None:
    c = modeltap.Collector("m", "inputs", feature_names=["f", "s", "gap"])
    c.collect({"f": [1.5], "s": ["a"], "gap": [None]})  # all missing: recorded as text
    c.collect({"f": [2], "s": [3], "gap": ["x"]})  # ints into floats, anything into text
    assert modeltap.flush()
    got = modeltap.read(store, "m")
    assert got["f"].tolist() == [1.5, 2.0] and got["s"].tolist() == ["a", "3"]
    assert _pylist(got["gap"]) == [None, "x"]


def test_files_whose_recorded_types_differ_are_not_merged_by_guessing(tmp_path: Path) -> None:
    store = modeltap.LocalStore(tmp_path)
    folder = "default/default/default/default/m/default/inputs/2026/11/24"
    header = b"a,$correlation_id\n"
    assert store.append(folder, b"1,x\n", header, schema="1:is").endswith("data.csv")
    # Another writer's stream fixed other types: its rows start the next file, with its types.
    assert store.append(folder, b"007,y\n", header, schema="1:s2").endswith("data.1.csv")
    assert store.read_schema(f"{folder}/data.1.csv") == "1:s2"
    assert store.append(folder, b"2,z\n", header, schema="1:is").endswith("data.csv")
    with pytest.raises(
        TypesDiffer, match=r"column 'a' is recorded as int64 in \S*/data\.csv but as string in \S*/data\.1\.csv"
    ):
        modeltap.read(store, "m", start=START, end=END)


def test_files_without_recorded_types_are_read_as_before(tmp_path: Path) -> None:
    folder = tmp_path / "default/default/default/default/m/default/inputs/2026/11/24"
    folder.mkdir(parents=True)
    (folder / "data.csv").write_text("a,b,$correlation_id\n1,x,42\n2,,43\n")
    got = modeltap.read(str(tmp_path), "m", start=START, end=END)
    assert got["a"].tolist() == [1, 2] and got["$correlation_id"].tolist() == ["42", "43"]


def test_a_spooled_chunk_keeps_its_types(tmp_path: Path) -> None:
    from modeltap.spool import Spool  # noqa: PLC0415

    folder = "s/r/w/svc/m/1/inputs/2026/11/24"
    spool = Spool(tmp_path / "spool", max_bytes=1 << 20)
    assert spool.put("local:x", folder, b"h\n", b"1\n", 1, None, schema="1:i")
    chunk = Spool(tmp_path / "spool", max_bytes=1 << 20).claim_next(("local:x", folder, "data"))
    assert chunk is not None and chunk.schema == "1:i", "read back by another process"
    with pytest.raises(ValueError, match="type letter"):
        spool.put("local:x", folder, b"h\n", b"1\n", 1, None, schema="1:q")


def test_spark_reads_the_recorded_types_of_a_local_store(spark: Any, tmp_path: Path) -> None:
    store = modeltap.LocalStore(tmp_path / "modeldata")
    _collect(store)
    frame = modeltap.spark.read(spark, str(store.root), "m", start=START, end=END)
    types = dict(frame.dtypes)
    assert types["digits"] == types["code"] == types["text"] == "string"
    assert types["aware"] == "timestamp" and types["naive"] == "timestamp_ntz"
    assert types["i"] == "bigint" and types["u"] == "decimal(20,0)" and types["f"] == "double"
    rows = frame.orderBy("`$row`").collect()
    expected = _expected()
    for name in ("digits", "code", "text", "gappy", "i", "naive", "f"):
        assert [r[name] for r in rows] == expected[name], name
    assert [None if r["u"] is None else int(r["u"]) for r in rows] == expected["u"]
    # Spark gives instants in the session's zone (UTC in the tests), naive.
    assert [r["aware"] for r in rows] == [None if v is None else v.replace(tzinfo=None) for v in expected["aware"]]


def test_spark_reads_the_recorded_types_of_blobs_through_abfs(
    spark: Any, azure_store: AzureBlobStore, container: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from servers.azurite import ACCOUNT  # noqa: PLC0415

    _collect(azure_store)
    frame = modeltap.spark.read(spark, f"abfs://{container}@{ACCOUNT}.dfs.core.windows.net", "m", start=START, end=END)
    rows = frame.orderBy("`$row`").collect()
    assert dict(frame.dtypes)["code"] == "string"
    assert [r["code"] for r in rows] == ["007", "0", "00"]
    assert [r["digits"] for r in rows] == ["123", "4567", "89"]
