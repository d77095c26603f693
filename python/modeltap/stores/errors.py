"""How a store says an append failed, so the pipeline knows whether to retry, spool or shout."""

from __future__ import annotations


class StoreError(Exception):
    """An append or flush that did not happen. Messages never carry secrets.

    ``retryable`` is False when trying again cannot help without a change of configuration.
    ``resume`` is set when an earlier try may have landed: passing it to the next ``append``
    of the same rows lets the store find them instead of writing them twice. ``rest`` is set
    when only the tail of the rows is still to append (the head landed).
    """

    def __init__(
        self, message: str, *, retryable: bool = True, resume: str | None = None, rest: bytes | None = None
    ) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.resume = resume
        self.rest = rest


class StoreAuthError(StoreError):
    """The store refused our credentials (HTTP 401/403): retrying will not fix it."""

    def __init__(self, message: str, *, resume: str | None = None, rest: bytes | None = None) -> None:
        super().__init__(message, retryable=False, resume=resume, rest=rest)
