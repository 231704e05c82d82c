"""Cache warmer (EventBridge schedule): precompute the dashboards' default DORA and portfolio answers into Redis."""

from __future__ import annotations

import pulse.coldstart

import time
from typing import Any

from aws_lambda_powertools.metrics import MetricUnit

from pulse.metrics import dora, portfolio
from pulse.observability import logger, metrics, tracer


@logger.inject_lambda_context(clear_state=True)
@metrics.log_metrics
@tracer.capture_lambda_handler(capture_response=False)
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Warm DORA summary and teams for the last 30 and 90 days, org-wide and per team, and the
    portfolio's projects, teams and alignment for the last 90 days, org-wide."""
    started = time.perf_counter()
    report = dora.warm()
    # Reported on its own so the DORA counts keep their meaning.
    portfolio_report = portfolio.warm()
    seconds = round(time.perf_counter() - started, 3)
    metrics.add_metric(
        name="WarmedAnswers", unit=MetricUnit.Count, value=report.computed + portfolio_report.computed
    )
    logger.info(
        "cache warmed",
        extra={"computed": report.computed, "already_cached": report.already_cached, "seconds": seconds},
    )
    return {
        **report.as_dict(),
        "portfolio": portfolio_report.as_dict(),
        "seconds": seconds,
        "scheduled_at": event.get("time"),
    }


pulse.coldstart.settle()  # the end of this function's initialisation
