"""What ``collect()`` takes, made into what the native core reads.

numpy arrays go to the core as they are (no copy); so do most pandas frames, which the core
reads block by block (``rust/python/frame.rs``). The rest of the frames, and dicts and lists,
become a list of 1-D numpy columns: numeric and naive datetime columns are views where pandas
allows (copies under ``copy=True``), tz-aware columns a UTC view the core writes with a ``Z``,
nullable columns (values, mask) pairs, ``ArrowDtype`` columns their Arrow memory (a pyarrow
table of one column, taken as pyarrow data is), anything else an object column that the core
renders while the GIL is held. Both ways write a column alike, byte for byte.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modeltap import _native

# A column, a nullable column as (values, mask), or Arrow memory as a pyarrow Table of one
# column (its name in errors), which the core takes as it takes pyarrow data.
Column = np.ndarray | tuple[np.ndarray, np.ndarray] | Any
Columns = list[Column]

# Marks a datetime64 column whose values are UTC instants; the core (rust/python/convert.rs,
# UTC_METADATA) writes them ending in ``Z``, as it writes every aware value.
_UTC_METADATA = {"tz": "UTC"}

# Ints a float64 holds exactly: a column mixing ints and floats becomes float64 only within it.
_EXACT_INT = 2**53

_TIMEDELTA_HINT = 'convert them to numbers first, e.g. td / np.timedelta64(1, "s")'


def is_dataframe(data: object) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(data, (pd.DataFrame, pd.Series))


def from_dataframe(data: Any, names: Sequence[str] | None, copy: bool) -> tuple[Columns, list[str]]:
    """Columns of a pandas DataFrame (or Series), in ``names`` order when every name is a column."""
    pd = sys.modules["pandas"]  # loaded: is_dataframe() said so
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    labels = [str(c) for c in frame.columns]
    positions = _positions(labels, names)
    if positions == list(range(len(labels))):
        homogeneous = _single_block(frame, copy)
        if homogeneous is not None:
            # One numeric block: its 2-D array is the frame's own memory; no per-column pandas calls.
            return [homogeneous[:, i] for i in positions], labels
    columns = [_series_values(frame.iloc[:, i], labels[i], copy) for i in positions]
    return columns, [labels[i] for i in positions]


def _single_block(frame: Any, copy: bool) -> np.ndarray | None:
    """The frame's values as one 2-D numeric array, when all columns share one numpy dtype."""
    blocks = getattr(getattr(frame, "_mgr", None), "blocks", None)  # private, hence the care
    if blocks is None or len(blocks) != 1 or frame.shape[1] == 0:
        return None
    # Nullable (masked) columns are one block each too, but to_numpy() makes floats of them.
    dtype = getattr(blocks[0], "dtype", None)
    if not isinstance(dtype, np.dtype) or dtype.kind not in "biuf":
        return None
    values = frame.to_numpy(copy=copy)
    return values if isinstance(values, np.ndarray) and values.dtype == dtype else None


def _series_values(series: Any, name: str, copy: bool) -> Column:
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufM":
        return np.asarray(series.to_numpy(copy=copy))
    if isinstance(dtype, np.dtype) and dtype.kind == "m":
        raise TypeError(
            f"column {name!r} holds timedeltas (dtype {dtype}); collect() does not take them: {_TIMEDELTA_HINT}"
        )
    masked = _masked(series)
    if masked is not None:
        return masked
    pd = sys.modules["pandas"]
    if isinstance(dtype, pd.ArrowDtype):
        # Arrow memory (``int64[pyarrow]``, a ``dtype_backend="pyarrow"`` frame's columns): held
        # by reference as pyarrow data is, and written as a pyarrow table's column is.
        # The core refuses, naming the column, what it cannot write (durations, lists).
        return _arrow_column(series.array.__arrow_array__(), name)
    if isinstance(dtype, pd.CategoricalDtype):
        # Each row its category's own object (pandas' to_numpy would make floats of int
        # categories when a value is missing); code -1, missing, is the None after them.
        categories = np.empty(len(dtype.categories) + 1, dtype=object)
        categories[:-1] = dtype.categories.to_numpy(dtype=object, na_value=None)
        return np.asarray(categories[series.cat.codes.to_numpy()])
    if getattr(dtype, "tz", None) is not None:
        # Aware timestamps: their UTC values (pandas' own memory: tz_convert(None) is a view),
        # marked so that the core writes them with a Z.
        naive = series.dt.tz_convert(None).to_numpy(copy=copy)
        return utc(np.asarray(naive))
    # Strings and categories: the values as Python objects, missing values as None (empty
    # fields).
    return np.asarray(series.to_numpy(dtype=object, na_value=None))


