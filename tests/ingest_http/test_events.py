"""The sample events in events/ (for ``pulse invoke`` and ``sam local invoke``) work as written."""

from __future__ import annotations

import json

from tests.conftest import load_event
from tests.ingest_http.conftest import rows


def test_the_batch_event_loads_its_two_records(gateway):
    result = gateway.invoke("IngestFunction", load_event("ingest_batch"))

    assert result["statusCode"] == 200, result["body"]
    assert json.loads(result["body"])["by_type"] == {"commit": 1, "deployment": 1}


def test_the_deployment_webhook_event_reports_a_deployment(gateway):
    result = gateway.invoke("IngestFunction", load_event("ingest_webhooks_deployments"))

    assert result["statusCode"] == 200, result["body"]
    assert rows("SELECT external_id FROM deployments") == [{"external_id": "gha-4242"}]


def test_the_job_event_asks_for_a_job_that_does_not_exist(gateway):
    result = gateway.invoke("IngestFunction", load_event("ingest"))

    assert result["statusCode"] == 404
    assert json.loads(result["body"])["error"]["code"] == "job_not_found"


def test_the_s3_event_finds_no_job_awaiting_its_object(gateway):
    assert gateway.invoke("IngestUploadFunction", load_event("ingest_upload_s3")) == {
        "jobs": [{"key": "uploads/7f2c9a54-3b1e-4c6d-9a0f-2e8b1d4c5a67.ndjson", "job_id": None}]
    }
