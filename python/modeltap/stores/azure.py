"""Azure append blobs: each partition's rows appended to ``<folder>/data.csv`` of a container.

Exactly once, with several writers per blob and through faults:

* Every data append is conditional on the blob's length (``appendpos_condition``), so it can
  only land where this writer last saw the end. When a try's outcome is unknown (a timeout, a
  reset, a 5xx), the next try is conditional too, and a failed condition is answered by reading
  the blob from that position: if the rows are there, they landed. The SDK's own retries are
  off, since they would re-send an append blindly.
* The header is the only append made at position 0 (``appendpos_condition=0``), so of all the
  replicas that create a day's blob, exactly one writes it; the others read it back and compare.
* A full blob (``BlockCountExceedsLimit``, or the size limit) continues in ``data.1.csv``,
  ``data.2.csv``, ... of the same folder: the last resort, which pacing (see
  :mod:`modeltap.pacing`) keeps from happening. For it, :meth:`AzureBlobStore.blob_seen` tells
  the block count each append answered and the interval the blob's writers published in its
  metadata, and :meth:`AzureBlobStore.publish_interval` writes that interval.
"""

from __future__ import annotations

import logging
import math
import os
import random
import re
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, TypeVar
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from modeltap.columns import SCHEMA_FOLDER, SCHEMA_KEY
from modeltap.layout import CONTAINER, file_name, parse_file_index
from modeltap.redact import guard_loggers, redact, register
from modeltap.stores.base import StoredFile
from modeltap.stores.errors import StoreAuthError, StoreError
from modeltap.stores.resume import holds_rows
from modeltap.stores.spec import account_of, parse_connection_string, path_style

if TYPE_CHECKING:
    from azure.storage.blob import BlobClient, ContainerClient

logger = logging.getLogger("modeltap.stores.azure")

_C = TypeVar("_C")

#: The service's largest append block (API 2022-11-02 and later).
MAX_BLOCK_BYTES = 100 << 20
#: Appends one append blob takes, shared by every writer of that blob.
MAX_BLOCKS = 50_000
#: 50,000 blocks of 4 MiB: the service's size limit for an append blob.
MAX_BLOB_BYTES = 50_000 * (4 << 20)
#: The longest record of column types kept in a blob's metadata (the service allows 8 KiB of
#: metadata in all); a longer one (thousands of columns of mixed types) goes to a side blob.
MAX_SCHEMA_METADATA = 4096
# The metadata value that sends a reader to the side blob.
_SIDE = "side"

_SEARCH_WINDOW = 16 << 20
#: The blob metadata key holding the append interval its writers published (seconds).
INTERVAL_KEY = "modeltap_append_interval"


@dataclass
class _Blob:
    """What this writer knows of the blob it appends a folder's rows to."""

    name: str
    index: int
    #: The length this writer last saw; None until read (or after a failed condition).
    length: int | None = None
    blocks: int = 0
    #: The interval the blob's metadata held when this writer last read its properties.
    fleet_interval: float | None = None


@dataclass(frozen=True)
class _Pending:
    """An append whose outcome is unknown: the rows, if they landed, are at or after ``offset``."""

    blob: str
    offset: int

    def token(self) -> str:
        return f"{self.offset}@{self.blob}"

    @classmethod
    def parse(cls, token: str) -> _Pending:
        offset, _, blob = token.partition("@")
        if not offset.isdigit() or not blob:
            raise ValueError(f"not a resume token of AzureBlobStore: {token!r}")
        return cls(blob, int(offset))


