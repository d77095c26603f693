"""The Azure ML drop-ins: v1's ModelDataCollector and v2's Collector, as their users call them."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import modeltap
from conftest import files, read
from modeltap.azureml import Collector, ModelDataCollector
from modeltap.azureml.v1 import CORRELATION_HEADERS, NO_REQUEST_ID

FEATURES = ["feat1", "feat2", "feat3"]


def test_v1_inputs_and_predictions_as_an_aks_scoring_script_writes_them(store: modeltap.LocalStore) -> None:
    inputs_dc = ModelDataCollector("best_model", designation="inputs", feature_names=FEATURES, model_version="3")
    prediction_dc = ModelDataCollector("best_model", designation="predictions", feature_names=["prediction"])
    data = np.array([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
    correlations = inputs_dc.collect(data, "LoanNumber-7")
    assert correlations is not None and list(correlations) == list(CORRELATION_HEADERS)
    assert correlations["$aml_dc_correlation_id"].startswith("LoanNumber-7-")
    assert correlations["$aml_dc_boundary"] == 1440 and correlations["$aml_request_id"] == NO_REQUEST_ID
    assert correlations["$aml_model_name"] == "best_model" and correlations["$aml_model_version"] == "3"
    result = prediction_dc.add_correlations(np.array([10.0, 20.0]).reshape(-1, 1), correlations)
    assert result.shape == (2, 9)
    assert prediction_dc.collect(result) is None
    assert modeltap.flush()
    by_designation = {p.parent.parent.parent.parent.name: p for p in files(store)}
    inputs_path, predictions_path = by_designation["inputs"], by_designation["predictions"]
    assert inputs_path.name == predictions_path.name == "data.csv"  # the name Azure ML's docs read
    assert "default/default/default/default/best_model/3/inputs" in str(inputs_path)
    got_in, got_out = read(inputs_path), read(predictions_path)
    assert list(got_in.columns) == [*FEATURES, *CORRELATION_HEADERS]
    assert list(got_out.columns) == ["prediction", *CORRELATION_HEADERS]
    assert got_in[FEATURES].to_numpy().tolist() == data.tolist()
    # One id per request (v1 gave the rows of a call one id), the same in both files.
    assert set(got_in["$aml_dc_correlation_id"]) == {correlations["$aml_dc_correlation_id"]}
    assert got_out["$aml_dc_correlation_id"].tolist() == got_in["$aml_dc_correlation_id"].tolist()
    assert got_out["prediction"].tolist() == [10.0, 20.0]


def test_v1_add_correlations_returns_what_v1_returned() -> None:
    dc = ModelDataCollector("m", designation="labels", feature_names=["y"])
    corr = {h: f"v{i}" for i, h in enumerate(CORRELATION_HEADERS)}
    assert dc.add_correlations([1.0], corr) == [1.0, *corr.values()]
    frame = dc.add_correlations(pd.DataFrame({"y": [1.0, 2.0]}), corr)
    assert list(frame.columns) == ["y", *CORRELATION_HEADERS] and frame["$aml_workspace"].tolist() == ["v3", "v3"]
    with pytest.raises(ValueError, match="correlations lacks"):
        dc.add_correlations([1.0], {"$aml_dc_correlation_id": "x"})
    with pytest.raises(TypeError, match="takes a list, a numpy array or a pandas DataFrame"):
        dc.add_correlations("1.0", corr)


def test_v1_designations_and_collection_names(store: modeltap.LocalStore) -> None:
    assert ModelDataCollector("m").designation == "general"
    with pytest.raises(ValueError, match="designation must be"):
        ModelDataCollector("m", designation="outputs")
    signals = ModelDataCollector("m", designation="signals", feature_names=["s"], collection_name="latency")
    signals.collect([0.5])
    assert modeltap.flush()
    (path,) = files(store)
    assert path.name == "data.csv" and read(path)["s"].tolist() == [0.5]


@pytest.mark.parametrize("how", ["argument", "environment"])
def test_v1_own_file_names_are_an_opt_in(store: modeltap.LocalStore, monkeypatch: pytest.MonkeyPatch, how: str) -> None:
    """v1's library named files <designation>.csv (inputs, predictions, labels) and
    <collection_name>.csv (signals, general): jobs that glob those names keep working."""
    kwargs = {"file_names": "v1"} if how == "argument" else {}
    if how == "environment":
        monkeypatch.setenv("AML_MODEL_DC_FILE_NAMES", "v1")
    made = {
        d: ModelDataCollector("m", designation=d, feature_names=["x"], collection_name="coll", **kwargs)
        for d in ("inputs", "predictions", "labels", "signals", "general")
    }
    for dc in made.values():
        dc.collect([1.0])
    assert modeltap.flush()
    names = {p.parent.parent.parent.parent.name: p.name for p in files(store)}
    assert names == {
        "inputs": "inputs.csv",
        "predictions": "predictions.csv",
        "labels": "labels.csv",
        "signals": "coll.csv",
        "general": "coll.csv",
    }
    assert {dc.filename for dc in made.values()} == {"inputs.csv", "predictions.csv", "labels.csv", "coll.csv"}


def test_v1_file_names_refuses_what_it_does_not_know(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(ValueError, match="file_names must be 'data' or 'v1', got 'v2'"):
        ModelDataCollector("m", file_names="v2")
    monkeypatch.setenv("AML_MODEL_DC_FILE_NAMES", "designation")
    with pytest.raises(ValueError, match="AML_MODEL_DC_FILE_NAMES must be 'data' or 'v1'"):
        ModelDataCollector("m")


def test_v1_bad_input_raises_instead_of_dropping(store: modeltap.LocalStore) -> None:
    dc = ModelDataCollector("m", designation="inputs", feature_names=FEATURES)
    with pytest.raises(TypeError):
        dc.collect(object())
    with pytest.raises(ValueError):
        dc.collect(np.zeros((1, 2)))  # two columns where three were named


def test_v1_environment_switches(store: modeltap.LocalStore, monkeypatch: pytest.MonkeyPatch, capsys) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setenv("AML_MODEL_DC_STORAGE_ENABLED", "false")
    ModelDataCollector("off", designation="inputs", feature_names=["a"]).collect([1.0])
    monkeypatch.setenv("AML_MODEL_DC_STORAGE_ENABLED", "true")
    monkeypatch.setenv("AML_MODEL_DC_BOUNDARY", "hour")
    monkeypatch.setenv("AML_MODEL_DC_DEBUG", "true")
    dc = ModelDataCollector("hourly", designation="inputs", feature_names=["a"])
    corr = dc.collect([2.0])
    assert corr is not None and corr["$aml_dc_boundary"] == 60
    assert modeltap.flush()
    (path,) = files(store)
    assert "/hourly/" in str(path) and len(path.parent.name) == 2  # .../<d>/<hh>/data.csv
    assert read(path)["$aml_dc_boundary"].tolist() == [60]
    printed = capsys.readouterr().out.splitlines()
    assert printed[0] == ",".join(["a", *CORRELATION_HEADERS]) and printed[1].startswith("2.0,")
    assert modeltap.stats()["rows_disabled"] == 1


def test_v2_collector_writes_data_frames_with_one_id_per_request(store: modeltap.LocalStore) -> None:
    inputs = Collector(name="model_inputs")
    outputs = Collector(name="model_outputs")
    context = inputs.collect(pd.DataFrame({"a": [1.0, 2.0], "b": [3, 4]}))
    outputs.collect(pd.DataFrame({"y": [0.5, 0.7]}), context)
    assert context.get_id() and context.is_success()
    assert modeltap.flush()
    got = {p.parent.parent.parent.parent.name: read(p) for p in files(store)}
    assert got["model_inputs"][["a", "b"]].to_numpy().tolist() == [[1.0, 3.0], [2.0, 4.0]]
    assert set(got["model_outputs"]["$correlation_id"]) == {context.get_id()}


def test_v2_config_file_enables_and_samples(
    store: modeltap.LocalStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = tmp_path / "mdc.json"
    config.write_text(json.dumps({"collections": {"Model_Inputs": {"enabled": True, "sampleRatePercentage": 0}}}))
    monkeypatch.setenv("AZUREML_MDC_CONFIG_PATH", str(config))
    errors: list[Exception] = []
    sampled_out = Collector(name="model_inputs", on_error=errors.append)
    disabled = Collector(name="model_outputs", on_error=errors.append)
    for _ in range(10):
        sampled_out.collect(pd.DataFrame({"a": [1.0]}))
    assert not disabled.collect(pd.DataFrame({"a": [1.0]})).is_success()
    assert [str(e) for e in errors] == ["collection model_outputs is not enabled, drop the data"] * 2
    assert modeltap.flush() and not files(store)
    assert modeltap.stats()["rows_sampled_out"] == 10
    with pytest.raises(TypeError, match=r"supported types: pd\.DataFrame"):
        Collector(name="model_inputs").collect([[1.0]])
    config.write_text("{not json")
    with pytest.raises(ValueError, match="not a readable JSON file"):
        Collector(name="model_inputs")
