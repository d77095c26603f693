"""Reading the layout with PySpark, for data beyond one machine (Databricks, Synapse, a cluster).

>>> df = modeltap.spark.read(spark, "abfss://modeldata@account.dfs.core.windows.net", model="best_model")
"""

from __future__ import annotations

import csv as csv_module
import io
from datetime import date, datetime, timedelta
from typing import Any

from modeltap.columns import CORRELATION_ID, SCHEMA_FOLDER, SCHEMA_KEY, TYPES
from modeltap.layout import file_order
from modeltap.readers.frames import TypesDiffer, recorded_types
from modeltap.readers.partitions import day_range, stream_path

#: How modeltap writes CSV, told to Spark: RFC 4180 quotes (doubled, not backslashed), fields
#: across lines, its spelling of infinity, and a missing value as an empty field while ``""`` is
#: an empty string (Spark's default ``nullValue`` of ``""`` reads both as null; no field is NUL).
#: The README's Spark recipe gives the same options.
CSV_OPTIONS = {
    "header": "true",
    "inferSchema": "true",
    "multiLine": "true",
    "quote": '"',
    "escape": '"',
    "nanValue": "NaN",
    "positiveInf": "inf",
    "negativeInf": "-inf",
    "nullValue": "\u0000",
    "mode": "FAILFAST",
}

#: Spark's type for each recorded type: it has no unsigned 64-bit int, so uint64 is a decimal
#: wide enough for its every value.
_SPARK_TYPES = {
    "string": "string",
    "int64": "bigint",
    "uint64": "decimal(20,0)",
    "float64": "double",
    "bool": "boolean",
    "timestamp": "timestamp_ntz",
    "timestamp_utc": "timestamp",
}
_FIXED = {name: _SPARK_TYPES[kind] for name, kind in TYPES.items()}


def day_folders(
    root: str,
    model: str,
    designation: str,
    start: date,
    end: date,
    *,
    version: str = "default",
    service: str = "default",
    workspace: str = "default/default/default",
) -> list[str]:
    path = stream_path(model, version, designation, service, workspace)
    out = []
    day = start
    while day <= end:
        out.append(f"{root.rstrip('/')}/{path.folder(day.year, day.month, day.day)}")
        day += timedelta(days=1)
    return out


def read(
    spark: Any,
    path: str,
    model: str,
    designation: str = "inputs",
    start: date | datetime | str | None = None,
    end: date | datetime | str | None = None,
    *,
    version: str = "default",
    service: str = "default",
    workspace: str = "default/default/default",
) -> Any:
    """A Spark DataFrame of one stream's rows from ``start`` to ``end`` (UTC days, both
    included; default the last 7 days) under ``path``, the root of the layout (a local folder,
    ``abfss://...``, ``wasbs://...``). Only the day folders in range are read. Each file is
    read with the column types recorded for it (the blob's metadata, or LocalStore's side file
    under ``<path>/.modeltap/schema/``); files written before types were recorded with types
    inferred as modeltap wrote them, its own columns typed. Files of the range that record
    different types for one column raise :class:`modeltap.readers.TypesDiffer`.

    It only lists and reads: the files are found by listing each day folder, never by asking
    whether a folder exists, because Hadoop's ABFS driver answers that question for a folder
    that is only a name prefix by writing a zero-byte marker blob into the store."""
    first, last = day_range(start, end)
    folders = day_folders(path, model, designation, first, last, version=version, service=service, workspace=workspace)
    files = [f for folder in folders for f in _csv_files(spark, folder)]
    if not files:
        return spark.createDataFrame([], f"`{CORRELATION_ID}` string")
    # Files with the same recorded columns are read together with them; the rest inferred.
    groups: dict[tuple[tuple[str, str], ...] | None, list[str]] = {}
    seen: dict[str, tuple[str, str]] = {}
    for f in files:
        columns = _recorded(spark, path, f)
        for column, kind in columns or ():
            earlier = seen.setdefault(column, (kind, f))
            if earlier[0] != kind:
                raise TypesDiffer(f"column {column!r} is recorded as {earlier[0]} in {earlier[1]} but as {kind} in {f}")
        groups.setdefault(columns, []).append(f)
    frames = [_read_group(spark, columns, group) for columns, group in groups.items()]
    frame = frames[0]
    for other in frames[1:]:
        frame = frame.unionByName(other, allowMissingColumns=True)
    return frame


