"""A fault-injecting HTTP proxy between the Azure SDK and Azurite.

Each request it forwards may instead meet a fault, chosen at random with the given rates:

* ``error``: a 503 (or 500) answer; the request never reaches Azurite;
* ``error_after``: the request is applied by Azurite, then answered with a 500;
* ``withhold``: applied, then no answer until after the client's timeout, then the connection closes;
* ``reset``: the connection is reset before the request is forwarded;
* ``reset_after``: applied, then the connection is reset.

``fail_next`` scripts the fault (or an answer such as ``409 BlockCountExceedsLimit``) of the
next matching request instead, for tests that must meet one exact case.

``counts`` says how many of each happened, so a test can check that faults were really met.
"""

from __future__ import annotations

import contextlib
import http.client
import random
import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

MODES = ("error", "error_after", "withhold", "reset", "reset_after")

_ERROR_BODY = '<?xml version="1.0" encoding="utf-8"?><Error><Code>{}</Code><Message>Injected fault.</Message></Error>'
_HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "te", "trailer"}


class FaultProxy:
    """Forwards HTTP to ``127.0.0.1:<upstream_port>``; ``rate`` of the matching requests fail."""

    def __init__(
        self,
        upstream_port: int,
        *,
        rate: float = 0.0,
        modes: tuple[str, ...] = MODES,
        only: str | None = None,
        withhold_for: float = 1.0,
        seed: int = 0,
    ) -> None:
        self.upstream_port = upstream_port
        self.rate = rate
        self.modes = modes
        self.only = only
        self.withhold_for = withhold_for
        self.random = random.Random(seed)
        self.counts: Counter[str] = Counter()
        self.script: list[tuple[str, str, int, str]] = []
        #: Called once after the next request that meets a fault was applied upstream.
        self.after_applied: Callable[[], object] | None = None
        self.lock = threading.Lock()
        self.server = _ProxyServer(("127.0.0.1", 0), _Handler)
        self.server.proxy = self
        self.port = self.server.server_address[1]
        self.thread = threading.Thread(target=self.server.serve_forever, name="fault-proxy", daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/devstoreaccount1"

    def connection_string(self, key: str) -> str:
        return f"DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey={key};BlobEndpoint={self.url};"

    def fail_next(self, mode: str, match: str = "comp=appendblock", *, status: int = 500, code: str = "") -> None:
        """Makes the next request whose path contains ``match`` meet ``mode``; ``mode="answer"``
        answers it with ``status`` and the error ``code`` instead of forwarding it."""
        with self.lock:
            self.script.append((mode, match, status, code))

    def choose(self, method: str, path: str) -> tuple[str, int, str] | None:
        with self.lock:
            self.counts["requests"] += 1
            for i, (mode, match, status, code) in enumerate(self.script):
                if match in path:
                    del self.script[i]
                    self.counts[mode] += 1
                    return mode, status, code
            return self._random_fault(path)

    def _random_fault(self, path: str) -> tuple[str, int, str] | None:
        if self.only is not None and self.only not in path:
            return None
        if self.random.random() >= self.rate:
            return None
        mode = self.random.choice(self.modes)
        self.counts[mode] += 1
        return mode, self.random.choice((500, 503)), "ServerBusy"

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    proxy: FaultProxy


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server: _ProxyServer

    def log_message(self, format: str, *args: Any) -> None:
        return None

    def _reset(self) -> None:
        self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        self.connection.close()
        self.close_connection = True

    def _forward(self, body: bytes) -> tuple[int, list[tuple[str, str]], bytes]:
        upstream = http.client.HTTPConnection("127.0.0.1", self.server.proxy.upstream_port, timeout=30)
        try:
            headers = {k: v for k, v in self.headers.items() if k.lower() not in _HOP_BY_HOP}
            upstream.request(self.command, self.path, body=body, headers=headers)
            response = upstream.getresponse()
            return response.status, response.getheaders(), response.read()
        finally:
            upstream.close()

    def _answer(self, status: int, headers: list[tuple[str, str]], payload: bytes) -> None:
        self.send_response(status)
        # A HEAD answer's Content-Length is the resource's size, not this (empty) body's.
        keep_length = self.command == "HEAD"
        for k, v in headers:
            if k.lower() not in _HOP_BY_HOP and (keep_length or k.lower() != "content-length"):
                self.send_header(k, v)
        if not keep_length:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def _fail(self, status: int, code: str) -> None:
        body = _ERROR_BODY.format(code).encode()
        self._answer(status, [("Content-Type", "application/xml"), ("x-ms-error-code", code)], body)

    def _handle(self) -> None:
        proxy = self.server.proxy
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        fault = proxy.choose(self.command, self.path)
        mode, status, code = fault if fault is not None else ("", 0, "")
        if mode == "reset":
            self._reset()
            return
        if mode in ("error", "answer"):
            self._fail(status, code or "ServerBusy")
            return
        status, headers, payload = self._forward(body)
        hook, proxy.after_applied = (proxy.after_applied, None) if mode else (None, proxy.after_applied)
        if hook is not None:
            hook()
        if mode == "error_after":
            self._fail(500, "InternalError")
        elif mode == "withhold":
            time.sleep(proxy.withhold_for)
            self._reset()
        elif mode == "reset_after":
            self._reset()
        else:
            self._answer(status, headers, payload)

    do_GET = do_PUT = do_HEAD = do_DELETE = do_POST = _handle

    def finish(self) -> None:
        with contextlib.suppress(OSError):
            super().finish()