class AzureBlobStore:
    """Appends rows to Azure append blobs in the ``modeldata`` container, in the Azure ML layout.

    >>> store = AzureBlobStore.from_connection_string(os.environ["AZURE_STORAGE_CONNECTION_STRING"])

    Connect with one of:

    * ``connection_string``: ``DefaultEndpointsProtocol=https;AccountName=...;AccountKey=...``;
    * ``url`` of the account (``https://<account>.blob.core.windows.net``) with ``credential``,
      an ``azure-identity`` credential; ``DefaultAzureCredential()`` (workload or managed
      identity, environment, Azure CLI) when none is given;
    * ``url`` with a SAS token, of the account or of the container.

    Args:
        container: Created when missing (needs the right to; a container SAS cannot).
        timeout: Seconds one request may take before it is abandoned (and its outcome found
            out by the next try).
        retry_for: Seconds an append keeps retrying faults before it raises, so that the
            pipeline can set the rows aside in its spool and go on with other streams.
        max_block_bytes, max_blocks, max_blob_bytes: Service limits; lower them to roll over
            to the next blob sooner.
    """

    #: Appends cost a share of the blob's 50,000: write every 30 s, not every 5 s, when idle.
    flush_interval_hint = 30.0

    def __init__(
        self,
        url: str | None = None,
        *,
        connection_string: str | None = None,
        credential: Any = None,
        container: str = CONTAINER,
        timeout: float = 20.0,
        retry_for: float = 10.0,
        max_block_bytes: int = MAX_BLOCK_BYTES,
        max_blocks: int = MAX_BLOCKS,
        max_blob_bytes: int = MAX_BLOB_BYTES,
    ) -> None:
        try:
            from azure.storage.blob import BlobServiceClient, ContainerClient  # noqa: PLC0415
        except ImportError as exc:  # pragma: no cover - depends on the install
            raise ImportError("AzureBlobStore needs the azure extra: pip install 'modeltap[azure]'") from exc
        if (url is None) == (connection_string is None):
            raise ValueError("AzureBlobStore needs exactly one of url= and connection_string=")
        for name, value in (("max_block_bytes", max_block_bytes), ("max_blocks", max_blocks)):
            if not isinstance(value, int) or value < 1:
                raise ValueError(f"{name} must be a positive int, got {value!r}")
        if not isinstance(max_blob_bytes, int) or max_blob_bytes < 1:
            raise ValueError(f"max_blob_bytes must be a positive int, got {max_blob_bytes!r}")
        self.max_block_bytes = min(max_block_bytes, MAX_BLOCK_BYTES)
        self.max_blocks = min(max_blocks, MAX_BLOCKS)
        self.max_blob_bytes = min(max_blob_bytes, MAX_BLOB_BYTES)
        self.retry_for = float(retry_for)
        # The SDK must not retry: a blind retry of an append is how rows get written twice.
        options: dict[str, Any] = {
            "retry_total": 0,
            "connection_timeout": min(timeout, 10.0),
            "read_timeout": timeout,
        }
        self._container: ContainerClient
        if connection_string is not None:
            parsed = parse_connection_string(connection_string)
            for secret in parsed.secrets:
                register(secret)
            endpoint, account = parsed.endpoint, parsed.account
            _check_container(container)
            service = _sdk_client(lambda: BlobServiceClient.from_connection_string(connection_string, **options))
            self._container = service.get_container_client(container)
        else:
            endpoint, account, container, container_url, has_sas = _parse_url(url, container)
            if credential is None and not has_sas:
                credential = _default_credential()
            _register_credential_secrets(credential)
            self._container = _sdk_client(
                lambda: ContainerClient.from_container_url(container_url, credential=credential, **options)
            )
        self._where = f"{endpoint}/{container}"
        self._account = account
        guard_loggers()
        self.container = container
        self._blobs: dict[tuple[tuple[str, str], bytes], _Blob] = {}
        self._indexes: dict[tuple[str, str], int] = {}
        self._container_ready = False
        self._lock = threading.Lock()
        # The record of each folder's column types, set on the blobs this store creates there.
        self._schema: dict[tuple[str, str], str] = {}
        #: Intervals read from blobs' metadata, by blob name (see blob_seen).
        self._published: dict[str, float | None] = {}
        #: False once the service refused to set metadata (a SAS without the right): not retried.
        self._can_publish = True

    @classmethod
    def from_connection_string(cls, connection_string: str, **kwargs: Any) -> AzureBlobStore:
        """A store for the account of ``connection_string``.

        >>> AzureBlobStore.from_connection_string("UseDevelopmentStorage=true")
        AzureBlobStore('http://127.0.0.1:10000/devstoreaccount1/modeldata')
        """
        return cls(connection_string=connection_string, **kwargs)

    def __repr__(self) -> str:
        return f"AzureBlobStore({self._where!r})"

    @property
    def key(self) -> str:
        """A stable name of this store, without secrets: spooled rows find their store by it.
        Account and container, whatever the credential or endpoint used to reach them.

        >>> AzureBlobStore.from_connection_string("UseDevelopmentStorage=true").key
        'azure://devstoreaccount1/modeldata'
        """
        return f"azure://{self._account}/{self.container}"

    @property
    def former_keys(self) -> tuple[str, ...]:
        """What modeltap 0.x called this store, so that chunks it spooled are still delivered.
        (A SAS connection string's former key held its signature: it is not rebuilt.)"""
        return (f"azure:{self._where}",)

    # -- appending ---------------------------------------------------------------------------

    def append(
        self,
        folder: str,
        data: bytes,
        header: bytes,
        *,
        resume: str | None = None,
        stem: str = "data",
        schema: str | None = None,
    ) -> str:
        """Appends ``data`` (whole CSV rows) to the current blob of ``folder``; returns its name.

        ``schema`` (the record of the columns' types) is set on a new blob as its metadata
        ``modeltap_schema`` (a record longer than :data:`MAX_SCHEMA_METADATA` goes to the blob
        ``.modeltap/schema/<name>.schema``, outside the data's folders, and the metadata says
        ``side``); a blob whose recorded types differ is not appended to (the next one is).

        ``resume`` is the token of a :class:`StoreError` an earlier append of the same rows
        raised: the rows are looked for where they may have landed before they are sent again.
        """
        pieces = split_rows(data, self.max_block_bytes)
        pending = _Pending.parse(resume) if resume else None
        name = ""
        with self._lock:
            if schema is not None:
                self._schema[(folder, stem)] = schema
            for i, piece in enumerate(pieces):
                try:
                    name = self._append_piece((folder, stem), piece, header, pending if i == 0 else None)
                except StoreError as exc:
                    if i > 0:
                        exc.rest = b"".join(pieces[i:])
                    raise
        return name

    def _append_piece(self, folder: tuple[str, str], piece: bytes, header: bytes, pending: _Pending | None) -> str:
        deadline = time.monotonic() + self.retry_for
        attempt = 0
        while True:
            try:
                seen = None
                if pending is not None:
                    landed, seen = self._landed(pending, piece)
                    if landed:
                        return pending.blob
                blob = self._blob(folder, header)
                if seen is not None and pending is not None and blob.name == pending.blob:
                    blob.length, blob.blocks = seen  # saves a request per try
                return self._try_append(blob, piece, pending)
            except _RequestError as exc:
                if exc.kind == "moved":
                    continue  # another writer appended: find the end again
                if exc.kind == "missing":
                    # Deleted under us (or never made, when a create's answer was lost).
                    self._blobs.pop((folder, header), None)
                    self._container_ready = False
                if exc.kind == "full":
                    self._roll(folder, header)
                    continue
                if exc.at is not None:
                    # Only an HTTP error proves a request was not applied; anything else may have been.
                    pending = exc.at
                token = pending.token() if pending else None
                if exc.kind == "auth":
                    raise StoreAuthError(str(exc), resume=token) from None
                if exc.kind == "fatal":
                    raise StoreError(str(exc), retryable=False, resume=token) from None
                error: StoreError = exc
            attempt += 1
            delay = backoff(attempt)
            if time.monotonic() + delay > deadline:
                raise StoreError(
                    f"{self!r}: gave up on an append to {folder[0]} after {attempt} tries: {error}",
                    resume=pending.token() if pending else None,
                )
            logger.info("%r: %s; retrying in %.2fs", self, error, delay)
            time.sleep(delay)

    def _try_append(self, blob: _Blob, piece: bytes, pending: _Pending | None) -> str:
        client = self._container.get_blob_client(blob.name)
        if blob.length is None:
            blob.length, blob.blocks = self._properties(client)
        if pending is None and (blob.blocks >= self.max_blocks or blob.length + len(piece) > self.max_blob_bytes):
            # With a try pending the old blob may still take it, so then only the service decides.
            raise _RequestError("full", "reached this store's limits")
        at = blob.length
        blob.length = None  # unknown until the service answers
        result = self._call(
            lambda: client.append_block(piece, appendpos_condition=at, maxsize_condition=self.max_blob_bytes),
            at=_Pending(blob.name, at),
        )
        blob.length = int(result["blob_append_offset"]) + len(piece)
        blob.blocks = int(result["blob_committed_block_count"])
        return blob.name

    def _landed(self, pending: _Pending, piece: bytes) -> tuple[bool, tuple[int, int] | None]:
        """Whether ``piece`` is in ``pending.blob`` at or after ``pending.offset`` (or in a blob
        of the same folder after it, when that one filled up meanwhile), and the pending blob's
        length and block count as seen (None when it does not exist)."""
        client = self._container.get_blob_client(pending.blob)
        try:
            seen = self._properties(client)
        except _RequestError as exc:
            if exc.code == "BlobNotFound":
                return False, None
            raise
        if self._search(client, seen[0], pending.offset, piece):
            return True, seen
        folder, _, file = pending.blob.rpartition("/")
        stem = file.split(".", 1)[0]
        index = parse_file_index(file, stem)
        while index is not None:
            index += 1
            later = self._container.get_blob_client(f"{folder}/{file_name(index, stem)}")
            try:
                length, _ = self._properties(later)
            except _RequestError as exc:
                if exc.code == "BlobNotFound":
                    break
                raise
            if self._search(later, length, 0, piece):
                return True, seen
        return False, seen

    def _search(self, client: BlobClient, length: int, offset: int, piece: bytes) -> bool:
        start = offset
        while start + len(piece) <= length:
            end = min(length, start + max(_SEARCH_WINDOW, 2 * len(piece)))
            if holds_rows(self._read(client, start, end - start), piece, at_row_start=start == offset):
                logger.info("%r: an append whose outcome was unknown had landed in %s", self, client.blob_name)
                return True
            if end == length:
                break
            start = end - len(piece)  # a match across the seam starts in this window
        return False

    def position(self, folder: str, header: bytes, *, stem: str = "data", schema: str | None = None) -> str:
        """A resume token for the next append of rows with ``header`` (and column types
        ``schema``) to ``folder``: it lands at or after the returned position (or in a later blob
        of the folder), whoever appends."""
        deadline = time.monotonic() + self.retry_for
        attempt = 0
        with self._lock:
            # The blob this claims (creates) records the types, as append's would.
            if schema is not None:
                self._schema[(folder, stem)] = schema
            while True:
                try:
                    blob = self._blob((folder, stem), header)
                    if blob.length is None:
                        blob.length, blob.blocks = self._properties(self._container.get_blob_client(blob.name))
                    return _Pending(blob.name, blob.length).token()
                except _RequestError as exc:
                    if exc.kind == "auth":
                        raise StoreAuthError(str(exc)) from None
                    attempt += 1
                    delay = backoff(attempt)
                    # Faults are retried as an append's are: a paced append asks for it each time.
                    if exc.kind == "fatal" or time.monotonic() + delay > deadline:
                        raise StoreError(str(exc), retryable=exc.kind != "fatal") from None
                time.sleep(delay)

    # -- pacing --------------------------------------------------------------------------------

    def blob_seen(self, folder: str, stem: str = "data") -> tuple[str, int, float | None] | None:
        """The blob this store appends ``folder``'s rows to now, its committed block count as
        the last append (or properties read) answered, and the append interval its writers
        published in its metadata (None: none, or not one this store can read); None before
        this store has appended to the folder."""
        with self._lock:
            blob = next((b for (f, _), b in self._blobs.items() if f == (folder, stem)), None)
            if blob is None:
                return None
            return blob.name, blob.blocks, self._published.get(blob.name)

    def publish_interval(self, folder: str, stem: str, seconds: float) -> bool:
        """Writes ``seconds`` as the append interval of ``folder``'s current blob, for the
        writers that join it; False when it could not (a SAS without the right to set
        metadata: then never tried again; a fault: tried at the next change)."""
        seen = self.blob_seen(folder, stem)
        if seen is None or not self._can_publish or not math.isfinite(seconds) or seconds <= 0:
            return False
        client = self._container.get_blob_client(seen[0])

        def publish() -> None:
            # Setting metadata replaces all of it: keep the rest (the column types' record), and
            # only over the version read, so a writer's concurrent change is not undone.
            from azure.core import MatchConditions  # noqa: PLC0415 - the SDK is an optional extra

            props = client.get_blob_properties()
            metadata = {**(props.metadata or {}), INTERVAL_KEY: f"{seconds:.3f}"}
            client.set_blob_metadata(metadata, etag=props.etag, match_condition=MatchConditions.IfNotModified)

        try:
            self._call(publish)
        except _RequestError as exc:
            if exc.kind == "auth":
                self._can_publish = False
                logger.info("%r: not allowed to set blob metadata; joiners start at the floor", self)
            else:
                logger.debug("%r: could not publish the append interval: %s", self, exc)
            return False
        self._published[seen[0]] = seconds
        return True

    # -- blobs and headers -------------------------------------------------------------------

    def _blob(self, folder: tuple[str, str], header: bytes) -> _Blob:
        """The blob of ``folder`` with ``header`` as its first line, created when needed."""
        key = (folder, header)
        blob = self._blobs.get(key)
        if blob is None:
            self._ensure_container()
            blob = self._blobs[key] = self._claim(folder, header, self._last_index(folder))
        return blob

    def _roll(self, folder: tuple[str, str], header: bytes) -> None:
        blob = self._blobs.pop((folder, header), None)
        if blob is not None:
            logger.info("%r: %s is full; continuing in the next blob of its folder", self, blob.name)
            self._blobs[(folder, header)] = self._claim(folder, header, blob.index + 1)

    def _claim(self, folder: tuple[str, str], header: bytes, index: int) -> _Blob:
        """The first blob of ``folder`` (and file stem) from ``index`` on that starts with ``header``."""
        while True:
            name = f"{folder[0]}/{file_name(index, folder[1])}"
            if self._claim_header(name, header, self._schema.get(folder)):
                return _Blob(name, index)
            logger.warning("%r: %s is full or has another header; continuing in the next blob", self, name)
            index += 1

    def _claim_header(self, name: str, header: bytes, schema: str | None) -> bool:
        """Makes sure blob ``name`` exists, records ``schema`` (or one written before types were
        recorded) and starts with ``header``; False if it cannot."""
        client = self._container.get_blob_client(name)
        metadata = self._schema_metadata(name, schema)
        for attempt in range(1, 9):
            try:
                self._call(lambda: client.create_append_blob(if_none_match="*", metadata=metadata))
            except _RequestError as exc:
                if exc.code not in ("BlobAlreadyExists", "ConditionNotMet") and exc.kind != "unknown":
                    raise
                if schema is not None and self._recorded(client, name) not in (schema, None):
                    return False
            try:
                # The only append at position 0: of all writers creating this blob, one wins.
                self._call(lambda: client.append_block(header, appendpos_condition=0))
                return True
            except _RequestError as exc:
                if exc.kind == "full":
                    return False
                if exc.kind in ("auth", "fatal"):
                    raise
                if exc.kind == "missing":
                    continue  # the create's answer was lost before it was applied
                if exc.kind != "moved":
                    time.sleep(backoff(attempt))
            # Not empty, or the outcome is unknown: the first bytes tell whose header it is.
            try:
                size, _ = self._properties(client)
                if size > 0:
                    return self._read(client, 0, min(size, len(header))) == header
            except _RequestError as exc:
                if exc.kind in ("auth", "fatal"):
                    raise
                time.sleep(backoff(attempt))
        raise StoreError(f"{self!r}: could not write the header of {name}")

    def _schema_metadata(self, name: str, schema: str | None) -> dict[str, str] | None:
        """The metadata of a new blob ``name``; a record too long for it goes to a side blob
        first (before the data blob exists, so no reader finds the one without the other)."""
        if schema is None:
            return None
        if len(schema) <= MAX_SCHEMA_METADATA:
            return {SCHEMA_KEY: schema}
        side = self._container.get_blob_client(f"{SCHEMA_FOLDER}/{name}.schema")
        try:
            self._call(lambda: side.upload_blob(schema.encode("ascii"), overwrite=False))
        except _RequestError as exc:
            if exc.code != "BlobAlreadyExists":
                raise
        return {SCHEMA_KEY: _SIDE}

    def _recorded(self, client: BlobClient, name: str) -> str | None:
        """The record of blob ``name``'s column types; None when it has none."""
        metadata = self._call(client.get_blob_properties).metadata or {}
        value = metadata.get(SCHEMA_KEY)
        if value != _SIDE:
            return None if value is None else str(value)
        side = self._container.get_blob_client(f"{SCHEMA_FOLDER}/{name}.schema")
        return bytes(self._call(lambda: side.download_blob().readall())).decode("ascii")

    def read_schema(self, path: str) -> str | None:
        """The record of the column types of blob ``path``; None for a blob written before
        they were recorded."""
        return self._recorded(self._container.get_blob_client(path), path)

    def _last_index(self, folder: tuple[str, str]) -> int:
        """The highest-numbered blob of ``folder`` so far: new rows go there (or after it)."""
        index = self._indexes.get(folder)
        if index is None:
            path, stem = folder
            names = self._call(lambda: [b.name for b in self._container.list_blobs(name_starts_with=f"{path}/")])
            indexes = [parse_file_index(n[len(path) + 1 :], stem) for n in names]
            index = self._indexes[folder] = max((i for i in indexes if i is not None), default=0)
        return index

    def _ensure_container(self) -> None:
        if self._container_ready:
            return
        try:
            self._call(self._container.create_container)
        except _RequestError as exc:
            if exc.kind == "auth":
                # A container SAS may append but not create: the container must then exist.
                logger.debug("%r: not allowed to create the container; assuming it exists", self)
            elif exc.code != "ContainerAlreadyExists":
                raise
        self._container_ready = True

    def _properties(self, client: BlobClient) -> tuple[int, int]:
        props = self._call(client.get_blob_properties)
        self._published[client.blob_name] = parse_interval(getattr(props, "metadata", None))
        return int(props.size), int(props.append_blob_committed_block_count or 0)

    def _read(self, client: BlobClient, offset: int, length: int) -> bytes:
        data: bytes = self._call(lambda: client.download_blob(offset=offset, length=length).readall())
        return data

    def _call(self, fn: Any, at: _Pending | None = None) -> Any:
        """Runs one request; a failure comes back as a _RequestError without secrets."""
        try:
            return fn()
        except Exception as exc:  # noqa: BLE001 - sorted by _RequestError.of
            error = _RequestError.of(exc, at)
        # Raised outside the handler: the SDK's exception, whose message and response quote the
        # request URL (SAS included), must not ride along as __context__.
        raise error

    # -- the rest of the Store protocol ------------------------------------------------------

    def flush(self) -> None:
        """Nothing to do: an append is durable once the service has answered it."""

    def close(self) -> None:
        self._container.close()

    def list_files(self, prefix: str = "") -> Iterator[StoredFile]:
        """CSV blobs under the folder ``prefix``, in name order."""
        start = f"{prefix.strip('/')}/" if prefix.strip("/") else None
        blobs = self._call(lambda: list(self._container.list_blobs(name_starts_with=start)))
        for b in sorted(blobs, key=lambda b: str(b.name)):
            if str(b.name).endswith(".csv"):
                yield StoredFile(str(b.name), int(b.size))

    def read_bytes(self, path: str) -> bytes:
        """The content of blob ``path``; FileNotFoundError when there is none."""
        try:
            data: bytes = self._call(lambda: self._container.download_blob(path).readall())
        except StoreError as exc:
            if "BlobNotFound" in str(exc) or "ContainerNotFound" in str(exc):
                raise FileNotFoundError(f"{self!r} has no blob {path!r}") from None
            raise
        return data


