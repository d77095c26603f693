"""modeltap.spark.read and the README's Spark recipe, with the real local[2] PySpark session of
conftest's ``spark`` fixture (Java 17), reading a local folder and, through ABFS (the hadoop-azure jar that
`make` puts in .spark-jars/), Azurite's blob endpoint."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

import hostile
import modeltap
import modeltap.spark
from conftest import clock_at
from modeltap.stores.azure import AzureBlobStore
from modeltap.testing import ManualClock
from servers.azurite import ACCOUNT, ROOT, Azurite


def _abfs(container: str) -> str:
    return f"abfs://{container}@{ACCOUNT}.dfs.core.windows.net"


def _blobs(azurite: Azurite, container: str) -> list[tuple[str, int]]:
    """Every blob of the container, folder markers included (list_files shows only CSVs)."""
    from azure.storage.blob import ContainerClient  # noqa: PLC0415

    with ContainerClient.from_connection_string(azurite.connection_string, container) as client:
        return sorted((b.name, b.size) for b in client.list_blobs())


WORKSPACE = "sub-1/rg-1/ws-1"


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


def _collect_hostile(store: Any, days: tuple[int, ...]) -> None:
    clock = ManualClock(hostile.STAMP)
    modeltap.configure(store=store, clock=clock, flush_interval=60.0)
    c = modeltap.Collector("best_model", "inputs", model_version="3", service="svc", workspace=WORKSPACE)
    for day in days:
        clock.set(hostile.STAMP.replace(day=day))
        c.collect(hostile.frame())
        assert modeltap.flush()
    assert modeltap.close()


def _columns(frame: Any) -> dict[str, list[Any]]:
    rows = frame.orderBy("`$scoring_timestamp`", "`$row`").collect()
    return {c: [r[c] for r in rows] for c in frame.columns}


def test_readme_recipe_reads_the_hostile_values_exactly_through_abfs(
    spark: Any, azure_store: AzureBlobStore, container: str
) -> None:
    _collect_hostile(azure_store, (hostile.STAMP.day,))
    (recipe_code,) = [hostile.readme_recipes(ROOT / "README.md")["spark"]]
    files = "{data.csv,data.[0-9]*.csv}"
    glob = f"abfss://modeldata@<account>.dfs.core.windows.net/<sub>/<rg>/<ws>/<service>/best_model/<version>/inputs/2026/*/*/{files}"
    assert glob in recipe_code
    where = f"{_abfs(container)}/{WORKSPACE}/svc/best_model/3/inputs/2026/*/*/{files}"
    scope: dict[str, Any] = {"spark": spark}
    exec(recipe_code.replace(glob, where), scope)
    assert hostile.mismatches(_columns(scope["df"]), naive_is_utc=True) == {}
    # The doc's recipe alone (header, inferSchema) splits rows at the newlines in strings.
    doc = spark.read.options(header=True, inferSchema=True).csv(where)
    assert doc.count() > hostile.ROWS
    # A blob that filled up continued in data.1.csv, ..., data.10.csv: the recipe's glob finds them.
    (day,) = {f.path.rpartition("/")[0] for f in azure_store.list_files()}
    whole = azure_store.read_bytes(f"{day}/data.csv")
    for index in (1, 10):
        azure_store._container.upload_blob(f"{day}/data.{index}.csv", whole)
    exec(recipe_code.replace(glob, where), scope)
    assert scope["df"].count() == 3 * hostile.ROWS


def test_spark_read_writes_nothing_to_the_store(
    spark: Any, azure_store: AzureBlobStore, azurite: Azurite, container: str
) -> None:
    _collect_hostile(azure_store, (22, 24))
    before = _blobs(azurite, container)
    frame = modeltap.spark.read(
        spark, _abfs(container), "best_model", start="2026-11-21", end="2026-11-25",
        version="3", service="svc", workspace=WORKSPACE,
    )  # fmt: skip
    assert frame.count() == 2 * hostile.ROWS
    assert _blobs(azurite, container) == before  # no folder markers: the days are listed, not probed
    columns = _columns(frame)
    assert columns["s"][: hostile.ROWS] == hostile.VALUES["s"] and columns["i"][:2] == hostile.VALUES["i"][:2]
    # Asking Hadoop whether a day folder exists is what wrote markers: the check stays honest.
    jvm = spark.sparkContext._jvm
    day = jvm.org.apache.hadoop.fs.Path(f"{_abfs(container)}/{WORKSPACE}/svc/best_model/3/inputs/2026/11/22")
    assert day.getFileSystem(spark.sparkContext._jsc.hadoopConfiguration()).exists(day)
    assert len(_blobs(azurite, container)) == len(before) + 1
