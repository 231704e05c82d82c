"""ETL jobs: creation rules, the status state machine, and the reports each job received.

States move only forward::

    queued → dispatched → running → succeeded | failed | cancelled

A report whose status ranks at or below the job's is ignored (duplicate or out of order), except
that a ``running`` report with a higher progress than the job's advances the progress. Progress
never decreases and is 1 once a job succeeded. A finished job never changes again: a retry is a
new job (``retry_of``). Every report is kept in ``etl_job_events`` with whether it was applied.

Functions here take a connection and do not commit; ``pulse.etl.service`` owns transactions,
dispatch and notifications.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import uuid
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import ColumnElement, Connection, func, insert, select, update

from pulse.errors import ApiError
from pulse.etl import settings as etl_settings
from pulse.tables import etl_job_events, etl_jobs

JobType = Literal["incremental", "full"]
Status = Literal["queued", "dispatched", "running", "succeeded", "failed", "cancelled"]
STATUSES: tuple[str, ...] = ("queued", "dispatched", "running", "succeeded", "failed", "cancelled")
ACTIVE = ("queued", "dispatched", "running")
FINISHED = ("succeeded", "failed", "cancelled")
RANK = {"queued": 0, "dispatched": 1, "running": 2, "succeeded": 3, "failed": 3, "cancelled": 3}
IDEMPOTENCY_WINDOW = dt.timedelta(hours=24)
EVENTS_SHOWN = 200


class StatusReport(BaseModel):
    """A status report from the ETL service about one job."""

    model_config = ConfigDict(extra="ignore")

    status: Literal["dispatched", "running", "succeeded", "failed", "cancelled"]
    progress: float | None = Field(default=None, ge=0, le=1)
    message: str | None = Field(default=None, max_length=2000)
    counts: dict[str, int] | None = Field(default=None, description="records seen so far, by kind")

    @field_validator("counts")
    @classmethod
    def _counts(cls, value: dict[str, int] | None) -> dict[str, int] | None:
        if value is not None:
            negative = sorted(name for name, count in value.items() if count < 0)
            if negative:
                raise ValueError(f"counts must not be negative: {', '.join(negative)}")
            if len(value) > 50:
                raise ValueError("at most 50 counts")
        return value


@dataclass(frozen=True)
class Outcome:
    """What a report does to a job: whether it applies, and the job's status and progress after it."""

    applied: bool
    status: str
    progress: float


def decide(*, status: str, progress: float, reported: str, reported_progress: float | None) -> Outcome:
    """The state machine: apply ``reported`` to a job at ``status``/``progress``?"""
    if status in FINISHED:
        return Outcome(False, status, progress)
    if RANK[reported] > RANK[status]:
        moved = 1.0 if reported == "succeeded" else max(progress, reported_progress or 0.0)
        return Outcome(True, reported, moved)
    if reported == status == "running" and reported_progress is not None and reported_progress > progress:
        return Outcome(True, status, reported_progress)
    return Outcome(False, status, progress)


def fingerprint(body: dict[str, Any]) -> str:
    """A digest of a request body, to tell a replay from a different request under the same key."""
    return hashlib.sha256(json.dumps(body, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def _lock(connection: Connection, name: str) -> None:
    connection.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(name, 0))))


def view(row: Any) -> dict[str, Any]:
    """A job as the API shows it (without its events)."""
    return {
        "id": str(row.id),
        "type": row.type,
        "repositories": list(row.repositories),
        "status": row.status,
        "progress": float(row.progress),
        "counts": dict(row.counts or {}),
        "message": row.message,
        "error": row.error,
        "trigger": row.trigger,
        "schedule": row.schedule_name,
        "retry_of": str(row.retry_of) if row.retry_of else None,
        "requested_by": row.requested_by,
        "settings_version": row.settings_version,
        "created_at": row.created_at,
        "updated_at": row.updated_at,
        "dispatched_at": row.dispatched_at,
        "started_at": row.started_at,
        "finished_at": row.finished_at,
    }


def _valid_id(job_id: str) -> str | None:
    try:
        return str(uuid.UUID(job_id))
    except ValueError:
        return None


