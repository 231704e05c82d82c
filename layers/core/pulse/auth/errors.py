"""The 401 every authentication failure becomes (RFC 6750 ``WWW-Authenticate`` challenge included)."""

from __future__ import annotations

from pulse.errors import ApiError

# Codes a client can act on: ``token_expired`` → refresh; any other → sign in again.
MISSING_TOKEN = "missing_token"
INVALID_AUTHORIZATION = "invalid_authorization"
INVALID_TOKEN = "invalid_token"
TOKEN_EXPIRED = "token_expired"
TOKEN_REVOKED = "token_revoked"
INVALID_CREDENTIALS = "invalid_credentials"


class Unauthorized(ApiError):
    """A 401 with the envelope and a Bearer challenge."""

    def __init__(self, code: str, message: str) -> None:
        challenge = (
            "Bearer" if code in (MISSING_TOKEN, INVALID_CREDENTIALS) else 'Bearer error="invalid_token"'
        )
        super().__init__(401, code, message, headers={"WWW-Authenticate": challenge})


class AuthStoreUnavailable(ApiError):
    """A 503: an operation that must not proceed without Redis (refresh, logout)."""

    def __init__(self) -> None:
        super().__init__(
            503,
            "auth_store_unavailable",
            "Sessions are temporarily unavailable; try again shortly.",
            headers={"Retry-After": "5"},
        )
