"""What goes in comes back: every accepted kind, read back with pandas, equals the input."""

from __future__ import annotations

import io
import itertools
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import modeltap

_names = itertools.count()
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

# Strings that exercise CSV: separators, quotes, line breaks, spaces at the edges, any Unicode.
tricky_text = st.text(
    alphabet=st.one_of(
        st.sampled_from([",", '"', "\r", "\n", " ", "\t", "é", "😀", "中"]),
        st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00"),
    ),
    min_size=1,
    max_size=12,
)


def roundtrip(
    store: modeltap.LocalStore, data: object, dtypes: dict[str, object] | None = None, **read_kwargs: object
) -> tuple[modeltap.Collector, pd.DataFrame]:
    name = f"m{next(_names)}"
    c = modeltap.Collector(name)
    c.collect(data)
    assert modeltap.flush()
    (path,) = sorted(Path(store.root).rglob(f"*/{name}/*/*/*/*/*/data.csv"))
    frame = pd.read_csv(io.BytesIO(path.read_bytes()), dtype=dtypes, **read_kwargs)  # type: ignore[call-overload]
    return c, frame


def value_columns(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[[c for c in frame.columns if not c.startswith("$")]]


@SETTINGS
@given(
    hnp.arrays(
        dtype=st.sampled_from([np.float64, np.float32, np.float16]),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=6),
        elements={"allow_nan": True, "allow_infinity": True},
    )
)
def test_floats_round_trip_exactly(store: modeltap.LocalStore, arr: np.ndarray) -> None:
    cols = [f"col_{i}" for i in range(arr.shape[1])]
    _, frame = roundtrip(store, arr, {c: "float64" for c in cols})
    back = value_columns(frame).to_numpy().astype(arr.dtype)
    np.testing.assert_array_equal(back, arr)
    # -0.0 keeps its sign (a NaN's sign is not data)
    numbers = ~np.isnan(arr)
    assert (np.signbit(back)[numbers] == np.signbit(arr)[numbers]).all()


def test_extreme_floats(store: modeltap.LocalStore) -> None:
    x = np.array([[5e-324, 2.2250738585072014e-308, 1.7976931308237157e308, -0.0, 0.1, 1 / 3, np.nan, np.inf, -np.inf]])
    _, frame = roundtrip(store, x, None)
    np.testing.assert_array_equal(value_columns(frame).to_numpy(dtype=np.float64), x)


@SETTINGS
@given(
    st.sampled_from(
        [np.int8, np.int16, np.int32, np.int64, np.uint8, np.uint16, np.uint32, np.uint64, np.bool_]
    ).flatmap(lambda dt: hnp.arrays(dtype=dt, shape=hnp.array_shapes(min_dims=2, max_dims=2, min_side=1, max_side=5)))
)
def test_ints_and_bools_round_trip(store: modeltap.LocalStore, arr: np.ndarray) -> None:
    cols = [f"col_{i}" for i in range(arr.shape[1])]
    _, frame = roundtrip(store, arr, {c: arr.dtype for c in cols})
    np.testing.assert_array_equal(value_columns(frame).to_numpy(), arr)


def test_integer_limits(store: modeltap.LocalStore) -> None:
    i = np.array([[np.iinfo(np.int64).min, np.iinfo(np.int64).max, 0]])
    _, frame = roundtrip(store, i, {f"col_{k}": "int64" for k in range(3)})
    np.testing.assert_array_equal(value_columns(frame).to_numpy(), i)
    u = np.array([[np.iinfo(np.uint64).max, 0]], dtype=np.uint64)
    _, frame = roundtrip(store, u, {f"col_{k}": "uint64" for k in range(2)})
    np.testing.assert_array_equal(value_columns(frame).to_numpy(), u)


@SETTINGS
@given(st.lists(st.lists(st.one_of(st.none(), tricky_text), min_size=3, max_size=3), min_size=1, max_size=6))
def test_object_strings_round_trip(store: modeltap.LocalStore, rows: list[list[str | None]]) -> None:
    arr = np.array(rows, dtype=object)
    _, frame = roundtrip(store, arr, {f"col_{k}": str for k in range(3)}, keep_default_na=False)
    # A missing value is an empty field; pandas reads it back as "".
    expected = [["" if v is None else v for v in row] for row in rows]
    assert value_columns(frame).to_numpy().tolist() == expected


