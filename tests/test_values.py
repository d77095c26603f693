"""Every input kind in every container reads back as it went in, with the csv module, pandas,
polars and pyarrow; and every accepted row is in the files or counted as dropped.

Values are compared, not spellings: the float specials and empty-vs-missing strings are spelled
by the reader matrix's choice, so no check here depends on how NaN, inf or "" are written.
"""

from __future__ import annotations

import contextlib
import csv
import datetime as dt
import io
import itertools
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import polars as pl
import pyarrow as pa
import pyarrow.csv as pacsv
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import modeltap
from modeltap import tabular

_names = itertools.count()
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

UTC = dt.timezone.utc
PARIS = dt.timezone(dt.timedelta(hours=1))


def _aware(*args: int, tz: dt.tzinfo = UTC) -> dt.datetime:
    return dt.datetime(*args, tzinfo=tz)  # type: ignore[misc]


# kind: (how to build its values as a column a container can hold, the values expected back as
# Python objects, None for missing; aware instants as aware datetimes/Timestamps in UTC)
KINDS: dict[str, tuple[Callable[[], Any], list[Any]]] = {
    "float64": (lambda: np.array([0.1, -0.0, 1e300]), [0.1, -0.0, 1e300]),
    # float32 in its shortest form: "0.1" is the float32 0.1, read back as the float64 0.1.
    "float32": (lambda: np.array([0.1, 3.5, -1.0], dtype=np.float32), [0.1, 3.5, -1.0]),
    "int64": (lambda: np.array([2**63 - 1, -(2**63), 9007199254740993]), [2**63 - 1, -(2**63), 9007199254740993]),
    "uint64": (lambda: np.array([2**64 - 1, 0, 7], dtype=np.uint64), [2**64 - 1, 0, 7]),
    "int8": (lambda: np.array([-128, 0, 127], dtype=np.int8), [-128, 0, 127]),
    "bool": (lambda: np.array([True, False, True]), [True, False, True]),
    "datetime64[ns]": (
        lambda: np.array(["2024-02-29T23:59:59.123456789", "NaT", "1970-01-01"], dtype="M8[ns]"),
        [pd.Timestamp("2024-02-29T23:59:59.123456789"), None, pd.Timestamp("1970-01-01")],
    ),
    "datetime64[s]": (
        lambda: np.array(["2024-02-29T23:59:59", "1900-03-01", "NaT"], dtype="M8[s]"),
        [pd.Timestamp("2024-02-29T23:59:59"), pd.Timestamp("1900-03-01"), None],
    ),
    "str": (lambda: np.array(['say "hi"', "a,\r\nb", "é😀"]), ['say "hi"', "a,\r\nb", "é😀"]),
    "object str": (
        lambda: np.array(["x,y", None, "中"], dtype=object),
        ["x,y", None, "中"],
    ),
    "Int64": (
        lambda: pd.array([9007199254740993, None, -1], dtype="Int64"),
        [9007199254740993, None, -1],
    ),
    "UInt64": (lambda: pd.array([2**64 - 1, None, 0], dtype="UInt64"), [2**64 - 1, None, 0]),
    "boolean": (lambda: pd.array([True, None, False], dtype="boolean"), [True, None, False]),
    "aware datetime": (
        lambda: np.array([_aware(2024, 1, 1, 1, tz=PARIS), None, _aware(2024, 6, 1, 12, 0, 0, 5)], dtype=object),
        [pd.Timestamp("2024-01-01T00:00Z"), None, pd.Timestamp("2024-06-01T12:00:00.000005Z")],
    ),
    "tz-aware pandas": (
        lambda: pd.Series(
            pd.to_datetime(
                ["2024-01-01T01:00:00.000000001+01:00", None, "2024-06-01T12:00:00Z"], format="ISO8601", utc=True
            ).tz_convert("Europe/Paris")
        ),
        [pd.Timestamp("2024-01-01T00:00:00.000000001Z"), None, pd.Timestamp("2024-06-01T12:00Z")],
    ),
}


