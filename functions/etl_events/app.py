"""ETL status queue consumer: SQS batches of job status reports, with partial batch failure reporting.

Each message body is ``{"job_id": "...", "status": ..., "progress": ..., "message": ..., "counts":
{...}}``. A record that cannot be applied (unparseable, unknown job, database error) is reported
as a batch item failure: SQS redelivers it alone, and after ``maxReceiveCount`` it goes to the
dead-letter queue. Duplicates and out-of-order reports are applied as no-ops (``pulse.etl.jobs``).
"""

from __future__ import annotations

import pulse.coldstart

from typing import Any

from aws_lambda_powertools.utilities.batch import BatchProcessor, EventType, process_partial_response
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from pulse.etl import service
from pulse.etl.jobs import StatusReport
from pulse.observability import logger, metrics, tracer

processor = BatchProcessor(event_type=EventType.SQS)


class QueuedReport(StatusReport):
    """A status report as queued by the ETL service: the report plus the job it is about."""

    job_id: str


def record_handler(record: SQSRecord) -> None:
    """Apply one report; raising marks this record (only) as failed."""
    report = QueuedReport.model_validate_json(record.body)
    job, applied = service.report(
        job_id=report.job_id, status_report=StatusReport.model_validate(report.model_dump()), source="sqs"
    )
    logger.info("etl status report", extra={"job_id": job["id"], "status": report.status, "applied": applied})


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """The SQS event source mapping's entry point (``ReportBatchItemFailures``)."""
    return process_partial_response(
        event=event, record_handler=record_handler, processor=processor, context=context
    )


pulse.coldstart.settle()  # the end of this function's initialisation
