"""Status reports from the ETL service over HTTP: the etl scope, ordering, duplicates, data version."""

from __future__ import annotations

import pytest

from tests.etl.conftest import etl_key_headers, headers, save_settings

JOBS = "/api/v1/etl/jobs"


@pytest.fixture
def job(gateway, etl_service):
    save_settings(repositories=["acme/checkout"])
    return gateway.request("POST", JOBS, headers=headers(), json_body={"type": "incremental"}).json()


def data_version() -> int:
    from pulse import dataversion
    from pulse.db import connect

    with connect() as connection:
        return dataversion.current(connection).version


def report(gateway, job_id, body, auth=None):
    return gateway.request(
        "POST", f"{JOBS}/{job_id}/events", headers=auth or etl_key_headers(), json_body=body
    )


def test_reports_need_the_etl_scope(gateway, job):
    body = {"status": "running", "progress": 0.1}

    assert report(gateway, job["id"], body, etl_key_headers(("ingest",))).status == 403
    assert report(gateway, job["id"], body, headers("manager")).status == 403
    assert report(gateway, job["id"], body, headers("admin")).status == 200  # admins may act for it
    assert gateway.request("POST", f"{JOBS}/{job['id']}/events", json_body=body).status == 401


def test_out_of_order_and_duplicate_reports_never_move_a_job_backwards(gateway, job):
    key = etl_key_headers()
    sequence = [
        ({"status": "running", "progress": 0.5, "counts": {"commits": 500}}, True),
        ({"status": "running", "progress": 0.3, "counts": {"commits": 300}}, False),  # late
        ({"status": "dispatched"}, False),  # backwards
        ({"status": "running", "progress": 0.5}, False),  # duplicate
        ({"status": "running", "progress": 0.8, "counts": {"pull_requests": 40}}, True),
    ]
    for body, applied in sequence:
        answer = report(gateway, job["id"], body, key)
        assert answer.status == 200
        assert answer.json()["applied"] is applied, body

    current = gateway.request("GET", f"{JOBS}/{job['id']}", headers=headers("member")).json()
    assert current["status"] == "running"
    assert current["progress"] == 0.8
    # counts merge by kind; the ignored report's 300 commits never landed
    assert current["counts"] == {"commits": 500, "pull_requests": 40}
    assert current["started_at"]
    events = [
        (event["status"], event["progress"], event["source"], event["applied"]) for event in current["events"]
    ]
    assert events == [
        ("queued", None, "pulse", True),
        ("dispatched", None, "pulse", True),
        ("running", 0.5, "http", True),
        ("running", 0.3, "http", False),
        ("dispatched", None, "http", False),
        ("running", 0.5, "http", False),
        ("running", 0.8, "http", True),
    ]


def test_success_bumps_the_data_version_once(gateway, job):
    assert data_version() == 0

    done = report(gateway, job["id"], {"status": "succeeded", "message": "synced 2 repositories"})
    duplicate = report(gateway, job["id"], {"status": "succeeded"})
    late_failure = report(gateway, job["id"], {"status": "failed", "message": "boom"})

    assert done.json()["applied"] is True
    assert done.json()["job"]["status"] == "succeeded"
    assert done.json()["job"]["progress"] == 1.0
    assert done.json()["job"]["message"] == "synced 2 repositories"
    assert duplicate.json()["applied"] is False
    assert late_failure.json()["applied"] is False
    assert late_failure.json()["job"]["status"] == "succeeded"
    assert data_version() == 1


def test_a_reported_failure_keeps_the_message_as_the_error_and_changes_no_data(gateway, job):
    failed = report(gateway, job["id"], {"status": "failed", "message": "GitHub rate limit exhausted"})

    assert failed.json()["job"]["status"] == "failed"
    assert failed.json()["job"]["error"] == "GitHub rate limit exhausted"
    assert data_version() == 0


def test_reports_after_a_cancel_are_ignored(gateway, job):
    gateway.request("POST", f"{JOBS}/{job['id']}/cancel", headers=headers())

    late = report(gateway, job["id"], {"status": "succeeded"})

    assert late.json()["applied"] is False
    assert late.json()["job"]["status"] == "cancelled"
    assert data_version() == 0


@pytest.mark.parametrize(
    "body",
    [
        {"status": "queued"},
        {"status": "running", "progress": 1.5},
        {"status": "running", "progress": -0.1},
        {"status": "running", "counts": {"commits": -1}},
        {"progress": 0.5},
    ],
)
def test_invalid_reports_are_422(gateway, job, body):
    response = report(gateway, job["id"], body)

    assert response.status == 422
    assert response.json()["error"]["code"] == "validation_error"


def test_a_report_about_an_unknown_job_is_404(gateway, etl_service):
    response = report(gateway, "00000000-0000-0000-0000-000000000000", {"status": "running"})

    assert response.status == 404