def _cells(column: Any) -> list[Any]:
    """The column's values as the scalars a list of rows would hold (numpy scalars stay numpy)."""
    if isinstance(column, pd.Series | pd.api.extensions.ExtensionArray):
        return [None if v is pd.NA or v is pd.NaT else v for v in column]
    return list(column)


# container: how a one-column table named "v" is handed to collect()
CONTAINERS: dict[str, Callable[[Any], Any]] = {
    "ndarray": lambda c: np.asarray(c).reshape(-1, 1),
    "DataFrame": lambda c: pd.DataFrame({"v": c}),
    "Series": lambda c: pd.Series(c, name="v"),
    # The column as it is: a numpy array, a pandas ExtensionArray or a Series.
    "dict of arrays": lambda c: {"v": c},
    "dict of lists": lambda c: {"v": _cells(c)},
    "list of rows": lambda c: [[v] for v in _cells(c)],
    "tuple of rows": lambda c: tuple((v,) for v in _cells(c)),
    "list of dicts": lambda c: [{"v": v} for v in _cells(c)],
}

# A numpy array cannot hold pandas' nullable or tz-aware columns as themselves.
_NOT_NUMPY = {"Int64", "UInt64", "boolean", "tz-aware pandas"}


def _cases() -> list[tuple[str, str]]:
    return [(k, c) for k in KINDS for c in CONTAINERS if not (c == "ndarray" and k in _NOT_NUMPY)]


def collect_one(store: modeltap.LocalStore, data: Any, feature_names: list[str] | None = None) -> bytes:
    name = f"v{next(_names)}"
    c = modeltap.Collector(name, feature_names=feature_names or ["v"])
    c.collect(data)
    assert modeltap.flush()
    (path,) = sorted(Path(store.root).rglob(f"*/{name}/*/*/*/*/*/data.csv"))
    return path.read_bytes()


def _same(got: Any, want: Any) -> bool:
    if want is None:
        return got is None or (isinstance(got, float) and math.isnan(got)) or got is pd.NaT or got is pd.NA
    if isinstance(want, float):
        return isinstance(got, float | int) and float(got) == want and math.copysign(1, got) == math.copysign(1, want)
    if isinstance(want, pd.Timestamp):
        got = pd.Timestamp(got)
        # Aware in, aware out (in UTC); naive in, naive out.
        return got == want and (got.tzinfo is None) == (want.tzinfo is None)
    return bool(got == want) and type(got) is type(want)


def _parse(text: str, want: Any) -> Any:
    """A field as the csv module gives it, parsed by the type of the value expected."""
    if text == "":
        return None
    if isinstance(want, bool):
        return {"True": True, "False": False}[text]
    if isinstance(want, int):
        return int(text)
    if isinstance(want, float):
        return float(text)
    if isinstance(want, pd.Timestamp):
        return pd.Timestamp(text)
    return text


def _expected_type(values: list[Any]) -> Any:
    return next(v for v in values if v is not None)


