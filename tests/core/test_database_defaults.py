"""What the migrations set on Pulse's database itself (migration 0007)."""

from __future__ import annotations

from tests.conftest import new_session


def test_new_sessions_run_without_jit():
    # The server's default is on (where it has JIT, it would compile the analytics queries).
    with new_session() as connection:
        assert connection.exec_driver_sql("SHOW jit").scalar_one() == "off"
