"""Arrow input: polars and pyarrow containers, and pandas' ``str`` columns (Arrow memory), read
through the Arrow C interfaces. The scoring thread only takes the C structures and checks the
schema; the encoder thread imports the data. Every kind reads back exactly with the csv module,
pandas, polars and pyarrow; bad input raises in collect() and changes nothing; data that turns
out unreadable on the encoder thread is counted and logged; what the encoder read is released.
"""

from __future__ import annotations

import csv
import datetime as dt
import decimal
import gc
import io
import logging
import threading
import time
import weakref
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pytest

import modeltap
from test_values import KINDS, _names, check_all_readers, collect_one


def _batch(a: pa.Array) -> pa.RecordBatch:
    return pa.record_batch({"v": a})


# container: how a one-column Arrow table named "v" is handed to collect(), from a pyarrow array
ARROW_CONTAINERS: dict[str, Callable[[pa.Array], Any]] = {
    "pyarrow Array": lambda a: a,
    "pyarrow ChunkedArray, 3 chunks": lambda a: pa.chunked_array([a[:1], a[1:1], a[1:]]),
    "pyarrow RecordBatch": _batch,
    "pyarrow Table, 3 chunks": lambda a: pa.Table.from_batches([_batch(a)[:1], _batch(a)[1:2], _batch(a)[2:]]),
    "polars Series": lambda a: pl.Series("v", pl.from_arrow(a)),
    "polars DataFrame": lambda a: pl.DataFrame(pl.Series("v", pl.from_arrow(a))),
}


def _arrow_cases() -> list[tuple[str, str]]:
    return [(k, c) for k in KINDS for c in ARROW_CONTAINERS]


@pytest.mark.parametrize(("kind", "container"), _arrow_cases(), ids=[f"{k}-{c}" for k, c in _arrow_cases()])
def test_every_kind_in_every_arrow_container(store: modeltap.LocalStore, kind: str, container: str) -> None:
    make, want = KINDS[kind]
    values = pa.array(make(), from_pandas=True)
    raw = collect_one(store, ARROW_CONTAINERS[container](values))
    check_all_readers(raw, want)


def _lines(raw: bytes) -> list[str]:
    return raw.decode().splitlines()


def _written(store: modeltap.LocalStore, stream: str) -> Path:
    (path,) = sorted(Path(store.root).rglob(f"*/{stream}/*/*/*/*/*/data.csv"))
    return path


def test_polars_text_categoricals_nulls_and_instants(store: modeltap.LocalStore) -> None:
    long = 'a string longer than twelve bytes, "quoted"\nover two lines, é😀'
    frame = pl.DataFrame(
        {
            "s": pl.Series([long, None, "short"], dtype=pl.String),  # string_view when exported
            "cat": pl.Series(["lo", None, "x,y"], dtype=pl.Categorical),
            "enum": pl.Series(["b", "a", None], dtype=pl.Enum(["a", "b"])),
            "aware": pl.Series([dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone.utc), None, None]).dt.convert_time_zone(
                "Europe/Paris"
            ),
            "naive_ms": pl.Series([dt.datetime(2024, 2, 29, 23, 59, 59, 123000), None, None]).cast(pl.Datetime("ms")),
            "day": pl.Series([dt.date(2024, 2, 29), None, dt.date(1969, 12, 31)]),
            "n": pl.Series([1, None, -(2**63)], dtype=pl.Int64),
            "b": pl.Series([True, None, False]),
        }
    )
    name = f"pl{next(_names)}"
    c = modeltap.Collector(name)
    c.collect(frame)
    assert c.feature_names == tuple(frame.columns), "the schema's names fix the header"
    assert modeltap.flush()
    path = _written(store, name)
    back = pl.read_csv(path, try_parse_dates=True, schema_overrides={"s": pl.String, "cat": pl.String})
    assert back["s"].to_list() == [long, None, "short"]
    assert back["cat"].to_list() == ["lo", None, "x,y"]
    assert back["enum"].to_list() == ["b", "a", None]
    assert back["aware"].to_list()[0] == dt.datetime(2024, 1, 1, 1, tzinfo=dt.timezone.utc)
    assert back["naive_ms"].to_list()[0] == dt.datetime(2024, 2, 29, 23, 59, 59, 123000)
    assert back["day"].to_list() == [dt.date(2024, 2, 29), None, dt.date(1969, 12, 31)]
    assert back["n"].to_list() == [1, None, -(2**63)]
    assert back["b"].to_list() == [True, None, False]
    first = next(csv.DictReader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))
    assert first["aware"] == "2024-01-01T01:00:00.000000Z", "aware instants in UTC ending Z, as numpy's"
    assert first["naive_ms"] == "2024-02-29T23:59:59.123", "naive instants without Z, each unit's own digits"


