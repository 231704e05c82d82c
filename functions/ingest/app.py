"""Ingest over HTTP: ``/api/v1/ingest/*`` (batch, bulk upload, jobs) and ``/api/v1/webhooks/*``.

Logic lives in ``pulse.ingest.http`` (batch limits, one-record webhooks), ``pulse.ingest.uploads``
(S3 upload jobs) and ``pulse.ingest.webhooks`` (GitHub). Writes go through the import path in one
transaction each, so a request is written entirely or not at all.
"""

from __future__ import annotations

import pulse.coldstart

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Body, Depends, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from pulse import db
from pulse.auth.context import Caller, require_scope
from pulse.config import get_settings
from pulse.errors import ApiError
from pulse.handler import RouteGroup, create_app, make_handler
from pulse.ingest import IngestValidationError, uploads, webhooks
from pulse.ingest import http as ingest_http

PREFIX = get_settings().API_V1_PREFIX
app = create_app(
    title="Ingest",
    description="Push data into Pulse: NDJSON batches, bulk uploads through S3, GitHub and CI/CD webhooks.",
)
ingest = RouteGroup(app, prefix=f"{PREFIX}/ingest", tags=["ingest"])
hooks = RouteGroup(app, prefix=f"{PREFIX}/webhooks", tags=["webhooks"])

IngestDep = Annotated[Caller, Depends(require_scope("ingest"))]


class Accepted(BaseModel):
    accepted: int = Field(description="valid records read (repeats included)")
    by_type: dict[str, int]
    changed: bool = Field(description="false when every record was already stored as sent")
    data_version: int
    data_updated_at: dt.datetime | None


class OneAccepted(Accepted):
    type: Literal["deployment", "incident"]
    id: str | int | None


class UploadRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    compression: Literal["none", "gzip"] = Field(
        default="none", description="gzip: the file is NDJSON gzipped"
    )


class UploadCreated(BaseModel):
    job_id: str
    upload_url: str = Field(description="PUT the NDJSON file here (any size), before expires_at")
    method: Literal["PUT"] = "PUT"
    bucket: str
    key: str
    expires_at: dt.datetime
    status_url: str


class IngestJob(BaseModel):
    id: str
    status: Literal["awaiting_upload", "running", "succeeded", "failed"]
    object_key: str
    created_by: str
    size_bytes: int | None
    accepted: int | None
    changed: int | None = Field(description="rows inserted, updated or deleted")
    by_type: dict[str, int]
    data_version: int | None
    error_count: int = Field(description="bad lines in the file (nothing is written when there is one)")
    errors: list[str] = Field(description=f"the first {uploads.KEPT_ERRORS} bad lines, 'line N: reason'")
    error: str | None
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class WebhookOutcome(BaseModel):
    delivery: str
    event: str
    action: str | None
    outcome: Literal["applied", "ignored", "pong", "duplicate"]
    reason: str | None
    records: int
    by_type: dict[str, int]
    changed: bool
    skipped: list[str] = Field(description="translated records the ingest format refused (with the reason)")


NDJSON_BODY = {
    "requestBody": {
        "required": True,
        "content": {
            "application/x-ndjson": {
                "schema": {"type": "string"},
                "example": '{"type":"deployment","id":"d-1","repository":"acme/checkout",'
                '"environment":"production","status":"success","finished_at":"2026-03-03T08:00:00Z"}\n',
            }
        },
    }
}


def _by(caller: Caller) -> str:
    return f"{caller.kind}:{caller.subject}"


@ingest.post("/batch", openapi_extra=NDJSON_BODY, responses={413: {}, 415: {}, 422: {}})
async def batch(caller: IngestDep, request: Request) -> Accepted:
    """Validate and upsert NDJSON records, all or nothing (up to 5 MiB; gzip accepted)."""
    ndjson = ingest_http.batch_body(
        await request.body(),
        content_type=request.headers.get("content-type"),
        content_encoding=request.headers.get("content-encoding"),
    )
    with ingest_http.ingest_transaction() as connection:
        return Accepted(**ingest_http.ingest_batch(connection, ndjson=ndjson))