def find(connection: Connection, *, job_id: str, for_update: bool = False) -> Any:
    """The job row, or a 404 (a malformed id is simply not found)."""
    valid = _valid_id(job_id)
    query = select(etl_jobs).where(etl_jobs.c.id == valid)
    row = connection.execute(query.with_for_update() if for_update else query).first() if valid else None
    if row is None:
        raise ApiError(404, "job_not_found", f"No ETL job '{job_id}'.")
    return row


def get(connection: Connection, *, job_id: str) -> dict[str, Any]:
    """A job with the events it received, oldest first (the latest ``EVENTS_SHOWN``)."""
    job = view(find(connection, job_id=job_id))
    latest = (
        select(etl_job_events)
        .where(etl_job_events.c.job_id == job["id"])
        .order_by(etl_job_events.c.id.desc())
        .limit(EVENTS_SHOWN)
    )
    rows = connection.execute(latest).all()
    job["events"] = [
        {
            "status": row.status,
            "progress": row.progress,
            "message": row.message,
            "counts": row.counts,
            "source": row.source,
            "applied": row.applied,
            "received_at": row.received_at,
        }
        for row in reversed(rows)
    ]
    return job


def existing(connection: Connection, *, job_ids: list[str]) -> list[dict[str, Any]]:
    """The jobs among ``job_ids`` that exist (malformed ids are skipped)."""
    valid = [job_id for job_id in (_valid_id(value) for value in job_ids) if job_id]
    if not valid:
        return []
    return [view(row) for row in connection.execute(select(etl_jobs).where(etl_jobs.c.id.in_(valid)))]


