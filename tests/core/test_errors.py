"""The error envelope for every status, through make_handler with a real HTTP API event."""

from __future__ import annotations

import json
from typing import Any

import pytest
from fastapi import HTTPException

from pulse.errors import ApiError, forbidden
from pulse.handler import RouteGroup, create_app, make_handler
from pulse.local.events import LambdaContext, http_event

app = create_app(title="Errors")
router = RouteGroup(app)


@router.get("/needs-sign-in")
def needs_sign_in() -> None:
    raise HTTPException(401, "Sign in first.", headers={"WWW-Authenticate": "Bearer"})


@router.get("/admins-only")
def admins_only() -> None:
    raise forbidden("Admins only.")


@router.post("/only-post")
def only_post() -> None:
    return None


@router.get("/count")
def count(n: int) -> int:
    return n


@router.get("/busy")
def busy() -> None:
    raise ApiError(429, "too_many_requests", "Slow down.", headers={"Retry-After": "30"})


@router.get("/broken")
def broken() -> None:
    raise RuntimeError("connection string postgres://secret@db")


@router.get("/down")
def down() -> None:
    raise ApiError(503, "database_unavailable", "The database is unreachable.")


handler = make_handler(app)


def call(
    method: str, path: str, query: list[tuple[str, str]] | None = None
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The handler's result and the event it was given."""
    event = http_event(method, path, query=query or [])
    result: dict[str, Any] = handler(event, LambdaContext())
    return result, event


@pytest.mark.parametrize(
    ("method", "path", "query", "status", "code", "message"),
    [
        ("GET", "/needs-sign-in", None, 401, "unauthorized", "Sign in first."),
        ("GET", "/admins-only", None, 403, "forbidden", "Admins only."),
        ("GET", "/nowhere", None, 404, "not_found", "Not Found"),
        ("GET", "/only-post", None, 405, "method_not_allowed", "Method Not Allowed"),
        ("GET", "/count", [("n", "many")], 422, "validation_error", None),
        ("GET", "/busy", None, 429, "too_many_requests", "Slow down."),
        ("GET", "/broken", None, 500, "internal_error", "An unexpected error occurred."),
        ("GET", "/down", None, 503, "database_unavailable", "The database is unreachable."),
    ],
)
def test_every_error_leaves_as_the_envelope(method, path, query, status, code, message):
    result, event = call(method, path, query)

    assert result["statusCode"] == status
    assert result["headers"]["content-type"] == "application/json"
    error = json.loads(result["body"])["error"]
    assert error["code"] == code
    assert error["request_id"] == event["requestContext"]["requestId"]
    if message is not None:
        assert error["message"] == message


def test_validation_errors_name_the_parameter():
    result, _ = call("GET", "/count", [("n", "many")])

    error = json.loads(result["body"])["error"]
    assert error["message"].startswith("query.n:")
    assert error["details"] == [error["message"]]


def test_error_headers_are_kept():
    unauthorized, _ = call("GET", "/needs-sign-in")
    busy, _ = call("GET", "/busy")

    assert unauthorized["headers"]["www-authenticate"] == "Bearer"
    assert busy["headers"]["retry-after"] == "30"


def test_an_unexpected_exception_reveals_nothing():
    result, _ = call("GET", "/broken")

    assert result["statusCode"] == 500
    assert "secret" not in result["body"]
    assert "Traceback" not in result["body"]
    assert "RuntimeError" not in result["body"]
