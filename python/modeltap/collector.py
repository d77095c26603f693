"""Collector: what a scoring script creates once and calls on every request."""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from typing import Any, Literal

from modeltap import _native, lifecycle, switch, tabular
from modeltap.layout import StreamPath, check_part
from modeltap.pipeline import META_COLUMNS, MetaColumn, Pipeline, StreamSpec
from modeltap.stores.base import Store

Correlation = _native.Correlation

_RESERVED = {title for _, title, _ in META_COLUMNS}
# The native switch, under the Python property that combines it with the process's.
_native_enabled: Any = _native.StreamHandle.enabled


class Collector(_native.StreamHandle):
    """Records one kind of data (a *designation*) of one model version as CSV rows.

    Rows land in ``<subscription>/<resourcegroup>/<workspace>/<service>/<model>/<version>/
    <designation>/<yyyy>/<m>/<d>/data.csv`` of the store, each followed by the columns
    ``$correlation_id``, ``$scoring_timestamp``, ``$request_id`` and ``$row``.

    >>> inputs = Collector("best_model", designation="inputs", feature_names=["a", "b"])

    Used as a context manager, it flushes on leaving the block:

    >>> with Collector("best_model", designation="labels", feature_names=["y"]) as labels:
    ...     labels.collect(np.array([1.0]))

    Args:
        model_name: The model; a folder name.
        designation: What the rows are: ``inputs``, ``predictions``, ``labels``, ``signals``,
            ``general``, or any other folder name.
        feature_names: Column names. Without them the first ``collect()`` fixes the columns
            (a DataFrame's column names, else ``col_0``, ``col_1``, ...).
        model_version, service: Folder names; ``"default"`` when not given.
        workspace: ``"<subscription>/<resourcegroup>/<workspace>"``.
        store: Where rows go; the process default (``./modeldata``) when not given.
        partition: ``"day"`` (default) or ``"hour"``: one file per UTC day or hour.
        sample_rate: Fraction of requests kept, decided per request so that inputs and
            predictions of a request are kept or left out together.
        policy: ``"drop"`` (default): when the queue is full, rows are dropped and counted and
            ``collect()`` never waits. ``"block"``: wait up to ``timeout`` seconds, then drop.
        timeout: The longest ``collect()`` waits under ``policy="block"``.
        enabled: The runtime switch; ``False`` makes ``collect()`` a counted no-op.
    """

    def __init__(
        self,
        model_name: str,
        designation: str = "general",
        feature_names: Sequence[str] | None = None,
        model_version: str = "default",
        service: str = "default",
        workspace: str = "default/default/default",
        store: Store | None = None,
        *,
        partition: Literal["day", "hour"] = "day",
        sample_rate: float = 1.0,
        policy: Literal["drop", "block"] = "drop",
        timeout: float = 1.0,
        enabled: bool = True,
        _meta: tuple[MetaColumn, ...] | None = None,
        _file_stem: str = "data",
    ) -> None:
        subscription, resource_group, ws = StreamPath.parse_workspace(workspace)
        path = StreamPath(
            subscription,
            resource_group,
            ws,
            check_part(service, "service"),
            check_part(model_name, "model_name"),
            check_part(str(model_version), "model_version"),
            check_part(designation, "designation"),
        )
        if partition not in ("day", "hour"):
            raise ValueError(f"partition must be 'day' or 'hour', got {partition!r}")
        if policy not in ("drop", "block"):
            raise ValueError(f"policy must be 'drop' or 'block', got {policy!r}")
        if not isinstance(timeout, (int, float)) or not timeout >= 0:
            raise ValueError(f"timeout must be a non-negative number of seconds, got {timeout!r}")
        if store is not None and not isinstance(store, Store):
            raise TypeError(f"store must have append/flush/close methods, got {type(store).__name__}")
        # _meta and _file_stem: the Azure ML drop-ins' own columns and file names.
        meta = META_COLUMNS if _meta is None else _meta
        names = _check_names(feature_names, {title for _, title, _ in meta})
        self._spec = StreamSpec(
            path=path,
            store=store,
            partition=partition,
            block_timeout=float(timeout) if policy == "block" else None,
            names=names,
            meta=meta,
            stem=check_part(_file_stem, "file name"),
        )
        self._wanted = bool(enabled)
        self._attach(lifecycle.pipeline())
        self.sample_rate = sample_rate
        self.enabled = enabled
        lifecycle.add_collector(self)
        switch.follow(self)

    @property
    def enabled(self) -> bool:
        """This collector's switch; ``collect()`` writes only while it and the process's switch
        (:func:`modeltap.set_enabled`) are both on."""
        return self._wanted

    @enabled.setter
    def enabled(self, on: bool) -> None:
        if not isinstance(on, bool):
            raise TypeError(f"enabled must be a bool, got {type(on).__name__}")
        self._wanted = on
        _native_enabled.__set__(self, on and switch.enabled())

    def _switch_changed(self) -> None:
        _native_enabled.__set__(self, self._wanted and switch.enabled())

    def _attach(self, pipeline: Pipeline) -> None:
        """Moves this collector to ``pipeline`` (after configure() or a fork), keeping its
        switches and its column count."""
        # A fresh lock: after a fork, the inherited one may be held by a thread that is gone.
        self._names_lock = threading.Lock()
        pipeline.register(self, self._spec)

    def _collect_other(
        self,
        data: Any,
        correlation: Correlation | None,
        correlation_id: str | None,
        request_id: str | None,
        copy: bool,
    ) -> Correlation:
        if tabular.is_dataframe(data):
            columns, labels = tabular.from_dataframe(data, self._spec.names, copy)
            self._adopt_names(labels)
        elif isinstance(data, Mapping):
            columns, labels = tabular.from_mapping(data, self._spec.names, copy)
            self._adopt_names(labels)
        elif isinstance(data, (list, tuple)) and tabular.is_records(data):
            columns, labels = tabular.from_records(data, self._spec.names)
            self._adopt_names(labels)
        elif isinstance(data, (list, tuple)):
            columns = tabular.from_sequence(data, self._ncols)
        else:
            raise TypeError(
                f"collect() takes a numpy array, a pandas DataFrame or Series, a dict of columns "
                f"or a list of rows, got {type(data).__name__}"
            )
        return self._collect_columns(columns, correlation, correlation_id, request_id)

    def _adopt_names(self, labels: list[str]) -> None:
        """A frame's column names become the header if nothing fixed it yet."""
        if self._spec.names is not None or self._ncols:
            return
        with self._names_lock:
            if self._spec.names is None:
                self._spec.names = _check_names(labels)

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        """Flushes everything collected so far. The pipeline is shared by every collector of
        the process, so it keeps running; ``modeltap.close()`` stops it."""
        lifecycle.flush()

    @property
    def feature_names(self) -> tuple[str, ...] | None:
        """The value columns' names, once known."""
        names = self._spec.names
        if names is None and self._ncols:
            return tuple(f"col_{i}" for i in range(self._ncols))
        return None if names is None else tuple(names)

    @property
    def folder(self) -> str:
        """The folder of this collector's rows, up to the designation."""
        p = self._spec.path
        return "/".join([p.subscription, p.resource_group, p.workspace, p.service, p.model, p.version, p.designation])

    def __repr__(self) -> str:
        return f"Collector({self.folder!r}, enabled={self.enabled})"


def _check_names(names: Sequence[str] | None, reserved: set[str] = _RESERVED) -> list[str] | None:
    if names is None:
        return None
    if isinstance(names, str):
        raise TypeError("feature_names must be a sequence of str, not one str")
    out = []
    for i, n in enumerate(names):
        if not isinstance(n, str):
            raise TypeError(f"feature_names[{i}] is a {type(n).__name__}, not a str")
        if n in reserved:
            raise ValueError(f"feature_names[{i}] is {n!r}, a column modeltap adds itself")
        out.append(n)
    if not out:
        raise ValueError("feature_names is empty")
    if len(set(out)) != len(out):
        raise ValueError(f"feature_names has duplicates: {sorted({n for n in out if out.count(n) > 1})}")
    return out