class _RequestError(StoreError):
    """One failed request, sorted into what to do about it (``kind``):

    ``moved`` (another writer appended first), ``full`` (the blob takes no more), ``missing``
    (no such blob or container), ``unknown``
    (the request may have been applied), ``retry`` (it was not), ``auth`` and ``fatal``.
    """

    def __init__(self, kind: str, message: str, code: str = "", at: _Pending | None = None) -> None:
        super().__init__(message, retryable=kind not in ("auth", "fatal"))
        self.kind = kind
        self.code = code
        self.at = at

    @classmethod
    def of(cls, exc: BaseException, at: _Pending | None) -> _RequestError:
        from azure.core.exceptions import HttpResponseError  # noqa: PLC0415

        raw = getattr(exc, "error_code", None)
        code = str(getattr(raw, "value", raw) or "")
        status = getattr(exc, "status_code", None)
        first_line = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        message = redact(f"{type(exc).__name__}: {first_line}" + (f" [{code}]" if code else ""))
        if code == "AppendPositionConditionNotMet":
            return cls("moved", message, code)
        if code in ("BlockCountExceedsLimit", "MaxBlobSizeConditionNotMet"):
            return cls("full", message, code)
        if code in ("BlobNotFound", "ContainerNotFound"):
            return cls("missing", message, code)
        if status in (401, 403):
            return cls("auth", f"authorization failed ({status}): {message}", code)
        if isinstance(exc, HttpResponseError) and status is not None:
            if status in (408, 500, 502, 503, 504):
                return cls("unknown", message, code, at)  # may come after the request was applied
            if status == 429:
                return cls("retry", message, code)
            return cls("fatal", message, code)
        # Connection refused, resets, timeouts, truncated bodies: the request may have landed.
        return cls("unknown", message, code, at)


