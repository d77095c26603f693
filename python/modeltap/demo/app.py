"""The scoring service: a plain ASGI app (no framework) around ``score.init()`` / ``score.run()``."""

from __future__ import annotations

import json
import logging
from collections.abc import Awaitable, Callable
from typing import Any

import modeltap
from modeltap.demo import score

logger = logging.getLogger("modeltap.demo")

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]


async def app(scope: Scope, receive: Receive, send: Send) -> None:
    """POST /score with ``{"data": [[...10 features...], ...]}``; GET /health; GET /stats."""
    if scope["type"] == "lifespan":
        while True:
            message = await receive()
            if message["type"] == "lifespan.startup":
                score.init()
                await send({"type": "lifespan.startup.complete"})
            elif message["type"] == "lifespan.shutdown":
                modeltap.flush()
                await send({"type": "lifespan.shutdown.complete"})
                return
    if scope["type"] != "http":
        return
    if scope["path"] == "/health":
        await _answer(send, 200, b'{"status": "ok"}')
        return
    if scope["path"] == "/stats":
        stats = {**modeltap.stats(), "enabled": modeltap.switch.enabled()}
        await _answer(send, 200, json.dumps(stats).encode())
        return
    if scope["path"] != "/score" or scope["method"] != "POST":
        await _answer(send, 404, b'{"error": "POST /score"}')
        return
    body = b""
    while True:
        message = await receive()
        body += message.get("body", b"")
        if not message.get("more_body"):
            break
    try:
        answer = score.run(body.decode())
    except (ValueError, TypeError, KeyError) as exc:
        await _answer(send, 400, f'{{"error": "{type(exc).__name__}"}}'.encode())
        return
    await _answer(send, 200, answer.encode())


async def _answer(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})
