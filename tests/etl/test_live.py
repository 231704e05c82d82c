"""Live progress in AWS mode: the WebSocket function, Redis registry, Management API (moto)."""

from __future__ import annotations

import json
import time
from urllib.parse import quote

import pytest
from moto import mock_aws

from tests.conftest import load_event
from tests.etl.conftest import etl_key_headers, headers, save_settings

ENDPOINT = "https://wsapi1234.execute-api.us-east-1.amazonaws.com/dev"
JOBS = "/api/v1/etl/jobs"


@pytest.fixture
def management_api(configure):
    """The API Gateway Management API of a WebSocket stage, mocked by moto; yields what it received."""
    from moto.apigatewaymanagementapi.models import apigatewaymanagementapi_backends

    from pulse.etl import live

    with mock_aws():
        live._management_api.cache_clear()
        configure(WEBSOCKET_ENDPOINT=ENDPOINT)
        backend = apigatewaymanagementapi_backends["123456789012"]["us-east-1"]

        def messages(connection_id: str) -> list[dict]:
            stored = quote(connection_id, safe="")  # moto keeps the id as it appears in the URL
            data = backend.connections[stored].data.decode() if stored in backend.connections else ""
            decoder, found, index = json.JSONDecoder(), [], 0
            while index < len(data):
                value, index = decoder.raw_decode(data, index)
                found.append(value)
            return found

        yield messages
        live._management_api.cache_clear()


def ws_event(route_key: str, connection_id: str, *, body=None, token=None) -> dict:
    from pulse.local.websocket import websocket_event

    event_type = {"$connect": "CONNECT", "$disconnect": "DISCONNECT"}.get(route_key, "MESSAGE")
    query = [("token", token)] if token else None
    return websocket_event(
        route_key=route_key,
        event_type=event_type,
        connection_id=connection_id,
        connected_at=int(time.time() * 1000),
        body=json.dumps(body) if body is not None else None,
        query=query,
    )


def token(role: str = "member") -> str:
    return headers(role)["authorization"].removeprefix("Bearer ")


def connect(gateway, connection_id: str, role: str = "member") -> dict:
    return gateway.invoke("WsFunction", ws_event("$connect", connection_id, token=token(role)))


@pytest.fixture
def job(gateway, etl_service):
    save_settings(repositories=["acme/checkout"])
    return gateway.request("POST", JOBS, headers=headers(), json_body={"type": "incremental"}).json()


def test_connect_needs_a_valid_access_token(gateway, management_api):
    from pulse.etl import live

    assert connect(gateway, "conn-ok") == {"statusCode": 200}
    assert live.is_connected("conn-ok")
    for bad in (None, "garbage", token().replace(".", "x", 1)):
        refused = gateway.invoke("WsFunction", ws_event("$connect", "conn-bad", token=bad))
        assert refused["statusCode"] == 401
        assert json.loads(refused["body"])["error"]["code"] in ("missing_token", "invalid_token")
    assert not live.is_connected("conn-bad")


def test_subscribers_see_their_job_move_and_data_updated_notices(gateway, management_api, job):
    connect(gateway, "watcher")
    connect(gateway, "bystander")
    gateway.invoke(
        "WsFunction",
        ws_event("subscribe", "watcher", body={"action": "subscribe", "jobs": [job["id"]], "data": True}),
    )

    key = etl_key_headers()
    for body in (
        {"status": "running", "progress": 0.5},
        {"status": "running", "progress": 0.2},
        {"status": "succeeded"},
    ):
        gateway.request("POST", f"{JOBS}/{job['id']}/events", headers=key, json_body=body)

    received = management_api("watcher")
    assert received[0] == {"type": "subscribed", "jobs": [job["id"]], "data": True, "unknown_jobs": []}
    # the snapshot at subscribe time, then one message per applied change (the late 0.2 is not one)
    assert [
        (m["type"], m.get("job", {}).get("status"), m.get("job", {}).get("progress")) for m in received[1:]
    ] == [
        ("job", "dispatched", 0.0),
        ("job", "running", 0.5),
        ("job", "succeeded", 1.0),
        ("data_updated", None, None),
    ]
    assert received[-1]["data_version"] == 1 and received[-1]["job_id"] == job["id"]
    assert management_api("bystander") == []


