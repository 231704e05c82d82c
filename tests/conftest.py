"""Test setup: real PostgreSQL and Redis, each test session in its own database and key prefix.

``DATABASE_URL`` / ``REDIS_URL`` name the servers when set (CI sets them); otherwise embedded ones
are started under ``.pulse/``. Either way the session creates a fresh database and a unique Redis
key prefix, so parallel runs never see each other's data.
"""

from __future__ import annotations

import contextlib
import json
import os
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
SESSION = uuid.uuid4().hex[:10]

os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Pulse")
os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
os.environ.setdefault("POWERTOOLS_DEV", "false")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_REGION", "us-east-1")
for _name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SECURITY_TOKEN", "AWS_SESSION_TOKEN"):
    os.environ[_name] = "testing"
os.environ["REDIS_KEY_PREFIX"] = f"pulse-test-{SESSION}"
os.environ["JWT_SECRET_KEY"] = "test-secret-key-that-is-long-enough-0123456789"
os.environ["GITHUB_WEBHOOK_SECRET"] = "test-webhook-secret"
os.environ["DB_POOL_SIZE"] = "4"


def _prepare_database() -> tuple[str, str]:
    """Create this session's database on the configured (or embedded) server; return its URL."""
    from sqlalchemy.engine import make_url

    from pulse.config import normalize_database_url
    from pulse.local.services import create_database, ensure_services

    ensure_services()
    server_url = make_url(normalize_database_url(os.environ["DATABASE_URL"]))
    name = f"pulse_test_{SESSION}"
    admin = server_url.set(database="postgres").render_as_string(hide_password=False)
    create_database(admin, name)
    return admin, server_url.set(database=name).render_as_string(hide_password=False)


ADMIN_URL, TEST_URL = _prepare_database()
os.environ["DATABASE_URL"] = TEST_URL

from pulse import migrate  # noqa: E402

migrate.upgrade(TEST_URL)


@contextlib.contextmanager
def new_session() -> Iterator[Any]:
    """A connection on a session of its own (not the pool's), as a fresh Lambda container has."""
    from sqlalchemy import create_engine
    from sqlalchemy.pool import NullPool

    engine = create_engine(TEST_URL, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            yield connection
    finally:
        engine.dispose()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    from sqlalchemy import create_engine, text

    from pulse.cache import get_redis
    from pulse.db import get_engine

    get_engine().dispose()
    engine = create_engine(ADMIN_URL, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "pulse_test_{SESSION}" WITH (FORCE)'))
    engine.dispose()
    try:
        client = get_redis()
        for key in client.scan_iter(match=f"pulse-test-{SESSION}:*", count=1000):
            client.delete(key)
    except Exception:
        pass


DATA_TABLES: list[str] = []


def _data_tables() -> list[str]:
    if not DATA_TABLES:
        from pulse.models import Base

        DATA_TABLES.extend(table.name for table in Base.metadata.sorted_tables if table.name != "data_state")
    return DATA_TABLES


@pytest.fixture(autouse=True)
def clean_state() -> Iterator[None]:
    """Every test starts with empty tables, data version 0, no cached answers and a closed breaker."""
    from sqlalchemy import text

    from pulse.cache import breaker, get_redis
    from pulse.db import transaction

    yield
    breaker.reset()
    # Versions restart at 0, so answers cached under them by this test must not outlive it.
    client = get_redis()
    stale = list(client.scan_iter(match=f"pulse-test-{SESSION}:*", count=1000))
    if stale:
        client.delete(*stale)
    with transaction() as connection:
        tables = ", ".join(f'"{name}"' for name in _data_tables())
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
        connection.execute(text("UPDATE data_state SET version = 0, updated_at = NULL"))


@pytest.fixture(scope="session")
def gateway() -> Any:
    """The local API Gateway over template.yaml: ``gateway.request(method, path, ...)``."""
    from pulse.local.gateway import Gateway

    return Gateway(ROOT / "template.yaml")


def load_event(name: str) -> dict[str, Any]:
    """An event from events/ by file name (without .json)."""
    return json.loads((ROOT / "events" / f"{name}.json").read_text())


@pytest.fixture
def lambda_context() -> Any:
    from pulse.local.events import LambdaContext

    return LambdaContext(function_name="test")


def mint_token(role: str = "admin", teams: tuple[str, ...] = (), subject: str = "1", **overrides: Any) -> str:
    """An access token with the claims the auth issue fixes, signed with the test key."""
    import datetime as dt

    import jwt

    from pulse.config import get_settings

    settings = get_settings()
    now = dt.datetime.now(dt.UTC)
    claims: dict[str, Any] = {
        "sub": subject,
        "role": role,
        "teams": list(teams),
        "iat": now,
        "nbf": now - dt.timedelta(seconds=1),
        "exp": now + dt.timedelta(minutes=15),
        "iss": settings.JWT_ISSUER,
        "aud": settings.JWT_AUDIENCE,
        "jti": uuid.uuid4().hex,
        "typ": "access",
        **overrides,
    }
    return jwt.encode(claims, settings.JWT_SECRET_KEY, algorithm="HS256")


@pytest.fixture
def auth_headers() -> Any:
    """``auth_headers(role="admin", teams=())`` → headers with a bearer token for that caller."""

    def make(role: str = "admin", teams: tuple[str, ...] | list[str] = (), **claims: Any) -> dict[str, str]:
        return {"authorization": f"Bearer {mint_token(role, tuple(teams), **claims)}"}

    return make