@ingest.post("/uploads", status_code=201, responses={503: {}})
def create_upload(
    caller: IngestDep, options: Annotated[UploadRequest | None, Body()] = None
) -> UploadCreated:
    """Start a bulk import: a job and a presigned S3 PUT URL; S3 then triggers the import."""
    settings = get_settings()
    if not settings.INGEST_UPLOAD_BUCKET:
        raise ApiError(
            503, "uploads_not_configured", "Bulk uploads need INGEST_UPLOAD_BUCKET (an S3 bucket)."
        )
    with db.transaction() as connection:
        upload = uploads.create(
            connection,
            settings=settings,
            created_by=_by(caller),
            compression=(options or UploadRequest()).compression,
        )
    return UploadCreated(
        job_id=upload.job_id,
        upload_url=upload.upload_url,
        bucket=upload.bucket,
        key=upload.key,
        expires_at=upload.expires_at,
        status_url=f"{PREFIX}/ingest/jobs/{upload.job_id}",
    )


@ingest.get("/jobs/{job_id}", responses={404: {}})
def get_job(caller: IngestDep, job_id: str) -> IngestJob:
    """An upload job: status, counts and the bad lines of a rejected file."""
    with db.connect() as connection:
        job = uploads.view(connection, job_id=job_id)
    if job is None:
        raise ApiError(404, "job_not_found", f"No ingest job '{job_id}'.")
    return IngestJob(**job)


@hooks.post(
    "/github",
    responses={202: {"model": WebhookOutcome, "description": "ignored"}, 400: {}, 401: {}, 503: {}},
    openapi_extra={"security": []},
)
async def github(request: Request, response: Response) -> WebhookOutcome:
    """GitHub webhook (signed with X-Hub-Signature-256; handled once per X-GitHub-Delivery)."""
    settings = get_settings()
    body = await request.body()
    if not settings.GITHUB_WEBHOOK_SECRET:
        raise ApiError(
            503, "webhook_not_configured", "GITHUB_WEBHOOK_SECRET is not set; deliveries are refused."
        )
    if not webhooks.signature_valid(
        secret=settings.GITHUB_WEBHOOK_SECRET, body=body, signature=request.headers.get("x-hub-signature-256")
    ):
        raise ApiError(401, "invalid_signature", "X-Hub-Signature-256 is missing or does not match the body.")
    event = request.headers.get("x-github-event", "").strip()
    delivery = request.headers.get("x-github-delivery", "").strip()
    if not event or not delivery or len(delivery) > 200:
        raise ApiError(400, "bad_request", "X-GitHub-Event and X-GitHub-Delivery are required.")
    try:
        payload = webhooks.parse_payload(body, request.headers.get("content-type"))
    except webhooks.PayloadError as error:
        raise ApiError(400, "bad_request", f"Unreadable webhook payload: {error}.") from None
    try:
        with ingest_http.ingest_transaction() as connection:
            outcome = webhooks.handle(
                connection,
                delivery=delivery,
                event=event,
                payload=payload,
                incident_label=settings.GITHUB_INCIDENT_LABEL,
            )
    except webhooks.PayloadError as error:
        raise ApiError(400, "bad_request", f"Unreadable webhook payload: {error}.") from None
    except IngestValidationError as error:
        raise ingest_http.invalid(error.errors, "record(s)") from None
    response.status_code = outcome.status
    return WebhookOutcome(**outcome.as_dict())


RECORD_BODY = Body(
    description="One record in the ingest format (ingest-format.md); `type` may be left out.",
    openapi_examples={
        "deployment": {
            "value": {
                "id": "gha-4242",
                "repository": "acme/checkout",
                "environment": "production",
                "status": "success",
                "finished_at": "2026-03-03T08:00:00Z",
                "sha": "9fceb02d0ae598e95dc970b74767f19372d61af8",
            }
        },
        "incident": {
            "value": {
                "id": "INC-9",
                "repository": "acme/checkout",
                "created_at": "2026-03-03T09:00:00Z",
                "resolved_at": "2026-03-03T10:30:00Z",
            }
        },
    },
)


@hooks.post("/deployments", responses={422: {}})
def deployment(caller: IngestDep, record: Annotated[dict[str, Any], RECORD_BODY]) -> OneAccepted:
    """Report one deployment (a CI/CD pipeline step with an `ingest` API key); upsert by id."""
    with ingest_http.ingest_transaction() as connection:
        return OneAccepted(**ingest_http.ingest_one(connection, kind="deployment", document=record))


@hooks.post("/incidents", responses={422: {}})
def incident(caller: IngestDep, record: Annotated[dict[str, Any], RECORD_BODY]) -> OneAccepted:
    """Report one incident, opened or resolved (an `ingest` API key); upsert by id."""
    with ingest_http.ingest_transaction() as connection:
        return OneAccepted(**ingest_http.ingest_one(connection, kind="incident", document=record))


handler = make_handler(app)

pulse.coldstart.settle()  # the end of this function's initialisation