def check_all_readers(raw: bytes, want: list[Any]) -> None:
    like = _expected_type(want)
    # The csv module: the text of every field, parsed by kind.
    rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
    assert rows[0][0] == "v"
    got = [_parse(r[0], like) for r in rows[1:]]
    assert all(_same(g, w) for g, w in zip(got, want, strict=True)), (got, want)
    # pandas, told the column's type as the README says.
    pd_dtype: Any = None
    if isinstance(like, bool):
        pd_dtype = "boolean"
    elif isinstance(like, int):
        pd_dtype = "UInt64" if max(w for w in want if w is not None) >= 2**63 else "Int64"
    elif isinstance(like, float):
        pd_dtype = "float64"
    elif isinstance(like, str):
        pd_dtype = object
    frame = pd.read_csv(
        io.BytesIO(raw),
        dtype={"v": pd_dtype} if pd_dtype is not None else None,
        keep_default_na=not isinstance(like, str),
        na_values=[""] if isinstance(like, str) else None,
    )
    values = frame["v"].tolist()
    if isinstance(like, pd.Timestamp):
        values = [None if pd.isna(v) else pd.Timestamp(v) for v in values]
    assert all(_same(None if v is pd.NA else v, w) for v, w in zip(values, want, strict=True)), (values, want)
    # polars and pyarrow infer the types themselves.
    pl_values = pl.read_csv(io.BytesIO(raw), try_parse_dates=True)["v"].to_list()
    pa_values = pacsv.read_csv(io.BytesIO(raw)).column("v").to_pylist()
    for reader, read_back in (("polars", pl_values), ("pyarrow", pa_values)):
        vals = read_back
        expect = want
        if isinstance(like, pd.Timestamp):
            # polars reads to the microsecond: compare at that precision.
            expect = [None if w is None else w.floor("us") for w in want]
            vals = [None if v is None else pd.Timestamp(v).floor("us") for v in vals]
        if isinstance(like, str):
            # Empty versus missing text is the reader matrix's choice: not compared here.
            vals = [None if v == "" else v for v in vals]
        if isinstance(like, int) and max(abs(w) for w in want if w is not None) >= 2**63:
            continue  # beyond int64 both infer float64; the csv module and pandas check the digits
        assert all(_same(v, w) for v, w in zip(vals, expect, strict=True)), (reader, vals, expect)


@pytest.mark.parametrize(("kind", "container"), _cases(), ids=[f"{k}-{c}" for k, c in _cases()])
def test_every_kind_in_every_container(store: modeltap.LocalStore, kind: str, container: str) -> None:
    make, want = KINDS[kind]
    raw = collect_one(store, CONTAINERS[container](make()))
    check_all_readers(raw, want)


def test_one_spelling_per_instant(store: modeltap.LocalStore) -> None:
    """The same UTC instant through every door: one text, ending in Z, like $scoring_timestamp."""
    instant = pd.Timestamp("2024-01-01T00:00:00.000001Z")
    doors = [
        pd.DataFrame({"v": [instant]}),
        pd.DataFrame({"v": [instant.tz_convert("Asia/Kolkata")]}),
        np.array([[instant.to_pydatetime()]], dtype=object),
        np.array([[instant.to_pydatetime().astimezone(PARIS)]], dtype=object),
        [[instant]],
        {"v": [instant.tz_convert("America/New_York")]},
        [{"v": instant.to_pydatetime()}],
        {"v": instant.to_pydatetime()},
        pd.Series([instant], dtype=object, name="v"),
    ]
    fields = {collect_one(store, d).decode().splitlines()[1].split(",")[0] for d in doors}
    assert fields == {"2024-01-01T00:00:00.000001Z"}


def test_aware_values_keep_their_digits(store: modeltap.LocalStore) -> None:
    ns = pd.Timestamp("2024-01-01T00:00:00.123456789", tz="Europe/Paris")
    frame = pd.DataFrame({"v": pd.Series([ns], dtype="datetime64[ns, Europe/Paris]")})
    assert collect_one(store, frame).decode().splitlines()[1].startswith("2023-12-31T23:00:00.123456789Z,")
    assert collect_one(store, [[ns]]).decode().splitlines()[1].startswith("2023-12-31T23:00:00.123456789Z,")
    naive = collect_one(store, [[dt.datetime(2024, 1, 1, 12)]]).decode().splitlines()[1]
    assert naive.startswith("2024-01-01T12:00:00,")


@pytest.mark.parametrize(
    "data",
    [
        np.array([[_aware(2024, 1, 1)], [dt.datetime(2024, 1, 1)]], dtype=object),
        [[dt.datetime(2024, 1, 1)], [pd.Timestamp("2024-01-01", tz="UTC")]],
        {"v": [_aware(2024, 1, 1), dt.datetime(2024, 1, 1)]},
        pd.DataFrame({"v": pd.Series([_aware(2024, 1, 1), dt.datetime(2024, 1, 1)], dtype=object)}),
    ],
    ids=["ndarray", "list", "dict", "object frame"],
)
def test_a_column_never_mixes_aware_and_naive(store: modeltap.LocalStore, data: Any) -> None:
    c = modeltap.Collector(f"mix{next(_names)}")
    with pytest.raises(ValueError, match="column 0 mixes timezone-aware and naive"):
        c.collect(data)
    assert modeltap.stats()["rows_collected"] == 0


