"""CSV files of a store into typed tables: pandas (default), polars or pyarrow.

CSV carries no types, so the store records each file's column types when it creates the file
(Azure: the blob's metadata; LocalStore: a hidden side file), and a file is read with them: a
string column of digits stays strings. Files written before types were recorded are read with
types inferred the way modeltap wrote them: integers, floats (``NaN``, ``inf``),
``True``/``False``, ISO 8601 timestamps (``...Z`` ones as UTC), and strings, modeltap's own
columns fixed. An empty field is a missing value; ``""`` an empty string.
"""

from __future__ import annotations

import csv as csv_module
import io
import logging
import warnings
from collections.abc import Callable, Iterable, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import Any, Literal

from modeltap.columns import ID_COLUMNS, ROW, TYPES, is_own, parse_schema
from modeltap.readers.partitions import Partition, as_store, day_range, partitions
from modeltap.readers.streams import streams
from modeltap.stores import ReadableStore, StoredFile

logger = logging.getLogger("modeltap.read")

Format = Literal["pandas", "polars", "arrow"]


class NoRows(LookupError):
    """Rows were needed (an export) and the range has none."""


class StreamNotFound(NoRows):
    """A read named a stream the store does not hold; the message lists the model's streams."""


# For files without recorded types: timestamps are left to pyarrow's own ISO 8601 inference.
_FIXED_TYPES = {name: kind for name, kind in TYPES.items() if not kind.startswith("timestamp")}


class TypesDiffer(ValueError):
    """Files of one stream record different types for the same column: the reader does not
    pick one."""


def _arrow_type(kind: str) -> Any:
    pa = _pyarrow()
    return {
        "string": pa.string(),
        "int64": pa.int64(),
        "uint64": pa.uint64(),
        "float64": pa.float64(),
        "bool": pa.bool_(),
        "timestamp": pa.timestamp("ns"),
        "timestamp_utc": pa.timestamp("ns", tz="UTC"),
    }[kind]


def _pyarrow() -> Any:
    try:
        import pyarrow as pa  # noqa: PLC0415 - the analysis extra
        import pyarrow.csv  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("reading needs the analysis extra: pip install 'modeltap[analysis]'") from exc
    return pa


def _header_names(data: bytes) -> list[str]:
    # A name holding a newline is quoted: read whole rows until the header's row ends.
    return next(iter(csv_module.reader(io.StringIO(data[: 1 << 20].decode("utf-8", "replace")))), [])


def recorded_types(names: Sequence[str], schema: str, name: str = "<csv>") -> dict[str, str]:
    """Each column's recorded type, by name; ValueError when the record does not fit the header."""
    kinds = parse_schema(schema)
    if len(kinds) != len(names):
        raise ValueError(f"{name} records {len(kinds)} column types for its {len(names)} columns")
    return dict(zip(names, kinds, strict=True))


