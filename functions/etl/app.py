"""ETL coordination: ``/api/v1/etl/*`` (settings, jobs, status reports; logic in ``pulse.etl``)."""

from __future__ import annotations

import pulse.coldstart

import datetime as dt
from typing import Annotated, Any, Literal

from fastapi import Depends, Header, Query, Response
from pydantic import BaseModel, ConfigDict, Field

from pulse import db
from pulse.auth.context import Caller, CallerDep, require_roles, require_scope
from pulse.config import get_settings
from pulse.errors import ApiError
from pulse.etl import jobs, service
from pulse.etl import settings as etl_settings
from pulse.etl.jobs import StatusReport
from pulse.etl.settings import EtlSettings
from pulse.handler import RouteGroup, create_app, make_handler

app = create_app(title="Pulse ETL coordination")
router = RouteGroup(app, prefix=f"{get_settings().API_V1_PREFIX}/etl", tags=["etl"])


async def require_reader(caller: CallerDep) -> Caller:
    """Signed-in people, and API keys of the ``etl`` scope (the ETL service reads its settings)."""
    if caller.kind == "user" or "etl" in caller.scopes:
        return caller
    raise ApiError(403, "forbidden", "This route needs a signed-in user or the 'etl' scope.")


ReaderDep = Annotated[Caller, Depends(require_reader)]
AdminDep = Annotated[Caller, Depends(require_roles("admin"))]
OperatorDep = Annotated[Caller, Depends(require_roles("admin", "manager"))]
EtlServiceDep = Annotated[Caller, Depends(require_scope("etl"))]


class EtlSettingsVersion(BaseModel):
    version: int = Field(description="0 until settings are first saved (the defaults apply)")
    settings: EtlSettings
    changed_by: str | None
    changed_at: dt.datetime | None


class EtlSettingsHistoryItem(EtlSettingsVersion):
    changed_fields: list[str] = Field(description="fields that differ from the version before")


class EtlSettingsHistory(BaseModel):
    items: list[EtlSettingsHistoryItem]
    total: int
    limit: int
    offset: int


class EtlJobRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: Literal["incremental", "full"]
    repositories: list[str] | None = Field(
        default=None, description="a subset of the settings' repositories; all of them when absent"
    )


class EtlJobEvent(BaseModel):
    status: str
    progress: float | None
    message: str | None
    counts: dict[str, int] | None
    source: str = Field(description="pulse (its own transitions), http or sqs (the ETL service)")
    applied: bool = Field(description="false when the report was a duplicate or out of order")
    received_at: dt.datetime


class EtlJobView(BaseModel):
    id: str
    type: str
    repositories: list[str]
    status: jobs.Status
    progress: float
    counts: dict[str, int]
    message: str | None
    error: str | None
    trigger: str = Field(description="api, schedule or retry")
    schedule: str | None
    retry_of: str | None
    requested_by: str
    settings_version: int
    created_at: dt.datetime
    updated_at: dt.datetime
    dispatched_at: dt.datetime | None
    started_at: dt.datetime | None
    finished_at: dt.datetime | None


class EtlJobDetail(EtlJobView):
    events: list[EtlJobEvent]


class EtlJobList(BaseModel):
    items: list[EtlJobView]
    total: int
    limit: int
    offset: int


class EtlReportResult(BaseModel):
    applied: bool = Field(description="false when ignored as a duplicate or out-of-order report")
    job: EtlJobView


def _if_match(value: str | None) -> int | None:
    if value is None:
        return None
    cleaned = value.strip().removeprefix("W/").strip('"')
    if not cleaned.isdigit():
        raise ApiError(400, "bad_request", "If-Match must be a settings version number.")
    return int(cleaned)


@router.get("/settings", response_model=EtlSettingsVersion)
def get_settings_route(caller: ReaderDep, response: Response) -> dict[str, Any]:
    """The current ETL settings and their version (ETag)."""
    with db.connect() as connection:
        current = etl_settings.current(connection)
    response.headers["ETag"] = f'"{current.version}"'
    return current.as_dict()


