"""The portfolio route group through the local API Gateway, its authorizer and the real handler."""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from pulse.local.gateway import Response
from tests.metrics.test_portfolio import org

PORTFOLIO = "/api/v1/portfolio"
MARCH = [("start_date", "2026-03-01"), ("end_date", "2026-03-31")]


@pytest.fixture
def get(gateway, auth_headers):
    """``get(path, query, role=..., teams=...)``: a GET by a signed-in user of that role."""

    def request(path: str, query: Any = (), *, role: str = "admin", teams: tuple[str, ...] = ()) -> Response:
        headers = auth_headers(role, teams, fam=uuid.uuid4().hex)
        return gateway.request("GET", path, query=query, headers=headers)

    return request


def test_teams_is_a_tree_with_meta_and_is_cached(get):
    org()

    first = get(f"{PORTFOLIO}/teams", MARCH)
    second = get(f"{PORTFOLIO}/teams", MARCH)

    assert first.status == 200, first.text
    body = first.json()
    assert body["meta"]["start_date"] == "2026-03-01" and body["meta"]["cached"] is False
    assert second.json()["meta"]["cached"] is True
    (eng,) = body["items"]
    assert eng["team"] == {"key": "eng", "name": "Engineering"}
    assert eng["pull_requests"]["median_cycle_hours"] == 3.0
    assert {"velocity", "quality", "delivery", "deployment_frequency", "children"} <= set(eng)


def test_projects_and_alignment_answer(get):
    org()

    projects = get(f"{PORTFOLIO}/projects", MARCH)
    alignment = get(f"{PORTFOLIO}/alignment", [*MARCH, ("interval", "month")])

    assert projects.status == 200, projects.text
    assert [item["project"] for item in projects.json()["items"]] == ["Platform", "Storefront"]
    assert alignment.status == 200, alignment.text
    body = alignment.json()
    assert [entry["period_start"] for entry in body["investment"]["org"]["series"]] == ["2026-03-01"]
    assert body["coverage"]["unlinked"] == 3


def test_a_member_sees_their_subtree_and_may_not_ask_for_another_team(get):
    org()

    mine = get(f"{PORTFOLIO}/teams", MARCH, role="member", teams=("web",))
    other = get(f"{PORTFOLIO}/alignment", [*MARCH, ("team", "api")], role="member", teams=("web",))

    assert [node["team"]["key"] for node in mine.json()["items"]] == ["web"]
    assert other.status == 403 and other.json()["error"]["code"] == "team_forbidden"


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ([("start_date", "2026-03-31"), ("end_date", "2026-03-01")], 422),
        ([("start_date", "March")], 422),
        ([("interval", "year")], 422),
        ([("team", "nobody")], 404),
    ],
)
def test_bad_input_is_a_4xx_with_the_envelope(get, query, status):
    org()

    response = get(f"{PORTFOLIO}/projects", query)

    assert response.status == status
    assert "code" in response.json()["error"]


def test_the_warmer_warms_the_default_portfolio_views(gateway, get):
    from tests.conftest import load_event

    org()

    warmed = gateway.invoke("WarmerFunction", load_event("warmer_schedule"))

    # projects, teams and alignment, the default 90 days, org-wide
    assert (warmed["portfolio"]["computed"], warmed["portfolio"]["already_cached"]) == (3, 0)
    for endpoint in ("projects", "teams", "alignment"):
        assert get(f"{PORTFOLIO}/{endpoint}").json()["meta"]["cached"] is True, endpoint
