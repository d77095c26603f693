from __future__ import annotations

import gc
import io
from collections.abc import Iterator
from datetime import datetime, timezone
from pathlib import Path

import pandas as pd
import pytest

import modeltap
from modeltap.testing import ManualClock


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