def test_pyarrow_timestamps_of_every_unit_spelled_as_numpy_spells_them(store: modeltap.LocalStore) -> None:
    for unit in ("s", "ms", "us", "ns"):
        for tz in (None, "UTC", "Asia/Kolkata"):
            when = pd.Timestamp("2024-01-01T00:00:01Z")
            a = pa.array([when.value // {"s": 10**9, "ms": 10**6, "us": 10**3, "ns": 1}[unit]], pa.timestamp(unit, tz))
            numpy = np.array([[when.tz_localize(None).to_datetime64()]]).astype(f"M8[{unit}]")
            field = _lines(collect_one(store, pa.table({"v": a})))[1].split(",")[0]
            if tz is None:
                assert field == _lines(collect_one(store, numpy))[1].split(",")[0]
            else:
                aware = pd.DataFrame({"v": pd.Series(numpy[:, 0]).dt.tz_localize("UTC").dt.tz_convert(tz)})
                assert field == _lines(collect_one(store, aware))[1].split(",")[0]
                assert field.endswith("Z")


def test_decimals_keep_their_digits(store: modeltap.LocalStore) -> None:
    a = pa.array([decimal.Decimal("-0.050"), None, decimal.Decimal("12.345")], pa.decimal128(10, 3))
    fields = [line.split(",")[0] for line in _lines(collect_one(store, pa.table({"v": a})))[1:]]
    assert fields == ["-0.050", "", "12.345"]


def test_pandas_str_columns_are_read_as_arrow(store: modeltap.LocalStore) -> None:
    texts = ['say "hi"', None, "a,\r\nb", "é😀中", ""]
    frame = pd.DataFrame({"x": np.arange(5.0), "s": pd.array(texts, dtype="str"), "t": pd.array(texts, dtype="str")})
    assert isinstance(frame["s"].array, pd.arrays.ArrowStringArray)
    raw = collect_one(store, frame, feature_names=["x", "s", "t"])
    back = pd.read_csv(pd.io.common.BytesIO(raw), dtype={"s": object, "t": object}, keep_default_na=False)
    assert back["x"].tolist() == [0.0, 1.0, 2.0, 3.0, 4.0]
    # A missing value and "" are both an empty field.
    assert back["s"].tolist() == ['say "hi"', "", "a,\r\nb", "é😀中", ""]
    assert back["t"].tolist() == back["s"].tolist()


def test_names_fix_the_contract_and_place_columns(store: modeltap.LocalStore) -> None:
    name = f"names{next(_names)}"
    c = modeltap.Collector(name)
    c.collect(pa.table({"a": [1.0], "b": [2.0]}))
    assert c.feature_names == ("a", "b")
    # Columns in another order, or more of them: placed by name.
    c.collect(pa.table({"b": [4.0], "c": ["x"], "a": [3.0]}))
    c.collect(pl.DataFrame({"b": [6.0], "a": [5.0]}))
    assert modeltap.flush()
    path = _written(store, name)
    assert [line.split(",")[:2] for line in _lines(path.read_bytes())] == [
        ["a", "b"],
        ["1.0", "2.0"],
        ["3.0", "4.0"],
        ["5.0", "6.0"],
    ]


# How each pyarrow container is built from named columns; every later call of a stream
# reuses what an equal schema meant, so only the first call exports it.
PYARROW_TABLES: dict[str, Callable[[dict[str, pa.Array]], Any]] = {
    "Table": pa.table,
    "RecordBatch": pa.record_batch,
    "RecordBatch, sliced": lambda cols: pa.record_batch({k: pa.concat_arrays([v[:1], v]) for k, v in cols.items()})[1:],
}
PYARROW_COLUMNS: dict[str, Callable[[pa.Array], Any]] = {
    "Array": lambda a: a,
    "Array, sliced": lambda a: pa.concat_arrays([a[:1], a])[1:],
    "ChunkedArray": lambda a: pa.chunked_array([a[:1], a[1:]]),
}


@pytest.mark.parametrize("container", list(PYARROW_TABLES))
def test_a_schema_seen_before_is_recognised_and_a_changed_one_read_anew(
    store: modeltap.LocalStore, container: str
) -> None:
    make = PYARROW_TABLES[container]
    when = dt.datetime(2026, 3, 29, 1, 30, 15)
    t = pa.array([when, None], pa.timestamp("s"))
    cat = pa.array(["lo", "hi"]).dictionary_encode()
    name = f"seen{next(_names)}"
    c = modeltap.Collector(name)
    c.collect(make({"t": t, "cat": cat, "x": pa.array([1.5, None])}))
    # Equal schemas, new objects and values: recognised.
    c.collect(make({"t": t, "cat": cat, "x": pa.array([2.5, 3.5])}))
    # The same names and contract types, other Arrow types: a reader of the old schema would
    # misread every value (a unit, an index width, nullability), so each is read anew.
    c.collect(
        make(
            {
                "t": t.cast(pa.timestamp("ms")),
                "cat": cat.cast(pa.dictionary(pa.int8(), pa.string())),
                "x": pa.array([4.5, 5.5]),
            }
        )
    )
    fields = [
        pa.field("t", pa.timestamp("us"), nullable=True),
        pa.field("cat", pa.string()),
        pa.field("x", pa.float64(), nullable=False),
    ]
    c.collect(
        pa.table([t.cast(pa.timestamp("us")), pa.array(["lo", "hi"]), pa.array([6.5, 7.5])], schema=pa.schema(fields))
    )
    # Columns in another order: placed by name.
    c.collect(make({"x": pa.array([8.5, 9.5]), "cat": cat, "t": t}))
    assert modeltap.flush()
    rows = list(csv.reader(io.StringIO(_written(store, name).read_text())))
    assert [r[:3] for r in rows[1:]] == [
        ["2026-03-29T01:30:15", "lo", "1.5"],
        ["", "hi", ""],
        ["2026-03-29T01:30:15", "lo", "2.5"],
        ["", "hi", "3.5"],
        ["2026-03-29T01:30:15.000", "lo", "4.5"],
        ["", "hi", "5.5"],
        ["2026-03-29T01:30:15.000000", "lo", "6.5"],
        ["", "hi", "7.5"],
        ["2026-03-29T01:30:15", "lo", "8.5"],
        ["", "hi", "9.5"],
    ]


@pytest.mark.parametrize("container", list(PYARROW_COLUMNS))
def test_a_column_type_seen_before_is_recognised_and_a_changed_one_read_anew(
    store: modeltap.LocalStore, container: str
) -> None:
    make = PYARROW_COLUMNS[container]
    name = f"seen{next(_names)}"
    c = modeltap.Collector(name)
    c.collect(make(pa.array([1, None], pa.int64())))
    c.collect(make(pa.array([2, 3], pa.int64())))
    c.collect(make(pa.array([4, 5], pa.int8())))
    c.collect(make(pa.array([6, None], pa.uint32())))
    assert modeltap.flush()
    rows = list(csv.reader(io.StringIO(_written(store, name).read_text())))
    assert [r[0] for r in rows[1:]] == ["1", "", "2", "3", "4", "5", "6", ""]


@pytest.mark.parametrize(
    "bad",
    [
        pa.table({"a": [1.0]}),
        pa.table({"a": [1.0], "x": [2.0], "y": [3.0]}),
        pl.DataFrame({"x": [1.0], "y": [2.0], "z": [3.0]}),
    ],
    ids=["narrower", "wider, a name missing", "polars, other names"],
)
def test_width_mismatch_raises_and_changes_nothing(store: modeltap.LocalStore, bad: Any) -> None:
    name = f"width{next(_names)}"
    c = modeltap.Collector(name, feature_names=["a", "b"])
    before = modeltap.stats()["rows_collected"]
    with pytest.raises(ValueError, match="columns"):
        c.collect(bad)
    assert modeltap.stats()["rows_collected"] == before
    assert c.feature_names == ("a", "b")


def test_a_column_type_fixed_by_one_call_refuses_another_type(store: modeltap.LocalStore) -> None:
    name = f"types{next(_names)}"
    c = modeltap.Collector(name)
    c.collect(pa.table({"t": pa.array([1], pa.int64())}))
    with pytest.raises(ValueError, match='column "t" holds string values'):
        c.collect(pa.table({"t": ["x"]}))
    with pytest.raises(ValueError, match='column "t" holds string values'):
        c.collect(np.array([["x"]], dtype=object))
    # Ints of any width, and nulls, fit an int64 column; numpy's ints too.
    c.collect(pl.DataFrame({"t": pl.Series([None, 7], dtype=pl.Int8)}))
    c.collect(pa.table({"t": pa.nulls(1)}))
    c.collect(np.array([[3]]))
    assert modeltap.flush()
    assert modeltap.stats()["rows_collected"] == 5


@pytest.mark.parametrize(
    "data",
    [
        pa.table({"ok": [1.0], "wait": pa.array([1500], pa.duration("ms"))}),
        pl.DataFrame({"ok": [1.0], "wait": [dt.timedelta(seconds=1)]}),
        pa.array([1], pa.duration("s")),
    ],
    ids=["pyarrow", "polars", "pyarrow array"],
)
def test_durations_are_refused_as_timedeltas_are(store: modeltap.LocalStore, data: Any) -> None:
    name = f"dur{next(_names)}"
    c = modeltap.Collector(name)
    with pytest.raises(TypeError, match=r"column \"(wait|)\" holds timedeltas .*collect\(\) does not take them"):
        c.collect(data)
    assert c.feature_names is None, "a refused call fixes nothing"
    assert modeltap.stats()["rows_collected"] == 0


def test_unwritable_types_are_refused_by_name(store: modeltap.LocalStore) -> None:
    name = f"list{next(_names)}"
    c = modeltap.Collector(name)
    with pytest.raises(TypeError, match=r'column "l" has Arrow type List'):
        c.collect(pa.table({"l": [[1, 2]]}))
    assert modeltap.stats()["rows_collected"] == 0


_STRUCTS = pa.array([{"a": 1.0, "b": "x"}, None, {"a": 3.0, "b": None}])


@pytest.mark.parametrize(
    "column",
    [_STRUCTS, pa.chunked_array([_STRUCTS[:1], _STRUCTS[1:]]), pl.Series("s", _STRUCTS)],
    ids=["pyarrow Array", "pyarrow ChunkedArray", "polars Series"],
)
def test_a_struct_column_is_a_table_but_missing_rows_are_refused(store: modeltap.LocalStore, column: Any) -> None:
    """A struct column is taken as a table of its fields; a row missing as a whole (a null struct)
    has no fields to write, so the call raises and changes nothing, rather than the record being
    dropped later on the encoder thread."""
    name = f"structs{next(_names)}"
    c = modeltap.Collector(name)
    before = modeltap.stats()
    with pytest.raises(ValueError, match="missing rows"):
        c.collect(column)
    after = modeltap.stats()
    assert (after["rows_collected"], after["rows_dropped"]) == (before["rows_collected"], before["rows_dropped"])
    c.collect(column.drop_null() if hasattr(column, "drop_null") else column.drop_nulls())
    assert modeltap.flush()
    assert [line.split(",")[:2] for line in _lines(_written(store, name).read_bytes())] == [
        ["a", "b"],
        ["1.0", "x"],
        ["3.0", ""],
    ]


def test_arrow_columns_in_a_dict_are_written_as_a_table_of_them(store: modeltap.LocalStore) -> None:
    """A dict's values may be pyarrow arrays or polars Series (they were refused, or made
    Python objects): each is taken as Arrow data and written as the same columns in a table."""
    when = pa.array([dt.datetime(2026, 1, 1, 12), None], pa.timestamp("ms"))
    columns = {
        "a": pa.array([1, None]),
        "c": pa.chunked_array([[1.5], [None]]),
        "t": when,
        "s": pl.Series(["a,b", None]),
        "d": pl.Series([decimal.Decimal("1.50"), None]),
        "n": np.array([1.0, 2.0]),
    }
    name = f"dict{next(_names)}"
    modeltap.Collector(name).collect(columns)
    same = f"table{next(_names)}"
    modeltap.Collector(same).collect(
        pa.table({k: pa.array(v) if isinstance(v, pl.Series) else v for k, v in columns.items()})
    )
    assert modeltap.flush()
    written = [r[:6] for r in csv.reader(io.StringIO(_written(store, name).read_text()))]
    assert written == [r[:6] for r in csv.reader(io.StringIO(_written(store, same).read_text()))]
    assert written[1:] == [["1", "1.5", "2026-01-01T12:00:00.000", "a,b", "1.50", "1.0"], ["", "", "", "", "", "2.0"]]


@pytest.mark.parametrize(
    ("value", "error", "match"),
    [
        (pa.array([1, 2, 3]), ValueError, "3 rows"),
        (pl.Series([1, 2, 3]), ValueError, "3 rows"),
        (pa.array([dt.timedelta(1), None]), TypeError, "column .w. holds timedeltas"),
        (pl.Series([[1], [2]]), TypeError, 'column "w" has Arrow type'),
        (pa.array([{"x": 1}, {"x": 2}]), TypeError, 'column "w" has Arrow type Struct'),
        (pl.Series([{"x": 1}, {"x": 2}]), TypeError, 'column "w" holds structs'),
    ],
    ids=["pyarrow, other length", "polars, other length", "duration", "list", "pyarrow struct", "polars struct"],
)
def test_arrow_columns_in_a_dict_that_cannot_be_written_raise_and_change_nothing(
    store: modeltap.LocalStore, value: Any, error: type[Exception], match: str
) -> None:
    before = modeltap.stats()["rows_collected"]
    with pytest.raises(error, match=match):
        modeltap.Collector(f"dictbad{next(_names)}").collect({"ok": np.array([1.0, 2.0]), "w": value})
    assert modeltap.stats()["rows_collected"] == before


def test_copy_is_accepted_and_holds_by_reference(store: modeltap.LocalStore) -> None:
    name = f"copy{next(_names)}"
    c = modeltap.Collector(name)
    c.collect(pa.table({"v": [1.5]}), copy=True)
    assert modeltap.flush()
    path = _written(store, name)
    assert _lines(path.read_bytes())[1].startswith("1.5,")


def _broken_strings() -> pa.Array:
    """A string array that is not UTF-8: pyarrow builds it checking only its structure (the full
    check is the importer's, on the encoder thread)."""
    offsets = pa.py_buffer(np.array([0, 1, 2], dtype=np.int32).tobytes())
    data = pa.py_buffer(b"\xff\xfe")
    return pa.StringArray.from_buffers(2, offsets, data)


def test_data_unreadable_on_the_encoder_is_counted_logged_and_fails_flush(
    store: modeltap.LocalStore, caplog: pytest.LogCaptureFixture
) -> None:
    name = f"broken{next(_names)}"
    c = modeltap.Collector(name, feature_names=["v"])
    assert modeltap.flush()
    c.collect(pa.table({"v": ["fine"]}))
    with caplog.at_level(logging.ERROR, logger="modeltap"):
        c.collect(pa.table({"v": _broken_strings()}))
        assert not modeltap.flush(), "a loss makes flush() False"
        assert modeltap.stats()["rows_dropped"]["arrow_import"] == 2
        c.collect(pa.table({"v": ["after"]}))
        assert modeltap.flush(), "the next flush is clean again"
        # Drops are logged at most every few seconds, and at close.
        assert modeltap.close()
    logged = [r.getMessage() for r in caplog.records if "whose Arrow data could not be read" in r.getMessage()]
    assert len(logged) == 1 and "dropped 2 rows" in logged[0] and "Invalid UTF8" in logged[0], caplog.text
    path = _written(store, name)
    assert [line.split(",")[0] for line in _lines(path.read_bytes())] == ["v", "fine", "after"]


def test_arrow_memory_is_released_after_encoding(store: modeltap.LocalStore) -> None:
    """Each collected table is freed once written, with nothing left over after many calls
    (bounded in count and time); numpy-backed Arrow buffers, whose release takes the GIL,
    included, and close() does not hang on them."""
    name = f"leak{next(_names)}"
    c = modeltap.Collector(name, feature_names=["a", "s"])
    table = pa.table({"a": np.arange(100.0), "s": [f"row {i}" for i in range(100)]})
    ref = weakref.ref(table)
    c.collect(table)
    del table
    assert modeltap.flush()
    for _ in range(10):  # released a few per collect()
        c.collect(pa.table({"a": [0.0], "s": ["x"]}))
    gc.collect()
    assert ref() is None, "the table is released once encoded"
    baseline = pa.total_allocated_bytes()
    deadline = time.monotonic() + 20
    calls = 0
    while calls < 200_000 and time.monotonic() < deadline:
        c.collect(pa.table({"a": np.array([float(calls)]), "s": [str(calls)]}))
        calls += 1
        if calls % 5000 == 0:
            assert modeltap.flush()
    assert modeltap.flush()
    for _ in range(10):
        c.collect(pa.table({"a": [0.0], "s": ["x"]}))
    assert modeltap.flush()
    assert modeltap.stats()["rows_dropped"] == {k: 0 for k in modeltap.stats()["rows_dropped"]}
    # What is still held is at most the last few unreleased tables, not one per call.
    assert pa.total_allocated_bytes() - baseline < 64 * 1024, (calls, pa.total_allocated_bytes() - baseline)


def _numpy_backed_table(i: int, released_on: list[int]) -> pa.Table:
    """A one-row table sharing a numpy array's memory: freeing it drops the array, whose
    finalizer notes the thread that did."""
    values = np.full(1, float(i))
    weakref.finalize(values, lambda: released_on.append(threading.get_ident()))
    return pa.table({"v": pa.array(values)})


def test_arrow_data_is_released_off_the_scoring_thread(store: modeltap.LocalStore) -> None:
    """A producer's release runs its own code (a third of a small pyarrow table's collect()):
    the thread that reads the encoder's outputs pays it, woken for it, not collect()."""
    released_on: list[int] = []
    c = modeltap.Collector(f"handback{next(_names)}", feature_names=["v"])
    for i in range(200):
        c.collect(_numpy_backed_table(i, released_on))
    assert modeltap.flush()
    # flush() returns once the uploader handled what came before it, releases included.
    assert len(released_on) == 200
    assert threading.get_ident() not in released_on


class _GatedStore(modeltap.LocalStore):
    """A real LocalStore whose appends wait for a gate: the uploader is busy meanwhile."""

    def __init__(self, root: Path) -> None:
        super().__init__(root)
        self.gate = threading.Event()
        self.entered = threading.Event()

    def append(self, folder: str, data: bytes, header: bytes, **kw: Any) -> str:
        self.entered.set()
        self.gate.wait(60)
        return super().append(folder, data, header, **kw)


def test_collect_helps_release_when_the_uploader_is_busy_so_little_is_held(tmp_path: Path) -> None:
    store = _GatedStore(tmp_path)
    modeltap.configure(store=store, flush_interval=60.0, spool_max_bytes=0)
    try:
        released_on: list[int] = []
        c = modeltap.Collector("busy_uploader", feature_names=["v"])
        c.collect(np.array([0.0]))
        assert not modeltap.flush(timeout=0.05)  # the uploader now waits in append()
        assert store.entered.wait(30)
        calls = 6000
        for i in range(calls):
            c.collect(_numpy_backed_table(i, released_on))
        deadline = time.monotonic() + 30
        while modeltap.stats()["rows_encoded"] < calls + 1 and time.monotonic() < deadline:
            c.collect(np.array([1.0]))  # lets the scoring thread help
            time.sleep(0.001)
        helped = released_on.count(threading.get_ident())
        assert helped > 0, "collect() released Arrow data once the uploader fell behind"
        assert calls - len(released_on) <= 1024 + 64, "what waits stays bounded"
    finally:
        store.gate.set()
    assert modeltap.flush(timeout=60)
    assert len(released_on) == calls
    assert modeltap.stats()["rows_dropped"] == {k: 0 for k in modeltap.stats()["rows_dropped"]}
    assert modeltap.close()


def test_close_releases_numpy_backed_arrow_data_without_a_hang(tmp_path: Path) -> None:
    modeltap.configure(store=modeltap.LocalStore(tmp_path / "data"), flush_interval=60.0)
    c = modeltap.Collector("zero_copy", feature_names=["v"])
    for i in range(2000):
        # pa.array of a numpy array shares its memory: freeing it takes the GIL.
        c.collect(pa.table({"v": pa.array(np.full(3, float(i)))}))
    assert modeltap.close()
    assert modeltap.stats()["rows_encoded"] == 6000


@pytest.mark.parametrize(
    "make",
    [
        lambda: pl.DataFrame({"a": [1.5, 2.5], "n": pl.Series([None, None], dtype=pl.Null)}),
        lambda: pl.DataFrame({"a": [1.5, 2.5], "n": pl.Series([None, None], dtype=pl.Null)}).to_arrow(),
        lambda: {"a": [1.5, 2.5], "n": pl.Series([None, None], dtype=pl.Null)},
    ],
    ids=["polars", "pyarrow", "dict of a polars null Series"],
)
def test_null_columns_are_empty_fields_whoever_exports_them(store: modeltap.LocalStore, make: Any) -> None:
    """polars exports a null column with a buffer the C data interface gives the type none of;
    it is read as the interface defines it, not dropped when encoded."""
    name = f"nulls{next(_names)}"
    c = modeltap.Collector(name)
    c.collect(make())
    assert modeltap.flush()
    assert modeltap.stats()["rows_dropped"]["arrow_import"] == 0
    assert [line.split(",")[:2] for line in _lines(_written(store, name).read_bytes())] == [
        ["a", "n"],
        ["1.5", ""],
        ["2.5", ""],
    ]
