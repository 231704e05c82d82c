"""Verifying the ``Authorization: Bearer`` credential of a request: an access token or an API key.

The result is the authorizer context functions receive (``pulse.auth.context``). Its values are
strings and numbers only, as API Gateway requires of simple responses; lists are comma-separated.
"""

from __future__ import annotations

import re
from typing import Any

from pulse import db
from pulse.auth import apikeys, revocation, tokens
from pulse.auth.errors import (
    INVALID_AUTHORIZATION,
    INVALID_TOKEN,
    MISSING_TOKEN,
    TOKEN_REVOKED,
    Unauthorized,
)

AuthorizerContext = dict[str, str | int | float | bool]

_BEARER = re.compile(r"^\s*(\S+)\s+(\S+)\s*$")
MAX_CREDENTIAL_LENGTH = 4096


def bearer_credential(authorization: str | None) -> str:
    """The credential of an ``Authorization: Bearer <credential>`` header; 401 otherwise."""
    if authorization is None or not authorization.strip():
        raise Unauthorized(MISSING_TOKEN, "Authentication required: send 'Authorization: Bearer <token>'.")
    found = _BEARER.match(authorization)
    if found is None or found.group(1).lower() != "bearer":
        raise Unauthorized(INVALID_AUTHORIZATION, "Use the Bearer scheme: 'Authorization: Bearer <token>'.")
    credential = found.group(2)
    if len(credential) > MAX_CREDENTIAL_LENGTH:
        raise Unauthorized(INVALID_TOKEN, "The token is malformed or its signature is invalid.")
    return credential


def authenticate(authorization: str | None) -> AuthorizerContext:
    """Verify the header's credential (signature, claims, revocation, or the key's hash)."""
    credential = bearer_credential(authorization)
    if apikeys.looks_like_key(credential):
        with db.connect() as connection:
            key = apikeys.verify(connection, credential=credential)
        if key is None or revocation.is_revoked(
            kind="api_key", subject=key.id, token_id=None, family=None, issued_at=None
        ):
            raise Unauthorized(INVALID_TOKEN, "Unknown or revoked API key.")
        return {"sub": key.id, "kind": "api_key", "scopes": ",".join(key.scopes), "name": key.name}
    claims = tokens.decode(credential, expected="access")
    if revocation.is_revoked(
        kind="user",
        subject=claims.subject,
        token_id=claims.token_id,
        family=claims.family,
        issued_at=claims.issued_at,
    ):
        raise Unauthorized(TOKEN_REVOKED, "The token has been revoked.")
    return context_of(claims)


def context_of(claims: tokens.Claims) -> AuthorizerContext:
    """The authorizer context of verified access-token claims."""
    return {
        "sub": claims.subject,
        "kind": "user",
        "role": claims.role or "",
        "teams": ",".join(claims.teams),
        "scopes": "",
        "jti": claims.token_id,
        "fam": claims.family,
        "iat": claims.issued_at,
        "exp": claims.expires_at,
    }


def rejection(failure: Unauthorized) -> AuthorizerContext:
    """The context that carries a failed verification to the function, which answers the 401."""
    return {"error": failure.code, "message": failure.message}


def header(headers: dict[str, Any] | None) -> str | None:
    """The Authorization header of an event's (lower-cased) headers."""
    value = (headers or {}).get("authorization")
    return None if value is None else str(value)
