"""Executive dashboards: ``/api/v1/dashboards/executive*`` (cards, trends, risks, report; ``pulse.metrics.executive``).

The only route group that loads pandas (its own Lambda layer); it is imported by the trend code
when a trend is computed, so a cached answer never pays for it.
"""

from __future__ import annotations

import pulse.coldstart

import dataclasses
from typing import Annotated, Any

from fastapi import Query
from fastapi.responses import HTMLResponse, Response

from pulse.config import get_settings
from pulse.handler import RouteGroup, create_app, make_handler
from pulse.metrics import executive
from pulse.metrics.common import CommonParams
from pulse.metrics.params import CommonDep, UserDep

app = create_app(title="Pulse executive dashboards")
router = RouteGroup(app, prefix=f"{get_settings().API_V1_PREFIX}/dashboards/executive", tags=["executive"])

ProjectQuery = Annotated[str | None, Query(description="Portfolio project (the repositories' project)")]
MetricQuery = Annotated[executive.TrendMetric, Query(description="The trend's metric")]
HorizonQuery = Annotated[int, Query(description="Buckets to forecast", ge=1, le=executive.MAX_HORIZON)]


@router.get("")
def cards(caller: UserDep, params: CommonDep, project: ProjectQuery = None) -> dict[str, Any]:
    """KPI cards: the DORA four and rework rate with tiers, PR cycle time and throughput, feature share,
    objectives on track, open incidents; each with the previous period, change, better and n."""
    return executive.answer_cards(caller, executive.with_project(params, project))


@router.get("/trends")
def trends(
    caller: UserDep,
    params: CommonDep,
    metric: MetricQuery,
    horizon: HorizonQuery = executive.DEFAULT_HORIZON,
    project: ProjectQuery = None,
) -> dict[str, Any]:
    """A metric per week or month with a damped-trend forecast (80% / 95% intervals) and its backtest."""
    return executive.answer_trend(caller, executive.with_project(params, project), metric, horizon)


@router.get("/risks")
def risks(caller: UserDep, params: CommonDep, project: ProjectQuery = None) -> dict[str, Any]:
    """Risk findings, most severe first, each with evidence and an explanation to act on."""
    return executive.answer_risks(caller, executive.with_project(params, project))


@router.get("/trends.svg", response_class=Response, responses={200: {"content": {"image/svg+xml": {}}}})
def trend_chart(
    caller: UserDep,
    params: CommonDep,
    metric: MetricQuery,
    horizon: HorizonQuery = executive.DEFAULT_HORIZON,
    project: ProjectQuery = None,
) -> Response:
    """One trend as a standalone SVG chart (history, forecast, 80% and 95% bands)."""
    # The SVG and HTML rendering serves this route and /report only: kept off the others' cold start.
    from pulse.metrics import executive_report

    trend = executive.answer_trend(caller, executive.with_project(params, project), metric, horizon)
    return Response(executive_report.trend_svg(trend), media_type="image/svg+xml")


@router.get("/report", response_class=HTMLResponse)
def report(caller: UserDep, params: CommonDep, project: ProjectQuery = None) -> HTMLResponse:
    """A self-contained HTML page: the cards, every trend as a sparkline with its forecast band, the risks."""
    from pulse.metrics import executive_report  # see trend_chart

    scoped = executive.with_project(params, project)
    trend_params = scoped if scoped.interval in executive.TREND_INTERVALS else _weekly(scoped)
    page = executive_report.report_html(
        cards=executive.answer_cards(caller, scoped),
        trends=[
            executive.answer_trend(caller, trend_params, metric, executive.DEFAULT_HORIZON)
            for metric in executive.TREND_METRICS
        ],
        risks=executive.answer_risks(caller, scoped),
    )
    return HTMLResponse(page)


def _weekly(params: CommonParams) -> CommonParams:
    """A daily interval has no trend: the report's sparklines fall back to weeks."""
    return dataclasses.replace(params, interval="week")


handler = make_handler(app)

pulse.coldstart.settle()  # the end of this function's initialisation
