"""``azureml.ai.monitoring.Collector`` (v2), the collector of Azure ML's managed online endpoints.

Same constructor (``name``, ``on_error``), ``collect(data, correlation_context)`` with pandas
DataFrames, per-collection enabling and sampling from the file ``AZUREML_MDC_CONFIG_PATH``
names (or ``AZUREML_MDC_ENABLED`` / ``AZUREML_MDC_SAMPLE_RATE``), and its correlation contexts.
Rows are written in modeltap's CSV layout: service ``$ENDPOINT_NAME``, model
``$DEPLOYMENT_NAME`` (both set on Azure ML endpoints; ``default`` elsewhere), designation the
collection's name.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from modeltap._native import Correlation
from modeltap.collector import Collector as _Collector

logger = logging.getLogger("modeltap.azureml")


class CorrelationContext:
    """The id that ties one request's collections together, as v2 returns it.

    >>> context = inputs.collect(df); outputs.collect(predictions_df, context)
    """

    def __init__(self, correlation: Correlation | None, success: bool = True, message: str = "") -> None:
        self._correlation = correlation
        self._success = success
        self._message = message

    def get_id(self) -> str:
        return "" if self._correlation is None else self._correlation.id

    def get_timestamp(self) -> int:
        """Seconds since the epoch, as v2 gave it."""
        return 0 if self._correlation is None else self._correlation.timestamp_ns // 1_000_000_000

    def get_headers(self) -> dict[str, str]:
        return {}

    def is_success(self) -> bool:
        return self._success

    def get_message(self) -> str:
        return self._message

    def __str__(self) -> str:
        return self.get_id()

    __repr__ = __str__


@dataclass
class _Config:
    enabled: bool
    collections: dict[str, tuple[bool, float]] = field(default_factory=dict)
    default_rate: float = 100.0
    from_file: bool = False

    def collection(self, name: str) -> tuple[bool, float]:
        """Whether ``name`` is collected, and its sample rate in percent."""
        if not self.from_file:
            return self.enabled, self.default_rate
        return self.collections.get(name.lower(), (False, 100.0))


def load_config() -> _Config:
    """v2's configuration: the JSON file ``AZUREML_MDC_CONFIG_PATH`` names, else its variables."""
    path = os.environ.get("AZUREML_MDC_CONFIG_PATH")
    if path:
        try:
            with open(path) as f:
                raw = json.load(f)
        except (OSError, ValueError) as exc:
            raise ValueError(f"AZUREML_MDC_CONFIG_PATH={path!r} is not a readable JSON file: {exc}") from None
        collections: dict[str, tuple[bool, float]] = {}
        for name, entry in (raw.get("collections") or {}).items():
            if not isinstance(entry, dict):
                raise ValueError(f"{path}: collections.{name} must be an object")
            collections[str(name).lower()] = (
                bool(entry.get("enabled", False)),
                float(entry.get("sampleRatePercentage", 100)),
            )
        return _Config(enabled=any(e for e, _ in collections.values()), collections=collections, from_file=True)
    enabled = os.environ.get("AZUREML_MDC_ENABLED", "true").strip().lower() == "true"
    try:
        rate = float(os.environ.get("AZUREML_MDC_SAMPLE_RATE", "100"))
    except ValueError:
        raise ValueError(
            f"AZUREML_MDC_SAMPLE_RATE must be a percentage, got {os.environ['AZUREML_MDC_SAMPLE_RATE']!r}"
        ) from None
    return _Config(enabled=enabled, default_rate=rate)


def _raise(exc: Exception) -> None:
    raise exc


class Collector:
    """A v2 collection: ``model_inputs``, ``model_outputs`` or any name of yours.

    >>> inputs = Collector(name="model_inputs"); context = inputs.collect(df)

    Errors (a collection the configuration leaves disabled, data that is not a DataFrame) go to
    ``on_error``; without one they raise, as in v2. Unlike v2, a full queue is not an error:
    rows are dropped and counted in ``modeltap.stats()``.
    """

    def __init__(self, *, name: str, on_error: Callable[[Exception], Any] | None = None) -> None:
        self.name = name
        self.on_error: Callable[[Exception], Any] = on_error or _raise
        if not isinstance(name, str) or not name:
            self.on_error(ValueError("collection name is not provided"))
        enabled, rate = load_config().collection(name or "")
        if not 0 <= rate <= 100:
            raise ValueError(f"sampleRatePercentage of {name!r} must be within 0..100, got {rate}")
        self.enabled = enabled
        self._collector = _Collector(
            os.environ.get("DEPLOYMENT_NAME") or "default",
            designation=name or "default",
            service=os.environ.get("ENDPOINT_NAME") or "default",
            sample_rate=rate / 100,
            enabled=enabled,
        )
        if not enabled:
            self.on_error(RuntimeError(f"collection {name} is not enabled, drop the data"))

    def collect(self, data: Any, correlation_context: CorrelationContext | None = None) -> CorrelationContext:
        """Queues the rows of ``data`` (a pandas DataFrame); returns the request's context."""
        if not self.enabled:
            self.on_error(RuntimeError(f"collection {self.name} is not enabled, drop the data"))
            return CorrelationContext(None, False, "collection disabled")
        pd = sys.modules.get("pandas")
        if pd is None or not isinstance(data, pd.DataFrame):
            self.on_error(TypeError(f"data type ({type(data).__name__}) not supported, supported types: pd.DataFrame"))
            return CorrelationContext(None, False, "data type not supported")
        previous = None if correlation_context is None else correlation_context._correlation
        corr = self._collector.collect(data, correlation=previous)
        return CorrelationContext(corr)