def _read_group(spark: Any, columns: tuple[tuple[str, str], ...] | None, files: list[str]) -> Any:
    if columns is None:
        frame = spark.read.options(**CSV_OPTIONS).csv(files)
        for column, kind in _FIXED.items():
            if column in frame.columns:
                frame = frame.withColumn(column, frame[f"`{column}`"].cast(kind))
        return frame
    ddl = ", ".join(f"`{name.replace('`', '``')}` {_SPARK_TYPES[kind]}" for name, kind in columns)
    options = {**CSV_OPTIONS, "inferSchema": "false", "enforceSchema": "false"}
    return spark.read.options(**options).schema(ddl).csv(files)


def _recorded(spark: Any, root: str, file: str) -> tuple[tuple[str, str], ...] | None:
    """The (name, type) of each column recorded for ``file``: the blob's metadata (an ABFS
    extended attribute), else the side file a LocalStore (or a record too long for metadata)
    keeps under ``<root>/.modeltap/schema/``; None for a file without a record."""
    jvm = spark.sparkContext._jvm
    conf = spark.sparkContext._jsc.hadoopConfiguration()
    target = jvm.org.apache.hadoop.fs.Path(file)
    fs = target.getFileSystem(conf)
    record = None
    try:
        raw = fs.getXAttr(target, SCHEMA_KEY)
        record = bytes(raw).decode("ascii") if raw is not None else None
    except Exception:  # noqa: BLE001 - a file system without attributes (the local one) raises
        record = None
    if record is None or record == "side":
        base = fs.makeQualified(jvm.org.apache.hadoop.fs.Path(root)).toString().rstrip("/")
        relative = fs.makeQualified(target).toString()[len(base) + 1 :]
        side = jvm.org.apache.hadoop.fs.Path(f"{base}/{SCHEMA_FOLDER}/{relative}.schema")
        record = _read_text(spark, side)
    if record is None:
        return None
    header = _read_text(spark, target, first_line=True) or ""
    names = next(iter(csv_module.reader(io.StringIO(header))), [])
    return tuple(recorded_types(names, record, file).items())


def _read_text(spark: Any, hadoop_path: Any, first_line: bool = False) -> str | None:
    """A small text file through Hadoop (its first CSV row when ``first_line``); None if absent."""
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    try:
        stream = fs.open(hadoop_path)
    except Exception as exc:
        if "FileNotFoundException" not in _java_class(exc):
            raise
        return None
    try:
        jvm = spark.sparkContext._jvm
        reader = jvm.java.io.BufferedReader(jvm.java.io.InputStreamReader(stream, "UTF-8"))
        lines = []
        while True:
            line = reader.readLine()
            if line is None:
                break
            lines.append(str(line))
            text = "\n".join(lines)
            # A header row ends at a newline outside quotes.
            if first_line and text.count('"') % 2 == 0:
                return text
        return "\n".join(lines)
    finally:
        stream.close()


def _csv_files(spark: Any, folder: str) -> list[str]:
    """The CSV files of a day folder and of its hour folders, through Hadoop's file system API
    (so any scheme Spark reads works); none when the folder is not there."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(folder)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    found = []
    try:
        base = fs.makeQualified(hadoop_path).toString().rstrip("/")
        listing = fs.listFiles(hadoop_path, True)
        while listing.hasNext():
            status = listing.next()
            name = status.getPath().toString()
            depth = name[len(base) + 1 :].count("/")
            if name.endswith(".csv") and depth <= 1 and status.isFile():
                found.append(name)
    except Exception as exc:
        if "FileNotFoundException" not in _java_class(exc):
            raise
    return sorted(found, key=file_order)


def _java_class(exc: BaseException) -> str:
    java = getattr(exc, "java_exception", None)
    return str(java.getClass().getName()) if java is not None else type(exc).__name__