@router.put("/settings", response_model=EtlSettingsVersion)
def put_settings(
    body: EtlSettings,
    caller: AdminDep,
    response: Response,
    if_match: Annotated[str | None, Header(description="the version you edited; 412 if stale")] = None,
) -> dict[str, Any]:
    """Replace the ETL settings (admin); recorded as a new version with who and when."""
    with db.transaction() as connection:
        saved, _ = etl_settings.save(
            connection, settings=body, changed_by=caller.subject, expected_version=_if_match(if_match)
        )
    response.headers["ETag"] = f'"{saved.version}"'
    return saved.as_dict()


@router.get("/settings/history", response_model=EtlSettingsHistory)
def settings_history(
    caller: ReaderDep,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Every saved version, newest first, with who changed what and when."""
    with db.connect() as connection:
        items, total = etl_settings.history(connection, limit=limit, offset=offset)
    return {"items": items, "total": total, "limit": limit, "offset": offset}


def _idempotency_key(value: str | None) -> str | None:
    if value is None:
        return None
    if not 1 <= len(value) <= 255 or not value.isprintable():
        raise ApiError(400, "bad_idempotency_key", "Idempotency-Key must be 1-255 printable characters.")
    return value


@router.post("/jobs", status_code=202, response_model=EtlJobView)
def create_job(
    body: EtlJobRequest,
    caller: OperatorDep,
    response: Response,
    idempotency_key: Annotated[
        str | None, Header(description="same key and body within 24 h → the same job, dispatched once")
    ] = None,
) -> dict[str, Any]:
    """Start a sync (admin or manager); 409 while a full sync of overlapping repositories is active."""
    job, created = service.submit(
        job_type=body.type,
        repositories=body.repositories,
        requested_by=caller.subject,
        idempotency_key=_idempotency_key(idempotency_key),
        allowed=service.team_guard(caller),
    )
    response.headers["Location"] = f"{router.prefix}/jobs/{job['id']}"
    if not created:
        response.status_code = 200
        response.headers["Idempotent-Replayed"] = "true"
    return job


@router.get("/jobs", response_model=EtlJobList)
def list_jobs(
    caller: ReaderDep,
    status: Annotated[list[jobs.Status] | None, Query(description="repeat to match any of several")] = None,
    type: Annotated[Literal["incremental", "full"] | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> dict[str, Any]:
    """Jobs newest first, filtered by status and type."""
    with db.connect() as connection:
        items, total = jobs.listing(
            connection, statuses=list(status or []), job_type=type, limit=limit, offset=offset
        )
    return {"items": items, "total": total, "limit": limit, "offset": offset}


@router.get("/jobs/{job_id}", response_model=EtlJobDetail)
def get_job(job_id: str, caller: ReaderDep) -> dict[str, Any]:
    """A job: status, progress, counts, error and the reports it received."""
    with db.connect() as connection:
        return jobs.get(connection, job_id=job_id)


@router.post("/jobs/{job_id}/cancel", response_model=EtlJobView)
def cancel_job(job_id: str, caller: OperatorDep) -> dict[str, Any]:
    """Cancel a job that has not finished (409 once it has); the ETL service is told."""
    return service.cancel(job_id=job_id, cancelled_by=caller.subject)


@router.post("/jobs/{job_id}/retry", status_code=202, response_model=EtlJobView)
def retry_job(job_id: str, caller: OperatorDep) -> dict[str, Any]:
    """Run a failed or cancelled job again, as a new job (``retry_of``)."""
    return service.retry(job_id=job_id, requested_by=caller.subject)


@router.post("/jobs/{job_id}/events", response_model=EtlReportResult)
def report_event(job_id: str, body: StatusReport, caller: EtlServiceDep) -> dict[str, Any]:
    """A status report from the ETL service (``etl`` scope); duplicates and late reports are ignored."""
    job, applied = service.report(job_id=job_id, status_report=body, source="http")
    return {"applied": applied, "job": job}


handler = make_handler(app)

pulse.coldstart.settle()  # the end of this function's initialisation
