"""SQS with moto: jobs onto the jobs queue, status reports from the status queue (partial failures)."""

from __future__ import annotations

import json

import pytest
from moto import mock_aws

from tests.conftest import load_event
from tests.etl.conftest import headers, save_settings

JOBS = "/api/v1/etl/jobs"


@pytest.fixture
def jobs_queue(configure):
    from pulse.etl import dispatch

    with mock_aws():
        dispatch.sqs_client.cache_clear()
        import boto3

        url = boto3.client("sqs", region_name="us-east-1").create_queue(QueueName="pulse-etl-jobs")[
            "QueueUrl"
        ]
        configure(ETL_TRANSPORT="sqs", ETL_JOBS_QUEUE_URL=url)
        yield url
        dispatch.sqs_client.cache_clear()


def received(url: str) -> list[dict]:
    import boto3

    answer = boto3.client("sqs", region_name="us-east-1").receive_message(
        QueueUrl=url, MaxNumberOfMessages=10, MessageAttributeNames=["All"]
    )
    return answer.get("Messages", [])


def test_a_job_goes_onto_the_jobs_queue(gateway, jobs_queue):
    save_settings(repositories=["acme/checkout"])

    response = gateway.request("POST", JOBS, headers=headers(), json_body={"type": "full"})

    assert response.status == 202
    job = response.json()
    assert job["status"] == "dispatched"
    [message] = received(jobs_queue)
    body = json.loads(message["Body"])
    assert message["MessageAttributes"]["action"]["StringValue"] == "run"
    assert body["action"] == "run"
    assert body["job"]["id"] == job["id"]
    assert body["job"]["type"] == "full"
    assert body["job"]["repositories"] == ["acme/checkout"]


def test_cancel_puts_a_cancel_message_on_the_queue(gateway, jobs_queue):
    save_settings(repositories=["acme/checkout"])
    job = gateway.request("POST", JOBS, headers=headers(), json_body={"type": "incremental"}).json()
    received(jobs_queue)  # the run message

    gateway.request("POST", f"{JOBS}/{job['id']}/cancel", headers=headers())

    messages = [json.loads(message["Body"]) for message in received(jobs_queue)]
    assert {"action": "cancel", "job_id": job["id"]} in messages


def test_a_missing_queue_is_503_and_the_job_failed(gateway, jobs_queue, configure):
    save_settings(repositories=["acme/checkout"])
    configure(ETL_JOBS_QUEUE_URL=jobs_queue.replace("pulse-etl-jobs", "no-such-queue"))

    response = gateway.request("POST", JOBS, headers=headers(), json_body={"type": "incremental"})

    assert response.status == 503
    assert response.json()["error"]["code"] == "etl_unavailable"
    assert response.json()["error"]["details"]["job"]["status"] == "failed"


def sqs_record(message_id: str, body: str) -> dict:
    return {
        "messageId": message_id,
        "receiptHandle": f"handle-{message_id}",
        "body": body,
        "attributes": {"ApproximateReceiveCount": "1"},
        "messageAttributes": {},
        "md5OfBody": "",
        "eventSource": "aws:sqs",
        "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:pulse-etl-status",
        "awsRegion": "us-east-1",
    }


def test_the_status_consumer_reports_only_the_records_it_could_not_apply(gateway, etl_service):
    from pulse import dataversion
    from pulse.db import connect

    save_settings(repositories=["acme/checkout"])
    job = gateway.request("POST", JOBS, headers=headers(), json_body={"type": "incremental"}).json()
    event = {
        "Records": [
            sqs_record("ok-running", json.dumps({"job_id": job["id"], "status": "running", "progress": 0.4})),
            sqs_record("not-json", "{status: running"),
            sqs_record(
                "unknown-job",
                json.dumps({"job_id": "00000000-0000-0000-0000-000000000000", "status": "running"}),
            ),
            sqs_record("bad-status", json.dumps({"job_id": job["id"], "status": "sleeping"})),
            sqs_record(
                "ok-succeeded",
                json.dumps({"job_id": job["id"], "status": "succeeded", "counts": {"commits": 9}}),
            ),
            sqs_record(
                "late-running", json.dumps({"job_id": job["id"], "status": "running", "progress": 0.9})
            ),
        ]
    }

    result = gateway.invoke("EtlEventsFunction", event)

    assert result == {
        "batchItemFailures": [
            {"itemIdentifier": "not-json"},
            {"itemIdentifier": "unknown-job"},
            {"itemIdentifier": "bad-status"},
        ]
    }
    current = gateway.request("GET", f"{JOBS}/{job['id']}", headers=headers()).json()
    assert current["status"] == "succeeded"
    assert current["counts"] == {"commits": 9}
    # the late "running" was a valid record, applied as a no-op, not a failure to redeliver
    assert [(e["status"], e["source"], e["applied"]) for e in current["events"][-3:]] == [
        ("running", "sqs", True),
        ("succeeded", "sqs", True),
        ("running", "sqs", False),
    ]
    with connect() as connection:
        assert dataversion.current(connection).version == 1


def test_the_status_event_file_runs_through_the_handler(gateway):
    from sqlalchemy import text

    from pulse.db import transaction

    event = load_event("etl_events")
    job_id = json.loads(event["Records"][0]["body"])["job_id"]
    with transaction() as connection:
        connection.execute(
            text(
                "INSERT INTO etl_jobs (id, type, repositories, status, trigger, requested_by, settings_version) "
                "VALUES (:id, 'incremental', ARRAY['acme/checkout'], 'dispatched', 'api', '1', 0)"
            ),
            {"id": job_id},
        )

    assert gateway.invoke("EtlEventsFunction", event) == {"batchItemFailures": []}
    assert gateway.request("GET", f"{JOBS}/{job_id}", headers=headers()).json()["status"] == "succeeded"
