"""Sessions: login, refresh-token rotation and logout.

A login starts a session *family*; each refresh replaces the pair and keeps the family. Using a
refresh token a second time means one of two holders is not the user: the whole family is revoked
(access tokens included) and both must sign in again.
"""

from __future__ import annotations

from sqlalchemy import Connection

from pulse.auth import limiter, passwords, revocation, tokens, users
from pulse.auth.context import Caller
from pulse.auth.errors import (
    INVALID_CREDENTIALS,
    INVALID_TOKEN,
    TOKEN_REVOKED,
    AuthStoreUnavailable,
    Unauthorized,
)
from pulse.auth.schemas import TokenResponse, normalize_email
from pulse.auth.store import StoreUnavailable
from pulse.observability import logger


def _response(pair: tokens.TokenPair) -> TokenResponse:
    return TokenResponse(
        access_token=pair.access_token, refresh_token=pair.refresh_token, expires_in=pair.expires_in
    )


def login(connection: Connection, *, email: str, password: str, source_ip: str) -> TokenResponse:
    """Verify a password and start a session; the same 401 for an unknown email or a wrong password."""
    try:
        email = normalize_email(email)
    except ValueError:
        email = email.strip().lower()
    limiter.check(email=email, source_ip=source_ip)
    account = users.credentials(connection, email=email)
    # Unknown emails verify against a dummy hash: same work, same answer, same time.
    matches = passwords.verify_password(account.password_hash if account else None, password)
    if account is None or not matches:
        limiter.record_failure(email=email, source_ip=source_ip)
        logger.info("login failed", extra={"source_ip": source_ip})
        raise Unauthorized(INVALID_CREDENTIALS, "Incorrect email or password.")
    limiter.reset(email=email)
    if passwords.needs_rehash(account.password_hash):
        users.set_password_hash(connection, user_id=account.id, password_hash=passwords.rehash(password))
    teams = users.teams_of(connection, [account.id])[account.id]
    pair = tokens.issue_pair(user_id=account.id, role=account.role, teams=teams)
    revocation.register_refresh(pair.refresh)
    logger.info("login", extra={"user_id": account.id})
    return _response(pair)


def refresh(connection: Connection, *, refresh_token: str) -> TokenResponse:
    """Rotate a refresh token into a new pair with current role and teams; reuse revokes the family."""
    old = tokens.decode(refresh_token, expected="refresh")
    try:
        if revocation.session_revoked(old):
            raise Unauthorized(TOKEN_REVOKED, "The session has been revoked.")
        user = users.get(connection, user_id=int(old.subject)) if old.subject.isdigit() else None
        if user is None:
            raise Unauthorized(INVALID_TOKEN, "The token's user no longer exists.")
        pair = tokens.issue_pair(user_id=user.id, role=user.role, teams=user.teams, family=old.family)
        if not revocation.rotate_refresh(old, pair.refresh):
            revocation.revoke_family(old.family)
            logger.warning("refresh token reused: session revoked", extra={"user_id": user.id})
            raise Unauthorized(TOKEN_REVOKED, "This refresh token was already used; the session is revoked.")
    except StoreUnavailable:
        raise AuthStoreUnavailable() from None
    return _response(pair)


def logout(caller: Caller) -> None:
    """Revoke the caller's access token and its session family until they expire."""
    if caller.token_id is None or caller.expires_at is None:
        raise Unauthorized(INVALID_TOKEN, "Only an access token can be logged out.")
    access = tokens.Claims(
        subject=caller.subject,
        type="access",
        token_id=caller.token_id,
        family=caller.family or "",
        issued_at=caller.issued_at or 0.0,
        expires_at=int(caller.expires_at),
    )
    try:
        revocation.revoke_session(access)
    except StoreUnavailable:
        raise AuthStoreUnavailable() from None
