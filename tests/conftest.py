from __future__ import annotations

import gc
import io
import uuid
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

import modeltap
from modeltap.stores.azure import AzureBlobStore
from modeltap.testing import ManualClock
from servers.azurite import Azurite


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
