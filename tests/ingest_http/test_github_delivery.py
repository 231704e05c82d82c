"""POST /api/v1/webhooks/github: signature, delivery idempotency, payload forms."""

from __future__ import annotations

import json
from urllib.parse import urlencode

from sqlalchemy import text

from pulse import dataversion, db
from pulse.ingest.webhooks import sign, signature_valid
from tests.ingest_http.conftest import GITHUB, fixture, rows, signed_headers

REVIEW = fixture("pull_request_review", "submitted.payload.json")


def version() -> int:
    with db.connect() as connection:
        return dataversion.current(connection).version


def test_the_signature_is_the_hmac_sha256_of_the_raw_body():
    # echo -n 'Hello, World!' | openssl dgst -sha256 -hmac "It's a Secret to Everybody" (GitHub's docs)
    expected = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17"

    assert sign("It's a Secret to Everybody", b"Hello, World!") == expected
    assert signature_valid(secret="It's a Secret to Everybody", body=b"Hello, World!", signature=expected)
    assert not signature_valid(secret="It's a Secret to Everybody", body=b"Hello, World?", signature=expected)
    assert not signature_valid(secret="", body=b"Hello, World!", signature=sign("", b"Hello, World!"))
    assert not signature_valid(secret="s", body=b"x", signature="sha256=é")


def test_an_unsigned_delivery_is_401_and_writes_nothing(gateway):
    body = json.dumps(REVIEW).encode()
    headers = signed_headers(body, "pull_request_review")
    del headers["x-hub-signature-256"]

    response = gateway.request("POST", GITHUB, headers=headers, body=body)

    assert response.status == 401
    assert response.json()["error"]["code"] == "invalid_signature"
    assert rows("SELECT id FROM reviews") == []
    assert rows("SELECT delivery_id FROM webhook_deliveries") == []


def test_a_badly_signed_delivery_is_401(gateway):
    body = json.dumps(REVIEW).encode()
    wrong_secret = signed_headers(body, "pull_request_review", secret="not-the-secret")
    other_body = {
        **signed_headers(body, "pull_request_review"),
        "x-hub-signature-256": sign("test-webhook-secret", b"{}"),
    }

    assert gateway.request("POST", GITHUB, headers=wrong_secret, body=body).status == 401
    assert gateway.request("POST", GITHUB, headers=other_body, body=body).status == 401
    assert rows("SELECT id FROM reviews") == []


def test_a_redelivery_changes_nothing(deliver):
    first = deliver("pull_request_review", REVIEW, delivery="d-1")
    with db.transaction() as connection:
        connection.execute(text("UPDATE reviews SET state = 'approved'"))
    again = deliver("pull_request_review", REVIEW, delivery="d-1")

    assert (first.status, first.json()["outcome"], first.json()["records"]) == (200, "applied", 1)
    assert (again.status, again.json()["outcome"], again.json()["records"]) == (200, "duplicate", 0)
    # the redelivery did not write the review again (it would have set state back to commented)
    assert rows("SELECT state FROM reviews") == [{"state": "approved"}]
    assert rows("SELECT delivery_id, event, action, outcome, records FROM webhook_deliveries") == [
        {
            "delivery_id": "d-1",
            "event": "pull_request_review",
            "action": "submitted",
            "outcome": "applied",
            "records": 1,
        }
    ]


def test_a_new_delivery_of_the_same_content_is_handled_but_changes_nothing(deliver):
    deliver("pull_request_review", REVIEW, delivery="d-1")
    before = version()

    other = deliver("pull_request_review", REVIEW, delivery="d-2")

    assert (other.status, other.json()["outcome"], other.json()["changed"]) == (200, "applied", False)
    assert version() == before == 1


def test_a_form_encoded_delivery_is_read_from_its_payload_field(gateway):
    body = urlencode({"payload": json.dumps(REVIEW)}).encode()
    headers = {
        **signed_headers(body, "pull_request_review"),
        "content-type": "application/x-www-form-urlencoded",
    }

    response = gateway.request("POST", GITHUB, headers=headers, body=body)

    assert response.status == 200, response.text
    assert rows("SELECT external_id FROM reviews") == [{"external_id": "237895671"}]


def test_a_signed_body_that_is_not_json_is_400(gateway):
    body = b"hello"

    response = gateway.request("POST", GITHUB, headers=signed_headers(body, "push"), body=body)

    assert response.status == 400
    assert response.json()["error"]["code"] == "bad_request"


def test_missing_event_or_delivery_headers_are_400(gateway):
    body = json.dumps(REVIEW).encode()
    headers = signed_headers(body, "pull_request_review")
    del headers["x-github-delivery"]

    assert gateway.request("POST", GITHUB, headers=headers, body=body).status == 400


def test_without_a_configured_secret_every_delivery_is_refused(gateway, monkeypatch):
    from pulse.config import get_settings

    monkeypatch.setattr(get_settings(), "GITHUB_WEBHOOK_SECRET", "")
    body = json.dumps(REVIEW).encode()

    response = gateway.request(
        "POST", GITHUB, headers=signed_headers(body, "pull_request_review", secret=""), body=body
    )

    assert response.status == 503
    assert response.json()["error"]["code"] == "webhook_not_configured"


def test_ping_is_200_and_other_events_are_202(deliver):
    ping = deliver("ping", fixture("ping", "payload.json"))
    release = deliver("release", fixture("release", "published.payload.json"))
    assigned = deliver("pull_request", fixture("pull_request", "assigned.payload.json"))

    assert (ping.status, ping.json()["outcome"]) == (200, "pong")
    assert (release.status, release.json()["outcome"]) == (202, "ignored")
    assert release.json()["reason"] == "event 'release' is not tracked"
    assert (assigned.status, assigned.json()["reason"]) == (
        202,
        "pull_request action 'assigned' is not tracked",
    )
    assert rows("SELECT id FROM pull_requests") == []
    assert version() == 0


def test_while_another_import_runs_a_delivery_gets_503_and_can_be_redelivered(deliver, monkeypatch):
    from pulse.ingest import http
    from pulse.ingest.loader import IMPORT_LOCK

    monkeypatch.setattr(http, "LOCK_WAIT_SECONDS", 0.2)
    with db.transaction() as running_import:
        running_import.execute(text(f"SELECT pg_advisory_xact_lock({IMPORT_LOCK})"))
        busy = deliver("pull_request_review", REVIEW, delivery="d-1")
    later = deliver("pull_request_review", REVIEW, delivery="d-1")

    assert busy.status == 503
    assert busy.json()["error"]["code"] == "ingest_busy"
    assert busy.headers["retry-after"] == "30"
    assert (later.status, later.json()["outcome"]) == (200, "applied")
