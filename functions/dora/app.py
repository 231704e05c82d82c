"""DORA metrics: ``/api/v1/metrics/dora/*`` (definitions and SQL in ``pulse.metrics.dora``)."""

from __future__ import annotations

import pulse.coldstart

from typing import Any

from pulse.config import get_settings
from pulse.handler import RouteGroup, create_app, make_handler
from pulse.metrics import dora
from pulse.metrics.params import CommonDep, UserDep

app = create_app(title="Pulse DORA metrics")
router = RouteGroup(app, prefix=f"{get_settings().API_V1_PREFIX}/metrics/dora", tags=["dora"])


@router.get("/summary")
def summary(caller: UserDep, params: CommonDep) -> dict[str, Any]:
    """The four DORA metrics plus rework rate over the window, each with its tier."""
    return dora.answer_summary(caller, params)


@router.get("/deployment-frequency")
def deployment_frequency(caller: UserDep, params: CommonDep) -> dict[str, Any]:
    """Deployments, deployment days, per day and median deployment days per week, with a series."""
    return dora.answer_metric(caller, params, "deployment_frequency")


@router.get("/lead-time")
def lead_time(caller: UserDep, params: CommonDep) -> dict[str, Any]:
    """Lead time for changes (commit authored to first deployment), with a series."""
    return dora.answer_metric(caller, params, "lead_time_for_changes")


@router.get("/change-failure-rate")
def change_failure_rate(caller: UserDep, params: CommonDep) -> dict[str, Any]:
    """Share of deployments with an attributed incident, with a series."""
    return dora.answer_metric(caller, params, "change_failure_rate")


@router.get("/time-to-restore")
def time_to_restore(caller: UserDep, params: CommonDep) -> dict[str, Any]:
    """Incident restore times and failed deployment recovery time, with a series."""
    return dora.answer_metric(caller, params, "time_to_restore")


@router.get("/teams")
def teams(caller: UserDep, params: CommonDep) -> dict[str, Any]:
    """The summary for every team the caller may see (sub-teams pooled into their parents)."""
    return dora.answer_teams(caller, params)


handler = make_handler(app)

pulse.coldstart.settle()  # the end of this function's initialisation
