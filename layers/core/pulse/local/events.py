"""Building API Gateway HTTP API (payload 2.0) events and Lambda contexts, as AWS does."""

from __future__ import annotations

import base64
import datetime as dt
import time
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote

TEXT_TYPES = (
    "text/",
    "application/json",
    "application/x-ndjson",
    "application/xml",
    "application/javascript",
)


@dataclass
class LambdaContext:
    """The attributes of the Lambda context object that handlers and Powertools read."""

    function_name: str = "local"
    function_version: str = "$LATEST"
    memory_limit_in_mb: int = 1024
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    log_group_name: str = "/aws/lambda/local"
    log_stream_name: str = "local"
    timeout_seconds: float = 29.0
    started: float = field(default_factory=time.monotonic)

    @property
    def invoked_function_arn(self) -> str:
        return f"arn:aws:lambda:us-east-1:123456789012:function:{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.timeout_seconds - (time.monotonic() - self.started)) * 1000))


def is_text(content_type: str | None) -> bool:
    return content_type is None or content_type.split(";")[0].strip().startswith(TEXT_TYPES)


def _is_binary(body: bytes, headers: Mapping[str, str]) -> bool:
    """Whether API Gateway would base64 the body: not a text type, compressed, or not UTF-8."""
    if not is_text(headers.get("content-type")) or headers.get("content-encoding", "identity") != "identity":
        return True
    try:
        body.decode("utf-8")
    except UnicodeDecodeError:
        return True
    return False


def http_event(
    method: str,
    path: str,
    *,
    route_key: str | None = None,
    path_parameters: Mapping[str, str] | None = None,
    query: Iterable[tuple[str, str]] = (),
    raw_query: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes | None = None,
    source_ip: str = "127.0.0.1",
    authorizer: Mapping[str, Any] | None = None,
    stage: str = "$default",
) -> dict[str, Any]:
    """An HTTP API v2 event as API Gateway sends it to a Lambda integration.

    Headers are lower-cased and repeated ones joined with commas; repeated query keys are joined
    with commas in ``queryStringParameters`` while ``rawQueryString`` keeps each (``raw_query``, the
    string as received, wins over re-encoding ``query``); cookies move from the ``cookie`` header
    to ``cookies``; a body that is not text (by content type, content encoding or UTF-8
    validity) is base64 encoded. API Gateway's forwarding headers
    (``x-forwarded-*``, ``x-amzn-trace-id``) are added when absent.
    """
    joined_headers: dict[str, str] = {}
    cookies: list[str] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "cookie":
            cookies.extend(part.strip() for part in value.split(";") if part.strip())
            continue
        joined_headers[lower] = f"{joined_headers[lower]},{value}" if lower in joined_headers else value
    query = list(query) if raw_query is None else parse_qsl(raw_query, keep_blank_values=True)
    parameters: dict[str, str] = {}
    for name, value in query:
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    if raw_query is None:
        raw_query = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in query)
    now = dt.datetime.now(dt.UTC)
    request_id = base64.b64encode(uuid.uuid4().bytes[:11]).decode()
    joined_headers.setdefault("x-forwarded-for", source_ip)
    joined_headers.setdefault("x-forwarded-port", "443")
    joined_headers.setdefault("x-forwarded-proto", "https")
    joined_headers.setdefault("x-amzn-trace-id", f"Root=1-{int(now.timestamp()):08x}-{uuid.uuid4().hex[:24]}")
    encoded = body is not None and _is_binary(body, joined_headers)
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route_key or f"{method.upper()} {path}",
        "rawPath": path,
        "rawQueryString": raw_query,
        "headers": joined_headers,
        "requestContext": {
            "accountId": "123456789012",
            "apiId": "local",
            "domainName": joined_headers.get("host", "localhost"),
            "domainPrefix": "localhost",
            "http": {
                "method": method.upper(),
                "path": path,
                "protocol": "HTTP/1.1",
                "sourceIp": source_ip,
                "userAgent": joined_headers.get("user-agent", ""),
            },
            "requestId": request_id,
            "routeKey": route_key or f"{method.upper()} {path}",
            "stage": stage,
            "time": now.strftime("%d/%b/%Y:%H:%M:%S +0000"),
            "timeEpoch": int(now.timestamp() * 1000),
        },
        "isBase64Encoded": encoded,
    }
    if cookies:
        event["cookies"] = cookies
    if parameters:
        event["queryStringParameters"] = parameters
    if path_parameters:
        event["pathParameters"] = dict(path_parameters)
    if authorizer is not None:
        event["requestContext"]["authorizer"] = {"lambda": dict(authorizer)}
    if body is not None:
        event["body"] = base64.b64encode(body).decode() if encoded else body.decode("utf-8")
    return event


def response_body(response: Mapping[str, Any]) -> bytes:
    """The body bytes of a Lambda proxy response."""
    body = response.get("body") or ""
    if response.get("isBase64Encoded"):
        return base64.b64decode(body)
    return str(body).encode("utf-8")


def authorizer_event(event: Mapping[str, Any], identity_source: list[str]) -> dict[str, Any]:
    """The payload 2.0 REQUEST event a Lambda authorizer receives for a request's ``event``.

    It is the request event without its body, plus ``type``, ``routeArn`` and ``identitySource``.
    """
    context = event["requestContext"]
    http = context["http"]
    route_arn = (
        f"arn:aws:execute-api:us-east-1:{context['accountId']}:{context['apiId']}/"
        f"{context['stage']}/{http['method']}{http['path']}"
    )
    request = {key: value for key, value in event.items() if key not in ("body", "isBase64Encoded")}
    return {**request, "type": "REQUEST", "routeArn": route_arn, "identitySource": identity_source}
