"""The executive route group through the local API Gateway, its authorizer and the real handler."""

from __future__ import annotations

import datetime as dt
import uuid
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from pulse.local.gateway import Response
from tests.metrics.test_executive import JANUARY_5, load, org, weekly_deployments

EXECUTIVE = "/api/v1/dashboards/executive"
MARCH = [("start_date", "2026-03-01"), ("end_date", "2026-03-31")]
QUARTER = [("start_date", "2026-01-05"), ("end_date", "2026-03-29")]


@pytest.fixture
def get(gateway, auth_headers):
    """``get(path, query, role=..., teams=...)``: a GET by a signed-in user of that role."""

    def request(path: str, query: Any = (), *, role: str = "admin", teams: tuple[str, ...] = ()) -> Response:
        headers = auth_headers(role, teams, fam=uuid.uuid4().hex)
        return gateway.request("GET", path, query=query, headers=headers)

    return request


def test_cards_answer_with_meta_and_are_cached(get):
    org()

    first = get(EXECUTIVE, [*MARCH, ("project", "Storefront")])
    second = get(EXECUTIVE, [*MARCH, ("project", "Storefront")])

    assert first.status == 200, first.text
    body = first.json()
    assert body["meta"]["filters"]["project"] == "Storefront" and body["meta"]["cached"] is False
    assert second.json()["meta"]["cached"] is True
    assert list(body["cards"]) == [
        "deployment_frequency",
        "lead_time_for_changes",
        "change_failure_rate",
        "time_to_restore",
        "rework_rate",
        "cycle_time",
        "merged_prs_per_week",
        "feature_share",
        "objectives_on_track",
        "open_incidents",
    ]
    assert body["cards"]["cycle_time"]["value"] == 20.0


def test_trends_serve_history_forecast_and_backtest(get):
    load(weekly_deployments(list(range(1, 13)), JANUARY_5))

    response = get(f"{EXECUTIVE}/trends", [*QUARTER, ("metric", "deployments"), ("horizon", "3")])

    assert response.status == 200, response.text
    body = response.json()
    assert body["meta"]["filters"]["metric"] == "deployments" and body["meta"]["filters"]["horizon"] == 3
    assert [entry["value"] for entry in body["history"]] == [float(v) for v in range(1, 13)]
    assert body["model"] in {"damped_trend", "naive"} and len(body["forecast"]) == 3
    assert set(body["backtest"]) == {"mase", "coverage80", "naive_coverage80", "origins"}


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ([("metric", "velocity")], 422, None),
        ([("metric", "deployments"), ("interval", "day")], 422, "invalid_interval"),
        ([("metric", "deployments"), ("horizon", "0")], 422, None),
        ([("metric", "deployments"), ("horizon", "13")], 422, None),
        ([], 422, None),
        ([("metric", "deployments"), ("project", "Nowhere")], 404, "project_not_found"),
        ([("metric", "deployments"), ("team", "nobody")], 404, "team_not_found"),
    ],
)
def test_bad_trend_input_is_a_4xx_with_the_envelope(get, query, status, code):
    org()

    response = get(f"{EXECUTIVE}/trends", query)

    assert response.status == status, response.text
    assert {"code", "message", "request_id"} <= set(response.json()["error"])
    if code:
        assert response.json()["error"]["code"] == code


def test_risks_are_scoped_to_the_caller(get):
    org()
    load(
        [
            {"type": "team", "key": "api", "name": "API"},
            {"type": "repository", "key": "acme/api", "team": "api", "project": "Platform"},
        ]
    )

    mine = get(f"{EXECUTIVE}/risks", MARCH, role="member", teams=("web",))
    other = get(f"{EXECUTIVE}/risks", [*MARCH, ("team", "api")], role="member", teams=("web",))
    project = get(f"{EXECUTIVE}/risks", [*MARCH, ("project", "Platform")], role="member", teams=("web",))

    assert mine.status == 200, mine.text
    # web's change failure rate went from 0 to 50%; O2 cannot finish by 31 March. Both high.
    assert [(item["kind"], item["subject"]["key"]) for item in mine.json()["items"]] == [
        ("stability_drop", "web"),
        ("objective_at_risk", "O2"),
    ]
    assert other.status == 403 and other.json()["error"]["code"] == "team_forbidden"
    assert project.status == 403 and project.json()["error"]["code"] == "project_forbidden"


def test_the_report_is_one_self_contained_html_page(get):
    load(weekly_deployments(list(range(1, 13)), JANUARY_5))

    response = get(f"{EXECUTIVE}/report", QUARTER)

    assert response.status == 200, response.text
    assert response.headers["content-type"].startswith("text/html")
    page = response.text
    assert page.startswith("<!DOCTYPE html>")
    # No scripts, stylesheets, images or fonts from anywhere: only SVG's namespace names a URL.
    assert "<script" not in page and "<link" not in page and "src=" not in page and "url(" not in page
    assert page.replace("http://www.w3.org/2000/svg", "").count("http") == 0
    assert page.count("<svg") == 7  # one sparkline per trend metric
    assert "class='band80'" in page  # the deployments trend has a forecast band
    assert "id='card-deployment_frequency'" in page


def test_the_trend_chart_is_a_standalone_svg(get):
    load(weekly_deployments(list(range(1, 13)), JANUARY_5))

    response = get(f"{EXECUTIVE}/trends.svg", [*QUARTER, ("metric", "deployments")])

    assert response.status == 200, response.text
    assert response.headers["content-type"].startswith("image/svg+xml")
    root = ET.fromstring(response.body)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    classes = {element.get("class") for element in root.iter()}
    assert {"history", "forecast", "band80", "band95"} <= classes


def test_the_report_of_an_empty_org_renders(get):
    today = dt.date(2026, 3, 31)
    response = get(f"{EXECUTIVE}/report", [("end_date", today.isoformat())])

    assert response.status == 200, response.text
    assert "No risk findings." in response.text and "no forecast" in response.text
