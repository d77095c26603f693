"""The demo's entry script, in the shape Azure ML scoring scripts have: ``init()`` loads the model
and creates the collectors, ``run()`` predicts and collects inputs and predictions.

The only change from an Azure ML script is the import of ``ModelDataCollector``.
"""

from __future__ import annotations

import json
import os
import pickle
from typing import Any

import numpy as np

from modeltap.azureml import ModelDataCollector  # was: from azureml.monitoring import ModelDataCollector

FEATURES = ["age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6"]

model: Any = None
inputs_dc: ModelDataCollector | None = None
prediction_dc: ModelDataCollector | None = None


def init() -> None:
    global model, inputs_dc, prediction_dc  # noqa: PLW0603 - the entry script shape Azure ML defined
    with open(os.environ["MODELTAP_DEMO_MODEL"], "rb") as f:
        model = pickle.load(f)
    inputs_dc = ModelDataCollector("diabetes", designation="inputs", feature_names=FEATURES, model_version="1")
    prediction_dc = ModelDataCollector(
        "diabetes", designation="predictions", feature_names=["prediction"], model_version="1"
    )


def run(raw_data: str) -> str:
    assert inputs_dc is not None and prediction_dc is not None
    data = np.asarray(json.loads(raw_data)["data"], dtype=np.float64)
    correlations = inputs_dc.collect(data)
    result = model.predict(data)
    if correlations is not None:
        prediction_dc.collect(prediction_dc.add_correlations(result.reshape(-1, 1), correlations))
    return json.dumps({"result": result.tolist()})
