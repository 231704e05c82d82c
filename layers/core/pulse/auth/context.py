"""Who is calling: the verified claims the Lambda authorizer passes to every function.

API Gateway puts the authorizer's ``context`` at ``requestContext.authorizer.lambda``; values
there can only be strings, numbers or booleans, so team keys and scopes travel comma-separated.
Functions enforce roles and scopes again from this context (defense in depth).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from fastapi import Depends, Request

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
    )


def current_caller(request: Request) -> Caller:
    """The caller of this request; 401 with the envelope when there is none."""
    event = request.scope.get("aws.event") or {}
    authorizer = (event.get("requestContext") or {}).get("authorizer") or {}
    caller = caller_from_context(authorizer.get("lambda") or {})
    if caller is None:
        raise ApiError(
            401, "unauthorized", "Authentication required.", headers={"WWW-Authenticate": "Bearer"}
        )
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
