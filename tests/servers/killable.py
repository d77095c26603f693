"""A process for the SIGKILL tests: appends to a LocalStore, or drains a spool, until killed.

    python tests/servers/killable.py append <root> <writer> <chunks> [--tear-at K]
    python tests/servers/killable.py drain <spool> <store> [--kill-after-append N]

``append`` writes chunks of rows ``writer,chunk,row,"<text with a newline and quotes>"`` and
prints ``ok <chunk>`` once each append returned; ``--tear-at K`` writes half of chunk K and
then SIGKILLs itself, as the OOM killer would mid-write. ``drain`` delivers every chunk of the
spool to ``<store>`` (``local:<root>``, or ``azure:<container>`` with the connection string in
``$TEST_AZURE_CONNECTION_STRING``) and prints ``DONE``; ``--kill-after-append N`` SIGKILLs
itself right after the N-th append landed, before the spool learns of it.
"""

from __future__ import annotations

import os
import signal
import sys
from typing import Any

from modeltap.delivery import Deliveries
from modeltap.stores.base import Store
from modeltap.stores.local import LocalStore

FOLDER = "sub/rg/ws/svc/m/1/inputs/2026/11/24"
HEADER = b"writer,chunk,row,text\n"
ROWS = 40


def text(writer: int, chunk: int, row: int) -> str:
    return f'line one of {writer}/{chunk}/{row}\nline "two", {"x" * (row * 37 % 500)}'


def chunk_bytes(writer: int, chunk: int) -> bytes:
    rows = []
    for row in range(ROWS):
        quoted = text(writer, chunk, row).replace('"', '""')
        rows.append(f'{writer},{chunk},{row},"{quoted}"\n')
    return "".join(rows).encode()


def open_store(spec: str) -> Store:
    kind, _, where = spec.partition(":")
    if kind == "local":
        return LocalStore(where)
    from modeltap.stores.azure import AzureBlobStore  # noqa: PLC0415

    return AzureBlobStore(
        connection_string=os.environ["TEST_AZURE_CONNECTION_STRING"], container=where, timeout=5, retry_for=5
    )


def append(root: str, writer: int, chunks: int, tear_at: int) -> None:
    store = LocalStore(root)
    real_write = os.write

    def torn(fd: int, payload: Any) -> int:
        real_write(fd, bytes(payload[: len(payload) // 2]))
        os.kill(os.getpid(), signal.SIGKILL)
        return 0  # never reached

    for k in range(chunks):
        data = chunk_bytes(writer, k)
        if k == tear_at:
            os.write = torn  # type: ignore[assignment]
        store.append(FOLDER, data, HEADER)
        print(f"ok {k}", flush=True)


def drain(spool: str, spec: str, kill_after: int) -> None:
    store = open_store(spec)
    if kill_after:
        real_append = store.append
        landed = 0

        def append_then_die(folder: str, data: bytes, header: bytes, **kwargs: Any) -> str:
            nonlocal landed
            out = real_append(folder, data, header, **kwargs)
            landed += 1
            if landed == kill_after:
                os.kill(os.getpid(), signal.SIGKILL)
            return out

        store.append = append_then_die  # type: ignore[method-assign]
    deliveries = Deliveries.open(spool, 1 << 30)
    deliveries.add_store(store)
    print("READY", flush=True)
    while deliveries.pending():
        deliveries.drain(now_or_never=True)
    store.flush()
    print("DONE", flush=True)


def main() -> None:
    args = sys.argv[1:]
    option = None
    if len(args) >= 2 and args[-2].startswith("--"):
        option, args = int(args[-1]), args[:-2]
    if args[0] == "append":
        append(args[1], int(args[2]), int(args[3]), -1 if option is None else option)
    else:
        drain(args[1], args[2], option or 0)


if __name__ == "__main__":
    main()