def test_nullable_one_column_frame_is_exact(store: modeltap.LocalStore) -> None:
    """The issue's example: one Int64 column with an NA went out as floats."""
    raw = collect_one(store, pd.DataFrame({"n": pd.array([9007199254740993, None], dtype="Int64")}))
    assert [line.split(",")[0] for line in raw.decode().splitlines()[1:]] == ["9007199254740993", ""]
    raw = collect_one(store, pd.DataFrame({"b": pd.array([True, None], dtype="boolean")}))
    assert [line.split(",")[0] for line in raw.decode().splitlines()[1:]] == ["True", ""]


@pytest.mark.parametrize(
    "column",
    [[2**53 + 1, 0.5], [2**63, 1], [-1, 2**64 - 1], [2**70, -(2**70), 0], [True, 2**63]],
    ids=["with floats", "beyond int64", "int64 and uint64", "beyond 64 bits", "with bools"],
)
def test_python_ints_keep_their_digits(store: modeltap.LocalStore, column: list[Any]) -> None:
    raw = collect_one(store, [[v] for v in column])
    assert [line.split(",")[0] for line in raw.decode().splitlines()[1:]] == [str(v) for v in column]


@pytest.mark.parametrize(
    "data",
    [
        np.array([[1, 2]], dtype="m8[s]"),
        np.array([[np.timedelta64(1, "s")]], dtype=object),
        [[dt.timedelta(seconds=1)]],
        {"v": [pd.Timedelta(1, "s")]},
        pd.DataFrame({"v": pd.to_timedelta([1], unit="s")}),
        {"v": np.array([1], dtype="m8[ns]")},
    ],
    ids=["m8 array", "np scalar", "python", "pandas scalar", "frame", "dict of arrays"],
)
def test_timedeltas_are_refused_at_every_door(store: modeltap.LocalStore, data: Any) -> None:
    c = modeltap.Collector(f"td{next(_names)}")
    with pytest.raises(TypeError, match="timedelta"):
        c.collect(data)
    assert modeltap.stats()["rows_collected"] == 0


@pytest.mark.parametrize("bad", ["a\ud800", "\udfff"])
@pytest.mark.parametrize("as_", ["U array", "object array", "list", "dict of U array"])
def test_invalid_code_points_are_one_error(store: modeltap.LocalStore, bad: str, as_: str) -> None:
    data: Any = {
        "U array": np.array([["ok", bad]]),
        "object array": np.array([["ok", bad]], dtype=object),
        "list": [["ok", bad]],
        "dict of U array": {"a": np.array(["ok"]), "b": np.array([bad])},
    }[as_]
    c = modeltap.Collector(f"cp{next(_names)}")
    with pytest.raises(ValueError, match="not valid Unicode"):
        c.collect(data)
    assert modeltap.stats()["rows_collected"] == 0


def test_code_points_beyond_unicode_in_a_u_array(store: modeltap.LocalStore) -> None:
    arr = np.array([["ab"]]).view(np.uint32)
    arr[0, 1] = 0x110000
    c = modeltap.Collector(f"cp{next(_names)}")
    with pytest.raises(ValueError, match="0x110000"):
        c.collect(arr.view("<U2"))


class OddStr(str):
    def __str__(self) -> str:
        return "not, the value"


class OddInt(int):
    def __str__(self) -> str:
        return 'a,"b"'

    __repr__ = __str__


class OddFloat(float):
    def __str__(self) -> str:
        return "1,5"


def test_every_value_text_is_quoted(store: modeltap.LocalStore) -> None:
    row = [OddStr("x,\ny"), OddInt(2**70), OddInt(-(2**65)), 2**100, OddFloat(1.5), np.str_('q"')]
    raw = collect_one(store, [row], [f"c{i}" for i in range(len(row))])
    (back,) = list(csv.reader(io.StringIO(raw.decode(), newline="")))[1:]
    assert back[:6] == ["x,\ny", str(2**70), str(-(2**65)), str(2**100), "1.5", 'q"']


