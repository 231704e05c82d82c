"""``pulse serve``: a local HTTP server that hands every request to ``Gateway`` (no Docker).

uvicorn speaks HTTP; a tiny ASGI app turns each request into ``Gateway.request`` on a worker
thread (Mangum runs its own event loop, so handlers must not run on the server's loop).
"""

from __future__ import annotations

import asyncio
import os
import threading
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pulse.local.gateway import Gateway, Response

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

WORKERS = 4
_thread_state = threading.local()


def _in_worker(call: Callable[[], Response]) -> Response:
    # Mangum drives each request with the thread's event loop; give every worker thread one.
    if getattr(_thread_state, "loop", None) is None:
        _thread_state.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(_thread_state.loop)
    return call()


class LocalApi:
    """ASGI application routing HTTP requests through a ``Gateway``."""

    def __init__(self, gateway: Gateway, workers: int = WORKERS) -> None:
        self.gateway = gateway
        self.executor = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pulse-handler")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            message = await receive()
            while message["type"] != "lifespan.shutdown":
                await send({"type": "lifespan.startup.complete"})
                message = await receive()
            await send({"type": "lifespan.shutdown.complete"})
            return
        if scope["type"] == "websocket":
            from pulse.local.websocket import serve_websocket

            await serve_websocket(self.gateway, scope, receive, send, self.executor)
            return
        if scope["type"] != "http":
            return
        body = b""
        more = True
        while more:
            message = await receive()
            body += message.get("body", b"")
            more = message.get("more_body", False)
        headers = [
            (name.decode("latin-1"), value.decode("latin-1"))
            for name, value in scope["headers"]
            if name.lower() not in (b"x-forwarded-proto", b"x-forwarded-port")
        ]
        server = scope.get("server") or ("127.0.0.1", 0)
        # API Gateway sets these; here they describe this server, so redirects stay on it.
        headers += [("x-forwarded-proto", scope.get("scheme", "http")), ("x-forwarded-port", str(server[1]))]
        client = scope.get("client") or ("127.0.0.1", 0)

        def call() -> Response:
            return self.gateway.request(
                scope["method"],
                scope["path"],
                raw_query=scope.get("query_string", b"").decode("latin-1"),
                headers=headers,
                body=body if body else None,
                source_ip=client[0],
            )

        loop = asyncio.get_running_loop()
        response = await loop.run_in_executor(self.executor, _in_worker, call)
        raw_headers = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in response.headers.items()]
        raw_headers += [(b"set-cookie", cookie.encode("latin-1")) for cookie in response.cookies]
        await send({"type": "http.response.start", "status": response.status, "headers": raw_headers})
        await send({"type": "http.response.body", "body": response.body})


def serve(
    template: str | Path = "template.yaml",
    host: str = "127.0.0.1",
    port: int = 3000,
    parameters: Mapping[str, str] | None = None,
) -> None:
    """Serve the template's HTTP API on ``host:port`` until interrupted."""
    import uvicorn

    os.environ.setdefault("DB_POOL_SIZE", str(WORKERS))
    gateway = Gateway(template, parameters=parameters)
    uvicorn.run(LocalApi(gateway), host=host, port=port, log_level="info")