def parse_csv(data: bytes, name: str = "<csv>", schema: str | None = None) -> Any:
    """One CSV file's bytes as a pyarrow Table: with the column types recorded for it
    (``schema``), else with inferred types."""
    pa = _pyarrow()
    csv = pa.csv
    names = _header_names(data)
    if schema is not None:
        types = {n: _arrow_type(t) for n, t in recorded_types(names, schema, name).items()}
    else:
        types = {n: _arrow_type(t) for n, t in _FIXED_TYPES.items() if n in names}
    try:
        return csv.read_csv(
            io.BytesIO(data),
            convert_options=csv.ConvertOptions(
                column_types=types,
                # Only an empty field is missing: pyarrow's default list would turn the float
                # NaN and strings such as "NA", "null" or "N/A" into nulls.
                null_values=[""],
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
    read_schema: Callable[[str], str | None] = getattr(store, "read_schema", lambda path: None)
    # Each column's recorded type and the first file that recorded it.
    seen: dict[str, tuple[str, str]] = {}
    for part in parts:
        for f in part.files:
            if progress is not None:
                progress(f)
            data = store.read_bytes(f.path)
            if not data.strip():
                continue
            schema = read_schema(f.path)
            if schema is not None:
                for column, kind in recorded_types(_header_names(data), schema, f.path).items():
                    first = seen.setdefault(column, (kind, f.path))
                    if first[0] != kind:
                        raise TypesDiffer(
                            f"column {column!r} is recorded as {first[0]} in {first[1]} but as {kind} in "
                            f"{f.path}; read those days apart, or convert one before joining them"
                        )
            tables.append(parse_csv(data, f.path, schema))
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
            nullable = pd.UInt64Dtype() if pa.types.is_unsigned_integer(column.type) else pd.Int64Dtype()
            frame[name] = column.to_pandas(types_mapper={column.type: nullable}.get)
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
    return _convert(
        _read_table(store, model, designation, start, end, version, service, workspace, progress, required=True),
        format,
    )


def _read_table(
    store: ReadableStore | str,
    model: str,
    designation: str,
    start: date | datetime | str | None,
    end: date | datetime | str | None,
    version: str,
    service: str,
    workspace: str,
    progress: Callable[[StoredFile], None] | None,
    *,
    required: bool,
) -> Any:
    """The stream's rows as an Arrow table (no columns when there are none). When it has no
    files in range, says what there is: a warning when the stream has files on other days,
    :class:`StreamNotFound` naming the model's streams when it has none (``required``)."""
    readable = as_store(store)
    parts = list(
        partitions(readable, model, designation, start, end, version=version, service=service, workspace=workspace)
    )
    table = _tables(readable, parts, progress)
    if table is not None:
        return table
    if not parts:
        _explain_nothing(readable, model, designation, start, end, version, service, workspace, required=required)
    return _pyarrow().table({})


def _explain_nothing(
    store: ReadableStore,
    model: str,
    designation: str,
    start: date | datetime | str | None,
    end: date | datetime | str | None,
    version: str,
    service: str,
    workspace: str,
    *,
    required: bool,
) -> None:
    first, last = day_range(start, end)
    found = streams(store, model)
    asked = (workspace, service, model, str(version), designation)
    same = [s for s in found if (s.workspace, s.service, s.model, s.version, s.designation) == asked]
    if same:
        s = same[0]
        warnings.warn(
            f"modeltap.read: no {designation} rows of {model} from {first} to {last}; "
            f"the stream has files from {s.first_day} to {s.last_day}",
            stacklevel=4,
        )
        return
    if not required:
        return
    if not found:
        raise StreamNotFound(f"{store!r} holds no streams of model {model!r}")
    listed = "; ".join(f"{s.options} ({s.first_day} to {s.last_day})" for s in found)
    raise StreamNotFound(
        f"{store!r} holds no stream {designation!r} of {model!r} with version={version!r}, service={service!r}, "
        f"workspace={workspace!r}; the streams of {model!r} are: {listed}"
    )


def _dedupe_and_key(frame: Any, designation: str) -> tuple[Any, list[str]]:
    """Rows delivered twice (an at-least-once path) once, and the columns that identify a row."""
    id_column = next((c for c in ID_COLUMNS if c in frame.columns), None)
    if id_column is None:
        raise ValueError(f"the {designation} rows have no correlation column ({' or '.join(ID_COLUMNS)}): cannot join")
    keys = [id_column, ROW]
    duplicated = frame.duplicated(keep="first") if ROW in frame.columns else _redelivered_v1_rows(frame, id_column)
    if duplicated.any():
        logger.info("modeltap.read: %d %s rows were delivered twice; kept once", int(duplicated.sum()), designation)
        frame = frame[~duplicated]
    if ROW not in frame.columns:
        # Azure ML v1 files: the rows of one id, in order, numbered once the copies are gone.
        frame = frame.assign(**{ROW: frame.groupby(id_column, sort=False).cumcount()})
    return frame, keys


def _redelivered_v1_rows(frame: Any, id_column: str) -> Any:
    """Azure ML v1 rows carry no row number: the rows of a call share one id. A call delivered
    k times shows its rows repeated k times in a row under that id, so those repeats are
    dropped; an id whose rows do not repeat as a whole keeps them all (identical rows of one
    call are data, not copies). One identical row twice cannot be told from a copy: it is
    taken as one."""
    import numpy as np  # noqa: PLC0415
    import pandas as pd  # noqa: PLC0415

    hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    drop = np.zeros(len(frame), dtype=bool)
    for positions in frame.groupby(id_column, sort=False).indices.values():
        n = len(positions)
        if n < 2:
            continue
        rows = hashes[positions]
        for period in range(1, n // 2 + 1):
            if n % period == 0 and (rows == np.tile(rows[:period], n // period)).all():
                drop[positions[period:]] = True
                break
    return pd.Series(drop, index=frame.index)


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
    for designation_index, designation in enumerate(designations):
        # Inputs must exist; predictions and labels may not have been collected.
        table = _read_table(
            store, model, designation, start, end, version, service, workspace, progress,
            required=not designation_index,
        )  # fmt: skip
        frame = _to_pandas(table)
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
    """Writes the joined rows (a training set) to ``path``; returns how many rows. With no
    rows in range it raises :class:`NoRows` and writes nothing.

    >>> modeltap.export("./modeldata", "best_model", "train.parquet", start="2026-11-01")
    """
    frame = read_joined(
        store, model, start, end,
        designations=designations, version=version, service=service, workspace=workspace, progress=progress,
    )  # fmt: skip
    if format not in ("parquet", "csv"):
        raise ValueError(f"format must be 'parquet' or 'csv', got {format!r}")
    if not len(frame):
        first, last = day_range(start, end)
        raise NoRows(f"no rows of {model} from {first} to {last}: {path} not written")
    target = Path(path)
    if format == "parquet":
        frame.to_parquet(target, index=False)
    elif format == "csv":
        frame.to_csv(target, index=False)
    else:
        raise ValueError(f"format must be 'parquet' or 'csv', got {format!r}")
    return len(frame)
