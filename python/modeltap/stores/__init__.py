"""Where sealed chunks go: a local directory (the default) or, later, Azure append blobs."""

from modeltap.stores.base import Store
from modeltap.stores.local import LocalStore

__all__ = ["LocalStore", "Store"]