def split_rows(data: bytes, limit: int) -> list[bytes]:
    """``data`` cut at row ends into pieces of at most ``limit`` bytes.

    >>> split_rows(b'1,"a\\nb"\\n2,c\\n', 9)
    [b'1,"a\\nb"\\n', b'2,c\\n']

    A newline inside a quoted field is not a row end: RFC 4180 doubles quotes inside fields, so
    a newline ends a row exactly when an even number of quotes precedes it. A single row larger
    than ``limit`` cannot be appended whole and raises.
    """
    if len(data) <= limit:
        return [data]
    pieces = []
    start = 0
    while len(data) - start > limit:
        cut = data.rfind(b"\n", start, start + limit)
        while cut >= 0 and data.count(b'"', start, cut) % 2:
            cut = data.rfind(b"\n", start, cut)
        if cut < 0:
            raise StoreError(
                f"a row of more than {limit} bytes cannot be appended to a blob in one piece", retryable=False
            )
        pieces.append(data[start : cut + 1])
        start = cut + 1
    pieces.append(data[start:])
    return pieces


def parse_interval(metadata: object) -> float | None:
    """The append interval a blob's metadata holds, or None: the blob is written by anyone
    with access, so anything but a plain positive finite number of seconds is ignored.

    >>> parse_interval({"modeltap_append_interval": "90.000"}), parse_interval({"modeltap_append_interval": "nan"})
    (90.0, None)
    """
    if not isinstance(metadata, dict):
        return None
    raw = metadata.get(INTERVAL_KEY)
    if not isinstance(raw, str) or len(raw) > 32:
        return None
    try:
        value = float(raw)
    except ValueError:
        return None
    return value if math.isfinite(value) and 0 < value < 10 * 86_400 else None