def test_records_follow_feature_names_and_dict_order(store: modeltap.LocalStore) -> None:
    name = f"rec{next(_names)}"
    c = modeltap.Collector(name, feature_names=["a", "b"])
    c.collect([{"b": 2, "a": 1}, {"a": 3, "b": 4}])
    c.collect({"b": [6], "a": [5]})
    c.collect({"b": 8, "a": 7})
    assert modeltap.flush()
    (path,) = Path(store.root).rglob(f"*/{name}/*/*/*/*/*/data.csv")
    frame = pd.read_csv(path)
    assert frame[["a", "b"]].values.tolist() == [[1, 2], [3, 4], [5, 6], [7, 8]]


MISPLACED = {
    "pandas frame": lambda: pd.DataFrame({"c": [3.0], "b": [2.0], "x": [9.0]}),
    "pandas frame, one block of ints": lambda: pd.DataFrame([[3, 2, 9]], columns=["c", "b", "x"]),
    "dict of columns": lambda: {"c": [3.0], "b": [2.0], "x": [9.0]},
    "dict row": lambda: {"c": 3.0, "b": 2.0, "x": 9.0},
    "records": lambda: [{"c": 3.0, "b": 2.0, "x": 9.0}],
    "pyarrow table": lambda: pa.table({"c": [3.0], "b": [2.0], "x": [9.0]}),
    "polars frame": lambda: pl.DataFrame({"c": [3.0], "b": [2.0], "x": [9.0]}),
}


@pytest.mark.parametrize("container", list(MISPLACED))
def test_a_named_column_is_never_written_under_another_name(store: modeltap.LocalStore, container: str) -> None:
    """Data whose names are not all the stream's is placed by position (a frame numbered 0, 1,
    2 or with a script's own labels, as Azure ML v1 wrote it); unless that puts a column under
    another of the stream's names, which bends every row: refused, and nothing is taken."""
    name = f"bent{next(_names)}"
    c = modeltap.Collector(name, feature_names=["a", "b", "c"])
    before = modeltap.stats()["rows_collected"]
    with pytest.raises(ValueError, match='column "c" would be written under "a"'):
        c.collect(MISPLACED[container]())
    assert modeltap.stats()["rows_collected"] == before
    # Names that are none of the stream's, or each at its own place: by position.
    c.collect(pd.DataFrame([[1.0, 2.0, 3.0]], columns=["x", "y", "z"]))
    c.collect({"a": [1.0], "y": [2.0], "c": [3.0]})
    assert modeltap.flush()
    (path,) = Path(store.root).rglob(f"*/{name}/*/*/*/*/*/data.csv")
    assert pd.read_csv(path)[["a", "b", "c"]].values.tolist() == [[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]]


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        ([{"a": 1}, {"b": 2}], ValueError, "row 1 has the keys"),
        ([{"a": 1}, [1]], TypeError, "rows are all dicts or all sequences"),
        ([[1], {"a": 1}], TypeError, "rows are all dicts or all sequences"),
        ({"a": 1, "b": [1, 2]}, ValueError, "single value"),
        ({"a": np.zeros((2, 2))}, ValueError, "2-D"),
    ],
)
def test_bad_records_and_dicts_are_clear_errors(
    store: modeltap.LocalStore, data: Any, error: type[Exception], match: str
) -> None:
    c = modeltap.Collector(f"bad{next(_names)}")
    with pytest.raises(error, match=match):
        c.collect(data)


