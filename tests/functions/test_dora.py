"""The DORA route group and the cache warmer, through the local API Gateway and the real handlers."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from typing import Any

import pytest

from pulse.local.events import http_event, response_body
from pulse.local.gateway import Response
from tests.conftest import load_event
from tests.metrics.test_dora import at, commit, deployment, incident, load, repository, team

DORA = "/api/v1/metrics/dora"
MARCH = [("start_date", "2026-03-01"), ("end_date", "2026-03-31")]


@pytest.fixture(autouse=True)
def empty_cache():
    """Each test resets the data version to 0, so an earlier test's answers would match its keys."""
    from pulse import cache

    for name in cache.get_redis().scan_iter(match=cache.key("dora:*")):
        cache.get_redis().delete(name)


@pytest.fixture
def get(gateway, auth_headers):
    """``get(path, query, role=..., teams=...)``: a GET by a signed-in user of that role."""

    def request(path: str, query: Any = (), *, role: str = "admin", teams: tuple[str, ...] = ()) -> Response:
        if gateway.template.default_authorizer:
            # `fam` (session family) is required by the auth issue's tokens; conftest omits it.
            headers = auth_headers(role, teams, fam=uuid.uuid4().hex)
            return gateway.request("GET", path, query=query, headers=headers)
        # No authorizer in template.yaml yet: hand the handler the context it would have produced.
        matched = gateway.match("GET", path)
        assert matched is not None, path
        route, _ = matched
        context = {"sub": "1", "kind": "user", "role": role, "teams": ",".join(teams)}
        event = http_event("GET", path, route_key=f"GET {route.path}", query=list(query), authorizer=context)
        result = gateway.invoke(route.function, event)
        return Response(result["statusCode"], result.get("headers") or {}, response_body(result))

    return request


def org() -> None:
    load(
        team("platform"),
        team("infra", parent="platform"),
        team("payments"),
        repository("acme/core", team="platform"),
        repository("acme/tf", team="infra"),
        repository("acme/pay", team="payments"),
        commit("c1", at(2, 4), repo="acme/core"),
        deployment("d1", at(2, 10), repo="acme/core", commits=["c1"]),
        deployment("d2", at(3, 10), repo="acme/pay", kind="hotfix"),
        incident("i1", at(3, 11), at(3, 13), repo="acme/pay"),
    )


def test_summary_has_every_block_and_the_meta_block(get):
    org()

    response = get(f"{DORA}/summary", [*MARCH, ("tz", "Europe/Berlin"), ("benchmark", "2021")])

    assert response.status == 200, response.text
    body = response.json()
    meta = body["meta"]
    assert (meta["start_date"], meta["end_date"], meta["tz"], meta["cached"]) == (
        "2026-03-01",
        "2026-03-31",
        "Europe/Berlin",
        False,
    )
    assert meta["filters"]["benchmark"] == "2021" and meta["filters"]["environment"] == "production"
    assert meta["data_updated_at"] and meta["generated_at"]
    assert body["deployment_frequency"]["deployments"] == 2
    assert body["lead_time_for_changes"]["median_hours"] == 6.0
    assert body["change_failure_rate"] == {
        "deployments": 2,
        "failed_deployments": 1,
        "rate": 0.5,
        "tier": "low",
    }
    assert body["time_to_restore"]["median_hours"] == 2.0
    assert body["rework_rate"]["rate"] == 0.5


@pytest.mark.parametrize(
    ("path", "block"),
    [
        ("deployment-frequency", "deployment_frequency"),
        ("lead-time", "lead_time_for_changes"),
        ("change-failure-rate", "change_failure_rate"),
        ("time-to-restore", "time_to_restore"),
    ],
)
def test_per_metric_endpoints_return_the_block_and_one_series_entry_per_bucket(get, path, block):
    org()

    body = get(
        f"{DORA}/{path}", [("start_date", "2026-03-01"), ("end_date", "2026-03-05"), ("interval", "day")]
    )

    assert block in body.json()
    assert [entry["period_start"] for entry in body.json()["series"]] == [
        "2026-03-01",
        "2026-03-02",
        "2026-03-03",
        "2026-03-04",
        "2026-03-05",
    ]


