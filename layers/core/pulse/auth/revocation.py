"""Revocation and refresh-token rotation, in Redis.

Keys (under ``{prefix}:auth:``), each expiring when nothing it could reject is still valid:
- ``revoked:jti:{jti}``: one access token, revoked at logout (until its ``exp``);
- ``revoked:family:{fam}``: a whole session (logout, refresh-token reuse), for a refresh lifetime;
- ``revoked:user:{id}`` = epoch seconds: every token of that user issued before then (user
  deleted, or role, teams or password changed), for a refresh lifetime;
- ``revoked:key:{id}``: a deleted API key, while an authorizer may still hold a cached "allow";
- ``refresh:{jti}`` = family: the one refresh token of a family that may still be used.

Refresh tokens rotate: using one atomically replaces its ``refresh:`` entry with the new token's.
An unknown entry means the token was already used (or never recorded): reuse revokes the family.

Failure policy when Redis is down (README "Authentication"):
- access-token checks fail open (logged, counted as ``AuthStoreErrors``): an access token lives
  30 minutes at most and Redis must not become a dependency of every read;
- refresh and logout fail closed (503): a refresh token lives a week and may be stolen, and a
  logout that could not be recorded must not be reported as done.
"""

from __future__ import annotations

import time
from typing import Any, cast

import redis

from pulse.auth.claims import LEEWAY_SECONDS, Claims
from pulse.auth.store import StoreUnavailable, auth_key, call
from pulse.config import get_settings
from pulse.observability import logger

# How long an authorizer may keep answering "allow" for a key after it was deleted
# (ReauthorizeEvery in template.yaml), with a margin.
API_KEY_CACHE_SECONDS = 600

_ROTATE = """
local family = redis.call('GET', KEYS[1])
if not family then return false end
redis.call('DEL', KEYS[1])
redis.call('SET', KEYS[2], family, 'EX', ARGV[1])
return family
"""


def _refresh_lifetime() -> int:
    return get_settings().JWT_REFRESH_TOKEN_EXPIRE_MINUTES * 60 + LEEWAY_SECONDS


def _user_revoked(marker: str | bytes | None, issued_at: float | None) -> bool:
    return marker is not None and (issued_at is None or issued_at < float(marker))


def is_revoked(
    *, kind: str, subject: str, token_id: str | None, family: str | None, issued_at: float | None
) -> bool:
    """Whether a verified access credential was revoked since; fails open when Redis is down."""
    try:
        if kind == "api_key":
            return bool(call("revoked-key", lambda r: r.exists(auth_key(f"revoked:key:{subject}"))))
        names = [auth_key(f"revoked:user:{subject}")]
        if token_id:
            names.append(auth_key(f"revoked:jti:{token_id}"))
        if family:
            names.append(auth_key(f"revoked:family:{family}"))
        values = cast(list[Any], call("revoked", lambda r: r.mget(names)))
    except StoreUnavailable:
        logger.warning("revocation check skipped: Redis unavailable (failing open)")
        return False
    return _user_revoked(values[0], issued_at) or any(value is not None for value in values[1:])


def revoke_session(access: Claims) -> None:
    """Logout: revoke this access token until it expires and its whole family. Fails closed."""
    ttl = max(1, access.expires_at - int(time.time()) + LEEWAY_SECONDS)

    def revoke(r: redis.Redis) -> None:
        pipe = r.pipeline(transaction=True)
        pipe.set(auth_key(f"revoked:jti:{access.token_id}"), "1", ex=ttl)
        if access.family:
            pipe.set(auth_key(f"revoked:family:{access.family}"), "1", ex=_refresh_lifetime())
        pipe.execute()

    call("revoke-session", revoke)


def revoke_family(family: str) -> None:
    """Revoke every token of a session family (refresh-token reuse). Fails closed."""
    call("revoke-family", lambda r: r.set(auth_key(f"revoked:family:{family}"), "1", ex=_refresh_lifetime()))


def revoke_user(user_id: int) -> bool:
    """Revoke every token issued to a user until now; False (logged) when Redis is down."""
    now = f"{time.time():.3f}"
    try:
        call("revoke-user", lambda r: r.set(auth_key(f"revoked:user:{user_id}"), now, ex=_refresh_lifetime()))
    except StoreUnavailable:
        logger.error("could not revoke a user's tokens: Redis unavailable", extra={"user_id": user_id})
        return False
    return True


def revoke_api_key(key_id: str) -> bool:
    """Stop a deleted key at once, even where an authorizer answer is cached; False when Redis is down."""
    try:
        call("revoke-key", lambda r: r.set(auth_key(f"revoked:key:{key_id}"), "1", ex=API_KEY_CACHE_SECONDS))
    except StoreUnavailable:
        logger.error("could not mark an API key revoked: Redis unavailable", extra={"key_id": key_id})
        return False
    return True


def register_refresh(refresh: Claims) -> bool:
    """Record a new family's first refresh token; False (logged) when Redis is down.

    Login still succeeds then; the unrecorded refresh token will be refused later, like a reuse.
    """
    ttl = max(1, refresh.expires_at - int(time.time()) + LEEWAY_SECONDS)
    try:
        call(
            "register-refresh",
            lambda r: r.set(auth_key(f"refresh:{refresh.token_id}"), refresh.family, ex=ttl),
        )
    except StoreUnavailable:
        logger.error("refresh token not recorded: Redis unavailable")
        return False
    return True


def session_revoked(refresh: Claims) -> bool:
    """Whether a refresh token's family or user was revoked. Fails closed (``StoreUnavailable``)."""
    family, user = cast(
        list[Any],
        call(
            "session-revoked",
            lambda r: r.mget(
                [auth_key(f"revoked:family:{refresh.family}"), auth_key(f"revoked:user:{refresh.subject}")]
            ),
        ),
    )
    return family is not None or _user_revoked(user, refresh.issued_at)


def rotate_refresh(old: Claims, new: Claims) -> bool:
    """Atomically retire ``old`` and make ``new`` the family's usable refresh token.

    False when ``old`` is not the usable one (already used): the caller treats it as reuse.
    Fails closed (``StoreUnavailable``).
    """
    ttl = max(1, new.expires_at - int(time.time()) + LEEWAY_SECONDS)
    family = call(
        "rotate-refresh",
        lambda r: r.eval(
            _ROTATE, 2, auth_key(f"refresh:{old.token_id}"), auth_key(f"refresh:{new.token_id}"), str(ttl)
        ),
    )
    return family is not None
