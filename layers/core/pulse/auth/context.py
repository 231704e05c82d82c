"""Who is calling: the verified claims the Lambda authorizer passes to every function.

API Gateway puts the authorizer's ``context`` at ``requestContext.authorizer.lambda``; values
there can only be strings, numbers or booleans, so team keys and scopes travel comma-separated.
Functions enforce roles and scopes again from this context (defense in depth).

``current_caller`` also re-checks what may have changed since the authorizer's answer was cached
(``ReauthorizeEvery``, five minutes): the token's expiry and its revocation. A context that
carries a failure instead of an identity (``pulse.auth.authorizer``) becomes a 401 with the
envelope. API Gateway alone writes ``requestContext``, so the context is trusted as given.

These are the FastAPI dependencies; ``Caller`` itself lives in ``pulse.auth.caller``.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import Depends, Request

from pulse.auth import revocation
from pulse.auth.caller import Caller, caller_from_context
from pulse.auth.claims import LEEWAY_SECONDS
from pulse.auth.errors import MISSING_TOKEN, TOKEN_EXPIRED, TOKEN_REVOKED, Unauthorized
from pulse.errors import ApiError


def authorizer_context(request: Request) -> dict[str, Any]:
    """``requestContext.authorizer.lambda`` of the request's event ({} when there is none)."""
    event = request.scope.get("aws.event") or {}
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    context = authorizer.get("lambda") or {}
    return context if isinstance(context, dict) else {}


def source_ip(request: Request) -> str:
    """The client address API Gateway saw."""
    event = request.scope.get("aws.event") or {}
    http = (event.get("requestContext") or {}).get("http") or {}
    return str(http.get("sourceIp") or (request.client.host if request.client else "unknown"))


async def current_caller(request: Request) -> Caller:
    """The caller of this request; 401 with the envelope when there is none or it lapsed."""
    context = authorizer_context(request)
    if context.get("error"):
        raise Unauthorized(str(context["error"]), str(context.get("message") or "Authentication failed."))
    caller = caller_from_context(context)
    if caller is None:
        raise Unauthorized(MISSING_TOKEN, "Authentication required: send 'Authorization: Bearer <token>'.")
    if caller.expires_at is not None and time.time() > caller.expires_at + LEEWAY_SECONDS:
        raise Unauthorized(TOKEN_EXPIRED, "The token has expired.")
    if revocation.is_revoked(
        kind=caller.kind,
        subject=caller.subject,
        token_id=caller.token_id,
        family=caller.family,
        issued_at=caller.issued_at,
    ):
        raise Unauthorized(TOKEN_REVOKED, "The token has been revoked.")
    return caller


CallerDep = Annotated[Caller, Depends(current_caller)]


def require_roles(*roles: str) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that admits users with one of ``roles`` (403 otherwise)."""

    async def dependency(caller: CallerDep) -> Caller:
        if caller.kind != "user" or caller.role not in roles:
            raise ApiError(403, "forbidden", "Your role may not do this.")
        return caller

    return dependency


def require_scope(scope: str) -> Callable[[Caller], Awaitable[Caller]]:
    """A dependency that admits API keys with ``scope`` and admin users (403 otherwise)."""

    async def dependency(caller: CallerDep) -> Caller:
        if caller.kind == "api_key" and scope in caller.scopes:
            return caller
        if caller.kind == "user" and caller.role == "admin":
            return caller
        raise ApiError(403, "forbidden", f"This route needs the '{scope}' scope.")

    return dependency


async def require_user(caller: CallerDep) -> Caller:
    """Analytics are for signed-in people, not API keys."""
    if caller.kind != "user":
        raise ApiError(403, "forbidden", "API keys may not read analytics.")
    return caller


UserDep = Annotated[Caller, Depends(require_user)]

AdminDep = Annotated[Caller, Depends(require_roles("admin"))]
