"""modeltap: record what deployed models see and say, at full speed.

>>> import modeltap, numpy as np
>>> inputs = modeltap.Collector("best_model", designation="inputs", feature_names=["a", "b"])
>>> corr = inputs.collect(np.array([[1.0, 2.0]]))

Rows are queued without copying, encoded to CSV on a native thread and appended to day (or
hour) files of a store: ``./modeldata`` by default.
"""

from __future__ import annotations

import importlib
import importlib.metadata
import os
from typing import Any

from modeltap import lifecycle, switch
from modeltap._native import Correlation
from modeltap.collector import Collector
from modeltap.readers import StreamNotFound, TypesDiffer, export, read, read_joined, streams
from modeltap.stores import LocalStore, Store

# The version has one home, Cargo.toml; maturin writes it into the package's metadata.
__version__ = importlib.metadata.version("modeltap")

__all__ = [
    "AzureBlobStore",
    "Collector",
    "Correlation",
    "LocalStore",
    "Store",
    "StreamNotFound",
    "TypesDiffer",
    "close",
    "configure",
    "export",
    "flush",
    "read",
    "read_joined",
    "set_enabled",
    "stats",
    "streams",
    "watch_config",
]


def configure(store: Store | None = None, **options: Any) -> None:
    """Sets the process-wide pipeline's options and default store.

    >>> modeltap.configure(store=modeltap.LocalStore("/var/modeldata"), flush_interval=2.0)

    Options: ``capacity`` (collect() calls the queue holds, default 65,536), ``max_queue_bytes``
    (bytes of collected arrays the queue may keep alive, default 256 MiB: arrays are queued
    by reference, so this bounds the memory collecting can pin), ``chunk_bytes``
    (a file append once a chunk reaches this size, default 4 MiB), ``flush_interval`` (seconds
    a row may wait in memory before it is written, default 5; also the most a SIGKILL can
    lose), ``max_sealed`` (chunks waiting for the store before the encoder pauses, default 64),
    ``spool_dir`` (where chunks a store did not take wait on disk; default
    ``$MODELTAP_SPOOL_DIR``, else ``<tempdir>/modeltap-spool-<uid>``) and ``spool_max_bytes``
    (its size, default 1 GiB; 0 turns it off). ``flush_interval`` defaults to what the default
    store asks for: 5 s, and 30 s for an :class:`AzureBlobStore`, whose blobs take 50,000 appends.
    The running pipeline is flushed and closed first; existing collectors carry on in the new one.
    """
    lifecycle.configure(store, **options)


def flush(timeout: float | None = 30.0) -> bool:
    """Waits until every row collected before this call is in its store (and fsynced).

    >>> modeltap.flush()
    True

    Returns False if that did not happen within ``timeout`` seconds, if a store failed to
    flush, or if any row was lost (counted in ``stats()["rows_dropped"]``: a full queue or
    spool, a closed pipeline, a store given up on, ...) since the previous ``flush()`` returned.
    The exact contract: :meth:`modeltap.pipeline.Pipeline.flush`.
    """
    return lifecycle.flush(timeout)


def close(timeout: float | None = 30.0) -> bool:
    """Flushes and stops the pipeline; later ``collect()`` calls are dropped and counted.

    >>> modeltap.close()
    True

    Runs by itself at interpreter exit and on SIGTERM.
    """
    return lifecycle.close(timeout)


def set_enabled(on: bool) -> None:
    """Switches collection on or off for the whole process, at once and without a restart.

    >>> modeltap.set_enabled(False)

    Also at start, ``MODELTAP_ENABLED=false``; and while running, a watched file (see
    :func:`watch_config`). A collector writes while both its own ``enabled`` and this are on.
    """
    switch.set_enabled(on)


def watch_config(path: str | os.PathLike[str]) -> None:
    """Follows ``{"enabled": true|false}`` in the JSON file at ``path``, checked every second.

    >>> modeltap.watch_config("/etc/modeltap/config.json")

    ``MODELTAP_CONFIG=<path>`` does the same from the environment.
    """
    switch.watch(path)


#: Submodules loaded on first use: they need optional extras (pyspark; pandas and scipy).
_LAZY_SUBMODULES = ("spark", "drift")


def __getattr__(name: str) -> Any:
    # AzureBlobStore imports azure-storage-blob (the ``azure`` extra): only when asked for.
    if name == "AzureBlobStore":
        from modeltap.stores.azure import AzureBlobStore  # noqa: PLC0415

        return AzureBlobStore
    if name in _LAZY_SUBMODULES:
        return importlib.import_module(f"modeltap.{name}")
    raise AttributeError(f"module 'modeltap' has no attribute {name!r}")


def stats() -> dict[str, Any]:
    """Counters of the process's pipeline: rows collected, dropped (by reason), encoded,
    written; bytes; queue depth.

    >>> modeltap.stats()["rows_written"]
    0

    Reading them starts nothing. Counters carry on across ``configure()``.
    """
    return lifecycle.stats()
