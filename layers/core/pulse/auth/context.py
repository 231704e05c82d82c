"""Who is calling: the verified claims the Lambda authorizer passes to every function.

API Gateway puts the authorizer's ``context`` at ``requestContext.authorizer.lambda``; values
there can only be strings, numbers or booleans, so team keys and scopes travel comma-separated.
Functions enforce roles and scopes again from this context (defense in depth).

``current_caller`` also re-checks what may have changed since the authorizer's answer was cached
(``ReauthorizeEvery``, five minutes): the token's expiry and its revocation. A context that
carries a failure instead of an identity (``pulse.auth.authorizer``) becomes a 401 with the
envelope. API Gateway alone writes ``requestContext``, so the context is trusted as given.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request

from pulse.auth import revocation
from pulse.auth.errors import MISSING_TOKEN, TOKEN_EXPIRED, TOKEN_REVOKED, Unauthorized
from pulse.auth.tokens import LEEWAY_SECONDS
from pulse.errors import ApiError

Role = Literal["admin", "executive", "manager", "member"]
ORG_WIDE_ROLES = frozenset({"admin", "executive"})


@dataclass(frozen=True)
class Caller:
    subject: str
    kind: Literal["user", "api_key"]
    role: str | None = None
    teams: tuple[str, ...] = ()
    scopes: tuple[str, ...] = ()
    # From an access token (None for API keys and hand-made contexts): what logout revokes and
    # what current_caller re-checks.
    token_id: str | None = None
    family: str | None = None
    issued_at: float | None = None
    expires_at: float | None = None

    @property
    def sees_everything(self) -> bool:
        """Admins and executives read every team's analytics."""
        return self.kind == "user" and self.role in ORG_WIDE_ROLES


def _split(value: Any) -> tuple[str, ...]:
    if not value:
        return ()
    if isinstance(value, list | tuple):
        return tuple(str(item) for item in value)
    return tuple(part for part in str(value).split(",") if part)


def caller_from_context(context: dict[str, Any]) -> Caller | None:
    """A caller from an authorizer context, or None when it carries no subject."""
    subject = context.get("sub")
    if not subject:
        return None
    kind: Literal["user", "api_key"] = "api_key" if context.get("kind") == "api_key" else "user"
    return Caller(
        subject=str(subject),
        kind=kind,
        role=str(context["role"]) if context.get("role") else None,
        teams=_split(context.get("teams")),
        scopes=_split(context.get("scopes")),
        token_id=str(context["jti"]) if context.get("jti") else None,
        family=str(context["fam"]) if context.get("fam") else None,
        issued_at=_number(context.get("iat")),
        expires_at=_number(context.get("exp")),
    )


def _number(value: Any) -> float | None:
    try:
        return None if value is None or value == "" else float(value)
    except (TypeError, ValueError):
        return None


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


def current_caller(request: Request) -> Caller:
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


def require_roles(*roles: str) -> Callable[[Caller], Caller]:
    """A dependency that admits users with one of ``roles`` (403 otherwise)."""

    def dependency(caller: CallerDep) -> Caller:
        if caller.kind != "user" or caller.role not in roles:
            raise ApiError(403, "forbidden", "Your role may not do this.")
        return caller

    return dependency


def require_scope(scope: str) -> Callable[[Caller], Caller]:
    """A dependency that admits API keys with ``scope`` and admin users (403 otherwise)."""

    def dependency(caller: CallerDep) -> Caller:
        if caller.kind == "api_key" and scope in caller.scopes:
            return caller
        if caller.kind == "user" and caller.role == "admin":
            return caller
        raise ApiError(403, "forbidden", f"This route needs the '{scope}' scope.")

    return dependency


def require_user(caller: CallerDep) -> Caller:
    """Analytics are for signed-in people, not API keys."""
    if caller.kind != "user":
        raise ApiError(403, "forbidden", "API keys may not read analytics.")
    return caller


UserDep = Annotated[Caller, Depends(require_user)]

AdminDep = Annotated[Caller, Depends(require_roles("admin"))]
