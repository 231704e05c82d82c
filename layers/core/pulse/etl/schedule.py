"""Scheduled syncs: an EventBridge rule ticks every 5 minutes; settings schedules say what is due.

At each tick (the event's ``time``), a schedule is due when its cron fired in the last
``LOOKBACK`` (15 minutes: three ticks, so one lost tick is caught up) and after the settings were
last saved (a new schedule never fires for a past minute). Only the latest firing counts: missed
incremental syncs are coalesced into one. ``etl_schedule_fires`` has one row per (schedule,
firing minute), so a tick delivered twice, or overlapping lookbacks, start one job. A schedule
whose previous incremental job over the same repositories is still active is skipped, with the
reason recorded, rather than piling up jobs behind a slow ETL service.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import update
from sqlalchemy.dialects.postgresql import insert

from pulse import db
from pulse.errors import ApiError
from pulse.etl import cron, jobs, service
from pulse.etl import settings as etl_settings
from pulse.observability import logger
from pulse.tables import etl_schedule_fires

LOOKBACK = dt.timedelta(minutes=15)


def run_due(*, now: dt.datetime) -> list[dict[str, Any]]:
    """Start the incremental jobs due at ``now``; one entry per schedule that fired."""
    with db.connect() as connection:
        current = etl_settings.current(connection)
    floor = now - LOOKBACK
    if current.changed_at is not None:
        floor = max(floor, current.changed_at)
    results = []
    for schedule in current.settings.schedules:
        if not schedule.enabled:
            continue
        fire_at = cron.parse(schedule.cron).latest(floor, now)
        if fire_at is not None:
            results.append(_fire(schedule, fire_at, current))
    return results


def _fire(schedule: etl_settings.Schedule, fire_at: dt.datetime, current: Any) -> dict[str, Any]:
    result: dict[str, Any] = {"schedule": schedule.name, "fire_at": fire_at, "job_id": None, "skipped": None}
    repositories = sorted(schedule.repositories or current.settings.repositories)
    with db.transaction() as connection:
        claimed = connection.execute(
            insert(etl_schedule_fires)
            .values(schedule_name=schedule.name, fire_at=fire_at)
            .on_conflict_do_nothing()
            .returning(etl_schedule_fires.c.schedule_name)
        ).first()
        if claimed is None:
            result["skipped"] = "already fired"
            return result
        skipped = None
        job = None
        if not repositories:
            skipped = "no repositories configured"
        elif active := jobs.active_incremental(connection, repositories=repositories):
            skipped = f"incremental job {active} over the same repositories is still active"
        else:
            job = jobs.create(
                connection,
                job_type="incremental",
                repositories=repositories,
                requested_by=f"schedule:{schedule.name}",
                trigger="schedule",
                settings_version=current.version,
                schedule_name=schedule.name,
            )
        connection.execute(
            update(etl_schedule_fires)
            .where(
                etl_schedule_fires.c.schedule_name == schedule.name, etl_schedule_fires.c.fire_at == fire_at
            )
            .values(job_id=job["id"] if job else None, skipped=skipped)
        )
    result["skipped"] = skipped
    if job is None:
        logger.info("scheduled sync skipped", extra={"schedule": schedule.name, "reason": skipped})
        return result
    result["job_id"] = job["id"]
    service.notify(job)
    try:
        service.dispatch_job(job, current.settings.model_dump(mode="json"))
    except ApiError as error:  # recorded on the job as failed; the other schedules still run
        logger.warning("scheduled sync not dispatched", extra={"job_id": job["id"], "error": error.message})
        result["error"] = error.message
    return result
