"""What ``collect()`` takes, made into what the native core reads.

numpy arrays go to the core as they are (no copy). Data frames, dicts and lists become a list
of 1-D numpy columns: numeric columns are views where pandas allows, anything else becomes an
object column that the core renders while the GIL is held.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

Columns = list[np.ndarray]


def is_dataframe(data: object) -> bool:
    pd = sys.modules.get("pandas")
    return pd is not None and isinstance(data, (pd.DataFrame, pd.Series))


def from_dataframe(data: Any, names: Sequence[str] | None, copy: bool) -> tuple[Columns, list[str]]:
    """Columns of a pandas DataFrame (or Series), in ``names`` order when every name is a column."""
    pd = sys.modules["pandas"]  # loaded: is_dataframe() said so
    frame = data.to_frame() if isinstance(data, pd.Series) else data
    labels = [str(c) for c in frame.columns]
    if names is not None and names != labels and len(set(labels)) == len(labels) and set(names) <= set(labels):
        positions = [labels.index(n) for n in names]
    else:
        positions = list(range(len(labels)))
        homogeneous = _single_block(frame)
        if homogeneous is not None:
            # One numeric block: its 2-D array is the frame's own memory; no per-column pandas calls.
            return [homogeneous[:, i] for i in positions], labels
    columns = [_series_values(frame.iloc[:, i], copy) for i in positions]
    return columns, [labels[i] for i in positions]


def _single_block(frame: Any) -> np.ndarray | None:
    """The frame's values as one 2-D numeric array, when all columns share one numpy dtype."""
    blocks = getattr(getattr(frame, "_mgr", None), "blocks", None)  # private, hence the care
    if blocks is None or len(blocks) != 1 or frame.shape[1] == 0:
        return None
    values = frame.to_numpy()
    return values if isinstance(values, np.ndarray) and values.dtype.kind in "biuf" else None


def _series_values(series: Any, copy: bool) -> np.ndarray:
    dtype = series.dtype
    if isinstance(dtype, np.dtype) and dtype.kind in "biufM":
        values = series.to_numpy(copy=copy)
    elif getattr(dtype, "tz", None) is not None:
        # Aware timestamps: stored as UTC, written as UTC.
        values = series.dt.tz_convert("UTC").dt.tz_localize(None).to_numpy(copy=copy)
    else:
        # Strings, categories, nullable ints/bools/floats: missing values become empty fields.
        values = series.to_numpy(dtype=object, na_value=None)
    return np.asarray(values)


def from_mapping(data: Mapping[Any, Any]) -> tuple[Columns, list[str]]:
    """``{"name": [values...]}`` (or one value per name, for a single row)."""
    names = [str(k) for k in data]
    values = list(data.values())
    if values and all(_is_scalar(v) for v in values):
        values = [[v] for v in values]
    return [_column(list(v), name) for name, v in zip(names, values, strict=True)], names


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
        n = len(row)
        if width is None:
            width = n
        elif n != width:
            raise ValueError(f"row {i} has {n} values, row 0 has {width}")
    return [_column([row[j] for row in rows], str(j)) for j in range(width or 0)]


def _is_scalar(v: object) -> bool:
    return v is None or isinstance(v, (str, bytes, int, float, bool, np.generic)) or not hasattr(v, "__len__")


def _column(values: list[Any], name: str) -> np.ndarray:
    """A column of Python values: typed when they all share one plain type, else objects."""
    kinds = {type(v) for v in values}
    if len(kinds) == 1 and kinds <= {int, float, bool}:
        try:
            return np.asarray(values)
        except OverflowError:  # ints beyond 64 bits
            pass
    if kinds <= {int, float} and kinds:
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
        return from_mapping(data)
    if isinstance(data, (list, tuple)):
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
    if is_dataframe(data):
        return len(data)
    if isinstance(data, Mapping):
        values = list(data.values())
        return 1 if not values or _is_scalar(values[0]) else len(values[0])
    if isinstance(data, (list, tuple)):
        if all(_is_scalar(v) for v in data):
            return len(data) if ncols == 1 else min(len(data), 1)
        return len(data)
    return 1