def backoff(attempt: int, first: float = 0.1, cap: float = 10.0) -> float:
    """Seconds to wait before try ``attempt + 1``: exponential with full jitter, so replicas
    that failed together do not retry together."""
    return random.uniform(first / 2, min(cap, first * 2 ** min(attempt, 30)))


def _default_credential() -> Any:
    try:
        from azure.identity import DefaultAzureCredential  # noqa: PLC0415
    except ImportError as exc:  # pragma: no cover - depends on the install
        raise ImportError("an account URL without SAS needs azure-identity: pip install 'modeltap[azure]'") from exc
    # What it may read from the environment: its errors must not quote any of it.
    for name in _CREDENTIAL_ENVIRONMENT:
        register(os.environ.get(name, ""))
    guard_loggers()
    return DefaultAzureCredential()


#: Variables azure-identity's EnvironmentCredential and the storage tools read secrets from.
_CREDENTIAL_ENVIRONMENT = (
    "AZURE_CLIENT_SECRET",
    "AZURE_CLIENT_CERTIFICATE_PASSWORD",
    "AZURE_PASSWORD",
    "AZURE_STORAGE_KEY",
    "AZURE_STORAGE_SAS_TOKEN",
)


_SAS = re.compile(r"(?i)(^|&)sig=")
_CONTAINER = re.compile(r"[a-z0-9](?:[a-z0-9]|-(?=[a-z0-9])){2,62}|\$root")