@SETTINGS
@given(
    hnp.arrays(
        dtype=np.dtype("<U6"),
        shape=hnp.array_shapes(min_dims=2, max_dims=2, max_side=4),
        elements=tricky_text.filter(lambda s: len(s) <= 6 and not s.endswith("\x00")),
    )
)
def test_fixed_width_unicode_round_trips(store: modeltap.LocalStore, arr: np.ndarray) -> None:
    cols = [f"col_{i}" for i in range(arr.shape[1])]
    _, frame = roundtrip(store, arr, {c: str for c in cols}, keep_default_na=False)
    assert value_columns(frame).to_numpy().tolist() == arr.tolist()


@pytest.mark.parametrize("unit", ["D", "s", "ms", "us", "ns"])
def test_datetimes_round_trip(store: modeltap.LocalStore, unit: str) -> None:
    rng = np.random.default_rng(1)
    lo, hi = np.datetime64("1700-01-01", unit).astype(np.int64), np.datetime64("2250-01-01", unit).astype(np.int64)
    if unit == "ns":
        lo, hi = np.datetime64("1678-01-01", unit).astype(np.int64), np.datetime64("2261-01-01", unit).astype(np.int64)
    arr = rng.integers(lo, hi, size=(20, 2)).astype(f"M8[{unit}]")
    arr[3, 1] = np.datetime64("NaT")
    _, frame = roundtrip(store, arr, {"col_0": str, "col_1": str}, keep_default_na=False)
    back = value_columns(frame).to_numpy().astype(f"M8[{unit}]")
    np.testing.assert_array_equal(back, arr)


def test_fortran_order_and_strided_views(store: modeltap.LocalStore) -> None:
    base = np.arange(60.0).reshape(6, 10)
    for view in (np.asfortranarray(base), base[::2, 1::3], base[::-1, ::-1], base.T[2:5]):
        _, frame = roundtrip(store, view, None)
        np.testing.assert_array_equal(value_columns(frame).to_numpy(), view)


def test_non_native_byte_order(store: modeltap.LocalStore) -> None:
    arr = np.array([[1.5, -2.25]], dtype=">f8")
    _, frame = roundtrip(store, arr)
    np.testing.assert_array_equal(value_columns(frame).to_numpy(), arr.astype("<f8"))


def test_mixed_dataframe_round_trips(store: modeltap.LocalStore) -> None:
    df = pd.DataFrame(
        {
            "f": [0.1, np.nan, -np.inf],
            "i": np.array([np.iinfo(np.int64).min, 0, np.iinfo(np.int64).max]),
            "u8": np.array([0, 7, 255], dtype=np.uint8),
            "b": [True, False, True],
            "s": ['say "hi"', None, "a,\r\nb"],
            "n": pd.array([1, None, 3], dtype="Int64"),
            "t": pd.to_datetime(["2024-02-29T23:59:59.123456", None, "1970-01-01"], format="ISO8601"),
            "tz": pd.to_datetime(["2024-01-01T01:00:00+01:00", "2024-01-01T00:00:00Z", None], utc=True),
            "cat": pd.Categorical(["x", "y", None]),
        }
    )
    _, frame = roundtrip(store, df, {"i": "int64", "u8": "uint8", "s": object, "n": "Int64"}, parse_dates=["t", "tz"])
    out = value_columns(frame)
    np.testing.assert_array_equal(out["f"].to_numpy(), df["f"].to_numpy())
    assert out["i"].tolist() == df["i"].tolist()
    assert out["u8"].tolist() == df["u8"].tolist()
    assert out["b"].tolist() == df["b"].tolist()
    assert out["s"][0] == 'say "hi"' and pd.isna(out["s"][1]) and out["s"][2] == "a,\r\nb"
    assert out["n"].tolist()[0] == 1 and pd.isna(out["n"][1]) and out["n"].tolist()[2] == 3
    assert out["t"][0] == pd.Timestamp("2024-02-29T23:59:59.123456") and pd.isna(out["t"][1])
    # Aware in, aware out: in UTC, with the same instant.
    assert out["tz"][0] == pd.Timestamp("2024-01-01T00:00:00Z") and pd.isna(out["tz"][2])
    assert out["cat"][0] == "x" and pd.isna(out["cat"][2])


def test_pandas_missing_markers_in_object_arrays(store: modeltap.LocalStore) -> None:
    arr = np.array([["x", pd.NA, pd.NaT, None]], dtype=object)
    _, frame = roundtrip(store, arr, {f"col_{k}": str for k in range(4)}, keep_default_na=False)
    assert value_columns(frame).to_numpy().tolist() == [["x", "", "", ""]]
