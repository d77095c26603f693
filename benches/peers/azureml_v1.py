"""Azure ML's v1 ``ModelDataCollector`` (``azureml-monitoring==0.1.0a21``), Python side only.

Its native library needs OpenSSL 1.0 and no longer loads on a current Linux, so its ctypes
functions are replaced by stubs that take the buffers and return at once. What is measured is
the Python work v1 does per ``collect()`` (CSV formatting, correlation headers): a lower bound
of its real cost.
"""

from __future__ import annotations

import os
from typing import Any

LOWER_BOUND_NOTE = "azureml-monitoring v1: Python side only, its native library stubbed (a lower bound)"


class _StubFunction:
    def __init__(self, result: Any) -> None:
        self.result = result
        self.argtypes: Any = None
        self.restype: Any = None
        self.calls = 0

    def __call__(self, *args: Any) -> Any:
        self.calls += 1
        return self.result


class StubLibrary:
    """Stands in for ``libmodeldatacollector.so``: every function accepts and returns."""

    def __init__(self) -> None:
        self.functions: dict[str, _StubFunction] = {}

    def __getattr__(self, name: str) -> _StubFunction:
        if name.startswith("__"):
            raise AttributeError(name)
        results = {"IsDataCollectionEnabled": True, "InitW": 1, "Init": 1, "WriteBinary": 1}
        return self.functions.setdefault(name, _StubFunction(results.get(name, 0)))


def model_data_collector() -> Any:
    """v1's class with the stub library in place, or None when the package is not installed."""
    try:
        from azureml.monitoring import ModelDataCollector  # noqa: PLC0415 - an optional peer
    except ImportError:
        return None
    ModelDataCollector._lib = StubLibrary()
    os.environ.setdefault("AML_MODEL_DC_STORAGE_ENABLED", "true")
    return ModelDataCollector
