"""The database engine: SQLAlchemy 2 on pg8000, one per container.

Pool settings for Lambda behind RDS Proxy:
- ``pool_size=DB_POOL_SIZE`` (1 in Lambda), ``max_overflow=0``: a Lambda container serves one
  request at a time, so one connection is all it can use; RDS Proxy multiplexes the many
  containers onto few database connections, so holding more would only pin proxy capacity.
  ``pulse serve`` raises the pool size because it runs handlers on several threads.
- ``pool_pre_ping=True``: a frozen container wakes up with a connection the proxy may have closed
  (its idle client timeout); the ping replaces it instead of failing the request.
- ``pool_recycle=300``: reconnect before the proxy's idle timeout and before an IAM token's
  15-minute lifetime matters (tokens are only checked at connect time).
- ``DB_SOCKET_TIMEOUT_SECONDS`` (25 s): pg8000's socket timeout bounds every read, so it is
  a per-statement limit kept under Lambda's 29 s; the ``pulse`` CLI lifts it for bulk work.
- With ``DB_IAM_AUTH`` a fresh ``generate_db_auth_token`` is injected at each connect, over TLS
  (RDS Proxy requires TLS for IAM authentication).
"""

from __future__ import annotations

import ssl
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from typing import Any

from pg8000 import legacy as pg8000_legacy
from sqlalchemy import Connection, Engine, create_engine, event

from pulse.config import Settings, get_settings


@lru_cache(maxsize=1024)
def _numbered(query: str) -> str:
    return str(_convert_paramstyle("format", query, ())[0])


def _convert_format_paramstyle(style: str, query: str, args: Any) -> tuple[str, Any]:
    """pg8000's rewrite of ``%s`` placeholders as ``$n``, done once per statement text.

    pg8000 rescans every parameterized statement character by character in Python (measured:
    about 2 ms per 5 KB statement, most of a one-PR stage refresh); for SQLAlchemy's ``format``
    style the result depends on the text alone, and the statements are a fixed set of texts.
    """
    if style != "format":
        return _convert_paramstyle(style, query, args)
    return _numbered(query), args


_convert_paramstyle = pg8000_legacy.convert_paramstyle
pg8000_legacy.convert_paramstyle = _convert_format_paramstyle


def build_engine(settings: Settings) -> Engine:
    """Create an engine with the pool and authentication settings described above."""
    connect_args: dict[str, Any] = {"timeout": settings.DB_SOCKET_TIMEOUT_SECONDS or None}
    if settings.DB_IAM_AUTH:
        connect_args["ssl_context"] = ssl.create_default_context()
    elif "unix_sock=" in settings.database_url:
        # pg8000 would otherwise offer TLS (loading the CA bundle, ~30 ms) over a local socket.
        connect_args["ssl_context"] = False
    engine = create_engine(
        settings.database_url,
        pool_size=settings.DB_POOL_SIZE,
        max_overflow=0,
        pool_pre_ping=True,
        pool_recycle=300,
        connect_args=connect_args,
    )
    if settings.DB_IAM_AUTH:
        _inject_iam_token(engine, settings)
    return engine


def _inject_iam_token(engine: Engine, settings: Settings) -> None:
    from pulse.observability import aws_client

    rds = aws_client("rds", region_name=settings.AWS_REGION)

    @event.listens_for(engine, "do_connect")
    def _provide_token(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        cparams["password"] = rds.generate_db_auth_token(
            DBHostname=cparams.get("host", settings.POSTGRES_HOST),
            Port=int(cparams.get("port", settings.POSTGRES_PORT)),
            DBUsername=cparams.get("user", settings.POSTGRES_USER),
            Region=settings.AWS_REGION,
        )


@lru_cache(maxsize=1)
def get_engine() -> Engine:
    """The engine of this container, created on first use."""
    return build_engine(get_settings())


@contextmanager
def connect() -> Iterator[Connection]:
    """A connection for reading; rolled back on exit."""
    with get_engine().connect() as connection:
        yield connection


@contextmanager
def transaction() -> Iterator[Connection]:
    """A connection inside a transaction; committed on success, rolled back on error."""
    with get_engine().begin() as connection:
        yield connection


def ping() -> float | None:
    """Round-trip time of ``SELECT 1`` in milliseconds, or None when the database is unreachable."""
    import time

    from sqlalchemy import text
    from sqlalchemy.exc import SQLAlchemyError

    started = time.perf_counter()
    try:
        with connect() as connection:
            connection.execute(text("SELECT 1"))
    except (SQLAlchemyError, OSError):
        return None
    return (time.perf_counter() - started) * 1000