def listing(
    connection: Connection,
    *,
    statuses: list[str],
    job_type: str | None,
    limit: int,
    offset: int,
) -> tuple[list[dict[str, Any]], int]:
    """Jobs newest first, filtered by status (any of ``statuses``) and type; and their total."""
    conditions: list[ColumnElement[bool]] = []
    if statuses:
        conditions.append(etl_jobs.c.status.in_(statuses))
    if job_type:
        conditions.append(etl_jobs.c.type == job_type)
    total = connection.execute(select(func.count()).select_from(etl_jobs).where(*conditions)).scalar_one()
    rows = connection.execute(
        select(etl_jobs)
        .where(*conditions)
        .order_by(etl_jobs.c.created_at.desc(), etl_jobs.c.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    return [view(row) for row in rows], int(total)


def record_event(
    connection: Connection,
    *,
    job_id: str,
    status: str,
    source: str,
    applied: bool,
    progress: float | None = None,
    message: str | None = None,
    counts: dict[str, int] | None = None,
) -> None:
    connection.execute(
        insert(etl_job_events).values(
            job_id=job_id,
            status=status,
            progress=progress,
            message=message,
            counts=counts,
            source=source,
            applied=applied,
        )
    )


def replay_of(connection: Connection, *, requested_by: str, key: str, digest: str) -> Any:
    """The job an earlier request with this Idempotency-Key created (within 24 h), or None.

    Holds a transaction-scoped lock on (caller, key), so a concurrent duplicate waits for the first
    request's transaction and then finds its job: same key, one job, dispatched once.
    """
    _lock(connection, f"etl-idempotency:{requested_by}:{key}")
    row = connection.execute(
        select(etl_jobs)
        .where(
            etl_jobs.c.requested_by == requested_by,
            etl_jobs.c.idempotency_key == key,
            etl_jobs.c.created_at > func.now() - IDEMPOTENCY_WINDOW,
        )
        .order_by(etl_jobs.c.created_at.desc())
        .limit(1)
    ).first()
    if row is not None and row.request_fingerprint != digest:
        raise ApiError(
            422,
            "idempotency_key_reused",
            "This Idempotency-Key was used for a different request; use a new key.",
            details={"job_id": str(row.id)},
        )
    return row


def resolve_repositories(configured: list[str], requested: list[str] | None) -> list[str]:
    """The repositories a job syncs: those requested (each must be configured), else all configured."""
    if requested is None:
        if not configured:
            raise ApiError(
                422, "no_repositories", "No repositories are configured; add some to the ETL settings first."
            )
        return sorted(configured)
    try:
        etl_settings.check_repositories(requested)
    except ValueError as error:
        raise ApiError(422, "validation_error", f"repositories: {error}") from None
    if not requested:
        raise ApiError(422, "validation_error", "repositories: name at least one, or leave it out for all")
    outside = [repository for repository in requested if not etl_settings.covers(configured, repository)]
    if outside:
        raise ApiError(
            422,
            "repository_not_configured",
            f"Not in the ETL settings' repositories: {', '.join(outside)}.",
            details={"repositories": outside},
        )
    return sorted(requested)


def ensure_no_active_full_sync(connection: Connection, *, repositories: list[str]) -> None:
    """409 when a full sync of an overlapping set of repositories is queued, dispatched or running."""
    # One creator at a time, so two concurrent full syncs of the same repositories cannot both pass.
    _lock(connection, "etl-full-sync")
    active = connection.execute(
        select(etl_jobs.c.id, etl_jobs.c.repositories, etl_jobs.c.status).where(
            etl_jobs.c.type == "full", etl_jobs.c.status.in_(ACTIVE)
        )
    ).all()
    for row in active:
        if etl_settings.overlap(list(row.repositories), repositories):
            raise ApiError(
                409,
                "full_sync_active",
                f"Full sync {row.id} of overlapping repositories is {row.status}; wait for it or cancel it.",
                details={"job_id": str(row.id)},
            )


def active_incremental(connection: Connection, *, repositories: list[str]) -> str | None:
    """The id of an active incremental job over exactly these repositories, if any."""
    found = connection.execute(
        select(etl_jobs.c.id)
        .where(
            etl_jobs.c.type == "incremental",
            etl_jobs.c.status.in_(ACTIVE),
            etl_jobs.c.repositories == sorted(repositories),
        )
        .limit(1)
    ).scalar()
    return str(found) if found else None


def create(
    connection: Connection,
    *,
    job_type: str,
    repositories: list[str],
    requested_by: str,
    trigger: str,
    settings_version: int,
    idempotency_key: str | None = None,
    request_fingerprint: str | None = None,
    schedule_name: str | None = None,
    retry_of: str | None = None,
) -> dict[str, Any]:
    """Insert a queued job (callers check the rules above first)."""
    if job_type == "full":
        ensure_no_active_full_sync(connection, repositories=repositories)
    row = connection.execute(
        insert(etl_jobs)
        .values(
            id=str(uuid.uuid4()),
            type=job_type,
            repositories=sorted(repositories),
            status="queued",
            trigger=trigger,
            requested_by=requested_by,
            settings_version=settings_version,
            idempotency_key=idempotency_key,
            request_fingerprint=request_fingerprint,
            schedule_name=schedule_name,
            retry_of=retry_of,
        )
        .returning(etl_jobs)
    ).one()
    record_event(connection, job_id=str(row.id), status="queued", source="pulse", applied=True)
    return view(row)


_TIMESTAMP = {"dispatched": "dispatched_at", "running": "started_at"}


def apply(
    connection: Connection,
    *,
    job_id: str,
    report: StatusReport,
    source: str,
    transport: str | None = None,
) -> tuple[dict[str, Any], bool]:
    """Apply a report to a job under a row lock; ``(job, applied)``. The report is always recorded."""
    row = find(connection, job_id=job_id, for_update=True)
    outcome = decide(
        status=row.status,
        progress=float(row.progress),
        reported=report.status,
        reported_progress=report.progress,
    )
    record_event(
        connection,
        job_id=str(row.id),
        status=report.status,
        source=source,
        applied=outcome.applied,
        progress=report.progress,
        message=report.message,
        counts=report.counts,
    )
    if not outcome.applied:
        return view(row), False
    values: dict[str, Any] = {
        "status": outcome.status,
        "progress": outcome.progress,
        "updated_at": func.now(),
    }
    if report.message is not None:
        values["message"] = report.message
    if report.counts is not None:
        values["counts"] = {**(row.counts or {}), **report.counts}
    if outcome.status != row.status:
        if column := _TIMESTAMP.get(outcome.status):
            values[column] = func.now()
        if outcome.status == "running" and row.dispatched_at is None:
            values["dispatched_at"] = func.now()
        if outcome.status in FINISHED:
            values["finished_at"] = func.now()
        if outcome.status == "failed":
            values["error"] = report.message or "The ETL service reported a failure."
    if transport is not None:
        values["transport"] = transport
    updated = connection.execute(
        update(etl_jobs).where(etl_jobs.c.id == row.id).values(**values).returning(etl_jobs)
    ).one()
    return view(updated), True
