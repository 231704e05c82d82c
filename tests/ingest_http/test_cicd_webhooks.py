"""POST /api/v1/webhooks/deployments and /incidents: one record, type implied, an ingest API key."""

from __future__ import annotations

from tests.ingest_http.conftest import key_headers, rows

DEPLOYMENTS = "/api/v1/webhooks/deployments"
INCIDENTS = "/api/v1/webhooks/incidents"
DEPLOYMENT = {
    "id": "gha-4242",
    "repository": "acme/checkout",
    "environment": "production",
    "status": "success",
    "started_at": "2026-03-03T07:50:00Z",
    "finished_at": "2026-03-03T08:00:00Z",
    "sha": "9fceb02",
}


def test_a_pipeline_reports_a_deployment(gateway):
    response = gateway.request("POST", DEPLOYMENTS, headers=key_headers("ingest"), json_body=DEPLOYMENT)

    assert response.status == 200, response.text
    body = response.json()
    assert (body["type"], body["id"], body["accepted"], body["changed"]) == (
        "deployment",
        "gha-4242",
        1,
        True,
    )
    assert body["data_version"] == 1
    assert rows("SELECT external_id, status, sha, kind FROM deployments") == [
        {"external_id": "gha-4242", "status": "success", "sha": "9fceb02", "kind": "regular"}
    ]
    # the deployed commit is a placeholder until its own record arrives, and is shipped
    assert rows("SELECT c.sha FROM deployment_commits dc JOIN commits c ON c.id = dc.commit_id") == [
        {"sha": "9fceb02"}
    ]


def test_reporting_the_same_deployment_twice_counts_it_once(gateway):
    headers = key_headers("ingest")
    gateway.request("POST", DEPLOYMENTS, headers=headers, json_body=DEPLOYMENT)

    again = gateway.request("POST", DEPLOYMENTS, headers=headers, json_body=DEPLOYMENT)

    assert again.status == 200
    assert again.json()["changed"] is False
    assert again.json()["data_version"] == 1
    assert rows("SELECT count(*) AS n FROM deployments") == [{"n": 1}]


def test_an_incident_is_opened_then_resolved(gateway):
    headers = key_headers("ingest")
    incident = {"id": "INC-9", "repository": "acme/checkout", "created_at": "2026-03-03T09:00:00Z"}

    opened = gateway.request("POST", INCIDENTS, headers=headers, json_body=incident)
    resolved = gateway.request(
        "POST",
        INCIDENTS,
        headers=headers,
        json_body={**incident, "type": "incident", "resolved_at": "2026-03-03T10:30:00Z"},
    )

    assert (opened.status, resolved.status) == (200, 200)
    assert resolved.json()["data_version"] == 2
    [row] = rows("SELECT external_id, resolved_at - created_at AS restore FROM incidents")
    assert row["external_id"] == "INC-9"
    assert row["restore"].total_seconds() == 90 * 60


def test_a_bad_field_is_422_naming_it_and_nothing_is_written(gateway):
    response = gateway.request(
        "POST", DEPLOYMENTS, headers=key_headers("ingest"), json_body={**DEPLOYMENT, "status": "done"}
    )

    assert response.status == 422
    error = response.json()["error"]
    assert error["details"] == ['deployment: "status": "done" is not one of success, failure, cancelled']
    assert rows("SELECT external_id FROM deployments") == []


def test_a_record_of_another_type_is_422(gateway):
    response = gateway.request(
        "POST", INCIDENTS, headers=key_headers("ingest"), json_body={**DEPLOYMENT, "type": "deployment"}
    )

    assert response.status == 422
    assert (
        response.json()["error"]["message"]
        == '"type" is "deployment"; this route takes "incident" records only.'
    )


def test_a_body_that_is_not_an_object_is_422(gateway):
    response = gateway.request("POST", DEPLOYMENTS, headers=key_headers("ingest"), json_body=[DEPLOYMENT])

    assert response.status == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_key_without_the_ingest_scope_is_403(gateway):
    deployment = gateway.request("POST", DEPLOYMENTS, headers=key_headers("etl"), json_body=DEPLOYMENT)
    incident = gateway.request("POST", INCIDENTS, headers=key_headers("etl"), json_body=DEPLOYMENT)

    assert (deployment.status, incident.status) == (403, 403)
    assert rows("SELECT external_id FROM deployments") == []


def test_without_a_token_the_gateway_refuses(gateway):
    response = gateway.request("POST", DEPLOYMENTS, json_body=DEPLOYMENT)

    assert response.status == 401
