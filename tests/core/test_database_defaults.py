"""What the migrations set on Pulse's database itself (migration 0007)."""

from __future__ import annotations

from sqlalchemy import create_engine
from sqlalchemy.pool import NullPool

from tests.conftest import TEST_URL


def test_new_sessions_run_without_jit():
    # The server's default is on (where it has JIT, it would compile the analytics queries).
    engine = create_engine(TEST_URL, poolclass=NullPool)
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("SHOW jit").scalar_one() == "off"
    finally:
        engine.dispose()
