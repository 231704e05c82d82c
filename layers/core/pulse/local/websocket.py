"""The local stand-in for an API Gateway WebSocket API, served by ``pulse serve`` (any path, e.g. ``/ws``).

It reads the template's ``AWS::ApiGatewayV2::Api`` with ``ProtocolType: WEBSOCKET``: its route
selection expression (``$request.body.action``), its routes and the function each route's
integration invokes. Like API Gateway it then calls that function's real handler with WebSocket
proxy events: ``$connect`` (``eventType`` ``CONNECT``, query string parameters and headers; a
non-2xx answer refuses the handshake with that status), one ``MESSAGE`` event per frame routed by
the ``action`` field (``$default`` when none matches) and ``$disconnect``.

Messages the functions post back (``pulse.etl.live.send``/``publish``) reach the browser through
``LocalHub``, the in-process replacement of the API Gateway Management API: ``post`` may be called
from any handler thread and hands the frame to the connection's event loop.
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import json
import os
import re
import threading
import time
import uuid
from collections.abc import Awaitable, Callable, Mapping
from concurrent.futures import Executor
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from pulse.local.gateway import Gateway
from pulse.observability import logger

Scope = dict[str, Any]
Receive = Callable[[], Awaitable[dict[str, Any]]]
Send = Callable[[dict[str, Any]], Awaitable[None]]

API_ID = "local"
STAGE = "local"


@dataclass(frozen=True)
class WebSocketApi:
    selection: str  # e.g. $request.body.action
    routes: dict[str, str]  # route key → function logical id


def _integration_target(integration: Mapping[str, Any]) -> str | None:
    uri = (integration.get("Properties") or {}).get("IntegrationUri")
    text = uri.get("Fn::Sub") if isinstance(uri, dict) else uri
    if isinstance(text, list):
        text = text[0]
    found = re.search(r"\$\{([A-Za-z0-9]+)\.Arn\}", str(text))
    return found.group(1) if found else None


def _ref(value: Any) -> str | None:
    """The logical id in ``!Ref X`` or ``!Sub integrations/${X}``."""
    if isinstance(value, dict):
        if "Ref" in value:
            return str(value["Ref"])
        if "Fn::Sub" in value:
            found = re.search(r"\$\{([A-Za-z0-9]+)\}", str(value["Fn::Sub"]))
            return found.group(1) if found else None
        if "Fn::Join" in value:
            parts = value["Fn::Join"][1]
            refs = [part["Ref"] for part in parts if isinstance(part, dict) and "Ref" in part]
            return str(refs[-1]) if refs else None
    return None


def websocket_api(document: Mapping[str, Any]) -> WebSocketApi | None:
    """The first WebSocket API of a template, or None."""
    resources: Mapping[str, Any] = document.get("Resources") or {}
    for api_id, api in resources.items():
        properties = api.get("Properties") or {}
        if api.get("Type") != "AWS::ApiGatewayV2::Api" or properties.get("ProtocolType") != "WEBSOCKET":
            continue
        routes: dict[str, str] = {}
        for resource in resources.values():
            route = resource.get("Properties") or {}
            if resource.get("Type") != "AWS::ApiGatewayV2::Route" or _ref(route.get("ApiId")) != api_id:
                continue
            integration = resources.get(_ref(route.get("Target")) or "", {})
            function = _integration_target(integration)
            if function:
                routes[str(route["RouteKey"])] = function
        return WebSocketApi(str(properties.get("RouteSelectionExpression", "$request.body.action")), routes)
    return None


def select_route(api: WebSocketApi, body: str) -> str | None:
    """The route key of a message by the selection expression; ``$default`` or None when none."""
    key = None
    if api.selection.startswith("$request.body."):
        try:
            document: Any = json.loads(body)
        except ValueError:
            document = None
        for part in api.selection.removeprefix("$request.body.").split("."):
            document = document.get(part) if isinstance(document, dict) else None
        key = document if isinstance(document, str) else None
    if key is not None and key in api.routes and not key.startswith("$"):
        return key
    return "$default" if "$default" in api.routes else None


def new_connection_id() -> str:
    """An id shaped like API Gateway's (16 base64 characters)."""
    return base64.b64encode(os.urandom(11)).decode()


def websocket_event(
    *,
    route_key: str,
    event_type: str,
    connection_id: str,
    connected_at: int,
    source_ip: str = "127.0.0.1",
    body: str | None = None,
    query: list[tuple[str, str]] | None = None,
    headers: list[tuple[str, str]] | None = None,
) -> dict[str, Any]:
    """A WebSocket API proxy event as API Gateway sends it to a Lambda integration."""
    now = dt.datetime.now(dt.UTC)
    request_id = base64.b32encode(uuid.uuid4().bytes).decode()[:16]
    event: dict[str, Any] = {
        "requestContext": {
            "routeKey": route_key,
            "eventType": event_type,
            "messageDirection": "IN",
            "extendedRequestId": request_id,
            "requestTime": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "requestTimeEpoch": int(now.timestamp() * 1000),
            "stage": STAGE,
            "connectedAt": connected_at,
            "identity": {"sourceIp": source_ip},
            "requestId": request_id,
            "domainName": "localhost",
            "connectionId": connection_id,
            "apiId": API_ID,
        },
        "isBase64Encoded": False,
    }
    if event_type == "MESSAGE":
        event["requestContext"]["messageId"] = request_id
        event["body"] = body or ""
    if event_type == "DISCONNECT":
        event["requestContext"]["disconnectStatusCode"] = 1005
        event["requestContext"]["disconnectReason"] = "Client-side close frame status not set"
    if event_type == "CONNECT":
        joined: dict[str, str] = {}
        for name, value in headers or []:
            joined[name] = f"{joined[name]},{value}" if name in joined else value
        event["headers"] = joined
        event["multiValueHeaders"] = {name: value.split(",") for name, value in joined.items()}
        if query:
            event["queryStringParameters"] = dict(query)
            multi: dict[str, list[str]] = {}
            for name, value in query:
                multi.setdefault(name, []).append(value)
            event["multiValueQueryStringParameters"] = multi
    return event