def _sas_signature(query: str) -> str:
    return next((v for k, v in parse_qsl(query, keep_blank_values=True) if k.lower() == "sig"), "")


def _parse_url(url: object, container: str) -> tuple[str, str, str, str, bool]:
    """An account or container URL as (endpoint, account, container, container URL, has a SAS);
    its query and password are registered as secrets, and errors never quote it."""
    if not isinstance(url, str):
        raise TypeError(f"url must be a str, got {type(url).__name__}")
    parts = urlsplit(url.strip())
    if parts.scheme.lower() not in ("http", "https") or not parts.hostname:
        raise ValueError("url must be the http(s) URL of a storage account or of a container")
    register(parts.query)
    register(_sas_signature(parts.query))
    netloc = _netloc(parts.netloc)
    segments = [p for p in parts.path.split("/") if p]
    # Emulators and IP endpoints carry the account as the first path segment.
    account_segments = 1 if path_style(parts.hostname) else 0
    if len(segments) > account_segments + 1:
        raise ValueError("url must name an account or a container, not a blob")
    if len(segments) == account_segments + 1:
        container = segments.pop()
    _check_container(container)
    endpoint = urlunsplit((parts.scheme.lower(), netloc, "/".join(["", *segments]), "", "")).rstrip("/")
    container_url = urlunsplit((parts.scheme, netloc, "/".join(["", *segments, container]), parts.query, ""))
    return endpoint, account_of(endpoint), container, container_url, _SAS.search(parts.query) is not None


