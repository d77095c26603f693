"""Reading the layout with PySpark, for data beyond one machine (Databricks, Synapse, a cluster).

>>> df = modeltap.spark.read(spark, "abfss://modeldata@account.dfs.core.windows.net", model="best_model")
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from modeltap.columns import CORRELATION_ID, TYPES
from modeltap.layout import file_order
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

_SPARK_TYPES = {"string": "string", "int64": "long", "timestamp": "timestamp"}
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
    ``abfss://...``, ``wasbs://...``). Only the day folders in range are read; column types are
    inferred as modeltap wrote them, its own columns typed.

    It only lists and reads: the files are found by listing each day folder, never by asking
    whether a folder exists, because Hadoop's ABFS driver answers that question for a folder
    that is only a name prefix by writing a zero-byte marker blob into the store."""
    first, last = day_range(start, end)
    folders = day_folders(path, model, designation, first, last, version=version, service=service, workspace=workspace)
    files = [f for folder in folders for f in _csv_files(spark, folder)]
    if not files:
        return spark.createDataFrame([], f"`{CORRELATION_ID}` string")
    frame = spark.read.options(**CSV_OPTIONS).csv(files)
    for column, kind in _FIXED.items():
        if column in frame.columns:
            frame = frame.withColumn(column, frame[f"`{column}`"].cast(kind))
    return frame


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
