"""ETL workflows: each owns its transactions, then dispatches and notifies after the commit.

Dispatch runs outside any transaction (a slow ETL service must not hold row locks), so a job is
first committed as ``queued``; the outcome then moves it to ``dispatched`` or ``failed`` through
the same state machine as the ETL service's own reports, so a fast service that already said
``running`` is never moved back.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection

from pulse import dataversion, db
from pulse.cache import dumps
from pulse.errors import ApiError
from pulse.etl import dispatch, jobs, live
from pulse.etl import settings as etl_settings
from pulse.observability import logger
from pulse.tables import etl_jobs

if TYPE_CHECKING:
    from pulse.auth.context import Caller


def json_safe(value: dict[str, Any]) -> dict[str, Any]:
    """``value`` with dates as ISO strings, as error details must be plain JSON."""
    result: dict[str, Any] = json.loads(dumps(value))
    return result


def notify(job: dict[str, Any]) -> None:
    try:
        live.publish_job(job)
    except Exception:  # a push is a courtesy; the job's state is committed and readable
        logger.exception("websocket push failed", extra={"job_id": job["id"]})


def dispatch_job(job: dict[str, Any], settings_document: dict[str, Any]) -> dict[str, Any]:
    """Hand a committed ``queued`` job to the ETL service; record and return the outcome."""
    try:
        transport = dispatch.send(dispatch.job_message(job, settings_document))
    except dispatch.DispatchError as error:
        report = jobs.StatusReport(status="failed", message=error.reason)
        with db.transaction() as connection:
            failed, _ = jobs.apply(connection, job_id=job["id"], report=report, source="pulse")
        notify(failed)
        raise ApiError(error.status, error.code, error.reason, details={"job": json_safe(failed)}) from None
    with db.transaction() as connection:
        moved, _ = jobs.apply(
            connection,
            job_id=job["id"],
            report=jobs.StatusReport(status="dispatched"),
            source="pulse",
            transport=transport,
        )
    notify(moved)
    return moved


def team_guard(caller: Caller) -> Callable[[Connection, list[str] | None], None] | None:
    """Managers sync only repositories of their teams, named one by one; admins any configured one."""
    if caller.role == "admin":
        return None
    from pulse.auth.scope import resolve_scope  # only routes with a caller need it

    def check(connection: Connection, repositories: list[str] | None) -> None:
        if repositories is None or any(repository.endswith("/*") for repository in repositories):
            raise ApiError(403, "repository_forbidden", "Managers name their teams' repositories one by one.")
        resolve_scope(connection, caller, repository_keys=repositories)

    return check


def submit(
    *,
    job_type: str,
    repositories: list[str] | None,
    requested_by: str,
    idempotency_key: str | None = None,
    allowed: Callable[[Connection, list[str] | None], None] | None = None,
) -> tuple[dict[str, Any], bool]:
    """Create and dispatch a job; ``(job, created)``, where a replayed Idempotency-Key is not created.

    ``allowed(connection, requested repositories)`` may raise to refuse them (``team_guard``).
    Dispatch failures raise 502/503 after the job was recorded as ``failed``.
    """
    digest = jobs.fingerprint({"type": job_type, "repositories": repositories})
    with db.transaction() as connection:
        if idempotency_key is not None:
            earlier = jobs.replay_of(
                connection, requested_by=requested_by, key=idempotency_key, digest=digest
            )
            if earlier is not None:
                return jobs.view(earlier), False
        if allowed is not None:
            allowed(connection, repositories)
        current = etl_settings.current(connection)
        chosen = jobs.resolve_repositories(current.settings.repositories, repositories)
        job = jobs.create(
            connection,
            job_type=job_type,
            repositories=chosen,
            requested_by=requested_by,
            trigger="api",
            settings_version=current.version,
            idempotency_key=idempotency_key,
            request_fingerprint=digest if idempotency_key is not None else None,
        )
    notify(job)
    return dispatch_job(job, current.settings.model_dump(mode="json")), True


def retry(*, job_id: str, requested_by: str) -> dict[str, Any]:
    """A new job repeating a failed or cancelled one (``retry_of``), dispatched at once."""
    with db.transaction() as connection:
        original = jobs.find(connection, job_id=job_id, for_update=True)
        if original.status not in ("failed", "cancelled"):
            raise ApiError(
                409,
                "job_not_retryable",
                f"Only failed or cancelled jobs are retried; this one is {original.status}.",
            )
        earlier = connection.execute(
            etl_jobs.select().where(etl_jobs.c.retry_of == original.id).limit(1)
        ).first()
        if earlier is not None:
            raise ApiError(
                409,
                "job_already_retried",
                f"This job was already retried as {earlier.id}.",
                details={"job_id": str(earlier.id)},
            )
        current = etl_settings.current(connection)
        job = jobs.create(
            connection,
            job_type=original.type,
            repositories=list(original.repositories),
            requested_by=requested_by,
            trigger="retry",
            settings_version=current.version,
            schedule_name=original.schedule_name,
            retry_of=str(original.id),
        )
    notify(job)
    return dispatch_job(job, current.settings.model_dump(mode="json"))


def cancel(*, job_id: str, cancelled_by: str) -> dict[str, Any]:
    """Cancel a queued, dispatched or running job (409 once it finished), and tell the ETL service."""
    with db.transaction() as connection:
        row = jobs.find(connection, job_id=job_id, for_update=True)
        if row.status in jobs.FINISHED:
            raise ApiError(409, "job_finished", f"The job already {row.status}; nothing to cancel.")
        report = jobs.StatusReport(status="cancelled", message=f"cancelled by {cancelled_by}")
        job, _ = jobs.apply(connection, job_id=job_id, report=report, source="pulse")
    dispatch.cancel(job["id"])
    notify(job)
    return job


def report(*, job_id: str, status_report: jobs.StatusReport, source: str) -> tuple[dict[str, Any], bool]:
    """Apply a report from the ETL service; a success bumps the data version in the same transaction."""
    bumped = None
    with db.transaction() as connection:
        job, applied = jobs.apply(connection, job_id=job_id, report=status_report, source=source)
        if applied and job["status"] == "succeeded":
            # New data is in: cached answers keyed by the old version are never read again.
            bumped = dataversion.bump(connection)
    if applied:
        notify(job)
    if bumped is not None:
        try:
            live.publish_data_updated(version=bumped.version, updated_at=bumped.updated_at, job_id=job["id"])
        except Exception:
            logger.exception("websocket push failed", extra={"job_id": job["id"]})
    return job, applied
