"""Where sealed chunks go: a local directory (the default) or Azure append blobs."""

from __future__ import annotations

from modeltap.stores.base import ReadableStore, Store, StoredFile
from modeltap.stores.local import LocalStore

__all__ = ["LocalStore", "ReadableStore", "Store", "StoredFile", "open_store"]


def open_store(spec: str) -> LocalStore:
    """The store a string names: a local directory for now (Azure URLs and connection strings
    come with the Azure store).

    >>> open_store("./modeldata")
    LocalStore('modeldata')
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("a store must be named by a local path, an Azure account URL or a connection string")
    return LocalStore(spec)
