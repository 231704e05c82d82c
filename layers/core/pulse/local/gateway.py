"""An in-process stand-in for API Gateway's HTTP API: route, authorize, build the event, invoke.

``pulse serve`` and the tests both go through ``Gateway.request``, so what the tests exercise
is exactly what the local server does.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pulse.local.events import LambdaContext, http_event, response_body
from pulse.local.template import Function, Route, Template, load_handler, load_template


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


def _route_pattern(path: str) -> re.Pattern[str]:
    """A regex for an HttpApi path: ``{name}`` is one segment, ``{name+}`` the greedy rest."""
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


def _specificity(route: Route) -> tuple[int, int, int]:
    """API Gateway prefers exact paths, then fewer/greedier variables last, then a named method."""
    greedy = 1 if "+}" in route.path else 0
    variables = route.path.count("{")
    return (greedy, variables, 1 if route.method == "ANY" else 0)


class Gateway:
    """Routes requests to the functions of a SAM template, as the HTTP API would."""

    def __init__(self, template: str | Path | Template = "template.yaml") -> None:
        self.template = template if isinstance(template, Template) else load_template(template)
        self._routes = sorted(
            ((route, _route_pattern(route.path)) for route in self.template.routes),
            key=lambda item: _specificity(item[0]),
        )

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
        return handler(dict(event), LambdaContext(function_name=logical_id))

    def authorize(self, route: Route, event: dict[str, Any]) -> Response | dict[str, Any] | None:
        """Run the route's Lambda authorizer: its context, or a 401/403 response to return."""
        if route.authorizer is None:
            return None
        config = self.template.authorizers.get(route.authorizer, {})
        function_arn = config.get("FunctionArn", {})
        logical_id = function_arn.get("Fn::GetAtt", [None])[0] if isinstance(function_arn, dict) else None
        if logical_id is None:
            raise ValueError(f"authorizer {route.authorizer} names no function of the template")
        result = self.invoke(logical_id, event)
        if not result.get("isAuthorized"):
            return Response(403, {"content-type": "application/json"}, b'{"message":"Forbidden"}')
        context: dict[str, Any] = result.get("context") or {}
        return context

    def request(
        self,
        method: str,
        path: str,
        *,
        query: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        headers: Iterable[tuple[str, str]] | Mapping[str, str] = (),
        body: bytes | str | None = None,
        json_body: Any = None,
        source_ip: str = "127.0.0.1",
    ) -> Response:
        """Send one HTTP request through routing, the authorizer and the function's handler."""
        query_items = list(query.items()) if isinstance(query, Mapping) else list(query)
        header_items = list(headers.items()) if isinstance(headers, Mapping) else list(headers)
        if json_body is not None:
            body = json.dumps(json_body)
            header_items.append(("content-type", "application/json"))
        raw = body.encode("utf-8") if isinstance(body, str) else body
        matched = self.match(method, path)
        if matched is None:
            return Response(404, {"content-type": "application/json"}, b'{"message":"Not Found"}')
        route, parameters = matched
        route_key = f"{route.method if route.method != 'ANY' else 'ANY'} {route.path}"
        event = http_event(
            method,
            path,
            route_key=route_key,
            path_parameters=parameters,
            query=query_items,
            headers=header_items,
            body=raw,
            source_ip=source_ip,
        )
        if route.authorizer is not None:
            authorized = self.authorize(route, {**event, "type": "REQUEST"})
            if isinstance(authorized, Response):
                return authorized
            event["requestContext"]["authorizer"] = {"lambda": authorized}
        result = self.invoke(route.function, event)
        response_headers = {k.lower(): str(v) for k, v in (result.get("headers") or {}).items()}
        for name, values in (result.get("multiValueHeaders") or {}).items():
            response_headers[name.lower()] = ",".join(values)
        return Response(
            int(result.get("statusCode", 200)),
            response_headers,
            response_body(result),
            list(result.get("cookies") or []),
        )