def _netloc(netloc: str) -> str:
    """``host[:port]`` of a URL; refused (never quoted) with a user or password, or a port that
    is not a number (urllib's own error would quote it: a key with a ``/`` splits there)."""
    if "@" in netloc:
        raise ValueError("url must not carry a user name or password (user:password@host)")
    _, colon, port = netloc.rpartition(":") if not netloc.endswith("]") else (netloc, "", "")
    if colon and not (port.isascii() and port.isdigit()):
        raise ValueError("url has a port that is not a number")
    return netloc


def _check_container(container: object) -> None:
    if not isinstance(container, str) or not _CONTAINER.fullmatch(container):
        raise ValueError(
            "container must be 3 to 63 lowercase letters, digits and single hyphens, starting and ending "
            "with a letter or digit"
        )


def _register_credential_secrets(credential: Any) -> None:
    """Marks the secrets of a credential object for redaction (a token credential holds none
    of its own: its tokens only travel in headers, which are never logged unredacted)."""
    if isinstance(credential, str):
        register(credential)
        register(_sas_signature(credential.lstrip("?")))
    elif isinstance(credential, dict):
        register(str(credential.get("account_key", "")))
    for attr in ("named_key", "signature"):  # AzureNamedKeyCredential, AzureSasCredential
        value = getattr(credential, attr, None)
        if isinstance(value, tuple) and len(value) == 2:
            register(str(value[1]))
        elif isinstance(value, str):
            register(value)
            register(_sas_signature(value.lstrip("?")))


def _sdk_client(make: Callable[[], _C]) -> _C:
    """The SDK's client that ``make`` builds; its ValueErrors (``Invalid URL: <the URL>``) come
    back redacted, without the original attached."""
    try:
        return make()
    except ValueError as exc:
        message = redact(str(exc))
    raise ValueError(f"Azure Storage refused the store's settings: {message}")