def _masked(series: Any) -> tuple[np.ndarray, np.ndarray] | None:
    """A nullable int, float or bool column as (values, mask): the core writes each value as
    its numpy dtype's values are written and a masked one as an empty field."""
    pd = sys.modules["pandas"]
    array = series.array
    if not isinstance(array, (pd.arrays.IntegerArray, pd.arrays.FloatingArray, pd.arrays.BooleanArray)):
        return None
    numpy_dtype = array.dtype.numpy_dtype
    mask = np.asarray(array.isna(), dtype=bool)
    # Masked slots are filled with a placeholder; the core never reads them.
    values = np.asarray(array.to_numpy(dtype=numpy_dtype, na_value=numpy_dtype.type(0)))
    return values, mask


def utc(values: np.ndarray) -> np.ndarray:
    """A view of a datetime64 array of UTC instants that the core writes ending in ``Z``."""
    return values.view(np.dtype(values.dtype.str, metadata=_UTC_METADATA))


def from_mapping(data: Mapping[Any, Any], names: Sequence[str] | None, copy: bool) -> tuple[Columns, list[str]]:
    """``{"name": column}`` (a numpy array, a pandas Series or a sequence of values), or one
    value per name for a single row; in ``names`` order when every name is a key."""
    labels = [str(k) for k in data]
    values = list(data.values())
    positions = _positions(labels, names)
    scalar = [_is_scalar(v) for v in values]
    if values and all(scalar):
        return [_column([values[i]], labels[i]) for i in positions], [labels[i] for i in positions]
    if any(scalar):
        i = scalar.index(True)
        raise ValueError(
            f"column {labels[i]!r} is a single value but other columns are sequences: give every "
            "column as a sequence, or one value per column for a single row"
        )
    return [_mapped_column(values[i], labels[i], copy) for i in positions], [labels[i] for i in positions]


def is_records(rows: Sequence[Any]) -> bool:
    """Whether a list is of dicts (records) rather than of rows or values."""
    if not rows:
        return False
    first = rows[0]
    # The Mapping check (an ABC: slow) only for what is not a plain row.
    return type(first) is dict or (not isinstance(first, (list, tuple, np.ndarray)) and isinstance(first, Mapping))


def from_records(rows: Sequence[Mapping[Any, Any]], names: Sequence[str] | None) -> tuple[Columns, list[str]]:
    """A list of dicts, one per row, all with the same keys (the column names)."""
    labels = [str(k) for k in rows[0]]
    keys = list(rows[0])
    for i, row in enumerate(rows):
        if not isinstance(row, Mapping):
            raise TypeError(
                f"row {i} is a {type(row).__name__}, but row 0 is a dict: rows are all dicts or all sequences"
            )
        if len(row) != len(keys) or any(k not in row for k in keys):
            raise ValueError(f"row {i} has the keys {sorted(map(str, row))}, row 0 has {sorted(labels)}")
    positions = _positions(labels, names)
    columns: Columns = [_column([row[keys[i]] for row in rows], labels[i]) for i in positions]
    return columns, [labels[i] for i in positions]


def _positions(labels: list[str], names: Sequence[str] | None) -> list[int]:
    """Where each of the stream's ``names`` is among ``labels``: by name when all are there,
    else the labels in their own order; a ``ValueError`` when that would write a column under
    another of the names. One rule for every container (``stream::place`` in the core)."""
    if names is None:
        return list(range(len(labels)))
    return _native.place_columns(list(names), labels)


def _mapped_column(values: Any, name: str, copy: bool) -> Column:
    arrow = _arrow_column(values, name)
    if arrow is not None:
        return arrow
    if isinstance(values, np.ndarray):
        if values.ndim != 1:
            raise ValueError(f"column {name!r} is a {values.ndim}-D array; a dict's columns are 1-D")
        # Copied only when kept: objects are rendered during the call, and an array in another
        # byte order becomes a native copy anyway.
        kept = values.dtype.kind != "O" and values.dtype.isnative
        return values.copy() if copy and kept else values
    if is_dataframe(values):
        if values.ndim != 1:
            raise ValueError(f"column {name!r} is a DataFrame; a dict's columns are 1-D")
        return _series_values(values, name, copy)
    return _column(list(values), name)


