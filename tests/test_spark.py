"""modeltap.spark.read with a real local[2] PySpark session (Java 17)."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

import modeltap
import modeltap.spark
from conftest import clock_at

pyspark = pytest.importorskip("pyspark", reason="pyspark is in the testing dependencies: make test installs it")
if shutil.which("java") is None:
    pytest.skip("Spark needs Java (17 or later) on the PATH", allow_module_level=True)


@pytest.fixture(scope="module")
def spark() -> Iterator[Any]:
    from pyspark.sql import SparkSession  # noqa: PLC0415 - only once pyspark is known to be there

    session = (
        SparkSession.builder.master("local[2]")
        .appName("modeltap-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .getOrCreate()
    )
    yield session
    session.stop()


def test_spark_reads_the_layout_with_its_types(spark: Any, tmp_path: Path) -> None:
    clock = clock_at(2026, 11, 20, 12)
    modeltap.configure(store=modeltap.LocalStore(tmp_path), clock=clock, flush_interval=60.0)
    c = modeltap.Collector("m", "inputs")
    for day in (20, 21, 23):
        clock.set(datetime(2026, 11, day, 12, tzinfo=timezone.utc))
        c.collect(
            pd.DataFrame(
                {
                    "f": [1.5, np.inf],
                    "i": np.array([day, -(2**40)], dtype=np.int64),
                    "b": [True, False],
                    "s": ["a, b", 'say "hi"\nbye'],
                }
            )
        )
        assert modeltap.flush()
    modeltap.close()
    frame = modeltap.spark.read(spark, str(tmp_path), "m", start="2026-11-21", end="2026-11-23")
    types = dict(frame.dtypes)
    assert types["f"] == "double" and types["i"] in ("int", "bigint") and types["b"] == "boolean"
    assert types["s"] == "string" and types["$scoring_timestamp"] == "timestamp" and types["$row"] == "bigint"
    rows = frame.orderBy("`$scoring_timestamp`", "`$row`").collect()
    assert [r["i"] for r in rows] == [21, -(2**40), 23, -(2**40)]
    assert rows[1]["f"] == float("inf") and rows[1]["s"] == 'say "hi"\nbye' and rows[0]["s"] == "a, b"
    assert rows[0]["$scoring_timestamp"].day == 21
    assert modeltap.spark.read(spark, str(tmp_path), "m", start="2026-01-01", end="2026-01-02").count() == 0