class LocalHub:
    """Open local connections by id; ``post`` is the Management API's ``post_to_connection``."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._connections: dict[str, tuple[asyncio.AbstractEventLoop, asyncio.Queue[str]]] = {}

    def add(self, connection_id: str, loop: asyncio.AbstractEventLoop, queue: asyncio.Queue[str]) -> None:
        with self._lock:
            self._connections[connection_id] = (loop, queue)

    def remove(self, connection_id: str) -> None:
        with self._lock:
            self._connections.pop(connection_id, None)

    def post(self, connection_id: str, data: bytes) -> bool:
        """Queue a frame for a connection; False when it is gone (API Gateway's 410)."""
        with self._lock:
            entry = self._connections.get(connection_id)
        if entry is None:
            return False
        loop, queue = entry
        try:
            loop.call_soon_threadsafe(queue.put_nowait, data.decode("utf-8"))
        except RuntimeError:  # the server's loop is closed
            return False
        return True


_hub: LocalHub | None = None


def hub() -> LocalHub:
    """This process's hub, installed as the poster of ``pulse.etl.live`` on first use."""
    global _hub
    if _hub is None:
        from pulse.etl import live

        _hub = LocalHub()
        live.use_local_poster(_hub)
    return _hub


async def _refuse(scope: Scope, send: Send, status: int, body: str) -> None:
    if "websocket.http.response" in (scope.get("extensions") or {}):
        await send(
            {
                "type": "websocket.http.response.start",
                "status": status,
                "headers": [(b"content-type", b"application/json")],
            }
        )
        await send({"type": "websocket.http.response.body", "body": body.encode()})
    else:
        await send({"type": "websocket.close", "code": 1008})


def _gateway_error(message: str, connection_id: str, event: Mapping[str, Any]) -> str:
    request_id = event["requestContext"]["requestId"]
    return json.dumps({"message": message, "connectionId": connection_id, "requestId": request_id})


async def serve_websocket(
    gateway: Gateway, scope: Scope, receive: Receive, send: Send, executor: Executor
) -> None:
    """Run one WebSocket connection through the template's WebSocket API."""
    loop = asyncio.get_running_loop()
    api = websocket_api(gateway.template.document)
    first = await receive()
    if first["type"] != "websocket.connect":
        return
    if api is None or "$connect" not in api.routes:
        await _refuse(scope, send, 404, '{"message":"Not Found"}')
        return

    connection_id = new_connection_id()
    connected_at = int(time.time() * 1000)
    client = (scope.get("client") or ("127.0.0.1", 0))[0]

    async def invoke(route_key: str, event_type: str, **extra: Any) -> tuple[dict[str, Any], Any]:
        event = websocket_event(
            route_key=route_key,
            event_type=event_type,
            connection_id=connection_id,
            connected_at=connected_at,
            source_ip=client,
            **extra,
        )
        function = api.routes[route_key]
        try:
            result = await loop.run_in_executor(executor, gateway.invoke, function, event)
        except Exception:
            logger.exception("websocket handler failed", extra={"route_key": route_key})
            result = {"statusCode": 500}
        return event, result

    headers = [(k.decode("latin-1").lower(), v.decode("latin-1")) for k, v in scope.get("headers", [])]
    query = parse_qsl(scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True)
    local_hub = hub()
    queue: asyncio.Queue[str] = asyncio.Queue()
    # Registered before $connect runs, as API Gateway knows the connection id by then.
    local_hub.add(connection_id, loop, queue)
    _, result = await invoke("$connect", "CONNECT", query=query, headers=headers)
    status = int((result or {}).get("statusCode", 200)) if isinstance(result, dict) else 200
    if not 200 <= status < 300:
        local_hub.remove(connection_id)
        await _refuse(scope, send, status, str((result or {}).get("body") or ""))
        return
    await send({"type": "websocket.accept"})

    async def deliver() -> None:
        try:
            while True:
                text = await queue.get()
                await send({"type": "websocket.send", "text": text})
        except (OSError, RuntimeError):  # the client went away; $disconnect follows
            return

    sender = asyncio.create_task(deliver())
    try:
        while True:
            message = await receive()
            if message["type"] == "websocket.disconnect":
                break
            body = message.get("text")
            if body is None:
                body = (message.get("bytes") or b"").decode("utf-8", "replace")
            route_key = select_route(api, body)
            if route_key is None:
                event = websocket_event(
                    route_key="", event_type="MESSAGE", connection_id=connection_id, connected_at=connected_at
                )
                await queue.put(_gateway_error("Forbidden", connection_id, event))
                continue
            event, result = await invoke(route_key, "MESSAGE", body=body)
            if isinstance(result, dict) and int(result.get("statusCode", 200)) >= 500:
                await queue.put(_gateway_error("Internal server error", connection_id, event))
    finally:
        local_hub.remove(connection_id)
        sender.cancel()
        if "$disconnect" in api.routes:
            await invoke("$disconnect", "DISCONNECT")
