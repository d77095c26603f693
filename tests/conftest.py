from __future__ import annotations

import gc
import io
import shutil
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd
import pytest

import modeltap
from modeltap.stores.azure import AzureBlobStore
from modeltap.testing import ManualClock
from servers.azurite import ACCOUNT, KEY, ROOT, Azurite


@pytest.fixture(autouse=True)
def _own_spool(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test spools into its own folder, so no test drains another's chunks."""
    monkeypatch.setenv("MODELTAP_SPOOL_DIR", str(tmp_path / "spool"))
    for name in ("MODELTAP_STORAGE", "AML_MODEL_DC_STORAGE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[modeltap.LocalStore]:
    """A fresh process pipeline writing to a temporary directory; rows are written on flush."""
    s = modeltap.LocalStore(tmp_path / "modeldata")
    modeltap.configure(store=s, flush_interval=60.0)
    yield s
    assert modeltap.close()
    gc.collect()


def files(store: modeltap.LocalStore) -> list[Path]:
    return sorted(store.root.rglob("*.csv"))


def read(path: Path, **kwargs: object) -> pd.DataFrame:
    return pd.read_csv(io.BytesIO(path.read_bytes()), **kwargs)  # type: ignore[arg-type]


def clock_at(*args: int) -> ManualClock:
    return ManualClock(datetime(*args, tzinfo=timezone.utc))  # type: ignore[misc]


# -- Azure: a real Azurite server, started once per session ------------------------------------


@pytest.fixture(scope="session")
def azurite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Azurite]:
    with Azurite(tmp_path_factory.mktemp("azurite")) as server:
        yield server


@pytest.fixture
def container() -> str:
    """A container of its own for each test, so tests never see each other's blobs."""
    return f"t{uuid.uuid4().hex[:20]}"


@pytest.fixture
def azure_store(azurite: Azurite, container: str) -> Iterator[AzureBlobStore]:
    store = AzureBlobStore(connection_string=azurite.connection_string, container=container, timeout=5.0)
    yield store
    store.close()


def blob_lines(store: AzureBlobStore, prefix: str = "") -> dict[str, list[str]]:
    """Every CSV blob under ``prefix``, as lines."""
    return {f.path: store.read_bytes(f.path).decode().splitlines() for f in store.list_files(prefix)}


# -- Spark: one session for every test that needs it ---------------------------------------------


def _hadoop_azure_jar() -> Path:
    jars = sorted((ROOT / ".spark-jars").glob("hadoop-azure-*.jar"))
    if not jars:
        raise RuntimeError(
            "the hadoop-azure jar is not in .spark-jars/: run `make test` (or `make .spark-jars/.ready`)"
        )
    return jars[-1]


@pytest.fixture(scope="session")
def spark(azurite: Azurite) -> Iterator[Any]:
    """One local[2] PySpark session for the whole run (starting Spark is the slow part), with
    ABFS pointed at Azurite over plain HTTP, on the blob endpoint (Azurite has no DFS endpoint)."""
    pytest.importorskip("pyspark", reason="pyspark is in the testing dependencies: make test installs it")
    if shutil.which("java") is None:
        pytest.skip("Spark needs Java (17 or later) on the PATH")
    from pyspark.sql import SparkSession  # noqa: PLC0415 - only once pyspark is known to be there

    abfs = {
        "fs.azure.abfs.endpoint": f"127.0.0.1:{azurite.port}",
        "fs.azure.always.use.https": "false",
        "fs.azure.account.auth.type": "SharedKey",
        f"fs.azure.account.key.{ACCOUNT}.dfs.core.windows.net": KEY,
        "fs.azure.account.hns.enabled": "false",
        "fs.azure.fns.account.service.type": "BLOB",
        "fs.azure.ingress.service.type": "BLOB",
        "fs.azure.networking.library": "JDK_HTTP_URL_CONNECTION",
    }
    builder = (
        SparkSession.builder.master("local[2]")
        .appName("modeltap-tests")
        .config("spark.ui.enabled", "false")
        .config("spark.sql.shuffle.partitions", "2")
        .config("spark.sql.session.timeZone", "UTC")
        .config("spark.jars", str(_hadoop_azure_jar()))
    )
    for key, value in abfs.items():
        builder = builder.config(f"spark.hadoop.{key}", value)
    session = builder.getOrCreate()
    yield session
    session.stop()
