"""A Lambda authorizer (payload 2.0, simple responses) that records its calls, for tests."""

from __future__ import annotations

from typing import Any

CALLS: list[dict[str, Any]] = []


def handler(event: dict[str, Any], context: Any) -> Any:
    """Allow ``Bearer good``; fail on ``Bearer crash``; answer badly to ``Bearer malformed``."""
    CALLS.append(event)
    token = event["headers"].get("authorization", "")
    if token == "Bearer crash":
        raise RuntimeError("authorizer bug")
    if token == "Bearer malformed":
        return {"allowed": True}
    return {"isAuthorized": token == "Bearer good", "context": {"user": "ada", "roles": ["admin"]}}
