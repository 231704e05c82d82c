"""Auth test helpers: users with real argon2id hashes, tokens crafted with PyJWT, Redis clean-up."""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from typing import Any

import jwt
import pytest
from sqlalchemy import text

from pulse.auth import passwords

# The test session's signing key and the configured issuer and audience (conftest / Settings).
SECRET = os.environ["JWT_SECRET_KEY"]
ISSUER = "pulse"
AUDIENCE = "pulse-api"
PASSWORD = "correct horse battery staple"


# What pulse.auth.passwords uses outside tests, kept before ``cheap_argon2`` replaces it.
PRODUCTION_HASHER = passwords.hasher
PRODUCTION_DUMMY_HASH = passwords.DUMMY_HASH


@cache
def cheap_hasher() -> Any:
    """argon2id with tiny costs: the production costs (test_passwords) make each login ~0.2 s."""
    from argon2 import PasswordHasher

    return PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)


@cache
def password_hash() -> str:
    """One real argon2id hash of PASSWORD (cheap parameters), shared by the test users."""
    return cheap_hasher().hash(PASSWORD)


@pytest.fixture(autouse=True)
def cheap_argon2(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests hash and verify with ``cheap_hasher``; the dummy hash follows, as it must in production."""
    monkeypatch.setattr(passwords, "hasher", cheap_hasher())
    monkeypatch.setattr(passwords, "DUMMY_HASH", cheap_hasher().hash("a forgotten random password"))


@dataclass
class User:
    id: int
    email: str
    role: str
    teams: tuple[str, ...]


def add_teams(*teams: tuple[str, str | None]) -> None:
    """Insert ``(key, parent key)`` teams in order."""
    from pulse.db import transaction

    with transaction() as connection:
        for key, parent in teams:
            connection.execute(
                text(
                    "INSERT INTO teams (key, name, parent_id) "
                    "VALUES (:key, :key, (SELECT id FROM teams WHERE key = :parent))"
                ),
                {"key": key, "parent": parent},
            )


def add_user(email: str, role: str, teams: tuple[str, ...] = ()) -> User:
    """A stored user whose password is PASSWORD."""
    from pulse.db import transaction

    with transaction() as connection:
        user_id = connection.execute(
            text("INSERT INTO users (email, password_hash, role) VALUES (:e, :h, :r) RETURNING id"),
            {"e": email, "h": password_hash(), "r": role},
        ).scalar_one()
        for key in teams:
            connection.execute(
                text("INSERT INTO user_teams (user_id, team_id) SELECT :u, id FROM teams WHERE key = :k"),
                {"u": user_id, "k": key},
            )
    return User(user_id, email, role, teams)


def craft(
    claims: dict[str, Any] | None = None, *, drop: tuple[str, ...] = (), key: str = SECRET, **headers: Any
) -> str:
    """A token built here with PyJWT (not by the code under test): valid access claims, overridable."""
    now = time.time()
    payload: dict[str, Any] = {
        "sub": "1",
        "role": "admin",
        "teams": [],
        "iat": now,
        "nbf": now,
        "exp": now + 600,
        "iss": ISSUER,
        "aud": AUDIENCE,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        "fam": uuid.uuid4().hex,
    }
    payload.update(claims or {})
    for name in drop:
        payload.pop(name)
    return jwt.encode(payload, key, algorithm=headers.pop("alg", "HS256"), headers=headers or None)


def bearer(token: str) -> dict[str, str]:
    return {"authorization": f"Bearer {token}"}


def login(gateway: Any, email: str, password: str = PASSWORD, source_ip: str = "10.0.0.1") -> Any:
    return gateway.request(
        "POST", "/api/v1/auth/login", json_body={"email": email, "password": password}, source_ip=source_ip
    )


def tokens_of(gateway: Any, user: User) -> dict[str, Any]:
    response = login(gateway, user.email)
    assert response.status == 200, response.text
    return response.json()


def assert_envelope(response: Any, status: int, code: str) -> None:
    assert response.status == status, response.text
    error = response.json()["error"]
    assert error["code"] == code, error
    assert error["message"]
    assert "request_id" in error


@pytest.fixture(autouse=True)
def clean_auth_keys() -> Iterator[None]:
    """Revocations and login counters must not leak from one test into the next."""
    yield
    import redis

    from pulse.cache import key
    from pulse.config import get_settings

    client = redis.Redis.from_url(get_settings().REDIS_URL)  # not pulse.cache's: a test may kill that
    names = list(client.scan_iter(match=key("auth:*"), count=1000))
    if names:
        client.delete(*names)


def dead_client() -> Any:
    """A client configured like ``pulse.cache.get_redis`` for a Redis that refuses connections."""
    import redis

    return redis.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_timeout=0.1, socket_connect_timeout=0.1, retry_on_timeout=False
    )


@pytest.fixture
def dead_redis(monkeypatch: pytest.MonkeyPatch) -> None:
    """Redis unreachable (port 1 refuses at once) for everything that asks pulse.cache for it."""
    from pulse import cache

    monkeypatch.setattr(cache, "get_redis", lambda: dead_client())
