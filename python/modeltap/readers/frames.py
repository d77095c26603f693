"""CSV files of a store into typed tables: pandas (default), polars or pyarrow.

CSV carries no types, so they are inferred per column the way modeltap wrote them: integers,
floats (``NaN``, ``inf``), ``True``/``False``, ISO 8601 timestamps (``...Z`` ones as UTC), and
strings; an empty field is a missing value. modeltap's own columns have fixed types. A string
column whose every value looks like a number comes back as numbers: CSV cannot tell them apart.
"""

from __future__ import annotations

import csv as csv_module
import io
import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from modeltap.columns import ID_COLUMNS, ROW, TYPES, is_own
from modeltap.readers.partitions import Partition, as_store, partitions
from modeltap.stores import ReadableStore, StoredFile

logger = logging.getLogger("modeltap.read")

Format = Literal["pandas", "polars", "arrow"]

# Timestamps are left to pyarrow's own ISO 8601 inference.
_FIXED_TYPES = {name: kind for name, kind in TYPES.items() if kind != "timestamp"}


def _pyarrow() -> Any:
    try:
        import pyarrow as pa  # noqa: PLC0415 - the analysis extra
        import pyarrow.csv  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("reading needs the analysis extra: pip install 'modeltap[analysis]'") from exc
    return pa


def parse_csv(data: bytes, name: str = "<csv>") -> Any:
    """One CSV file's bytes as a pyarrow Table with inferred types."""
    pa = _pyarrow()
    csv = pa.csv
    header = data.split(b"\n", 1)[0].decode("utf-8", "replace")
    names: list[str] = next(iter(csv_module.reader([header])), [])
    types = {n: getattr(pa, t)() for n, t in _FIXED_TYPES.items() if n in names}
    try:
        return csv.read_csv(
            io.BytesIO(data),
            convert_options=csv.ConvertOptions(
                column_types=types,
                true_values=["True"],
                false_values=["False"],
                strings_can_be_null=True,
                quoted_strings_can_be_null=False,
            ),
        )
    except pa.ArrowInvalid as exc:
        raise ValueError(f"{name} is not a CSV file modeltap can read: {exc}") from None


def _tables(store: ReadableStore, parts: Iterable[Partition], progress: Callable[[StoredFile], None] | None) -> Any:
    pa = _pyarrow()
    tables = []
    for part in parts:
        for f in part.files:
            if progress is not None:
                progress(f)
            data = store.read_bytes(f.path)
            if data.strip():
                tables.append(parse_csv(data, f.path))
    if not tables:
        return None
    # Files of one stream share a header, unless the features changed (data.1.csv, ...).
    return pa.concat_tables(tables, promote_options="permissive")


def _convert(table: Any, format: Format) -> Any:
    if format == "arrow":
        return table
    if format == "polars":
        import polars as pl  # noqa: PLC0415 - the analysis extra

        return pl.from_arrow(table)
    if format == "pandas":
        return _to_pandas(table)
    raise ValueError(f"format must be 'pandas', 'polars' or 'arrow', got {format!r}")


def _to_pandas(table: Any) -> Any:
    import pandas as pd  # noqa: PLC0415

    pa = _pyarrow()
    frame = table.to_pandas()
    # Ints and bools with gaps would become floats and objects: keep their type, nullable.
    for name, column in zip(table.column_names, table.columns, strict=True):
        if column.null_count and pa.types.is_integer(column.type):
            frame[name] = column.to_pandas(types_mapper={column.type: pd.Int64Dtype()}.get)
        elif column.null_count and pa.types.is_boolean(column.type):
            frame[name] = column.to_pandas(types_mapper={column.type: pd.BooleanDtype()}.get)
    return frame


