"""The local API Gateway over a small template of its own: events, routing, CORS, authorizer."""

from __future__ import annotations

import base64
import datetime as dt
import gzip
import re
from pathlib import Path
from typing import Any

import pytest

from pulse.local.gateway import Gateway
from pulse.local.template import load_module

SAMPLE = Path(__file__).parent / "sample"
ALLOWED_ORIGIN = "http://app.example"


class Clock:
    """A clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def gateway(clock: Clock) -> Gateway:
    """A fresh gateway per test, so the authorizer cache starts empty."""
    return Gateway(SAMPLE / "template.yaml", clock=clock)


@pytest.fixture
def authorizer_calls(gateway: Gateway) -> list[dict[str, Any]]:
    calls: list[dict[str, Any]] = load_module(gateway.function("AuthorizerFunction").code_uri, "app").CALLS
    calls.clear()
    return calls


def event_of(response: Any) -> dict[str, Any]:
    assert response.status == 200, response.body
    event: dict[str, Any] = response.json()["event"]
    return event


# --- the event the function receives -------------------------------------------------------


def test_path_parameters_and_route_key(gateway):
    event = event_of(gateway.request("GET", "/echo/abc"))

    assert event["pathParameters"] == {"item": "abc"}
    assert event["routeKey"] == event["requestContext"]["routeKey"] == "GET /echo/{item}"
    assert event["version"] == "2.0"


def test_repeated_query_keys_are_joined_with_commas_but_kept_apart_in_the_raw_string(gateway):
    response = gateway.request("GET", "/echo/x", raw_query="tag=a&tag=b&q=x%20y")
    event = event_of(response)

    assert event["queryStringParameters"] == {"tag": "a,b", "q": "x y"}
    assert event["rawQueryString"] == "tag=a&tag=b&q=x%20y"
    assert response.json()["parsed"]["tags"] == ["a", "b"]


def test_query_pairs_are_encoded_into_the_raw_string(gateway):
    event = event_of(gateway.request("GET", "/echo/x", query=[("tag", "a&b"), ("tag", "c")]))

    assert event["rawQueryString"] == "tag=a%26b&tag=c"
    assert event["queryStringParameters"] == {"tag": "a&b,c"}


def test_headers_are_lower_cased_and_repeated_ones_joined(gateway):
    event = event_of(
        gateway.request("GET", "/echo/x", headers=[("X-Thing", "1"), ("x-thing", "2"), ("Accept", "a/b")])
    )

    assert event["headers"]["x-thing"] == "1,2"
    assert event["headers"]["accept"] == "a/b"
    assert all(name == name.lower() for name in event["headers"])


def test_cookies_move_from_the_header_to_the_cookies_list(gateway):
    response = gateway.request("GET", "/echo/x", headers={"Cookie": "session=abc; theme=dark"})
    event = event_of(response)

    assert event["cookies"] == ["session=abc", "theme=dark"]
    assert "cookie" not in event["headers"]
    assert response.json()["parsed"]["cookies"] == {"session": "abc", "theme": "dark"}


def test_request_context_describes_the_request(gateway):
    before = dt.datetime.now(dt.UTC)
    first = event_of(
        gateway.request("GET", "/echo/x", headers={"User-Agent": "tester/1"}, source_ip="10.1.2.3")
    )
    second = event_of(gateway.request("GET", "/echo/x"))
    context = first["requestContext"]

    assert context["http"] == {
        "method": "GET",
        "path": "/echo/x",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.1.2.3",
        "userAgent": "tester/1",
    }
    assert context["stage"] == "$default"
    # API Gateway's request ids are 16 characters of base64, different for every request.
    assert re.fullmatch(r"[A-Za-z0-9+/]{15}=", context["requestId"])
    assert context["requestId"] != second["requestContext"]["requestId"]
    assert re.fullmatch(r"\d{2}/[A-Z][a-z]{2}/\d{4}:\d{2}:\d{2}:\d{2} \+0000", context["time"])
    assert abs(context["timeEpoch"] / 1000 - before.timestamp()) < 5
    assert first["headers"]["x-forwarded-for"] == "10.1.2.3"


def test_binary_body_is_base64_both_ways(gateway):
    payload = bytes(range(256))
    response = gateway.request(
        "POST", "/binary", body=payload, headers={"content-type": "application/octet-stream"}
    )

    assert response.status == 200
    assert response.body == payload
    assert response.headers["content-type"] == "application/octet-stream"


def test_binary_request_event_is_base64_encoded(gateway, monkeypatch):
    seen: list[dict[str, Any]] = []
    original = gateway.invoke
    monkeypatch.setattr(
        gateway, "invoke", lambda logical_id, event: seen.append(event) or original(logical_id, event)
    )

    gateway.request("POST", "/binary", body=b"\x00\xff", headers={"content-type": "image/png"})
    gateway.request("POST", "/binary", body='{"a": 1}', headers={"content-type": "application/json"})
    zipped = gzip.compress(b'{"a": 1}\n')
    gateway.request(
        "POST",
        "/binary",
        body=zipped,
        headers={"content-type": "application/x-ndjson", "content-encoding": "gzip"},
    )
    gateway.request("POST", "/binary", body=b"caf\xe9", headers={"content-type": "text/plain"})  # Latin-1

    assert seen[0]["isBase64Encoded"] is True and base64.b64decode(seen[0]["body"]) == b"\x00\xff"
    assert seen[1]["isBase64Encoded"] is False and seen[1]["body"] == '{"a": 1}'
    # A text type is still sent as base64 when compressed or not UTF-8.
    assert seen[2]["isBase64Encoded"] is True and base64.b64decode(seen[2]["body"]) == zipped
    assert seen[3]["isBase64Encoded"] is True and base64.b64decode(seen[3]["body"]) == b"caf\xe9"


def test_response_cookies_become_set_cookie_values(gateway):
    response = gateway.request("GET", "/cookies")

    assert sorted(cookie.split(";")[0] for cookie in response.cookies) == ["session=abc", "theme=dark"]


# --- routing ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "route_key", "parameters"),
    [
        ("GET", "/items/special", "GET /items/special", None),
        ("GET", "/items/42", "GET /items/{id}", {"id": "42"}),
        ("GET", "/items/a/b/c", "ANY /items/{proxy+}", {"proxy": "a/b/c"}),
        # /items/{id} is GET only, so a POST falls to the greedy ANY route.
        ("POST", "/items/42", "ANY /items/{proxy+}", {"proxy": "42"}),
    ],
)
def test_the_most_specific_route_wins(gateway, method, path, route_key, parameters):
    event = event_of(gateway.request(method, path))

    assert event["routeKey"] == route_key
    assert event.get("pathParameters") == parameters


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/nowhere"),
        ("DELETE", "/echo/abc"),
        ("GET", "/echo/a/b"),
        ("GET", "/items"),
        ("GET", "/echo/"),
    ],
)
def test_unmatched_path_or_method_is_404_not_found(gateway, method, path):
    response = gateway.request(method, path)

    assert response.status == 404
    assert response.json() == {"message": "Not Found"}


def test_head_reaches_only_head_or_any_routes_and_has_no_body(gateway):
    assert gateway.request("HEAD", "/echo/abc").status == 404

    response = gateway.request("HEAD", "/items/a/b")
    assert response.status == 200
    assert response.body == b""


def test_default_route_catches_the_rest_and_a_bare_result_is_200_json():
    gateway = Gateway(SAMPLE / "default_route.yaml")

    assert gateway.request("GET", "/echo/abc").status == 200
    response = gateway.request("DELETE", "/anything/else")
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.json() == {"routeKey": "$default", "path": "/anything/else"}


def test_a_function_that_raises_gives_api_gateways_500(gateway):
    response = gateway.request("GET", "/explode")

    assert response.status == 500
    assert response.json() == {"message": "Internal Server Error"}


# --- CORS ------------------------------------------------------------------------------------


def test_preflight_is_answered_by_the_gateway_without_the_authorizer(gateway, authorizer_calls):
    response = gateway.request(
        "OPTIONS",
        "/private/1",
        headers={
            "Origin": ALLOWED_ORIGIN,
            "Access-Control-Request-Method": "GET",
            "Access-Control-Request-Headers": "authorization",
        },
    )

    assert response.status == 204
    assert response.headers["access-control-allow-origin"] == ALLOWED_ORIGIN
    assert response.headers["access-control-allow-methods"] == "GET,POST"
    assert response.headers["access-control-allow-headers"] == "authorization,content-type"
    assert response.headers["access-control-allow-credentials"] == "true"
    assert response.headers["access-control-max-age"] == "600"
    assert authorizer_calls == []


def test_preflight_from_another_origin_gets_no_cors_headers(gateway):
    response = gateway.request(
        "OPTIONS",
        "/echo/x",
        headers={"Origin": "http://evil.example", "Access-Control-Request-Method": "GET"},
    )

    assert response.status == 204
    assert not any(name.startswith("access-control-") for name in response.headers)


def test_gateway_cors_headers_replace_the_functions(gateway):
    allowed = gateway.request("GET", "/echo/x", headers={"Origin": "http://admin.example"})
    # The function's own CORS middleware allows http://localhost:5173; the gateway's list rules.
    other = gateway.request("GET", "/echo/x", headers={"Origin": "http://localhost:5173"})

    assert allowed.headers["access-control-allow-origin"] == "http://admin.example"
    assert allowed.headers["access-control-allow-credentials"] == "true"
    assert allowed.headers["access-control-expose-headers"] == "x-request-id"
    assert "access-control-allow-origin" not in other.headers


# --- the Lambda authorizer -------------------------------------------------------------------


@pytest.mark.parametrize("headers", [{}, {"Authorization": ""}])
def test_missing_identity_source_is_401_without_calling_the_authorizer(gateway, authorizer_calls, headers):
    response = gateway.request("GET", "/private/7", headers=headers)

    assert response.status == 401
    assert response.json() == {"message": "Unauthorized"}
    assert authorizer_calls == []


def test_denied_is_403_forbidden(gateway, authorizer_calls):
    response = gateway.request("GET", "/private/7", headers={"Authorization": "Bearer bad"})

    assert response.status == 403
    assert response.json() == {"message": "Forbidden"}
    assert len(authorizer_calls) == 1


def test_allowed_request_carries_the_context_to_the_function(gateway, authorizer_calls):
    response = gateway.request("GET", "/private/7", headers={"Authorization": "Bearer good"})
    event = event_of(response)

    assert event["requestContext"]["authorizer"] == {"lambda": {"user": "ada", "roles": ["admin"]}}
    assert event["pathParameters"] == {"id": "7"}


def test_the_authorizer_gets_a_payload_2_request_event(gateway, authorizer_calls):
    gateway.request("GET", "/private/7", raw_query="a=1", headers={"Authorization": "Bearer good"})
    (call,) = authorizer_calls

    assert call["type"] == "REQUEST"
    assert call["version"] == "2.0"
    assert call["identitySource"] == ["Bearer good"]
    assert call["routeKey"] == "GET /private/{id}"
    assert call["routeArn"].startswith("arn:aws:execute-api:")
    assert call["routeArn"].endswith("/$default/GET/private/7")
    assert call["pathParameters"] == {"id": "7"}
    assert call["queryStringParameters"] == {"a": "1"}
    assert "body" not in call


def test_authorizer_results_are_cached_by_identity_for_the_ttl(gateway, authorizer_calls, clock):
    good = {"Authorization": "Bearer good"}
    bad = {"Authorization": "Bearer bad"}

    assert gateway.request("GET", "/private/1", headers=good).status == 200
    assert gateway.request("GET", "/private/2", headers=good).status == 200
    assert gateway.request("GET", "/private/1", headers=bad).status == 403
    assert gateway.request("GET", "/private/1", headers=bad).status == 403  # denials are cached too
    assert len(authorizer_calls) == 2

    clock.now += 299  # ReauthorizeEvery: 300
    gateway.request("GET", "/private/1", headers=good)
    assert len(authorizer_calls) == 2
    clock.now += 1
    gateway.request("GET", "/private/1", headers=good)
    assert len(authorizer_calls) == 3


def test_the_cache_belongs_to_one_gateway(clock, authorizer_calls):
    for _ in range(2):
        Gateway(SAMPLE / "template.yaml", clock=clock).request(
            "GET", "/private/1", headers={"Authorization": "Bearer good"}
        )

    assert len(authorizer_calls) == 2


@pytest.mark.parametrize("token", ["Bearer crash", "Bearer malformed"])
def test_a_failing_or_malformed_authorizer_is_500(gateway, authorizer_calls, token):
    response = gateway.request("GET", "/private/1", headers={"Authorization": token})

    assert response.status == 500
    assert response.json() == {"message": "Internal Server Error"}