def test_teams_lists_each_visible_team(get):
    org()

    admin = get(f"{DORA}/teams", MARCH).json()["items"]
    manager = get(f"{DORA}/teams", MARCH, role="manager", teams=("platform",)).json()["items"]

    assert [item["team"]["key"] for item in admin] == ["infra", "payments", "platform"]
    assert [item["team"]["key"] for item in manager] == ["infra", "platform"]
    assert manager[1]["deployment_frequency"]["deployments"] == 1


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ([("team", "nope")], 404, "team_not_found"),
        ([("repository", "acme/nope")], 404, "repository_not_found"),
        ([("team", "payments")], 403, "team_forbidden"),
        ([("repository", "acme/pay")], 403, "repository_forbidden"),
    ],
)
def test_filters_the_caller_may_not_use(get, query, status, code):
    org()

    response = get(f"{DORA}/summary", query, role="member", teams=("platform",))

    assert response.status == status
    assert response.json()["error"]["code"] == code


@pytest.mark.parametrize(
    "query",
    [
        [("start_date", "2026-02-30")],
        [("start_date", "2026-03-10"), ("end_date", "2026-03-01")],
        [("start_date", "2020-01-01"), ("end_date", "2026-03-01")],
        [("tz", "Mars/Olympus")],
        [("interval", "year")],
        [("benchmark", "2019")],
    ],
)
def test_bad_parameters_are_422_with_the_envelope(get, query):
    response = get(f"{DORA}/lead-time", query)

    assert response.status == 422
    assert response.json()["error"]["code"] in {"validation_error", "invalid_window", "invalid_tz"}


def test_a_second_request_is_served_from_the_cache(get):
    org()

    first = get(f"{DORA}/change-failure-rate", MARCH).json()
    second = get(f"{DORA}/change-failure-rate", MARCH).json()

    assert (first["meta"]["cached"], second["meta"]["cached"]) == (False, True)
    assert second["series"] == first["series"]


def test_the_event_file_runs_through_the_handler(gateway):
    org()

    result = gateway.invoke("DoraFunction", load_event("dora_summary"))

    assert result["statusCode"] == 200
    assert "deployment_frequency" in json.loads(result["body"])


def test_the_scheduled_warmer_makes_the_dashboards_first_requests_cache_hits(gateway, get):
    today = dt.datetime.now(dt.UTC).date()
    yesterday = dt.datetime.combine(today - dt.timedelta(days=1), dt.time(12), dt.UTC).isoformat()
    load(
        team("platform"),
        team("payments"),
        repository("acme/core", team="platform"),
        deployment("d1", yesterday, repo="acme/core"),
    )

    warmed = gateway.invoke("WarmerFunction", load_event("warmer_schedule"))

    # Two windows x (org + 2 teams) x (summary + teams).
    assert (warmed["computed"], warmed["already_cached"]) == (12, 0)
    last_30 = [("start_date", (today - dt.timedelta(days=29)).isoformat()), ("end_date", today.isoformat())]
    requests = [
        (f"{DORA}/summary", []),  # the default window: 90 days ending today
        (f"{DORA}/teams", []),
        (f"{DORA}/summary", last_30),
        (f"{DORA}/teams", last_30),
        (f"{DORA}/summary", [("team", "platform")]),
        (f"{DORA}/teams", [*last_30, ("team", "payments")]),
    ]
    for path, query in requests:
        body = get(path, query).json()
        assert body["meta"]["cached"] is True, (path, query)
    assert get(f"{DORA}/summary", []).json()["deployment_frequency"]["deployments"] == 1
    # An executive's org-wide request uses the same key as the admin the warmer stands for.
    assert get(f"{DORA}/summary", [], role="executive").json()["meta"]["cached"] is True
    again = gateway.invoke("WarmerFunction", load_event("warmer_schedule"))
    assert (again["computed"], again["already_cached"]) == (0, 12)
