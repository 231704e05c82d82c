"""An in-process stand-in for API Gateway's HTTP API: route, authorize, build the event, invoke.

``pulse serve`` and the tests both go through ``Gateway.request``, so what the tests exercise
is exactly what the local server does. What it reproduces of an HTTP API (payload format 2.0):

- Routing: exact paths before paths with variables, greedy ``{proxy+}`` after those, ``$default``
  last; a named method before ``ANY``. A request no route matches, by path or by method, gets
  404 ``{"message":"Not Found"}`` (HTTP APIs have no 405). HEAD reaches only HEAD or ANY routes,
  and its response has no body.
- CORS (the HttpApi's ``CorsConfiguration``): a preflight (OPTIONS with ``Origin`` and
  ``Access-Control-Request-Method``) is answered by the gateway itself with 204, without route
  or authorizer; on other responses the gateway's CORS headers replace the function's.
- Lambda REQUEST authorizers: every identity source must be present and non-empty, else 401
  ``{"message":"Unauthorized"}`` without calling the authorizer; a simple response's
  ``isAuthorized: false`` gives 403 ``{"message":"Forbidden"}`` (IAM policy responses are not emulated);
  an authorizer that fails or answers malformed gives 500 ``{"message":"Internal Server Error"}``.
  Results are cached per ``Gateway`` for the authorizer's TTL, keyed by its identity source
  values; the context reaches the function at ``requestContext.authorizer.lambda``.
- A function that raises gives 500 ``{"message":"Internal Server Error"}``; a result without
  ``statusCode`` is sent as a 200 JSON body.
"""

from __future__ import annotations

import json
import logging
import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulse.local.events import LambdaContext, authorizer_event, http_event, response_body
from pulse.local.template import (
    DEFAULT_ROUTE,
    Authorizer,
    Cors,
    Function,
    Route,
    Template,
    load_handler,
    load_template,
)

