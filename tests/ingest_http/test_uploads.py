"""Bulk upload end to end with moto S3: job + presigned PUT, upload, ObjectCreated, import, status."""

from __future__ import annotations

import copy
import gzip
import json
from collections.abc import Iterator
from typing import Any

import boto3
import pytest
import requests
from moto import mock_aws

from pulse.ingest import uploads
from tests.conftest import load_event
from tests.ingest_http.conftest import key_headers, rows

BUCKET = "pulse-ingest-uploads-test"
UPLOADS = "/api/v1/ingest/uploads"
LINES = [
    {"type": "repository", "key": "acme/checkout"},
    {"type": "commit", "repository": "acme/checkout", "sha": "a1", "authored_at": "2026-03-02T09:00:00Z"},
    {
        "type": "commit",
        "repository": "acme/checkout",
        "sha": "a2",
        "authored_at": "2026-03-02T10:00:00Z",
        "parents": ["a1"],
    },
]


@pytest.fixture
def s3(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    from pulse.config import get_settings

    with mock_aws():
        uploads.s3_client.cache_clear()
        client = boto3.client("s3", region_name="us-east-1")
        client.create_bucket(Bucket=BUCKET)
        monkeypatch.setattr(get_settings(), "INGEST_UPLOAD_BUCKET", BUCKET)
        yield client
        uploads.s3_client.cache_clear()


def ndjson(records: list[dict[str, Any]]) -> bytes:
    return "".join(json.dumps(record) + "\n" for record in records).encode()


def object_created(key: str, size: int) -> dict[str, Any]:
    """The event S3 sends the import function (events/ingest_upload_s3.json, this object)."""
    event = copy.deepcopy(load_event("ingest_upload_s3"))
    record = event["Records"][0]
    record["s3"]["bucket"].update(name=BUCKET, arn=f"arn:aws:s3:::{BUCKET}")
    record["s3"]["object"].update(key=key, size=size)
    return event


def upload(gateway: Any, s3: Any, body: bytes, compression: str = "none") -> dict[str, Any]:
    """Create a job, PUT the file to its presigned URL, and deliver S3's event; the job id and key."""
    headers = key_headers("ingest")
    created = gateway.request("POST", UPLOADS, headers=headers, json_body={"compression": compression})
    assert created.status == 201, created.text
    job = created.json()
    put = requests.put(job["upload_url"], data=body, timeout=10)
    assert put.status_code == 200, put.text
    size = s3.head_object(Bucket=BUCKET, Key=job["key"])["ContentLength"]
    result = gateway.invoke("IngestUploadFunction", object_created(job["key"], size))
    assert result == {"jobs": [{"key": job["key"], "job_id": job["job_id"]}]}
    return {**job, "headers": headers}


def status(gateway: Any, job: dict[str, Any]) -> dict[str, Any]:
    response = gateway.request("GET", job["status_url"], headers=job["headers"])
    assert response.status == 200, response.text
    body: dict[str, Any] = response.json()
    return body


def test_an_uploaded_file_is_imported_and_the_job_reports_it(gateway, s3):
    job = upload(gateway, s3, ndjson(LINES))

    assert job["key"] == f"uploads/{job['job_id']}.ndjson"
    assert job["status_url"] == f"/api/v1/ingest/jobs/{job['job_id']}"
    report = status(gateway, job)
    assert report["status"] == "succeeded"
    assert (report["accepted"], report["by_type"]) == (3, {"commit": 2, "repository": 1})
    assert report["size_bytes"] == len(ndjson(LINES))
    assert report["data_version"] == 1
    assert report["created_by"].startswith("api_key:")
    assert rows("SELECT sha, parents FROM commits ORDER BY sha") == [
        {"sha": "a1", "parents": None},
        {"sha": "a2", "parents": ["a1"]},
    ]


def test_a_job_awaits_its_upload(gateway, s3):
    headers = key_headers("ingest")
    job = gateway.request("POST", UPLOADS, headers=headers).json()

    report = gateway.request("GET", job["status_url"], headers=headers).json()

    assert (report["status"], report["accepted"], report["started_at"]) == ("awaiting_upload", None, None)


def test_a_gzip_upload_is_inflated_while_streaming(gateway, s3):
    job = upload(gateway, s3, gzip.compress(ndjson(LINES)), compression="gzip")

    assert job["key"].endswith(".ndjson.gz")
    assert status(gateway, job)["accepted"] == 3


def test_a_file_with_bad_lines_writes_nothing_and_lists_them(gateway, s3):
    body = ndjson(LINES[:2]) + b'{"type": "commit"}\n' + ndjson(LINES[2:]) + b"[1]\n"

    job = upload(gateway, s3, body)

    report = status(gateway, job)
    assert report["status"] == "failed"
    assert report["error_count"] == 2
    assert report["errors"] == [
        'line 3: commit: missing required field "repository"',
        "line 5: a record must be a JSON object, got array",
    ]
    assert rows("SELECT sha FROM commits") == []


def test_a_repeated_s3_event_imports_nothing_twice(gateway, s3):
    job = upload(gateway, s3, ndjson(LINES))

    again = gateway.invoke("IngestUploadFunction", object_created(job["key"], 1))

    assert again == {"jobs": [{"key": job["key"], "job_id": None}]}
    assert status(gateway, job)["size_bytes"] == len(ndjson(LINES))


def test_an_object_no_job_awaits_is_ignored(gateway, s3):
    s3.put_object(Bucket=BUCKET, Key="uploads/stray.ndjson", Body=ndjson(LINES))

    result = gateway.invoke("IngestUploadFunction", object_created("uploads/stray.ndjson", 10))

    assert result == {"jobs": [{"key": "uploads/stray.ndjson", "job_id": None}]}
    assert rows("SELECT sha FROM commits") == []


def test_an_unknown_job_is_404(gateway, s3):
    headers = key_headers("ingest")

    assert (
        gateway.request(
            "GET", "/api/v1/ingest/jobs/7f2c9a54-3b1e-4c6d-9a0f-2e8b1d4c5a67", headers=headers
        ).status
        == 404
    )
    assert gateway.request("GET", "/api/v1/ingest/jobs/not-a-uuid", headers=headers).status == 404


def test_uploads_need_the_ingest_scope(gateway, s3):
    response = gateway.request("POST", UPLOADS, headers=key_headers("etl"))

    assert response.status == 403


def test_without_a_bucket_uploads_are_503(gateway, monkeypatch):
    from pulse.config import get_settings

    monkeypatch.setattr(get_settings(), "INGEST_UPLOAD_BUCKET", "")

    response = gateway.request("POST", UPLOADS, headers=key_headers("ingest"))

    assert response.status == 503
    assert response.json()["error"]["code"] == "uploads_not_configured"
