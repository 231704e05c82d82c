"""The Lambda authorizer's decision (HTTP API, payload 2.0, simple responses).

It verifies the bearer credential and hands the verified claims to the function as
``requestContext.authorizer.lambda``. For a missing or invalid credential it still answers
``isAuthorized: true``, with a context that holds only the failure (``error``, ``message``) and
no identity: every protected route depends on ``current_caller``, which turns that into the 401
with the JSON envelope. Denying here instead would make API Gateway answer its own bare
``403 {"message":"Forbidden"}`` for an expired token, and a client could not tell "sign in
again" from "not allowed". A test sends a bad token to every protected route of the template to
keep that dependency from being forgotten.

It decides identity only, never access to a route: API Gateway caches the answer per
``Authorization`` header for every route (``ReauthorizeEvery``), so roles and scopes are checked
by each function. A database error propagates (API Gateway answers 500 and caches nothing)
rather than caching a failure for a valid API key.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pulse.auth import credentials
from pulse.auth.errors import Unauthorized
from pulse.observability import logger, metrics


def authorize(event: dict[str, Any]) -> dict[str, Any]:
    """The simple response for one request event."""
    try:
        context = credentials.authenticate(credentials.header(event.get("headers")))
    except Unauthorized as failure:
        # Never log the credential itself.
        logger.info("credential rejected", extra={"code": failure.code, "route": event.get("routeKey")})
        metrics.add_metric(name="AuthRejected", unit=MetricUnit.Count, value=1)
        return {"isAuthorized": True, "context": credentials.rejection(failure)}
    return {"isAuthorized": True, "context": context}
