"""Bulk import from S3: each ``ObjectCreated`` event under ``uploads/`` runs its upload job.

The object is streamed in chunks through the import path in one transaction and the job records
the outcome (``pulse.ingest.uploads``). Nothing is raised for a bad file or an object no job
awaits: S3 would only retry the invocation, and the job already says what happened.
"""

from __future__ import annotations

import pulse.coldstart

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pulse.config import get_settings
from pulse.ingest import uploads
from pulse.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Import every uploaded object named by the S3 event."""
    settings = get_settings()
    jobs = []
    for record in event.get("Records") or ():
        found = uploads.object_created(record)
        if found is None:
            logger.warning("not an upload under uploads/", extra={"event_name": record.get("eventName")})
            continue
        bucket, key, size = found
        job_id = uploads.run(bucket=bucket, key=key, size=size, settings=settings)
        if job_id is not None:
            metrics.add_metric(name="UploadsImported", unit=MetricUnit.Count, value=1)
        jobs.append({"key": key, "job_id": job_id})
    return {"jobs": jobs}


pulse.coldstart.settle()  # the end of this function's initialisation
