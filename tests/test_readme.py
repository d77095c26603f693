"""Every ```python block of the README runs, as written, so the README cannot rot.

The blocks run in order in one namespace, in a temporary working directory (so ``./modeldata``
is fresh), with the process clock pinned to 2026-11-24 12:00 UTC so the README's dates hold.
Declared placeholders, and what stands in for them:

* ``model``: a fitted scikit-learn model (the scoring service's own);
* ``store``: ``modeltap.LocalStore("./modeldata")``;
* ``spark``: the test run's PySpark session (conftest's ``spark``);
* ``abfss://modeldata@<account>.dfs.core.windows.net``: the ``./modeldata`` folder;
* ``https://<account>.blob.core.windows.net/modeldata?sv=...&sig=...``: Azurite's container URL
  with a real SAS; ``https://<account>.blob.core.windows.net``: Azurite's address (the store is
  made, not used: a token credential needs HTTPS); ``AZURE_STORAGE_CONNECTION_STRING``:
  Azurite's connection string.

Blocks after a ``<!-- reader: ... -->`` line are the reader recipes: test_readers.py and
test_spark.py run those on a file of hostile values.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from azure.storage.blob import ContainerSasPermissions, generate_container_sas
from sklearn.linear_model import Ridge

import modeltap
from modeltap.testing import ManualClock
from servers.azurite import ACCOUNT, KEY, ROOT, Azurite

README = ROOT / "README.md"
_BLOCK = re.compile(r"(?P<before>[^\n]*)\n```python\n(?P<code>.*?)```", re.S)


def readme_blocks() -> list[str]:
    return [m["code"] for m in _BLOCK.finditer(README.read_text(encoding="utf-8")) if "reader:" not in m["before"]]


def test_every_python_block_of_the_readme_runs(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, azurite: Azurite, spark: Any
) -> None:
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("AZURE_STORAGE_CONNECTION_STRING", azurite.connection_string)
    # A fresh process's default store, ./modeldata (this process has had others), and a pinned clock.
    modeltap.configure(
        store=modeltap.LocalStore(tmp_path / "modeldata"),
        clock=ManualClock(datetime(2026, 11, 24, 12, tzinfo=timezone.utc)),
        flush_interval=60.0,
    )
    sas = generate_container_sas(
        ACCOUNT, "modeldata", account_key=KEY, permission=ContainerSasPermissions(read=True, add=True, create=True,
        write=True, list=True), expiry=datetime.now(timezone.utc) + timedelta(hours=1),
    )  # fmt: skip
    replacements = {
        "abfss://modeldata@<account>.dfs.core.windows.net": str(tmp_path / "modeldata"),
        "https://<account>.blob.core.windows.net/modeldata?sv=...&sig=...": f"{azurite.url}/modeldata?{sas}",
        # DefaultAzureCredential's line: the SDK takes a token only over HTTPS, which Azurite does
        # not speak here; the store is made (nothing connects until it writes) and replaced.
        "https://<account>.blob.core.windows.net": azurite.url.replace("http://", "https://"),
    }
    namespace: dict[str, Any] = {
        "model": Ridge().fit(np.array([[0.0, 1.0], [1.0, 0.0], [1.0, 1.0]]), [1.0, 2.0, 3.0]),
        "store": modeltap.LocalStore("./modeldata"),
        "spark": spark,
    }
    blocks = readme_blocks()
    assert len(blocks) >= 4
    for number, written in enumerate(blocks, 1):
        code = written
        for placeholder, value in replacements.items():
            code = code.replace(placeholder, value)
        assert "<account>" not in code, f"README block {number} has an undeclared placeholder"
        exec(compile(code, f"README.md python block {number}", "exec"), namespace)
    assert modeltap.close()
    # What the blocks did, checked: the quickstart's rows were read back, exported and read by Spark.
    assert namespace["train"][["feat1", "feat2"]].to_numpy().tolist() == [[1.0, 2.0], [3.0, 4.0]]
    assert (tmp_path / "train.parquet").exists() and namespace["sdf"].count() == 2
