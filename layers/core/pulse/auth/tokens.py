"""JSON Web Tokens: PyJWT, HMAC with ``JWT_SECRET_KEY``, the algorithm pinned to ``JWT_ALGORITHM``.

An access token carries ``sub`` (user id), ``role``, ``teams`` (team keys), ``iat``, ``nbf``,
``exp``, ``iss``, ``aud``, ``jti``, ``typ`` = ``access`` and ``fam`` (its session family); a
refresh token the same without ``role``/``teams`` (refresh reads them afresh from the database)
and ``typ`` = ``refresh``. Every claim is required on decode except an access token's ``fam``
(tokens minted by scripts and test fixtures lack it). ``iat``/``nbf`` keep milliseconds
so that "tokens issued before this instant are revoked" (``pulse.auth.revocation``) does not
catch a token issued in the same second just after.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import jwt

from pulse.auth.claims import LEEWAY_SECONDS, Claims, TokenType
from pulse.auth.errors import INVALID_TOKEN, TOKEN_EXPIRED, Unauthorized
from pulse.config import get_settings

ROLES = ("admin", "executive", "manager", "member")
# The claims the issue fixes; ``fam`` (the session family) is ours. An access token without one
# (minted by a script) is valid but cannot be logged out with its family.
_REQUIRED = ["sub", "iat", "nbf", "exp", "iss", "aud", "jti", "typ"]


@dataclass(frozen=True)
class TokenPair:
    access_token: str
    refresh_token: str
    expires_in: int
    access: Claims
    refresh: Claims


def new_id() -> str:
    """A random token or family id."""
    return uuid.uuid4().hex


def _encode(claims: Claims, not_before: float) -> str:
    settings = get_settings()
    payload: dict[str, Any] = {
        "sub": claims.subject,
        "iat": claims.issued_at,
        "nbf": not_before,
        "exp": claims.expires_at,
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "jti": claims.token_id,
        "typ": claims.type,
        "fam": claims.family,
    }
    if claims.type == "access":
        payload["role"] = claims.role
        payload["teams"] = list(claims.teams)
    return jwt.encode(payload, settings.JWT_SECRET_KEY, algorithm=settings.JWT_ALGORITHM)


def issue(
    *,
    subject: str,
    type: TokenType,
    role: str | None = None,
    teams: Sequence[str] = (),
    family: str | None = None,
    lifetime_seconds: int | None = None,
    token_id: str | None = None,
) -> tuple[str, Claims]:
    """Sign one token; lifetimes default to ``JWT_ACCESS/REFRESH_TOKEN_EXPIRE_MINUTES``."""
    settings = get_settings()
    if lifetime_seconds is None:
        minutes = (
            settings.JWT_ACCESS_TOKEN_EXPIRE_MINUTES
            if type == "access"
            else settings.JWT_REFRESH_TOKEN_EXPIRE_MINUTES
        )
        lifetime_seconds = minutes * 60
    now = round(time.time(), 3)
    claims = Claims(
        subject=subject,
        type=type,
        token_id=token_id or new_id(),
        family=family or new_id(),
        issued_at=now,
        expires_at=int(now) + lifetime_seconds,
        role=role if type == "access" else None,
        teams=tuple(teams) if type == "access" else (),
    )
    return _encode(claims, not_before=now), claims


def issue_pair(
    *, user_id: int, role: str, teams: Sequence[str], family: str | None = None, refresh_id: str | None = None
) -> TokenPair:
    """A new access token and refresh token of one session family."""
    family = family or new_id()
    access_token, access = issue(subject=str(user_id), type="access", role=role, teams=teams, family=family)
    refresh_token, refresh = issue(subject=str(user_id), type="refresh", family=family, token_id=refresh_id)
    return TokenPair(access_token, refresh_token, access.expires_at - int(access.issued_at), access, refresh)


def issue_access_token(*, subject: str, role: str, teams: Sequence[str] = ()) -> str:
    """A signed access token for ``subject`` (tests and scripts; ``sub`` need not be a stored user)."""
    return issue(subject=subject, type="access", role=role, teams=teams)[0]


def _reject(error: jwt.InvalidTokenError) -> Unauthorized:
    if isinstance(error, jwt.ExpiredSignatureError):
        return Unauthorized(TOKEN_EXPIRED, "The token has expired.")
    if isinstance(error, jwt.ImmatureSignatureError):
        return Unauthorized(INVALID_TOKEN, "The token is not valid yet.")
    if isinstance(error, jwt.MissingRequiredClaimError):
        return Unauthorized(INVALID_TOKEN, f"The token lacks the '{error.claim}' claim.")
    if isinstance(error, jwt.InvalidIssuerError | jwt.InvalidAudienceError):
        return Unauthorized(INVALID_TOKEN, "The token was not issued for this API.")
    return Unauthorized(INVALID_TOKEN, "The token is malformed or its signature is invalid.")


def decode(token: str, *, expected: TokenType) -> Claims:
    """Verify signature, algorithm, ``exp``/``nbf``/``iat``, ``iss``, ``aud`` and ``typ``; 401 otherwise.

    Revocation is checked separately (``pulse.auth.revocation``), since it needs Redis.
    """
    settings = get_settings()
    try:
        payload = jwt.decode(
            token,
            settings.JWT_SECRET_KEY,
            algorithms=[settings.JWT_ALGORITHM],
            audience=settings.JWT_AUDIENCE,
            issuer=settings.JWT_ISSUER,
            leeway=LEEWAY_SECONDS,
            options={"require": _REQUIRED, "strict_aud": True},
        )
    except jwt.InvalidTokenError as error:
        raise _reject(error) from None
    if payload["typ"] != expected:
        raise Unauthorized(INVALID_TOKEN, f"A {payload['typ']!s:.20} token cannot be used here.")
    role = payload.get("role")
    teams = payload.get("teams")
    if expected == "access" and (
        role not in ROLES or not isinstance(teams, list) or not all(isinstance(t, str) for t in teams)
    ):
        raise Unauthorized(INVALID_TOKEN, "The token's role or teams are missing or malformed.")
    family = payload.get("fam", "")
    if expected == "refresh" and not family:
        raise Unauthorized(INVALID_TOKEN, "The token lacks the 'fam' claim.")
    if not isinstance(family, str) or not isinstance(payload["iat"], int | float):
        raise Unauthorized(INVALID_TOKEN, "The token's claims are malformed.")
    return Claims(
        subject=payload["sub"],
        type=expected,
        token_id=payload["jti"],
        family=family,
        issued_at=float(payload["iat"]),
        expires_at=int(payload["exp"]),
        role=role if expected == "access" else None,
        teams=tuple(teams) if expected == "access" and isinstance(teams, list) else (),
    )
