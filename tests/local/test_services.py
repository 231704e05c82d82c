"""Embedded PostgreSQL and Redis: a second start reuses the running servers, fast."""

from __future__ import annotations

import os
import time
from urllib.parse import unquote

import pytest

from pulse.local import services


def _embedded(url_variable: str) -> bool:
    return str(services.state_dir()) in unquote(os.environ.get(url_variable, ""))


@pytest.mark.skipif(not _embedded("DATABASE_URL"), reason="PostgreSQL is configured, not embedded")
def test_postgres_is_reused_on_the_next_start():
    first = services.start_postgres()
    started = time.perf_counter()
    second = services.start_postgres()
    elapsed = time.perf_counter() - started

    assert second == first
    assert elapsed < 1.0


@pytest.mark.skipif(not _embedded("REDIS_URL"), reason="Redis is configured, not embedded")
def test_redis_is_reused_on_the_next_start():
    first = services.start_redis()
    pid = (services.state_dir() / "redis" / "redis.pid").read_text()
    started = time.perf_counter()
    second = services.start_redis()
    elapsed = time.perf_counter() - started

    assert second == first
    assert (services.state_dir() / "redis" / "redis.pid").read_text() == pid
    assert elapsed < 1.0


def test_configured_urls_are_left_alone(monkeypatch):
    monkeypatch.setenv("DATABASE_URL", "postgresql+pg8000://u@db.example/x")
    monkeypatch.setenv("REDIS_URL", "redis://cache.example:6379/0")

    assert services.ensure_services() == {}
    assert os.environ["DATABASE_URL"] == "postgresql+pg8000://u@db.example/x"
