# The scoring script of Azure ML's "Collect data from models in production" (v1) how-to, as its
# users deployed it to AKS. Two lines differ, marked "was:": the import, and where the model
# file is found (azureml.core's Model.get_model_path is not installed here; AZUREML_MODEL_DIR is
# what Azure ML's later docs use for it).
# ruff: noqa
import json
import os
import time

import joblib
import numpy
from modeltap.azureml import ModelDataCollector  # was: from azureml.monitoring import ModelDataCollector


def init():
    global model
    print("model initialized" + time.strftime("%H:%M:%S"))
    model_path = os.path.join(os.getenv("AZUREML_MODEL_DIR"), "best_model.pkl")  # was: Model.get_model_path(model_name = 'best_model')
    model = joblib.load(model_path)
    global inputs_dc, prediction_dc
    inputs_dc = ModelDataCollector("best_model", designation="inputs", feature_names=["feat1", "feat2", "feat3", "feat4", "feat5", "feat6"])
    prediction_dc = ModelDataCollector("best_model", designation="predictions", feature_names=["prediction1", "prediction2"])


def run(raw_data):
    global inputs_dc, prediction_dc
    try:
        data = json.loads(raw_data)['data']
        data = numpy.array(data)
        result = model.predict(data)
        inputs_dc.collect(data) #this call is saving our input data into Azure Blob
        prediction_dc.collect(result) #this call is saving our prediction data into Azure Blob
        return json.dumps({"result": result.tolist()})
    except Exception as e:
        error = str(e)
        print (error + time.strftime("%H:%M:%S"))
        return error
