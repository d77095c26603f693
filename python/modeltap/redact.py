"""Keeps account keys and SAS tokens out of logs, reprs and exception messages.

Azure's transport errors quote the request URL, SAS query included, so every message that
leaves a store passes through :func:`redact`; and the loggers of the libraries that carry its
requests (``azure.*``, ``urllib3.*``, which log request URLs at DEBUG) get a
:class:`RedactingFilter` when a store is made (:func:`guard_loggers`).
"""

from __future__ import annotations

import logging
import re
import threading

# The rest of a SAS query string (sv=...&se=...), cut only from a text that holds a signature:
# the loggers guarded here also carry the process's other HTTP traffic, whose ?st=5 is no secret.
_SAS_PARAMETERS = re.compile(r"(?i)\b(se|st|sp|spr|sv|sr|ss|srt|skoid|sktid|skt|ske|sks|skv|sip|si)=[^&\s'\"<>;]+")
_SIGNED = re.compile(r"(?i)\bsig=")
_PATTERNS = (
    # SAS signatures.
    (re.compile(r"(?i)\b(sig)=[^&\s'\"<>;]+"), r"\1=***"),
    # Connection-string secrets.
    (re.compile(r"(?i)\b(AccountKey|SharedAccessSignature)=[^;\s'\"]+"), r"\1=***"),
    # Passwords and client secrets in connection strings, query strings and token requests.
    (re.compile(r"(?i)\b(client_secret|password|pwd)=[^&\s'\";]+"), r"\1=***"),
    # Authorization headers.
    (re.compile(r"(?i)\b(SharedKey|Bearer)\s+[^\s'\",]+"), r"\1 ***"),
)

_known: set[str] = set()
_lock = threading.Lock()


def register(secret: str) -> None:
    """Marks ``secret`` (an account key, a SAS token) to be cut from every redacted message."""
    if secret and len(secret) >= 8:
        with _lock:
            _known.add(secret)


def redact(text: str) -> str:
    """``text`` without the secrets it may quote.

    >>> redact("GET https://a.blob.core.windows.net/c?sv=2024&sig=abc%2F")
    'GET https://a.blob.core.windows.net/c?sv=***&sig=***'
    >>> redact("GET https://example.com/page?st=5")
    'GET https://example.com/page?st=5'
    """
    with _lock:
        secrets = sorted(_known, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    if _SIGNED.search(text):
        text = _SAS_PARAMETERS.sub(r"\1=***", text)
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


class RedactingFilter(logging.Filter):
    """Rewrites a record's message, traceback and stack without secrets, before any handler
    (the root logger's, a test's) sees it. Lets every record through."""

    def filter(self, record: logging.LogRecord) -> bool:
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a malformed record is left for logging to report
            return True
        clean = redact(message)
        if clean != message:
            record.msg, record.args = clean, ()
        if record.exc_info and record.exc_info[0] is not None:
            # The text a formatter would print, redacted; the exception objects themselves (their
            # messages, the SDK response they hold) are not passed on.
            record.exc_text = redact(_FORMATTER.formatException(record.exc_info))
            record.exc_info = None
        elif record.exc_text:
            record.exc_text = redact(record.exc_text)
        if record.stack_info:
            record.stack_info = redact(record.stack_info)
        return True


_FORMATTER = logging.Formatter()
_FILTER = RedactingFilter()

#: Loggers that may quote a request URL or a credential: the HTTP stack under Azure's SDK, and ours.
GUARDED = ("azure", "urllib3", "requests", "modeltap")


def guard_loggers(roots: tuple[str, ...] = GUARDED) -> None:
    """Adds the redacting filter to each logger under ``roots`` that exists now.

    A logger's filters apply only to records logged on it, not to those its children pass up,
    so every logger is guarded, not just the roots; loggers made later (a module imported after
    the store was made) are guarded by the next call. Idempotent and cheap: the filter costs
    nothing for a level that is not enabled.
    """
    names = [n for n in list(logging.Logger.manager.loggerDict) if n.split(".", 1)[0] in roots]
    for name in [*roots, *names]:
        logger = logging.getLogger(name)
        if _FILTER not in logger.filters:
            logger.addFilter(_FILTER)
