"""The GitHub analytics route group through the local API Gateway, authorizer and real handler."""

from __future__ import annotations

import json
from typing import Any

import pytest

from pulse.local.gateway import Response
from tests.conftest import load_event
from tests.metrics.github_records import at, commit, deployment, load, org, pull_request, review

GITHUB = "/api/v1/analytics/github"
MARCH = [("start_date", "2026-03-01"), ("end_date", "2026-03-31")]


@pytest.fixture
def get(gateway, auth_headers):
    """``get(path, query, role=..., teams=...)``: a GET by a signed-in user of that role."""

    def request(path: str, query: Any = (), *, role: str = "admin", teams: tuple[str, ...] = ()) -> Response:
        return gateway.request("GET", path, query=query, headers=auth_headers(role, teams))

    return request


@pytest.fixture
def data() -> None:
    load(
        [
            *org(repositories=("acme/checkout", "acme/search")),
            commit("a1", at(2, 9)),
            pull_request(7, created_at=at(2, 10), merged_at=at(2, 15), commits=("a1",), labels=["bug"]),
            review("r1", 7, "bob", at(2, 12)),
            deployment("d-100", at(3, 8), commits=("a1", "m7")),
            pull_request(
                8, created_at=at(4, 10), merged_at=at(4, 12), author="bob", additions=400, deletions=0
            ),
            pull_request(9, created_at=at(5, 10), merged_at=at(5, 11), repo="acme/search", author="carol"),
            {"type": "quality", "repository": "acme/checkout", "measured_at": at(2), "coverage": 0.8},
        ]
    )


def test_pull_requests_page_summary_and_meta(get, data):
    response = get(f"{GITHUB}/pull-requests", [*MARCH, ("limit", "2"), ("tz", "Europe/Berlin")])

    assert response.status == 200, response.text
    body = response.json()
    assert [item["number"] for item in body["items"]] == [7, 8]
    assert body["items"][0]["cycle_hours"] == 23.0
    assert body["summary"]["count"] == 3
    # cycles 23 h (deployed), 2 h and 1 h (merged - created): median 2
    assert body["summary"]["median_cycle_hours"] == 2.0
    assert body["next_cursor"]
    meta = body["meta"]
    assert (meta["start_date"], meta["end_date"], meta["tz"]) == ("2026-03-01", "2026-03-31", "Europe/Berlin")
    assert meta["filters"]["limit"] == 2 and meta["cached"] is False and meta["data_updated_at"]

    rest = get(f"{GITHUB}/pull-requests", [*MARCH, ("limit", "2"), ("cursor", body["next_cursor"])]).json()
    assert [item["number"] for item in rest["items"]] == [9]
    assert rest["next_cursor"] is None


def test_the_same_question_is_answered_from_the_cache(get, data):
    first = get(f"{GITHUB}/pull-requests", MARCH).json()
    second = get(f"{GITHUB}/pull-requests", MARCH).json()

    assert (first["meta"]["cached"], second["meta"]["cached"]) == (False, True)
    assert second["items"] == first["items"]


def test_filters_narrow_the_items_and_are_echoed_in_meta(get, data):
    body = get(f"{GITHUB}/pull-requests", [*MARCH, ("size", "l"), ("author", "bob")]).json()

    assert [item["number"] for item in body["items"]] == [8]
    assert body["meta"]["filters"]["size"] == "l" and body["meta"]["filters"]["author"] == "bob"
    labelled = get(f"{GITHUB}/pull-requests", [*MARCH, ("label", "bug")]).json()
    assert [item["number"] for item in labelled["items"]] == [7]


@pytest.mark.parametrize(
    "query",
    [
        [("limit", "0")],
        [("limit", "501")],
        [("size", "huge")],
        [("cursor", "bm90IGEgY3Vyc29y")],
        [("start_date", "2026-13-01")],
        [("start_date", "2026-03-10"), ("end_date", "2026-03-01")],
    ],
)
def test_bad_parameters_are_422_with_the_envelope(get, data, query):
    response = get(f"{GITHUB}/pull-requests", query)

    assert response.status == 422, response.text
    assert response.json()["error"]["request_id"]


def test_the_largest_page_is_allowed(get, data):
    assert get(f"{GITHUB}/pull-requests", [*MARCH, ("limit", "500")]).status == 200


def test_without_a_token_it_is_refused(gateway, data):
    assert gateway.request("GET", f"{GITHUB}/pull-requests").status in (401, 403)


def test_a_member_sees_only_their_teams_and_may_not_ask_for_others(get, data):
    mine = get(f"{GITHUB}/pull-requests", MARCH, role="member", teams=("search",)).json()
    assert [item["repository"] for item in mine["items"]] == ["acme/search"]

    assert (
        get(f"{GITHUB}/pull-requests", [("team", "payments")], role="member", teams=("search",)).status == 403
    )
    assert get(f"{GITHUB}/pull-requests", [("team", "nope")]).status == 404
    insights = get(f"{GITHUB}/repositories/acme/checkout/insights", role="member", teams=("search",))
    assert insights.status == 403


def test_trends_have_one_bucket_per_interval(get, data):
    body = get(f"{GITHUB}/pull-requests/trends", [*MARCH, ("interval", "month")]).json()

    assert [(point["period_start"], point["count"]) for point in body["series"]] == [("2026-03-01", 3)]
    # PR 7 approved by bob; PRs 8 and 9 merged without any review
    assert body["series"][0]["without_approval_share"] == 2 / 3


def test_contributors_and_one_contributor(get, data):
    listing = get(f"{GITHUB}/contributors", MARCH).json()
    assert [item["login"] for item in listing["items"]] == ["alice", "bob", "carol"]

    bob = get(f"{GITHUB}/contributors/bob", MARCH).json()
    assert bob["contributor"]["reviews_given"] == 1
    assert bob["collaboration"]["reviews"][0]["login"] == "alice"
    assert get(f"{GITHUB}/contributors/nobody", MARCH).status == 404
    assert get(f"{GITHUB}/contributors", [("limit", "0")]).status == 422


def test_repository_insights_and_unknown_repository(get, data):
    body = get(f"{GITHUB}/repositories/acme/checkout/insights", MARCH).json()

    assert body["repository"] == "acme/checkout"
    assert body["meta"]["filters"]["repository"] == ["acme/checkout"]
    assert body["pull_requests"]["merged"] == 2
    assert body["releases"]["deployments"] == 1
    assert get(f"{GITHUB}/repositories/acme/nope/insights", MARCH).status == 404


def test_code_quality(get, data):
    body = get(f"{GITHUB}/code-quality", MARCH).json()

    assert [(item["repository"], item["latest"]["coverage"]) for item in body["items"]] == [
        ("acme/checkout", 0.8)
    ]


def test_the_event_file_goes_through_the_handler(gateway, data):
    result = gateway.invoke("GithubFunction", load_event("github_pull_requests"))

    assert result["statusCode"] == 200, result
    assert [item["number"] for item in json.loads(result["body"])["items"]] == [7, 8, 9]
