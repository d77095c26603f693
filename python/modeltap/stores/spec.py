"""What a store string names: a local folder, an Azure URL or an Azure connection string.

The string usually comes from ``$MODELTAP_STORAGE``, so it may hold an account key or a SAS
token: nothing here quotes it back. A string that carries a credential but is not a well-formed
connection string or URL is refused, rather than taken for the name of a local folder (and the
secret written to disk as a directory name).

>>> kind_of("./modeldata"), kind_of("https://acct.blob.core.windows.net"), kind_of("UseDevelopmentStorage=true")
('path', 'url', 'connection string')
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

#: The keys of an Azure Storage connection string, as the SDK and the portal spell them (any case is read).
CONNECTION_STRING_KEYS = (
    "DefaultEndpointsProtocol",
    "AccountName",
    "AccountKey",
    "SharedAccessSignature",
    "EndpointSuffix",
    "BlobEndpoint",
    "BlobSecondaryEndpoint",
    "QueueEndpoint",
    "QueueSecondaryEndpoint",
    "TableEndpoint",
    "TableSecondaryEndpoint",
    "FileEndpoint",
    "FileSecondaryEndpoint",
    "UseDevelopmentStorage",
    "DevelopmentStorageProxyUri",
)
_SPELLING = {k.lower(): k for k in CONNECTION_STRING_KEYS}
#: The emulator's published account key: not a secret, but treated as one like any key.
DEVELOPMENT_KEY = "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
_SECRET_KEYS = ("accountkey", "sharedaccesssignature")
_KEY_ANYWHERE = re.compile(r"(?i)\b(" + "|".join(_SPELLING) + r")\s*=")
# A SAS token's signature, bare (``sv=..&sig=..``) or in a query string.
_SAS_SIGNATURE = re.compile(r"(?i)(^|[?&;])\s*sig=")
# An account key on its own: 64 random bytes in base64.
_ACCOUNT_KEY = re.compile(r"^[A-Za-z0-9+/]{86}==$")
# A scheme of two letters or more: ``C:/data`` is a Windows path, not a URL.
_SCHEME = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):/")

Kind = Literal["path", "url", "connection string"]


def kind_of(spec: str) -> Kind:
    """Which kind of store ``spec`` names; ValueError (never quoting it) for a string that is
    none of them but carries what looks like a credential.

    A string is a local path unless it

    * starts with a URL scheme (``https:/...``): only ``http`` and ``https`` are stores;
    * holds a connection-string key followed by ``=`` (``AccountKey=``, ``BlobEndpoint=``, ...,
      any case) anywhere: it must then be a connection string (see :func:`parse_connection_string`);
    * holds a SAS signature (``sig=`` at its start or after ``?``, ``&`` or ``;``);
    * is an account key on its own (88 characters of base64).
    """
    scheme = _SCHEME.match(spec)
    if scheme:
        if scheme.group(1).lower() not in ("http", "https"):
            raise ValueError(f"a store URL must be http:// or https://, not {scheme.group(1).lower()}://")
        parts = urlsplit(spec)
        if "@" in parts.netloc:
            raise ValueError("a store URL must not carry a user name or password (user:password@host)")
        if not spec.lower().startswith(("http://", "https://")) or not parts.hostname:
            raise ValueError("a store URL must be http(s)://<host>[/<account>][/<container>][?<SAS token>]")
        return "url"
    if _KEY_ANYWHERE.search(spec):
        parse_connection_string(spec)
        return "connection string"
    if _SAS_SIGNATURE.search(spec):
        raise ValueError(
            "holds a SAS token but is not an http(s):// URL: give the account or container URL "
            "with the token as its query, or a connection string with SharedAccessSignature="
        )
    if _ACCOUNT_KEY.match(spec):
        raise ValueError(
            "looks like an account key on its own: give a connection string with AccountName= and AccountKey="
        )
    return "path"


@dataclass(frozen=True)
class ConnectionString:
    """The parts of a connection string modeltap needs; ``secrets`` are the values to redact."""

    endpoint: str
    account: str
    secrets: tuple[str, ...]


def parse_connection_string(text: str) -> ConnectionString:
    """The endpoint, account and secrets of an Azure Storage connection string.

    >>> parse_connection_string("AccountName=acct;AccountKey=c2VjcmV0;EndpointSuffix=core.windows.net")
    ConnectionString(endpoint='https://acct.blob.core.windows.net', account='acct', secrets=('c2VjcmV0',))

    Errors name the keys that are missing or unknown, never a value.
    """
    settings = _settings(text)
    if settings.get("usedevelopmentstorage", "").lower() == "true":
        return ConnectionString("http://127.0.0.1:10000/devstoreaccount1", "devstoreaccount1", (DEVELOPMENT_KEY,))
    if "usedevelopmentstorage" in settings:
        raise ValueError("connection string: UseDevelopmentStorage must be true when given")
    _check_credential(settings)
    endpoint, account = _endpoint(settings)
    if not account or re.search(r"[/?#@\s]", account):
        raise ValueError("connection string: AccountName is not an account name")
    return ConnectionString(endpoint, account, tuple(settings[k] for k in _SECRET_KEYS if settings.get(k)))


def _settings(text: str) -> dict[str, str]:
    settings: dict[str, str] = {}
    for i, part in enumerate(text.split(";")):
        if not part.strip():
            continue
        key, eq, value = part.partition("=")
        key = key.strip().lower()
        if not eq:
            raise ValueError(f"connection string: part {i + 1} is not Key=Value")
        if key not in _SPELLING:
            # The key is the user's text too: it may be a secret pasted in the wrong place.
            raise ValueError(f"connection string: part {i + 1} has a key Azure Storage does not know")
        if key in settings:
            raise ValueError(f"connection string: {_SPELLING[key]} is given twice")
        settings[key] = value.strip()
    return settings


def _check_credential(settings: dict[str, str]) -> None:
    if "accountkey" in settings:
        if not settings["accountkey"]:
            raise ValueError("connection string: AccountKey is empty")
        if not settings.get("accountname"):
            raise ValueError("connection string: AccountKey is given without AccountName")
    elif "sharedaccesssignature" in settings:
        if not _SAS_SIGNATURE.search(settings["sharedaccesssignature"].lstrip("?")):
            raise ValueError("connection string: SharedAccessSignature is not a SAS token (no sig=)")
    else:
        raise ValueError("connection string: needs AccountKey (with AccountName) or SharedAccessSignature")


def _endpoint(settings: dict[str, str]) -> tuple[str, str]:
    """The blob endpoint and the account of a connection string's settings."""
    account = settings.get("accountname", "")
    endpoint = settings.get("blobendpoint", "")
    if endpoint:
        parts = urlsplit(endpoint)
        if parts.scheme.lower() not in ("http", "https") or not parts.hostname or parts.query or "@" in parts.netloc:
            raise ValueError("connection string: BlobEndpoint must be an http(s):// URL without a query")
        endpoint = endpoint.rstrip("/")
        return endpoint, account or account_of(endpoint)
    if not account:
        raise ValueError("connection string: needs BlobEndpoint or AccountName")
    protocol = settings.get("defaultendpointsprotocol", "https").lower()
    if protocol not in ("http", "https"):
        raise ValueError("connection string: DefaultEndpointsProtocol must be http or https")
    suffix = settings.get("endpointsuffix", "core.windows.net").strip(".")
    return f"{protocol}://{account}.blob.{suffix}", account


def account_of(endpoint: str) -> str:
    """The account an endpoint URL (without query) reaches: the host's first label for
    ``<account>.blob.<suffix>``, the first path segment for an IP or ``localhost`` (emulators),
    else the host (a custom domain).

    >>> account_of("https://acct.blob.core.windows.net"), account_of("http://127.0.0.1:10000/devstoreaccount1")
    ('acct', 'devstoreaccount1')
    """
    parts = urlsplit(endpoint)
    host = (parts.hostname or "").lower()
    labels = host.split(".")
    if len(labels) > 2 and labels[1] == "blob":
        return labels[0]
    if path_style(host):
        segments = [s for s in parts.path.split("/") if s]
        if segments:
            return segments[0]
    return host


def path_style(host: str) -> bool:
    """Whether an endpoint's host carries the account in the URL's path (emulators, IPs)."""
    import ipaddress  # noqa: PLC0415

    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return host.lower() == "localhost"
    return True
