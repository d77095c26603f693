"""Azure ML v1 on AKS: the doc's scoring script, one import changed, writes where the doc reads,
with workspace, model version and service taken from the config map v1 read."""

from __future__ import annotations

import json
import os
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import joblib
import numpy as np
import pytest
from azure.storage.blob import ContainerClient
from sklearn.linear_model import Ridge

import hostile
import modeltap
from modeltap.azureml import ModelDataCollector
from modeltap.azureml.service import MAX_BYTES, resolve
from modeltap.stores import from_environment
from modeltap.testing import ManualClock
from servers.azurite import Azurite

SCRIPT = Path(__file__).parent / "scoring" / "azureml_v1_doc.py"

CONFIG = {
    "accountContext": {
        "subscriptionId": "5F1C2A3B-SUB",
        "resourceGroupName": "Loans-RG",
        "accountName": "Loans-WS",
        "workspaceId": "ignored",
    },
    # "10" is the highest version as a number, not as text ("9" > "10").
    "modelsInfo": {"best_model": {"9": {}, "10": {"dataCollectorStoragePath": "x/{webservice_name}/y"}, "2": {}}},
}


@pytest.fixture
def config_map(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = tmp_path / "model_config_map.json"
    path.write_text(json.dumps(CONFIG))
    monkeypatch.setenv("AML_MODEL_CONFIG_MAP", str(path))
    for name in ("SERVICE_NAME", "AZUREML_ARM_SUBSCRIPTION", "AZUREML_ARM_RESOURCEGROUP", "AZUREML_ARM_WORKSPACE_NAME"):
        monkeypatch.delenv(name, raising=False)
    yield path


def test_the_docs_scoring_script_writes_the_docs_path(
    config_map: Path, azurite: Azurite, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    joblib.dump(Ridge().fit(np.arange(12.0).reshape(2, 6), [1.0, 2.0]), model_dir / "best_model.pkl")
    monkeypatch.setenv("AZUREML_MODEL_DIR", str(model_dir))
    monkeypatch.setenv("SERVICE_NAME", "aks-w-collv9")
    monkeypatch.setenv("AML_MODEL_DC_STORAGE", azurite.connection_string)
    # The store a fresh process would pick: AML_MODEL_DC_STORAGE's (this process has had others).
    modeltap.configure(store=from_environment(), clock=ManualClock(hostile.STAMP), flush_interval=60.0)
    script: dict[str, Any] = runpy.run_path(str(SCRIPT))
    script["init"]()
    answer = script["run"](json.dumps({"data": [[1, 2, 3, 4, 5, 6], [10, 9, 8, 7, 6, 5]]}))
    assert len(json.loads(answer)["result"]) == 2, answer
    assert modeltap.close()
    with ContainerClient.from_connection_string(azurite.connection_string, "modeldata") as container:
        names = sorted(b.name for b in container.list_blobs(name_starts_with="5f1c2a3b-sub/"))
        inputs = container.download_blob(names[0]).readall().decode()
    folder = "5f1c2a3b-sub/loans-rg/loans-ws/aks-w-collv9/best_model/10"
    assert names == [f"{folder}/inputs/2026/11/24/data.csv", f"{folder}/predictions/2026/11/24/data.csv"]
    header, *rows = inputs.splitlines()
    assert header.startswith("feat1,feat2,feat3,feat4,feat5,feat6,$aml_dc_correlation_id,")
    fields = header.split(",")
    first = rows[0].split(",")
    assert first[fields.index("$aml_workspace")] == "5f1c2a3b-sub/loans-rg/loans-ws"
    assert first[fields.index("$aml_service_name")] == "aks-w-collv9"
    assert first[fields.index("$aml_model_version")] == "10"
    assert len(rows) == 2


def test_config_map_values_as_v1_took_them(config_map: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SERVICE_NAME", "svc")
    context = resolve("best_model", "default/default/default", "default", "default")
    assert (context.workspace, context.service, context.model_version) == (
        "5f1c2a3b-sub/loans-rg/loans-ws",
        "svc",
        "10",
    )
    assert context.storage_path == "x/svc/y"
    # What the constructor names wins over the file, as in v1.
    explicit = resolve("best_model", "a/b/c", "mine", "2")
    assert (explicit.workspace, explicit.service, explicit.model_version) == ("a/b/c", "mine", "2")
    # A model the file does not list keeps its version.
    assert resolve("other", "default/default/default", "default", "default").model_version == "default"
    dc = ModelDataCollector("best_model", designation="inputs", feature_names=["a"])
    assert (dc.workspace, dc.service_name, dc.model_version) == ("5f1c2a3b-sub/loans-rg/loans-ws", "svc", "10")


def test_without_a_config_map_the_environment_names_the_workspace(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("AML_MODEL_CONFIG_MAP", str(tmp_path / "absent.json"))
    monkeypatch.delenv("SERVICE_NAME", raising=False)
    for name in ("AZUREML_ARM_SUBSCRIPTION", "AZUREML_ARM_RESOURCEGROUP", "AZUREML_ARM_WORKSPACE_NAME"):
        monkeypatch.delenv(name, raising=False)
    assert resolve("m", "default/default/default", "default", "default").workspace == "default/default/default"
    monkeypatch.setenv("AZUREML_ARM_SUBSCRIPTION", "Sub")
    with pytest.raises(ValueError, match="AZUREML_ARM_RESOURCEGROUP, AZUREML_ARM_WORKSPACE_NAME not set"):
        resolve("m", "default/default/default", "default", "default")
    monkeypatch.setenv("AZUREML_ARM_RESOURCEGROUP", "RG")
    monkeypatch.setenv("AZUREML_ARM_WORKSPACE_NAME", "WS")
    assert resolve("m", "default/default/default", "default", "default").workspace == "sub/rg/ws"


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("{not json", "is not JSON"),
        ("[1, 2]", "must hold a JSON object"),
        (
            json.dumps({"accountContext": {"subscriptionId": "s"}}),
            "accountContext lacks resourceGroupName, accountName",
        ),
        (
            json.dumps({"accountContext": {"subscriptionId": "s", "resourceGroupName": "r", "accountName": ".."}}),
            "accountContext.accountName must not contain",
        ),
        (
            json.dumps({"accountContext": {"subscriptionId": 7, "resourceGroupName": "r", "accountName": "w"}}),
            "accountContext.subscriptionId must be a string, got int",
        ),
        (json.dumps({"modelsInfo": {"m": {"1": {}, "latest": {}}}}), "versions that are not numbers: \\['latest'\\]"),
        (json.dumps({"modelsInfo": {"m": ["1"]}}), "modelsInfo.m must be an object of versions"),
        (json.dumps({"modelsInfo": {"m": {"1": {"dataCollectorStoragePath": 5}}}}), "dataCollectorStoragePath must be"),
        ("[" * 100_000, "is not JSON"),
    ],
)
def test_a_bad_config_map_is_refused_by_name(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, content: str, message: str
) -> None:
    path = tmp_path / "map.json"
    path.write_text(content)
    monkeypatch.setenv("AML_MODEL_CONFIG_MAP", str(path))
    with pytest.raises(ValueError, match=message) as caught:
        resolve("m", "default/default/default", "default", "default")
    assert str(path) in str(caught.value)


def test_only_a_small_regular_file_is_read(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    big = tmp_path / "big.json"
    big.write_text(json.dumps({"pad": "x" * MAX_BYTES}))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    for path, message in ((big, "larger than"), (tmp_path, "not a regular file"), (fifo, "not a regular file")):
        monkeypatch.setenv("AML_MODEL_CONFIG_MAP", str(path))
        with pytest.raises(ValueError, match=message):
            resolve("m", "default/default/default", "default", "default")
    # A Kubernetes ConfigMap mounts the file as a symlink: followed to a regular file, it is read.
    target = tmp_path / "real.json"
    target.write_text(json.dumps(CONFIG))
    link = tmp_path / "link.json"
    link.symlink_to(target)
    monkeypatch.setenv("AML_MODEL_CONFIG_MAP", str(link))
    assert resolve("best_model", "default/default/default", "default", "default").model_version == "10"
