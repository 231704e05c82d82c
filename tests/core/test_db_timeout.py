"""pg8000's socket timeout bounds every statement: requests keep it, the CLI lifts it."""

from __future__ import annotations

import os

import pytest
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from pulse.config import get_settings
from pulse.db import build_engine


def _sleep_with_timeout(seconds: float) -> None:
    engine = build_engine(get_settings().model_copy(update={"DB_SOCKET_TIMEOUT_SECONDS": seconds}))
    try:
        with engine.connect() as connection:
            connection.execute(text("SELECT pg_sleep(0.6)"))
    finally:
        engine.dispose()


def test_a_statement_longer_than_the_socket_timeout_fails():
    with pytest.raises((SQLAlchemyError, TimeoutError)):
        _sleep_with_timeout(0.2)


def test_zero_means_no_limit():
    _sleep_with_timeout(0)


def test_the_cli_lifts_the_limit_for_bulk_commands_but_not_for_serve(monkeypatch):
    from pulse import cli

    # Set then delete, so monkeypatch restores the variable's absence afterwards.
    monkeypatch.setenv("DB_SOCKET_TIMEOUT_SECONDS", "25")
    monkeypatch.delenv("DB_SOCKET_TIMEOUT_SECONDS")
    monkeypatch.setattr("pulse.local.services.ensure_services", lambda: {})
    cli._with_services(cli.build_parser().parse_args(["serve"]))

    assert "DB_SOCKET_TIMEOUT_SECONDS" not in os.environ
    cli._with_services(cli.build_parser().parse_args(["import", "-"]))
    assert os.environ["DB_SOCKET_TIMEOUT_SECONDS"] == "0"
