"""Scheduled syncs: an EventBridge rule every 5 minutes starts the settings' due incremental jobs."""

from __future__ import annotations

import pulse.coldstart

import datetime as dt
from typing import Any

from pulse.etl import schedule
from pulse.observability import logger, metrics, tracer


def _tick_time(event: dict[str, Any]) -> dt.datetime:
    """The scheduled time of the tick (a redelivered tick has the same one), else now."""
    try:
        return dt.datetime.fromisoformat(str(event["time"]).replace("Z", "+00:00"))
    except (KeyError, ValueError):
        return dt.datetime.now(dt.UTC)


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics(capture_cold_start_metric=True)
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Start what is due at the tick's time; report what fired, what was skipped and why."""
    fired = schedule.run_due(now=_tick_time(event))
    logger.info("scheduled syncs", extra={"fired": fired})
    return {"fired": [{**item, "fire_at": item["fire_at"].isoformat()} for item in fired]}


pulse.coldstart.settle()  # the end of this function's initialisation
