"""Keeps account keys and SAS tokens out of logs, reprs and exception messages.

Azure's transport errors quote the request URL, SAS query included, so every message that
leaves a store passes through :func:`redact`.
"""

from __future__ import annotations

import re
import threading

_PATTERNS = (
    # SAS signatures and the rest of a SAS query string (sv=...&sig=...).
    (re.compile(r"(?i)\b(sig|se|st|sp|spr|sv|sr|ss|srt|skoid|sktid|skt|ske|sks|skv|sip|si)=[^&\s'\"<>;]+"), r"\1=***"),
    # Connection-string secrets.
    (re.compile(r"(?i)\b(AccountKey|SharedAccessSignature)=[^;\s'\"]+"), r"\1=***"),
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
    """
    with _lock:
        secrets = sorted(_known, key=len, reverse=True)
    for secret in secrets:
        text = text.replace(secret, "***")
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text