def read(
    store: ReadableStore | str,
    model: str,
    designation: str = "inputs",
    start: date | datetime | str | None = None,
    end: date | datetime | str | None = None,
    *,
    version: str = "default",
    service: str = "default",
    workspace: str = "default/default/default",
    format: Format = "pandas",
    progress: Callable[[StoredFile], None] | None = None,
) -> Any:
    """The rows of one stream from ``start`` to ``end`` (UTC days, both included; default the
    last 7 days), as a pandas DataFrame, or ``format="polars"`` / ``"arrow"``.

    >>> df = modeltap.read("./modeldata", "best_model", "inputs", start="2026-11-01", end="2026-11-30")

    Only the partitions in range are listed and read. No rows give an empty frame.
    """
    readable = as_store(store)
    parts = partitions(readable, model, designation, start, end, version=version, service=service, workspace=workspace)
    table = _tables(readable, parts, progress)
    if table is None:
        table = _pyarrow().table({})
    return _convert(table, format)


def _dedupe_and_key(frame: Any, designation: str) -> tuple[Any, list[str]]:
    """Rows delivered twice (an at-least-once path) once, and the columns that identify a row."""
    id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
    if id_column is None:
        raise ValueError(f"the {designation} rows have no correlation column ({' or '.join(ID_COLUMNS)}): cannot join")
    if ROW in frame.columns:
        keys = [id_column, ROW]
    else:
        # Azure ML v1 files: the rows of one id, in order.
        frame = frame.assign(**{ROW: frame.groupby(id_column, sort=False).cumcount()})
        keys = [id_column, ROW]
    duplicated = frame.duplicated(keep="first")
    if duplicated.any():
        logger.info("modeltap.read: %d %s rows were delivered twice; kept once", int(duplicated.sum()), designation)
        frame = frame[~duplicated]
        if ROW not in frame.columns:
            frame = frame.assign(**{ROW: frame.groupby(id_column, sort=False).cumcount()})
    return frame, keys


def read_joined(
    store: ReadableStore | str,
    model: str,
    start: date | datetime | str | None = None,
    end: date | datetime | str | None = None,
    *,
    designations: Sequence[str] = ("inputs", "predictions", "labels"),
    version: str = "default",
    service: str = "default",
    workspace: str = "default/default/default",
    progress: Callable[[StoredFile], None] | None = None,
) -> Any:
    """Inputs, predictions and labels (those collected) joined row by row on their correlation
    ids, as one pandas DataFrame; rows delivered twice are kept once.

    >>> train = modeltap.read_joined("./modeldata", "best_model", start="2026-11-01")

    Inputs are kept even without a prediction or label (a left join); columns of the later
    designations that clash with earlier ones get the designation as a suffix.
    """
    import pandas as pd  # noqa: PLC0415

    joined: Any = None
    keys: list[str] = []
    for designation in designations:
        frame = read(
            store, model, designation, start, end,
            version=version, service=service, workspace=workspace, progress=progress,
        )  # fmt: skip
        if frame.empty and not len(frame.columns):
            continue
        frame, frame_keys = _dedupe_and_key(frame, designation)
        if joined is None:
            joined, keys = frame, frame_keys
            continue
        frame = frame.rename(columns=dict(zip(frame_keys, keys, strict=True)))
        extra = [c for c in frame.columns if c not in keys and is_own(c)]
        frame = frame.drop(columns=extra)  # its timestamps and constants repeat the inputs'
        joined = joined.merge(frame, on=keys, how="left", suffixes=("", f"_{designation}"))
    return joined if joined is not None else pd.DataFrame()


def export(
    store: ReadableStore | str,
    model: str,
    path: str | Path,
    start: date | datetime | str | None = None,
    end: date | datetime | str | None = None,
    *,
    format: Literal["parquet", "csv"] = "parquet",
    designations: Sequence[str] = ("inputs", "predictions", "labels"),
    version: str = "default",
    service: str = "default",
    workspace: str = "default/default/default",
    progress: Callable[[StoredFile], None] | None = None,
) -> int:
    """Writes the joined rows (a training set) to ``path``; returns how many rows.

    >>> modeltap.export("./modeldata", "best_model", "train.parquet", start="2026-11-01")
    """
    frame = read_joined(
        store, model, start, end,
        designations=designations, version=version, service=service, workspace=workspace, progress=progress,
    )  # fmt: skip
    target = Path(path)
    if format == "parquet":
        frame.to_parquet(target, index=False)
    elif format == "csv":
        frame.to_csv(target, index=False)
    else:
        raise ValueError(f"format must be 'parquet' or 'csv', got {format!r}")
    return len(frame)