@pytest.mark.parametrize(
    "make",
    [
        lambda: pd.DataFrame({"a": np.arange(3.0), "b": np.arange(3.0)}),
        lambda: pd.DataFrame({"a": np.arange(3.0), "b": np.arange(3)}),
        lambda: pd.DataFrame({"a": pd.to_datetime(["2024-01-01"] * 3)}),
        lambda: pd.DataFrame({"a": pd.to_datetime(["2024-01-01"] * 3, utc=True)}),
        lambda: pd.Series(np.arange(3.0), name="a"),
        lambda: {"a": np.arange(3.0)},
        lambda: {"a": pd.Series(np.arange(3))},
    ],
    ids=["one block", "two blocks", "datetime", "tz-aware", "series", "dict of arrays", "dict of series"],
)
def test_copy_true_copies_and_false_holds(make: Callable[[], Any]) -> None:
    """What the README says: frames' and dicts' numeric and datetime columns are held by
    reference, unless copy=True."""
    data = make()
    convert = tabular.from_mapping if isinstance(data, dict) else tabular.from_dataframe
    sources = [np.asarray(v) for v in data.values()] if isinstance(data, dict) else _arrays(data)
    held, _ = convert(data, None, False)
    copied, _ = convert(data, None, True)
    assert all(np.shares_memory(h, s) for h, s in zip(held, sources, strict=True))
    assert not any(np.shares_memory(c, s) for c, s in zip(copied, sources, strict=True))


def test_copy_true_end_to_end(store: modeltap.LocalStore) -> None:
    frame = pd.DataFrame({"a": np.arange(3.0), "b": np.arange(3)})
    c = modeltap.Collector(f"cp{next(_names)}")
    c.collect(frame, copy=True)
    frame.loc[:, "a"] = -1.0
    assert modeltap.flush()
    (path,) = Path(store.root).rglob(f"*/{c.folder.split('/')[4]}/*/*/*/*/*/data.csv")
    assert pd.read_csv(path)["a"].tolist() == [0.0, 1.0, 2.0]


def _arrays(data: pd.DataFrame | pd.Series) -> list[np.ndarray]:
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    return [
        np.asarray(frame[col].array._ndarray) if hasattr(frame[col].array, "_ndarray") else frame[col].to_numpy()
        for col in frame.columns
    ]


# -- properties -----------------------------------------------------------------------------

_kind_and_container = st.sampled_from(_cases())


@SETTINGS
@given(_kind_and_container, st.integers(min_value=0, max_value=2))
def test_round_trip_property(store: modeltap.LocalStore, case: tuple[str, str], take: int) -> None:
    kind, container = case
    make, want = KINDS[kind]
    column = make()
    # A prefix of the column (at least one value that is not missing, so readers infer a type).
    n = max(take + 1, next(i for i, w in enumerate(want) if w is not None) + 1)
    column, want = column[:n], want[:n]
    raw = collect_one(store, CONTAINERS[container](column))
    check_all_readers(raw, want)


_values = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**80), max_value=2**80),
    st.floats(allow_nan=False),
    st.text(max_size=5).filter(lambda s: s != ""),
    st.datetimes(timezones=st.just(UTC)),
    st.datetimes(),
    st.timedeltas(),
    st.lists(st.integers(), max_size=2),
)


@SETTINGS
@given(st.lists(st.lists(_values, min_size=2, max_size=2), min_size=0, max_size=5), st.booleans())
def test_rows_in_files_equal_rows_collected_minus_drops(
    store: modeltap.LocalStore, rows: list[list[Any]], as_records: bool
) -> None:
    """Whatever is thrown at collect(): accepted rows are in the files or counted as dropped,
    and a call that raises adds nothing."""
    before = modeltap.stats()
    data: Any = [{"a": a, "b": b} for a, b in rows] if as_records and rows else rows
    name = f"p{next(_names)}"
    c = modeltap.Collector(name)
    with contextlib.suppress(TypeError, ValueError):
        c.collect(data)
    assert modeltap.flush()
    after = modeltap.stats()
    collected = after["rows_collected"] - before["rows_collected"]
    dropped = sum(after["rows_dropped"].values()) - sum(before["rows_dropped"].values())
    found = list(Path(store.root).rglob(f"*/{name}/*/*/*/*/*/data.csv"))
    in_files = sum(len(pa_rows(p)) for p in found)
    assert in_files == collected - dropped


def pa_rows(path: Path) -> list[list[str]]:
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8"), newline="")))[1:]


