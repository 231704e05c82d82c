"""The health route: reachability of the database and Redis, through the real handler."""

from __future__ import annotations

import json

import pytest

from tests.conftest import load_event


def test_health_reports_database_and_redis(gateway):
    response = gateway.request("GET", "/api/v1/health")

    assert response.status == 200
    body = response.json()
    assert body["status"] == "ok"
    assert body["database"]["ok"] is True and body["database"]["latency_ms"] >= 0
    assert body["redis"]["ok"] is True


def test_health_event_file_through_the_handler(gateway):
    result = gateway.invoke("HealthFunction", load_event("health"))

    assert result["statusCode"] == 200
    assert json.loads(result["body"])["version"]


def test_health_is_503_with_the_envelope_when_the_database_is_down(gateway, monkeypatch):
    from pulse import db

    monkeypatch.setattr(db, "get_engine", lambda: db.build_engine(_settings_with_dead_database()))
    response = gateway.request("GET", "/api/v1/health")

    assert response.status == 503
    error = response.json()["error"]
    assert error["code"] == "database_unavailable"
    assert error["request_id"]
    assert response.json()["error"]["details"]["database"]["ok"] is False


def test_health_degrades_but_answers_when_redis_is_down(gateway, monkeypatch):
    from pulse import cache

    monkeypatch.setattr(cache, "get_redis", lambda: _dead_redis())
    response = gateway.request("GET", "/api/v1/health")

    assert response.status == 200
    assert response.json()["status"] == "degraded"
    assert response.json()["redis"] == {"ok": False, "latency_ms": None}


def _settings_with_dead_database():
    from pulse.config import get_settings

    # Port 1 on loopback refuses connections at once.
    return get_settings().model_copy(update={"DATABASE_URL": "postgresql+pg8000://postgres@127.0.0.1:1/none"})


def _dead_redis():
    import redis

    # Built like pulse.cache.get_redis (no retries), so the test takes one refused connect, not 4 s.
    return redis.Redis.from_url(
        "redis://127.0.0.1:1/0", socket_connect_timeout=0.1, socket_timeout=0.1, retry_on_timeout=False
    )


@pytest.mark.parametrize("path", ["/docs", "/redoc"])
def test_docs_pages_are_served(gateway, path):
    response = gateway.request("GET", path)

    assert response.status == 200
    assert "/openapi.json" in response.text


def test_merged_openapi_is_up_to_date_and_lists_every_route(gateway):
    from pulse.local.openapi import merged_openapi

    served = gateway.request("GET", "/openapi.json").json()

    assert served == merged_openapi(gateway.template.path)
    for route in gateway.template.routes:
        if route.function != "DocsFunction":
            assert route.path in served["paths"], route
