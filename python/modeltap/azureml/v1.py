"""``azureml.monitoring.ModelDataCollector`` (v1), the collector of Azure ML's AKS web services.

Same constructor, designations, ``collect()`` return value, ``add_correlations()``, CSV columns,
environment switches and, on AKS, the workspace and model version from Azure ML's config map
(see :mod:`modeltap.azureml.service`). Files are named ``data.csv``, the name Azure ML's docs
and readers use; ``file_names="v1"`` (or ``AML_MODEL_DC_FILE_NAMES=v1``) keeps the names v1's
own library wrote: ``<designation>.csv`` for inputs, predictions and labels,
``<collection_name>.csv`` for signals and general. Where v1 went wrong, this one
does not (see the README's "Azure ML drop-ins"): bad input raises instead of being printed
about and dropped, a bad designation raises instead of leaving a collector that never writes,
and nothing blocks the scoring thread.
"""

from __future__ import annotations

import csv
import io
import os
import sys
import threading
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from modeltap import columns
from modeltap.azureml.service import resolve
from modeltap.collector import Collector
from modeltap.layout import FILE_STEM

DESIGNATIONS = ("inputs", "predictions", "labels", "signals", "general")

CORRELATION_ID = columns.AML_CORRELATION_ID
SCORING_TIMESTAMP = columns.AML_SCORING_TIMESTAMP
BOUNDARY = columns.AML_BOUNDARY
WORKSPACE = columns.AML_WORKSPACE
SERVICE_NAME = columns.AML_SERVICE_NAME
MODEL_NAME = columns.AML_MODEL_NAME
MODEL_VERSION = columns.AML_MODEL_VERSION
REQUEST_ID = columns.AML_REQUEST_ID
#: The columns v1 appends after the values, in its order.
CORRELATION_HEADERS = columns.AML_COLUMNS
#: v1's request id when the request carries none.
NO_REQUEST_ID = "00000000-0000-0000-0000-000000000000"
#: Chooses the file names when the constructor does not: ``data`` (the default) or ``v1``.
FILE_NAMES_VARIABLE = "AML_MODEL_DC_FILE_NAMES"
_V1_NAMED_BY_DESIGNATION = ("inputs", "predictions", "labels")


def _flag(name: str) -> bool | None:
    value = os.environ.get(name)
    return None if value is None else value.strip().lower() == "true"