# Generated columns of one kind each. Text starts with a letter so that no reader's type
# inference takes it for a number, a date or a null marker.
_offsets = st.integers(min_value=-23 * 60, max_value=23 * 60).map(lambda m: dt.timezone(dt.timedelta(minutes=m)))
_instants = dict(min_value=dt.datetime(1900, 1, 1), max_value=dt.datetime(2200, 1, 1))
_generated: dict[str, tuple[st.SearchStrategy[Any], Callable[[Any], Any]]] = {
    "int": (st.integers(min_value=-(2**63), max_value=2**63 - 1), lambda v: v),
    "float": (st.floats(allow_nan=False, allow_infinity=False), lambda v: v),
    "text": (
        st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"), max_size=8).map(
            lambda s: "s" + s
        ),
        lambda v: v,
    ),
    "aware": (st.datetimes(timezones=_offsets, **_instants), lambda v: pd.Timestamp(v).tz_convert("UTC")),
    "naive": (st.datetimes(**_instants), pd.Timestamp),
}


@st.composite
def _generated_column(draw: st.DrawFn) -> tuple[str, list[Any], str]:
    kind = draw(st.sampled_from(sorted(_generated)))
    values = draw(st.lists(_generated[kind][0], min_size=1, max_size=5))
    container = draw(st.sampled_from(sorted(CONTAINERS)))
    return kind, values, container


@SETTINGS
@given(_generated_column())
def test_generated_values_round_trip(store: modeltap.LocalStore, case: tuple[str, list[Any], str]) -> None:
    kind, values, container = case
    column: Any = np.array(values, dtype=object) if kind in ("aware", "naive") else np.array(values)
    if kind in ("aware", "naive") and container not in ("ndarray", "dict of arrays"):
        column = pd.Series(values, dtype=object) if container in ("DataFrame", "Series") else values
    raw = collect_one(store, CONTAINERS[container](column))
    # Text reads back stripped of nothing; the readers' own trimming is the reader matrix's
    # business, so text with edge spaces is compared through the csv module only.
    want = [_generated[kind][1](v) for v in values]
    if kind == "text" and any(v != v.strip() or "\r" in v for v in values):
        rows = list(csv.reader(io.StringIO(raw.decode("utf-8"), newline="")))
        assert [r[0] for r in rows[1:]] == want
        return
    check_all_readers(raw, want)


def test_modeltap_read_gives_aware_back_as_aware(store: modeltap.LocalStore) -> None:
    name = f"r{next(_names)}"
    c = modeltap.Collector(name)
    aware = pd.to_datetime(["2024-01-01T01:00:00+01:00", None], utc=True).tz_convert("Asia/Tokyo")
    c.collect(pd.DataFrame({"tz": aware, "naive": pd.to_datetime(["2024-01-01", "2024-01-02"])}))
    assert modeltap.flush()
    frame = modeltap.read(
        store, name, "general", start=(dt.datetime.now(UTC) - dt.timedelta(days=1)).date().isoformat()
    )
    assert str(frame["tz"].dtype) == "datetime64[ns, UTC]" and frame["naive"].dt.tz is None
    assert frame["tz"][0] == pd.Timestamp("2024-01-01T00:00Z") and pd.isna(frame["tz"][1])


# Rows of Python values a list types column by column (one plain type makes a typed column);
# the same rows in a numpy object array, in tuples, and in a list subclass (which the Python side
# converts, where a list is converted natively) must write the same fields and the same types.
SAME_ROWS_CASES: dict[str, list[list[Any]]] = {
    "ints beyond int64, none negative": [[2**63], [1]],
    "ints beyond int64 and negative ints": [[2**63], [-1]],
    "ints beyond 64 bits": [[10**30], [1]],
    "ints among floats, exact": [[2], [0.5], [-(2**53)]],
    "ints among floats, one inexact": [[2**53 + 1], [0.5]],
    "ints among floats with a None": [[2], [0.5], [None]],
    "numpy float32 scalars": [[np.float32(0.1)], [np.float32(2.5)]],
    "numpy float32 among floats": [[np.float32(0.1)], [0.25]],
    "numpy float16 scalars": [[np.float16(0.1)], [np.float16(-2)]],
    "numpy int8 scalars": [[np.int8(3)], [np.int8(-1)]],
    "bools and ints": [[True], [2]],
    "floats and NaN": [[float("nan")], [1.5]],
    "text and None": [["a,b"], [None]],
}


