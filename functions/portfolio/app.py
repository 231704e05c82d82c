"""Portfolio analytics: ``/api/v1/portfolio/*`` (definitions and SQL in ``pulse.metrics.portfolio``)."""

from __future__ import annotations

import pulse.coldstart

from typing import Any

from pulse.config import get_settings
from pulse.handler import RouteGroup, create_app, make_handler
from pulse.metrics import portfolio
from pulse.metrics.params import CommonDep, UserDep

app = create_app(title="Pulse portfolio analytics")
router = RouteGroup(app, prefix=f"{get_settings().API_V1_PREFIX}/portfolio", tags=["portfolio"])


@router.get("/projects")
def projects(caller: UserDep, params: CommonDep) -> dict[str, Any]:
    """One item per project: DORA, pull requests, work items, coverage and incidents, pooled over its repositories."""
    return portfolio.answer_projects(caller, params)


@router.get("/teams")
def teams(caller: UserDep, params: CommonDep) -> dict[str, Any]:
    """The team tree: each node pooled over its sub-teams, with velocity, quality and delivery."""
    return portfolio.answer_teams(caller, params)


@router.get("/alignment")
def alignment(caller: UserDep, params: CommonDep) -> dict[str, Any]:
    """Investment by work-item type (count and points), PR coverage, objectives with delivery forecasts."""
    return portfolio.answer_alignment(caller, params)


handler = make_handler(app)

pulse.coldstart.settle()  # the end of this function's initialisation
