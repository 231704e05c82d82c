"""Cache-aside with versioned keys; Redis down or slow never fails a request."""

from __future__ import annotations

import hashlib
import json
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest

from pulse import cache
from pulse.config import get_settings
from pulse.handler import RouteGroup, create_app, make_handler
from pulse.local.events import LambdaContext, http_event
from pulse.observability import metrics


@pytest.fixture(autouse=True)
def fresh_clients() -> Iterator[None]:
    """Settings and the Redis client are rebuilt from the environment a test sets, and after it."""
    cache.get_redis.cache_clear()
    get_settings.cache_clear()
    metrics.clear_metrics()
    yield
    cache.get_redis.cache_clear()
    get_settings.cache_clear()
    metrics.clear_metrics()


@pytest.fixture
def silent_redis() -> Iterator[str]:
    """A TCP server that accepts connections and never answers: a Redis too slow to wait for."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    yield f"redis://127.0.0.1:{server.getsockname()[1]}/0"
    server.close()


class Counter:
    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, value: Any) -> Any:
        self.calls += 1
        return value


def cache_errors() -> int:
    return len(metrics.metric_set.get("CacheErrors", {}).get("Value", []))


def test_answers_are_cached_under_the_data_version():
    computed = Counter()

    first = cache.get_or_compute("sample", {"b": 2, "a": 1}, 3, lambda: computed({"n": 1}))
    again = cache.get_or_compute("sample", {"a": 1, "b": 2}, 3, lambda: computed({"n": 2}))
    next_version = cache.get_or_compute("sample", {"a": 1, "b": 2}, 4, lambda: computed({"n": 3}))

    assert first == ({"n": 1}, False)
    assert again == ({"n": 1}, True)  # same parameters in another order: the same key
    assert next_version == ({"n": 3}, False)
    assert computed.calls == 2


def test_key_is_prefix_namespace_version_and_parameter_digest():
    prefix = get_settings().REDIS_KEY_PREFIX
    digest = hashlib.sha256(b'{"a":1,"team":"core"}').hexdigest()[:32]

    cache.get_or_compute("dora", {"team": "core", "a": 1}, 7, lambda: [1, 2])

    key = f"{prefix}:dora:v7:{digest}"
    assert cache.get_redis().get(key) == "[1,2]"
    assert 0 < cache.get_redis().ttl(key) <= get_settings().CACHE_TTL_SECONDS


def test_redis_down_computes_uncached_counts_the_error_and_trips_the_breaker(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")  # nothing listens on port 1
    clients = Counter()
    real_get_redis = cache.get_redis
    monkeypatch.setattr(cache, "get_redis", lambda: clients(real_get_redis()))

    started = time.perf_counter()
    first = cache.get_or_compute("sample", {}, 1, lambda: "fresh")
    second = cache.get_or_compute("sample", {}, 1, lambda: "fresh again")
    elapsed = time.perf_counter() - started

    assert elapsed < 1.0  # one refused connect, no retries with backoff
    assert first == ("fresh", False)
    assert second == ("fresh again", False)
    assert cache_errors() == 1
    assert clients.calls == 1  # the open breaker kept the second request away from Redis


def test_the_breaker_lets_redis_be_tried_again_after_its_pause(monkeypatch):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    monkeypatch.setattr(cache, "BREAKER_SECONDS", 0.05)

    cache.get_or_compute("sample", {}, 1, lambda: 1)
    time.sleep(0.06)
    cache.get_or_compute("sample", {}, 1, lambda: 1)

    assert cache_errors() == 2


def test_slow_redis_times_out_quickly_and_the_answer_is_computed(monkeypatch, silent_redis):
    monkeypatch.setenv("REDIS_URL", silent_redis)
    started = time.perf_counter()

    value = cache.get_or_compute("sample", {}, 1, lambda: "computed")

    elapsed = time.perf_counter() - started
    assert value == ("computed", False)
    assert get_settings().REDIS_TIMEOUT_SECONDS == 0.1
    assert elapsed < 1.0  # one 0.1 s timeout, then the breaker skips the write
    assert cache_errors() == 1


cached_app = create_app(title="Cached")
router = RouteGroup(cached_app)


@router.get("/cached")
def cached() -> dict[str, Any]:
    value, hit = cache.get_or_compute("route", {"q": 1}, 1, lambda: {"answer": 42})
    return {"value": value, "cached": hit}


def test_a_request_succeeds_with_redis_down_and_the_metric_is_published(monkeypatch, capsys):
    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:1/0")
    handler = make_handler(cached_app)

    result = handler(http_event("GET", "/cached"), LambdaContext())

    assert result["statusCode"] == 200
    assert json.loads(result["body"]) == {"value": {"answer": 42}, "cached": False}
    published = [json.loads(line) for line in capsys.readouterr().out.splitlines() if '"_aws"' in line]
    assert [line.get("CacheErrors") for line in published if "CacheErrors" in line] == [[1.0]]
