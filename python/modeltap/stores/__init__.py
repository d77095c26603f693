"""Where sealed chunks go: a local directory (the default) or Azure append blobs."""

from __future__ import annotations

import os
from typing import TYPE_CHECKING

from modeltap.stores.base import ReadableStore, Store, StoredFile
from modeltap.stores.errors import StoreAuthError, StoreError
from modeltap.stores.local import LocalStore
from modeltap.stores.spec import kind_of

if TYPE_CHECKING:
    from modeltap.stores.azure import AzureBlobStore

__all__ = [
    "LocalStore",
    "ReadableStore",
    "Store",
    "StoreAuthError",
    "StoreError",
    "StoredFile",
    "from_environment",
    "open_store",
]

#: Variables naming the default store, first match wins: modeltap's own, then Azure ML's.
ENVIRONMENT = ("MODELTAP_STORAGE", "AML_MODEL_DC_STORAGE")


def open_store(spec: str) -> LocalStore | AzureBlobStore:
    """The store a string names: an Azure connection string, an ``http(s)://`` account or
    container URL (with a SAS token, or signed in by ``DefaultAzureCredential``), or a local path.

    >>> open_store("./modeldata")
    LocalStore('modeldata')

    A string that carries a credential but is none of these is refused (see
    :func:`modeltap.stores.spec.kind_of`), and errors never quote it.
    """
    if not isinstance(spec, str) or not spec.strip():
        raise ValueError("a store is named by a local path, an Azure account URL or an Azure connection string")
    spec = spec.strip()
    kind = kind_of(spec)
    if kind == "path":
        return LocalStore(spec)
    from modeltap.stores.azure import AzureBlobStore  # noqa: PLC0415

    if kind == "connection string":
        return AzureBlobStore(connection_string=spec)
    return AzureBlobStore(spec)


def from_environment() -> LocalStore | AzureBlobStore | None:
    """The store ``$MODELTAP_STORAGE`` (or Azure ML's ``$AML_MODEL_DC_STORAGE``) names, if set."""
    for name in ENVIRONMENT:
        value = os.environ.get(name, "").strip()
        if value:
            try:
                return open_store(value)
            except (ValueError, TypeError) as exc:
                # The message must not quote the value: it may be a connection string.
                raise ValueError(f"${name} does not name a store: {exc}") from None
    return None


def __getattr__(name: str) -> object:
    # The Azure store imports azure-storage-blob: only when asked for.
    if name == "AzureBlobStore":
        from modeltap.stores.azure import AzureBlobStore  # noqa: PLC0415

        return AzureBlobStore
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
