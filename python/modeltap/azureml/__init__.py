"""Drop-ins for Azure ML's data collectors: a scoring script changes one import.

>>> from modeltap.azureml import ModelDataCollector   # was: from azureml.monitoring import ...
>>> from modeltap.azureml import Collector            # was: from azureml.ai.monitoring import ...

Rows go where every modeltap collector's go (``./modeldata``, or the store ``MODELTAP_STORAGE``
or Azure ML's ``AML_MODEL_DC_STORAGE`` names), in the Azure ML folder layout.
"""

from modeltap.azureml.v1 import ModelDataCollector
from modeltap.azureml.v2 import Collector, CorrelationContext

__all__ = ["Collector", "CorrelationContext", "ModelDataCollector"]
