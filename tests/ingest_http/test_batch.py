"""POST /api/v1/ingest/batch through the gateway, the authorizer and the real handler."""

from __future__ import annotations

import gzip
import json

from pulse import dataversion, db
from pulse.local.events import http_event
from tests.ingest_http.conftest import key_headers, rows

BATCH = "/api/v1/ingest/batch"
NDJSON = {"content-type": "application/x-ndjson"}
RECORDS = [
    {"type": "team", "key": "payments", "name": "Payments"},
    {"type": "repository", "key": "acme/checkout", "team": "payments"},
    {"type": "commit", "repository": "acme/checkout", "sha": "a1", "authored_at": "2026-03-02T09:00:00Z"},
    {
        "type": "deployment",
        "id": "d-100",
        "repository": "acme/checkout",
        "environment": "production",
        "status": "success",
        "finished_at": "2026-03-03T08:00:00Z",
        "commits": ["a1"],
    },
]


def ndjson(*records: dict) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def version() -> int:
    with db.connect() as connection:
        return dataversion.current(connection).version


def test_a_batch_is_upserted_and_bumps_the_data_version(gateway):
    response = gateway.request(
        "POST", BATCH, headers={**key_headers("ingest"), **NDJSON}, body=ndjson(*RECORDS)
    )

    assert response.status == 200, response.text
    body = response.json()
    assert body["accepted"] == 4
    assert body["by_type"] == {"commit": 1, "deployment": 1, "repository": 1, "team": 1}
    assert body["changed"] is True
    assert body["data_version"] == 1 and body["data_updated_at"]
    assert rows("SELECT external_id, environment FROM deployments") == [
        {"external_id": "d-100", "environment": "production"}
    ]


def test_the_same_batch_again_changes_nothing_and_keeps_the_version(gateway):
    headers = {**key_headers("ingest"), **NDJSON}
    gateway.request("POST", BATCH, headers=headers, body=ndjson(*RECORDS))

    again = gateway.request("POST", BATCH, headers=headers, body=ndjson(*RECORDS))

    assert again.status == 200
    assert again.json()["changed"] is False
    assert again.json()["data_version"] == 1
    assert version() == 1


def test_one_bad_line_writes_nothing_and_every_bad_line_is_listed(gateway):
    body = (
        ndjson(*RECORDS[:2])
        + b"not json\n"
        + ndjson(
            {
                "type": "commit",
                "repository": "acme/checkout",
                "sha": "b2",
                "authored_at": "2026-03-02T09:00:00",
            }
        )
    )

    response = gateway.request("POST", BATCH, headers={**key_headers("ingest"), **NDJSON}, body=body)

    assert response.status == 422
    error = response.json()["error"]
    assert error["code"] == "validation_error"
    assert [line.split(":")[0] for line in error["details"]] == ["line 3", "line 4"]
    assert "no UTC offset" in error["details"][1]
    assert rows("SELECT key FROM teams") == []
    assert version() == 0


def binary_request(gateway, path: str, headers: dict[str, str], body: bytes) -> tuple[int, dict]:
    """A request whose body is not UTF-8, base64-encoded in the event as API Gateway must do.

    The local gateway picks base64 by content type alone, and NDJSON is a text type.
    """
    route, _ = gateway.match("POST", path)
    event = http_event(
        "POST", path, route_key=route.route_key, headers=[("content-type", "application/gzip")], body=body
    )
    event["headers"].update(headers)
    event["requestContext"]["authorizer"] = {"lambda": gateway.authorize(route, event)}
    result = gateway.invoke(route.function, event)
    return result["statusCode"], json.loads(result["body"])


def test_a_gzip_batch_is_inflated(gateway):
    headers = {**key_headers("ingest"), **NDJSON, "content-encoding": "gzip"}

    status, body = binary_request(gateway, BATCH, headers, gzip.compress(ndjson(*RECORDS)))

    assert status == 200, body
    assert body["accepted"] == 4


def test_a_batch_over_5_mib_is_413_pointing_at_uploads(gateway):
    line = json.dumps(RECORDS[2]).encode() + b"\n"
    body = line * (5 * 1024 * 1024 // len(line) + 1)

    response = gateway.request("POST", BATCH, headers={**key_headers("ingest"), **NDJSON}, body=body)

    assert response.status == 413
    error = response.json()["error"]
    assert error["code"] == "payload_too_large"
    assert "/api/v1/ingest/uploads" in error["message"]
    assert error["details"]["limit_bytes"] == 5 * 1024 * 1024
    assert error["details"]["upload_route"] == "/api/v1/ingest/uploads"
    assert rows("SELECT sha FROM commits") == []


def test_a_batch_that_is_not_ndjson_is_415(gateway):
    response = gateway.request("POST", BATCH, headers=key_headers("ingest"), json_body=RECORDS[0])

    assert response.status == 415
    assert response.json()["error"]["code"] == "unsupported_media_type"


def test_a_broken_gzip_body_is_400(gateway):
    headers = {**key_headers("ingest"), **NDJSON, "content-encoding": "gzip"}

    status, body = binary_request(gateway, BATCH, headers, b"\x1f\x8b not really gzip")

    assert status == 400
    assert body["error"]["code"] == "bad_request"


def test_an_api_key_without_the_ingest_scope_is_403(gateway):
    response = gateway.request("POST", BATCH, headers={**key_headers("etl"), **NDJSON}, body=ndjson(*RECORDS))

    assert response.status == 403
    assert "'ingest' scope" in response.json()["error"]["message"]
    assert rows("SELECT key FROM teams") == []


def test_admins_may_ingest_other_users_may_not(gateway, auth_headers):
    admin = gateway.request("POST", BATCH, headers={**auth_headers("admin"), **NDJSON}, body=ndjson(*RECORDS))
    manager = gateway.request(
        "POST", BATCH, headers={**auth_headers("manager"), **NDJSON}, body=ndjson(*RECORDS)
    )

    assert admin.status == 200
    assert manager.status == 403


def test_without_a_credential_the_batch_is_401(gateway):
    response = gateway.request(
        "POST", BATCH, headers={**NDJSON, "authorization": "Bearer nonsense"}, body=b"{}"
    )

    assert response.status == 401
    assert response.json()["error"]["code"]