def test_unknown_jobs_are_reported_and_unsubscribe_stops_pushes(gateway, management_api, job):
    connect(gateway, "c1")
    missing = "00000000-0000-0000-0000-000000000000"
    gateway.invoke(
        "WsFunction", ws_event("subscribe", "c1", body={"action": "subscribe", "jobs": [job["id"], missing]})
    )
    gateway.invoke(
        "WsFunction", ws_event("unsubscribe", "c1", body={"action": "unsubscribe", "jobs": [job["id"]]})
    )
    gateway.request("POST", f"{JOBS}/{job['id']}/cancel", headers=headers())

    received = management_api("c1")
    assert received[0]["unknown_jobs"] == [missing]
    assert [message["type"] for message in received] == ["subscribed", "job", "unsubscribed"]


def test_disconnect_forgets_the_connection_and_its_subscriptions(gateway, management_api, job):
    from pulse.etl import live

    connect(gateway, "c2")
    gateway.invoke(
        "WsFunction", ws_event("subscribe", "c2", body={"action": "subscribe", "jobs": [job["id"]]})
    )
    assert gateway.invoke("WsFunction", ws_event("$disconnect", "c2")) == {"statusCode": 200}

    assert not live.is_connected("c2")
    assert live.publish_job({**job, "status": "running"}) == 0


def test_bad_messages_and_unknown_actions_get_an_error_back(gateway, management_api):
    connect(gateway, "c3")
    gateway.invoke("WsFunction", ws_event("subscribe", "c3", body={"action": "subscribe", "jobs": "all"}))
    gateway.invoke("WsFunction", ws_event("$default", "c3", body={"action": "dance"}))

    first, second = management_api("c3")
    assert first["type"] == "error" and first["code"] == "bad_message"
    assert "jobs" in first["message"]
    assert second == {
        "type": "error",
        "code": "unknown_action",
        "message": "Use the action 'subscribe' or 'unsubscribe'.",
    }


def test_a_gone_connection_is_forgotten_when_a_push_finds_it_gone(gateway, job):
    from pulse.etl import live

    class GoneAfterConnect:
        def post(self, connection_id: str, data: bytes) -> bool:
            return False  # what the Management API's 410 GoneException means

    connect(gateway, "c4")
    live.subscribe(connection_id="c4", topics=[live.job_topic(job["id"])])
    live.use_local_poster(GoneAfterConnect())
    try:
        assert live.publish_job(job) == 0
    finally:
        live.use_local_poster(None)
    assert not live.is_connected("c4")


def test_connect_is_503_when_redis_is_down(gateway, monkeypatch):
    import redis
    from redis.backoff import NoBackoff
    from redis.retry import Retry

    from pulse import cache

    dead = redis.Redis(
        host="127.0.0.1", port=1, socket_connect_timeout=0.1, socket_timeout=0.1, retry=Retry(NoBackoff(), 0)
    )
    monkeypatch.setattr(cache, "get_redis", lambda: dead)
    # the token's revocation check fails open (auth's choice); recording the connection cannot
    result = connect(gateway, "c5")

    assert result["statusCode"] == 503
    assert json.loads(result["body"])["error"]["code"] == "live_unavailable"


def test_the_event_files_run_through_the_handler(gateway, management_api):
    connect_event = load_event("ws_connect")
    connect_event["queryStringParameters"]["token"] = token()

    assert gateway.invoke("WsFunction", connect_event) == {"statusCode": 200}
    assert gateway.invoke("WsFunction", load_event("ws")) == {"statusCode": 200}
    assert gateway.invoke("WsFunction", load_event("ws_disconnect")) == {"statusCode": 200}
    connection_id = connect_event["requestContext"]["connectionId"]
    assert management_api(connection_id)[0]["type"] == "subscribed"