class ModelDataCollector:
    """Collects one designation of one model, as Azure ML's v1 class did.

    >>> inputs_dc = ModelDataCollector("best_model", designation="inputs", feature_names=["feat1", "feat2"])
    >>> correlations = inputs_dc.collect(np.array([[1.0, 2.0]]))   # a dict of the $aml_* values

    Environment, read when the collector is made, as in v1:

    * ``AML_MODEL_DC_STORAGE_ENABLED``: ``true`` collects, any other value does not. Unlike v1,
      collecting is on when the variable is not set (modeltap's default store needs no set-up).
    * ``AML_MODEL_DC_STORAGE``: the connection string of the storage account to write to.
    * ``AML_MODEL_DC_DEBUG=true``: rows are also printed to stdout, as v1 did.
    * ``AML_MODEL_DC_BOUNDARY=hour``: one file per hour instead of per day.
    * ``AML_MODEL_DC_FILE_NAMES=v1``: v1's file names (see ``file_names``) instead of ``data.csv``.
    * ``SERVICE_NAME``, and ``/var/azureml-app/model_config_map.json`` (or the file
      ``AML_MODEL_CONFIG_MAP`` names): the service, workspace and model version when the
      constructor leaves them ``default``, as v1 read them on AKS.
    """

    AML_DC_CORRELATION_HEADER = CORRELATION_ID
    AML_DC_SCORING_TIMESTAMP_HEADER = SCORING_TIMESTAMP
    AML_DC_BOUNDARY_HEADER = BOUNDARY
    AML_WORKSPACE_HEADER = WORKSPACE
    AML_SERVICE_NAME_HEADER = SERVICE_NAME
    AML_MODEL_NAME_HEADER = MODEL_NAME
    AML_MODEL_VERSION_HEADER = MODEL_VERSION
    AML_REQUEST_ID_HEADER = REQUEST_ID

    def __init__(
        self,
        model_name: str,
        designation: str = "default",
        feature_names: Sequence[str] | None = None,
        workspace: str = "default/default/default",
        webservice_name: str = "default",
        model_version: str = "default",
        collection_name: str = "default",
        *,
        file_names: str | None = None,
    ) -> None:
        designation = "general" if designation == "default" else designation
        if designation not in DESIGNATIONS:
            raise ValueError(f"designation must be 'default' or one of {', '.join(DESIGNATIONS)}; got {designation!r}")
        if not isinstance(workspace, str):
            raise TypeError(f"workspace must be a str, got {type(workspace).__name__}")
        context = resolve(model_name, workspace.lower(), webservice_name, str(model_version))
        self.model_name = model_name
        self.model_version = context.model_version
        self.workspace = context.workspace
        self.service_name = context.service
        self.data_collector_storage_path = context.storage_path
        self.designation = designation
        self.collection_name = collection_name
        self._file_stem = _file_stem(designation, collection_name, file_names)
        self.filename = f"{self._file_stem}.csv"
        self.hour_boundary = os.environ.get("AML_MODEL_DC_BOUNDARY") == "hour"
        self.enabled = _flag("AML_MODEL_DC_STORAGE_ENABLED") is not False
        self.debug = _flag("AML_MODEL_DC_DEBUG") is True
        self._feature_names = None if feature_names is None else [str(n) for n in feature_names]
        # inputs generate the correlation columns; the other designations get them from add_correlations().
        self._with_correlations = designation == "inputs"
        self._lock = threading.Lock()
        self._collector: Collector | None = None
        self._debug_header_written = False
        self._make_collector()  # checks every name now, as v1's constructor did

    @property
    def boundary(self) -> int:
        """Minutes per file: 60 with ``AML_MODEL_DC_BOUNDARY=hour``, else 1440."""
        return 60 if self.hour_boundary else 1440

    def _make_collector(self) -> Collector:
        generated = self.designation == "inputs"
        names = self._feature_names
        if names is not None and self._with_correlations and not generated:
            names = [*names, *CORRELATION_HEADERS]
        meta: tuple[tuple[str, str, str | None], ...] = ()
        if generated:
            meta = (
                ("correlation_id", CORRELATION_ID, None),
                ("timestamp", SCORING_TIMESTAMP, None),
                ("constant", BOUNDARY, str(self.boundary)),
                ("constant", WORKSPACE, self.workspace),
                ("constant", SERVICE_NAME, self.service_name),
                ("constant", MODEL_NAME, self.model_name),
                ("constant", MODEL_VERSION, self.model_version),
                ("request_id", REQUEST_ID, None),
            )
        collector = Collector(
            self.model_name,
            designation=self.designation,
            feature_names=names,
            model_version=self.model_version,
            service=self.service_name,
            workspace=self.workspace,
            partition="hour" if self.hour_boundary else "day",
            enabled=self.enabled,
            _meta=meta,
            _file_stem=self._file_stem,
        )
        self._collector = collector
        return collector

    def collect(self, input_data: Any, user_correlation_id: str = "") -> dict[str, Any] | None:
        """Queues ``input_data`` (a list, numpy array or pandas DataFrame) to be written.

        For ``inputs`` it returns the correlation values of the rows, to pass to the other
        designations' :meth:`add_correlations`; for the others, None, as v1 did.
        """
        collector = self._collector or self._make_collector()
        if self.designation != "inputs":
            collector.collect(_rows(input_data))
            if self.debug:
                self._print(input_data, None)
            return None
        corr = collector.collect(
            _rows(input_data), correlation_id=user_correlation_id or None, request_id=NO_REQUEST_ID
        )
        correlations = {
            CORRELATION_ID: corr.id,
            SCORING_TIMESTAMP: corr.timestamp.strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            BOUNDARY: self.boundary,
            WORKSPACE: self.workspace,
            SERVICE_NAME: self.service_name,
            MODEL_NAME: self.model_name,
            MODEL_VERSION: self.model_version,
            REQUEST_ID: NO_REQUEST_ID,
        }
        if self.debug:
            self._print(input_data, correlations)
        return correlations

    def add_correlations(self, input_data: Any, correlations: Mapping[str, Any]) -> Any:
        """``input_data`` with the eight correlation columns of ``correlations`` appended to
        every row, as v1 returned it (list, numpy array or DataFrame); later ``collect()`` calls
        of this collector write those columns too."""
        missing = [h for h in CORRELATION_HEADERS if h not in correlations]
        if missing:
            raise ValueError(f"correlations lacks {missing}: pass what an inputs collector's collect() returned")
        values = [correlations[h] for h in CORRELATION_HEADERS]
        with self._lock:
            if not self._with_correlations:
                self._with_correlations = True
                self._collector = None  # its header gains the columns: a new stream
        pd = sys.modules.get("pandas")
        if pd is not None and isinstance(input_data, pd.DataFrame):
            frame = input_data.copy(deep=False)
            for offset, (header, value) in enumerate(zip(CORRELATION_HEADERS, values, strict=True)):
                frame.insert(len(input_data.columns) + offset, header, value)
            return frame
        if isinstance(input_data, np.ndarray):
            data = input_data.reshape(1, -1) if input_data.ndim == 1 else input_data
            extra = np.repeat(np.array([values], dtype=object), data.shape[0], axis=0)
            return np.append(data.astype(object), extra, axis=1)
        if isinstance(input_data, list):
            if input_data and isinstance(input_data[0], (list, tuple)):
                return [[*row, *values] for row in input_data]
            return [*input_data, *values]
        raise TypeError(
            f"add_correlations() takes a list, a numpy array or a pandas DataFrame, got {type(input_data).__name__}"
        )

    def _print(self, data: Any, correlations: Mapping[str, Any] | None) -> None:
        """AML_MODEL_DC_DEBUG: the rows as CSV on stdout, as v1 printed them."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        rows = _as_list_of_rows(data)
        if not self._debug_header_written and self._feature_names:
            writer.writerow([*self._feature_names, *(CORRELATION_HEADERS if correlations else ())])
            self._debug_header_written = True
        extra = [correlations[h] for h in CORRELATION_HEADERS] if correlations else []
        writer.writerows([*row, *extra] for row in rows)
        sys.stdout.write(buffer.getvalue())

    def __repr__(self) -> str:
        return f"ModelDataCollector({self.model_name!r}, designation={self.designation!r}, file={self.filename!r})"


def _file_stem(designation: str, collection_name: str, file_names: str | None) -> str:
    choice = file_names if file_names is not None else os.environ.get(FILE_NAMES_VARIABLE, "data").strip().lower()
    if choice == "data":
        return FILE_STEM
    if choice == "v1":
        return designation if designation in _V1_NAMED_BY_DESIGNATION else collection_name
    where = "file_names" if file_names is not None else FILE_NAMES_VARIABLE
    raise ValueError(f"{where} must be 'data' or 'v1', got {choice!r}")


def _rows(data: Any) -> Any:
    """v1 took a flat list or a 1-D array as one row."""
    if isinstance(data, np.ndarray) and data.ndim == 1:
        return data.reshape(1, -1)
    return data


def _as_list_of_rows(data: Any) -> list[list[Any]]:
    pd = sys.modules.get("pandas")
    if pd is not None and isinstance(data, pd.DataFrame):
        return [list(r) for r in data.itertuples(index=False)]
    if isinstance(data, np.ndarray):
        return [list(r) for r in (data.reshape(1, -1) if data.ndim == 1 else data).tolist()]
    if isinstance(data, list) and data and isinstance(data[0], (list, tuple)):
        return [list(r) for r in data]
    return [list(data)]