log = logging.getLogger("pulse.local.gateway")
JSON = {"content-type": "application/json"}


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: bytes
    cookies: list[str] = field(default_factory=list)

    def json(self) -> Any:
        return json.loads(self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def _message(status: int, message: str) -> Response:
    return Response(status, dict(JSON), json.dumps({"message": message}, separators=(",", ":")).encode())


def not_found() -> Response:
    return _message(404, "Not Found")


def _route_pattern(path: str) -> re.Pattern[str]:
    """A regex for an HttpApi path: ``{name}`` is one segment, ``{name+}`` the greedy rest."""
    if path == DEFAULT_ROUTE:
        return re.compile(r"^.*$", re.DOTALL)
    pattern = ""
    for part in re.split(r"(\{[^}]+\})", path):
        if part.startswith("{") and part.endswith("}"):
            name = part[1:-1]
            if name.endswith("+"):
                pattern += f"(?P<{name[:-1]}>.+)"
            else:
                pattern += f"(?P<{name}>[^/]+)"
        else:
            pattern += re.escape(part)
    return re.compile(f"^{pattern}$")


def _specificity(route: Route) -> tuple[Any, ...]:
    """Sort key: most specific first, as API Gateway chooses among routes that match."""
    if route.path == DEFAULT_ROUTE:
        return (2,)
    segments = route.path.strip("/").split("/")
    any_method = 1 if route.method == "ANY" else 0
    if "+}" in route.path:
        # Among greedy routes the longer literal prefix is the more specific.
        return (1, -len(segments), any_method)
    variables = tuple(1 if segment.startswith("{") else 0 for segment in segments)
    return (0, sum(variables), variables, any_method)


@dataclass
class _Decision:
    allowed: bool
    context: dict[str, Any]
    expires: float


class Gateway:
    """Routes requests to the functions of a SAM template, as the HTTP API would."""

    def __init__(
        self,
        template: str | Path | Template = "template.yaml",
        *,
        parameters: Mapping[str, str] | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.template = template if isinstance(template, Template) else load_template(template, parameters)
        self.clock = clock
        self._routes = sorted(
            ((route, _route_pattern(route.path)) for route in self.template.routes),
            key=lambda item: _specificity(item[0]),
        )
        self._decisions: dict[tuple[str, tuple[str, ...]], _Decision] = {}
        self._lock = threading.Lock()
        for route in self.template.routes:
            if route.authorizer is not None:
                self._authorizer(route.authorizer)  # fail at start, not at the first request

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        for route, pattern in self._routes:
            if route.method not in ("ANY", method.upper()):
                continue
            found = pattern.match(path)
            if found:
                return route, found.groupdict()
        return None

    def function(self, logical_id: str) -> Function:
        return self.template.functions[logical_id]

    def invoke(self, logical_id: str, event: Mapping[str, Any]) -> Any:
        """Call a function's real handler in-process with a Lambda context."""
        function = self.function(logical_id)
        handler = load_handler(function)
        context = LambdaContext(
            function_name=logical_id,
            memory_limit_in_mb=function.memory_size,
            timeout_seconds=function.timeout,
        )
        return handler(dict(event), context)

    def _authorizer(self, name: str) -> Authorizer:
        authorizer = self.template.authorizers.get(name)
        if authorizer is None:
            raise ValueError(f"routes use authorizer {name!r}, which the HttpApi's Auth.Authorizers lacks")
        if authorizer.jwt:
            raise ValueError(f"authorizer {name!r} is a JWT authorizer; only Lambda authorizers are emulated")
        if authorizer.function not in self.template.functions:
            raise ValueError(f"authorizer {name!r}: FunctionArn names no function of the template")
        if authorizer.payload_version != "2.0" or not authorizer.simple_responses:
            raise ValueError(
                f"authorizer {name!r}: only payload format 2.0 with simple responses is emulated"
            )
        return authorizer

    def authorize(self, route: Route, event: dict[str, Any]) -> Response | dict[str, Any] | None:
        """Run the route's Lambda authorizer: its context, or the 401/403/500 response to return."""
        if route.authorizer is None:
            return None
        authorizer = self._authorizer(route.authorizer)
        identity = [_identity_value(source, event) for source in authorizer.identity_sources]
        if any(not value for value in identity):
            return _message(401, "Unauthorized")
        values = [str(value) for value in identity]
        cache_key = (authorizer.name, tuple(values))
        now = self.clock()
        with self._lock:
            decision = self._decisions.get(cache_key)
        if decision is None or decision.expires <= now:
            try:
                result = self.invoke(str(authorizer.function), authorizer_event(event, values))
                allowed, context = _read_authorizer_result(result)
            except Exception:
                log.exception("authorizer %s failed", authorizer.name)
                return _message(500, "Internal Server Error")
            decision = _Decision(allowed, context, now + authorizer.ttl_seconds)
            if authorizer.ttl_seconds > 0:
                with self._lock:
                    self._decisions[cache_key] = decision
        if not decision.allowed:
            return _message(403, "Forbidden")
        return decision.context

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        raw_query: str | None = None,
        headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        body: bytes | str | None = None,
        json_body: Any = None,
        source_ip: str = "127.0.0.1",
    ) -> Response:
        """Send one HTTP request through CORS, routing, the authorizer and the function's handler."""
        method = method.upper()
        query_items = list(query.items()) if isinstance(query, Mapping) else list(query)
        header_items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        if json_body is not None:
            body = json.dumps(json_body)
            header_items.append(("content-type", "application/json"))
        raw = body.encode("utf-8") if isinstance(body, str) else body
        lower = {name.lower(): value for name, value in header_items}
        cors = self.template.cors
        origin = lower.get("origin")
        if cors is not None and method == "OPTIONS" and origin and "access-control-request-method" in lower:
            return _preflight(cors, origin, lower)
        response = self._route(method, path, query_items, raw_query, header_items, raw, source_ip)
        if cors is not None:
            _apply_cors(cors, origin, response)
        if method == "HEAD":
            response.body = b""
        return response

    def _route(
        self,
        method: str,
        path: str,
        query: list[tuple[str, str]],
        raw_query: str | None,
        headers: list[tuple[str, str]],
        body: bytes | None,
        source_ip: str,
    ) -> Response:
        matched = self.match(method, path)
        if matched is None:
            return not_found()
        route, parameters = matched
        event = http_event(
            method,
            path,
            route_key=route.route_key,
            path_parameters=parameters,
            query=query,
            raw_query=raw_query,
            headers=headers,
            body=body,
            source_ip=source_ip,
        )
        if route.authorizer is not None:
            authorized = self.authorize(route, event)
            if isinstance(authorized, Response):
                return authorized
            event["requestContext"]["authorizer"] = {"lambda": authorized}
        try:
            result = self.invoke(route.function, event)
        except Exception:
            log.exception("%s raised", route.function)
            return _message(500, "Internal Server Error")
        return _proxy_response(result)


def _identity_value(source: str, event: Mapping[str, Any]) -> str | None:
    """The value of an identity source expression (``$request.header.X`` ...) in ``event``."""
    kind, _, name = source.removeprefix("$").partition(".")
    if kind == "request":
        where, _, name = name.partition(".")
        if where == "header":
            return (event.get("headers") or {}).get(name.lower())
        if where == "querystring":
            return (event.get("queryStringParameters") or {}).get(name)
        return None
    if kind == "context":
        value: Any = event.get("requestContext") or {}
        for part in name.split("."):
            value = value.get(part) if isinstance(value, dict) else None
        return None if value is None else str(value)
    return None  # stage variables: the local stage has none


def _read_authorizer_result(result: Any) -> tuple[bool, dict[str, Any]]:
    """``(allowed, context)`` from a simple response; ValueError when it is malformed."""
    if not isinstance(result, dict) or not isinstance(result.get("isAuthorized"), bool):
        raise ValueError("a simple response is an object with a boolean isAuthorized")
    context = result.get("context") or {}
    if not isinstance(context, dict):
        raise ValueError("the authorizer's context is not an object")
    return result["isAuthorized"], context


def _proxy_response(result: Any) -> Response:
    """An HTTP response from a Lambda result in payload format 2.0."""
    if not isinstance(result, dict) or "statusCode" not in result:
        body = result if isinstance(result, str) else json.dumps(result)
        return Response(200, dict(JSON), body.encode("utf-8"))
    headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
    for name, values in (result.get("multiValueHeaders") or {}).items():
        headers[name.lower()] = ",".join(str(value) for value in values)
    return Response(
        int(result["statusCode"]), headers, response_body(result), list(result.get("cookies") or [])
    )


def _allowed_origin(cors: Cors, origin: str | None) -> str | None:
    if not origin:
        return None
    if "*" in cors.allow_origins:
        return "*" if not cors.allow_credentials else origin
    lowered = origin.lower()
    return origin if any(lowered == allowed.lower() for allowed in cors.allow_origins) else None


def _preflight(cors: Cors, origin: str, headers: Mapping[str, str]) -> Response:
    response = Response(204, {}, b"")
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return response
    requested_headers = headers.get("access-control-request-headers", "")
    response.headers["access-control-allow-origin"] = allowed
    response.headers["access-control-allow-methods"] = ",".join(cors.allow_methods) or "*"
    if cors.allow_headers:
        response.headers["access-control-allow-headers"] = ",".join(cors.allow_headers)
    elif requested_headers:
        response.headers["access-control-allow-headers"] = requested_headers
    if cors.allow_credentials:
        response.headers["access-control-allow-credentials"] = "true"
    if cors.max_age is not None:
        response.headers["access-control-max-age"] = str(cors.max_age)
    return response


def _apply_cors(cors: Cors, origin: str | None, response: Response) -> None:
    for name in [name for name in response.headers if name.startswith("access-control-")]:
        del response.headers[name]
    allowed = _allowed_origin(cors, origin)
    if allowed is None:
        return
    response.headers["access-control-allow-origin"] = allowed
    if cors.allow_credentials:
        response.headers["access-control-allow-credentials"] = "true"
    if cors.expose_headers:
        response.headers["access-control-expose-headers"] = ",".join(cors.expose_headers)