def _written_with_types(store: modeltap.LocalStore, data: Any) -> tuple[list[str], str]:
    """The first field of each row written for `data`, and the column types recorded."""
    raw = collect_one(store, data)
    (path,) = [p for p in Path(store.root).rglob("data.csv") if p.read_bytes() == raw]
    first = [next(csv.reader([line]))[0] for line in raw.decode().splitlines()[1:]]
    return first, store.read_schema(str(path)) or ""


@pytest.mark.parametrize("case", list(SAME_ROWS_CASES))
def test_a_list_and_an_object_array_of_the_same_rows_write_the_same(store: modeltap.LocalStore, case: str) -> None:
    rows = SAME_ROWS_CASES[case]
    as_list = _written_with_types(store, rows)
    assert _written_with_types(store, _Rows(rows)) == as_list
    assert _written_with_types(store, np.array(rows, dtype=object)) == as_list
    assert _written_with_types(store, tuple(tuple(r) for r in rows)) == as_list


class _Rows(list):  # type: ignore[type-arg]
    """A list the native core does not take as one: converted by ``modeltap.tabular``."""


class _Dict(dict):  # type: ignore[type-arg]
    """A dict the native core does not take as one: converted by ``modeltap.tabular``."""


@pytest.mark.parametrize(
    "data",
    [
        [0.5, 2, "a,b", None, True],
        [[1, 2.5], [3, None]],
        ([1, "x"], (2, "y")),
        [[1], [2], [3]],
        [["é", 'quo"te'], ["new\nline", ""]],
        [{"a": 0.5, "b": "x,y", "c": None}, {"a": 2, "b": "z", "c": True}],
        ({"é": 2**64, "n": [1]},),
        {"a": 0.5, "b": 2, "c": "x", "d": None},
        {"a": [0.5, 2], "b": ("x", None)},
    ],
    ids=["flat row", "rows", "tuple of mixed rows", "one column", "text", "records", "bad record", "dict row", "dict"],
)
def test_lists_converted_natively_write_what_the_python_side_writes(store: modeltap.LocalStore, data: Any) -> None:
    """Lists, records and dicts of plain values are converted natively (``rust/python/rows.rs``);
    the same data in a list or dict subclass is converted by the Python side. They write the
    same, or raise the same error."""
    one_column = isinstance(data[0], list | tuple) and len(data[0]) == 1 if isinstance(data, list) else False

    def written(data: Any) -> list[list[str]]:
        name = f"n{next(_names)}"
        modeltap.Collector(name, feature_names=["v"] if one_column else None).collect(data)
        assert modeltap.flush()
        (path,) = sorted(Path(store.root).rglob(f"*/{name}/*/*/*/*/*/data.csv"))
        # The values, without the correlation columns.
        return [row[:-4] for row in csv.reader(io.StringIO(path.read_text()))]

    def outcome(data: Any) -> Any:
        try:
            return written(data)
        except (TypeError, ValueError) as e:
            return type(e), str(e)

    python_side = _Dict(data) if isinstance(data, dict) else _Rows(data)
    assert outcome(data) == outcome(python_side)


@pytest.mark.parametrize(
    ("data", "error", "match"),
    [
        ([[1, 2], [3]], ValueError, "row 1 has 1 values, row 0 has 2"),
        ([[1, [2]]], TypeError, "column 1 holds a list"),
        ([[1, 2], 3], TypeError, "row 1 is a int"),
    ],
)
def test_bad_lists_raise_as_before_and_change_nothing(
    store: modeltap.LocalStore, data: Any, error: type, match: str
) -> None:
    c = modeltap.Collector(f"bad{next(_names)}")
    with pytest.raises(error, match=match):
        c.collect(data)
    assert c.feature_names is None
