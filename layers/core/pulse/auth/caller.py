"""The caller of a request (``Caller``), as the Lambda authorizer's context describes it.

Kept apart from ``pulse.auth.context``, the FastAPI dependencies that produce it, so that code
taking a caller (the metrics the cache warmer computes, among others) does not import FastAPI.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

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
