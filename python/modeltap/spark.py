"""Reading the layout with PySpark, for data beyond one machine (Databricks, Synapse, a cluster).

>>> df = modeltap.spark.read(spark, "abfss://modeldata@account.dfs.core.windows.net", model="best_model")
"""

from __future__ import annotations

from datetime import date, datetime, timedelta
from typing import Any

from modeltap.columns import CORRELATION_ID, TYPES
from modeltap.readers.partitions import day_range, stream_path

#: How modeltap writes CSV, told to Spark: RFC 4180 quotes (doubled, not backslashed), fields
#: across lines, its spellings of infinity, ISO 8601 timestamps.
CSV_OPTIONS = {
    "header": "true",
    "inferSchema": "true",
    "multiLine": "true",
    "quote": '"',
    "escape": '"',
    "nanValue": "NaN",
    "positiveInf": "inf",
    "negativeInf": "-inf",
    "mode": "FAILFAST",
    "recursiveFileLookup": "true",
    "pathGlobFilter": "*.csv",
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
    inferred as modeltap wrote them, its own columns typed."""
    first, last = day_range(start, end)
    folders = day_folders(path, model, designation, first, last, version=version, service=service, workspace=workspace)
    existing = [f for f in folders if _exists(spark, f)]
    if not existing:
        return spark.createDataFrame([], f"`{CORRELATION_ID}` string")
    frame = spark.read.options(**CSV_OPTIONS).csv(existing)
    for column, kind in _FIXED.items():
        if column in frame.columns:
            frame = frame.withColumn(column, frame[f"`{column}`"].cast(kind))
    return frame


def _exists(spark: Any, folder: str) -> bool:
    """Through Hadoop's file system API, so that any scheme Spark can read works."""
    jvm = spark.sparkContext._jvm
    hadoop_path = jvm.org.apache.hadoop.fs.Path(folder)
    fs = hadoop_path.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration())
    return bool(fs.exists(hadoop_path))
