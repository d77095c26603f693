"""How a store says an append failed, and the one mapping from a failure to what to do about it."""

from __future__ import annotations

import errno


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


#: OS errors that no retry and no operator can fix for these rows: the name or the bytes are
#: what the file system refuses (a 300-character name, a lone surrogate, a file where a folder
#: must be).
_PERMANENT_ERRNOS = frozenset(
    code
    for code in (
        errno.ENAMETOOLONG,
        errno.EINVAL,
        errno.EILSEQ,
        errno.EISDIR,
        errno.ENOTDIR,
        errno.ELOOP,
        errno.EFBIG,
    )
)


def is_permanent(exc: BaseException) -> bool:
    """Whether an append that raised ``exc`` can never succeed for these rows.

    Permanent failures go to the dead-letter folder; anything else waits and is retried. A
    refused credential (:class:`StoreAuthError`) is not permanent: it holds every chunk of its
    store until someone fixes the configuration, and then they all go. A full disk, a network
    fault or a throttled service are weather.

    >>> is_permanent(OSError(36, "File name too long")), is_permanent(OSError(28, "No space left"))
    (True, False)
    """
    if isinstance(exc, StoreAuthError):
        return False
    if isinstance(exc, StoreError):
        return not exc.retryable
    if isinstance(exc, UnicodeError):  # a name the file system cannot encode (a lone surrogate)
        return True
    if isinstance(exc, OSError):
        return exc.errno in _PERMANENT_ERRNOS
    # A user's store refusing its arguments, as a well-behaved one does for a bad name.
    return isinstance(exc, (ValueError, TypeError))