def _arrow_column(values: Any, name: str) -> Any | None:
    """A pyarrow array or a polars Series as one column named ``name``, which the core takes as
    Arrow data (held by reference: Arrow memory is immutable); ``None`` for anything else."""
    pa = sys.modules.get("pyarrow")
    if pa is not None and isinstance(values, (pa.Array, pa.ChunkedArray)):
        return pa.table({name: values})
    pl = sys.modules.get("polars")
    if pl is not None and type(values) is pl.Series:
        return values.alias(name)
    return None


def from_sequence(data: Sequence[Any], ncols: int) -> Columns:
    """A list of rows, or a flat list that is one row (one column per value, unless the
    collector has a single column, when each value is a row)."""
    if len(data) == 0:
        return []
    if all(_is_scalar(v) for v in data):
        if ncols == 1 and len(data) != 1:
            return [_column(list(data), "0")]
        rows: Sequence[Any] = [data]
    else:
        rows = data
    width = None
    for i, row in enumerate(rows):
        if _is_scalar(row):
            raise TypeError(f"row {i} is a {type(row).__name__}, but the rows before it are sequences")
        if not isinstance(row, (list, tuple)) and isinstance(row, Mapping):  # the ABC check is slow
            raise TypeError(f"row {i} is a dict, but row 0 is not: rows are all dicts or all sequences")
        n = len(row)
        if width is None:
            width = n
        elif n != width:
            raise ValueError(f"row {i} has {n} values, row 0 has {width}")
    return [_column([row[j] for row in rows], str(j)) for j in range(width or 0)]


def _is_scalar(v: object) -> bool:
    return v is None or isinstance(v, (str, bytes, int, float, bool, np.generic)) or not hasattr(v, "__len__")


def _column(values: list[Any], name: str) -> np.ndarray:
    """A column of Python values: typed when they all share one plain type (or one numpy
    scalar type), else objects, which the core renders one by one. The core applies the same
    rule to the columns it renders itself (``rust/values.rs``: object arrays, plain lists);
    test_values' same-rows test holds the two together."""
    kinds = {type(v) for v in values}
    if kinds == {int}:
        # numpy would make floats of ints that fit neither int64 nor uint64 together.
        for dtype in (np.int64, np.uint64):
            try:
                return np.asarray(values, dtype=dtype)
            except OverflowError:
                pass
    elif len(kinds) == 1 and kinds <= {float, bool}:
        return np.asarray(values)
    if len(kinds) == 1 and issubclass(next(iter(kinds)), np.generic) and np.dtype(next(iter(kinds))).kind in "biuf":
        return np.asarray(values)
    if kinds == {int, float} and all(abs(v) <= _EXACT_INT for v in values if type(v) is int):
        # Floats with ints among them, as floats: only when every int survives the trip.
        return np.asarray(values, dtype=np.float64)
    column = np.empty(len(values), dtype=object)
    column[:] = values
    return column


def to_columns(data: Any, names: Sequence[str] | None, ncols: int, copy: bool) -> tuple[Columns, list[str] | None]:
    """What ``collect()`` does with anything but a numpy array: its columns, and the column
    names it carries (a frame's or a dict's), if any. ``names`` and ``ncols`` are the stream's,
    once fixed (else None and 0). The native core calls this once per call and goes on.

    >>> to_columns({"a": [1, 2], "b": [3, 4]}, None, 0, False)[1]
    ['a', 'b']
    """
    if is_dataframe(data):
        return from_dataframe(data, names, copy)
    if isinstance(data, Mapping):
        return from_mapping(data, names, copy)
    if isinstance(data, (list, tuple)):
        if is_records(data):
            return from_records(data, names)
        return from_sequence(data, ncols), None
    raise TypeError(
        f"collect() takes a numpy array, a pandas DataFrame or Series, a dict of columns "
        f"or a list of rows, got {type(data).__name__}"
    )


def rows_in(data: Any, ncols: int) -> int:
    """How many rows ``data`` holds, without converting it: for calls left out by a switch or by
    sampling, which are counted but not converted.

    >>> rows_in([[1, 2], [3, 4]], 2)
    2
    """
    if is_dataframe(data) or hasattr(data, "__arrow_c_stream__") or hasattr(data, "__arrow_c_array__"):
        # pandas, polars and pyarrow containers: their length is their row count.
        return len(data)
    if isinstance(data, Mapping):
        values = list(data.values())
        return 1 if not values or _is_scalar(values[0]) else len(values[0])
    if isinstance(data, (list, tuple)):
        if all(_is_scalar(v) for v in data):
            return len(data) if ncols == 1 else min(len(data), 1)
        return len(data)
    return 1
