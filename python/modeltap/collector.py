"""Collector: what a scoring script creates once and calls on every request."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from modeltap import _native, lifecycle, switch
from modeltap.columns import META_COLUMNS, MetaColumn
from modeltap.layout import StreamPath, check_part
from modeltap.stores.base import Store


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
        self._path = StreamPath(
            subscription,
            resource_group,
            ws,
            check_part(service, "service"),
            check_part(model_name, "model_name"),
            check_part(str(model_version), "model_version"),
            check_part(designation, "designation"),
        )
        if policy not in ("drop", "block"):
            raise ValueError(f"policy must be 'drop' or 'block', got {policy!r}")
        if not isinstance(timeout, (int, float)) or not timeout >= 0:
            raise ValueError(f"timeout must be a non-negative number of seconds, got {timeout!r}")
        if store is not None and not isinstance(store, Store):
            raise TypeError(f"store must have append/flush/close methods, got {type(store).__name__}")
        if not isinstance(enabled, bool):
            raise TypeError(f"enabled must be a bool, got {type(enabled).__name__}")
        # _meta and _file_stem: the Azure ML drop-ins' own columns and file names.
        self._define(
            partition=partition,
            meta=list(META_COLUMNS if _meta is None else _meta),
            stem=check_part(_file_stem, "file name"),
            names=feature_names,
            block_timeout=float(timeout) if policy == "block" else None,
        )
        self.sample_rate = sample_rate
        self.enabled = enabled
        switch.watch_from_environment()
        lifecycle.adopt(self, self._path, store)

    def __enter__(self) -> Collector:
        return self

    def __exit__(self, *exc: object) -> None:
        """Flushes everything collected so far. The pipeline is shared by every collector of
        the process, so it keeps running; ``modeltap.close()`` stops it."""
        lifecycle.flush()

    @property
    def folder(self) -> str:
        """The folder of this collector's rows, up to the designation."""
        p = self._path
        return "/".join([p.subscription, p.resource_group, p.workspace, p.service, p.model, p.version, p.designation])

    def __repr__(self) -> str:
        return f"Collector({self.folder!r}, enabled={self.enabled})"
