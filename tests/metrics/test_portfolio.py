"""Portfolio rollups (portfolio-executive.md "Portfolio"), hand-computed on records loaded through ingest.

The org (2 March 2026 is a Monday; the window is March, its previous period 29 Jan - 28 Feb):

    eng ── web ── mobile          acme/web  (web,    Storefront): PRs cycle 1 h, 2 h, 3 h
      └── api                     acme/app  (mobile, Storefront): PR cycle 4 h
                                  acme/api  (api,    Platform):   PR cycle 100 h
                                  previous period: acme/web PR #4, cycle 10 h

Pooled medians: web {1,2,3,4} = 2.5 (its own median 2 and mobile's 4 average to 3); eng
{1,2,3,4,100} = 3 (the children's medians 2.5 and 100 average to 51.25).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pulse import db
from pulse.auth.context import Caller
from pulse.auth.scope import Scope, resolve_scope
from pulse.metrics import portfolio
from pulse.metrics.common import CommonParams, Window

MARCH = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
ADMIN = Caller(subject="1", kind="user", role="admin")


def at(day: int, hour: int = 0, month: int = 3) -> str:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC).isoformat()


def load(records: list[dict[str, Any]]) -> None:
    from pulse.ingest import load_records

    with db.transaction() as connection:
        load_records(connection, records)


def pr(repo: str, number: int, created: str, cycle_hours: int) -> dict[str, Any]:
    """A merged PR without commits or deployment: its cycle is ``merged_at - created_at``."""
    merged = dt.datetime.fromisoformat(created) + dt.timedelta(hours=cycle_hours)
    return {
        "type": "pull_request",
        "repository": repo,
        "number": number,
        "author": "alice",
        "state": "merged",
        "created_at": created,
        "merged_at": merged.isoformat(),
    }


def item(key: str, team: str, kind: str | None, **fields: Any) -> dict[str, Any]:
    record = {"type": "work_item", "key": key, "title": key, "team": team, "status": "done", **fields}
    if kind is not None:
        record["kind"] = kind
    record.setdefault("created_at", at(1))
    if record["status"] != "done":
        record.pop("done_at", None)
    return record


def objective(key: str, team: str, target: str, status: str) -> dict[str, Any]:
    return {
        "type": "objective",
        "key": key,
        "title": key,
        "team": team,
        "target_date": target,
        "status": status,
    }


def org() -> None:
    load(
        [
            {"type": "team", "key": "eng", "name": "Engineering"},
            {"type": "team", "key": "web", "name": "Web", "parent": "eng"},
            {"type": "team", "key": "mobile", "name": "Mobile", "parent": "web"},
            {"type": "team", "key": "api", "name": "API", "parent": "eng"},
            {"type": "repository", "key": "acme/web", "team": "web", "project": "Storefront"},
            {"type": "repository", "key": "acme/app", "team": "mobile", "project": "Storefront"},
            {"type": "repository", "key": "acme/api", "team": "api", "project": "Platform"},
            pr("acme/web", 1, at(2), 1),
            pr("acme/web", 2, at(3), 2),
            pr("acme/web", 3, at(4), 3),
            pr("acme/app", 1, at(5), 4),
            pr("acme/api", 1, at(6), 100),
            pr("acme/web", 4, at(10, month=2), 10),
            # March work: web 4 items (feature 5 + 3 points, bug 2, chore unpointed), api 1 bug (8).
            item(
                "W1",
                "web",
                "feature",
                story_points=5,
                started_at=at(3),
                done_at=at(5),
                objective="O1",
                pull_requests=["acme/web#1"],
            ),
            item(
                "W2",
                "web",
                "feature",
                story_points=3,
                done_at=at(6),
                objective="O1",
                pull_requests=["acme/web#2"],
            ),
            item("W3", "web", "bug", story_points=2, started_at=at(6, 12), done_at=at(7)),
            item("W4", "web", "chore", done_at=at(8), objective="O2"),
            item("A1", "api", "bug", story_points=8, created_at=at(9), started_at=at(9), done_at=at(10)),
            # previous period: one web feature; open work
            item("W5", "web", "feature", story_points=1, created_at=at(14, month=2), done_at=at(15, month=2)),
            item("W6", "web", "feature", status="todo", objective="O3"),
            item("W7", "web", None, status="todo", story_points=2, objective="O5"),
            item("A2", "api", "feature", status="todo", created_at=at(9), objective="O6"),
            objective("O1", "web", "2026-03-10", "done"),  # last item done 5 and 6 March: on time
            objective("O2", "web", "2026-03-06", "done"),  # its item done 8 March: late
            objective("O3", "web", "2026-03-25", "in_progress"),  # due, not done
            objective("O4", "web", "2026-03-15", "dropped"),  # not counted
            objective("O5", "web", "2026-04-30", "in_progress"),  # not due in March
            objective("O6", "api", "2026-04-30", "planned"),
            {"type": "quality", "repository": "acme/web", "measured_at": at(10), "coverage": 0.8},
            {"type": "quality", "repository": "acme/app", "measured_at": at(10), "coverage": 0.6},
            {"type": "quality", "repository": "acme/app", "measured_at": at(20), "coverage": 0.5},
            {"type": "quality", "repository": "acme/api", "measured_at": at(10), "coverage": 0.9},
        ]
    )


def params(window: Window = MARCH, interval: str = "week") -> CommonParams:
    return CommonParams(window=window, interval=interval)  # type: ignore[arg-type]


def scope_for(caller: Caller = ADMIN, teams: tuple[str, ...] = ()) -> Scope:
    with db.connect() as connection:
        return resolve_scope(connection, caller, teams, ())


def teams_tree(caller: Caller = ADMIN) -> list[dict[str, Any]]:
    scope = scope_for(caller)
    with db.connect() as connection:
        return portfolio.teams(connection, scope=scope, params=params())["items"]


def nodes(tree: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    found: dict[str, dict[str, Any]] = {}
    for node in tree:
        found[node["team"]["key"]] = node
        found.update(nodes(node["children"]))
    return found


def test_teams_form_a_tree_of_the_visible_teams():
    org()

    tree = teams_tree()

    assert [node["team"]["key"] for node in tree] == ["eng"]
    assert [child["team"]["key"] for child in tree[0]["children"]] == ["api", "web"]
    web = tree[0]["children"][1]
    assert [child["team"]["key"] for child in web["children"]] == ["mobile"]
    assert web["children"][0]["children"] == []


def test_a_parents_median_cycle_time_is_pooled_over_its_members_prs_never_averaged():
    org()

    teams = nodes(teams_tree())

    # eng: median of {1, 2, 3, 4, 100} = 3; an average of its children's medians (2.5, 100)
    # would be 51.25, and an average of the three leaves' medians (2, 4, 100) 35.3.
    assert teams["eng"]["pull_requests"]["median_cycle_hours"] == 3.0
    assert teams["eng"]["delivery"]["median_cycle_hours"] == 3.0
    # web: median of {1, 2, 3} and mobile's {4} pooled = 2.5 (averaging 2 and 4 would give 3).
    assert teams["web"]["pull_requests"]["median_cycle_hours"] == 2.5
    assert teams["mobile"]["pull_requests"]["median_cycle_hours"] == 4.0
    assert teams["api"]["pull_requests"]["median_cycle_hours"] == 100.0
    assert (teams["eng"]["pull_requests"]["n"], teams["web"]["pull_requests"]["n"]) == (5, 4)
    # flow time: web {48 h (W1), 12 h (W3)} = 30; eng adds api's 24 h: {12, 24, 48} = 24, not 27.
    assert teams["web"]["delivery"]["median_flow_hours"] == 30.0
    assert teams["eng"]["delivery"]["median_flow_hours"] == 24.0
    assert teams["eng"]["delivery"]["n"]["flow_time"] == 3


def test_previous_period_values_and_relative_change():
    org()

    web = nodes(teams_tree())["web"]

    block = web["pull_requests"]
    # previous period (29 Jan - 28 Feb): one PR of 10 h.
    assert block["previous"]["merged"] == 1 and block["previous"]["median_cycle_hours"] == 10.0
    assert block["change"]["merged"] == 3.0  # (4 - 1) / 1
    assert block["change"]["median_cycle_hours"] == -0.75  # (2.5 - 10) / 10
    # no pickup in either period: null, and so is its change
    assert block["median_pickup_hours"] is None and block["change"]["median_pickup_hours"] is None
    velocity = web["velocity"]
    assert velocity["done_items"] == 4 and velocity["previous"]["done_items"] == 1
    assert velocity["done_items_per_week"] == pytest.approx(4 / (31 / 7))
    assert velocity["previous"]["done_items_per_week"] == pytest.approx(1 / (31 / 7))
    assert velocity["change"]["done_items_per_week"] == pytest.approx(3.0)


def test_team_quality_pools_bug_share_and_coverage():
    org()

    teams = nodes(teams_tree())

    # eng done in March: W1, W2 (feature), W3, A1 (bug), W4 (chore): 2 bugs of 5.
    assert teams["eng"]["quality"]["bug_share"] == 0.4
    assert teams["web"]["quality"]["bug_share"] == 0.25
    # latest coverage: web 0.8, app 0.5 (its last March measurement), api 0.9
    assert teams["web"]["quality"]["median_coverage"] == pytest.approx(0.65)
    assert teams["web"]["quality"]["lowest_coverage"] == 0.5
    assert teams["eng"]["quality"]["median_coverage"] == 0.8
    assert teams["eng"]["quality"]["n"]["coverage"] == 3
    assert teams["eng"]["quality"]["change_failure_rate"] is None  # no deployment


def test_on_time_rate_of_objectives_due_in_the_window():
    org()

    teams = nodes(teams_tree())

    # due in March, not dropped: O1 (on time), O2 (item done after target), O3 (not done).
    delivery = teams["web"]["delivery"]
    assert (delivery["objectives_due"], delivery["objectives_on_time"]) == (3, 1)
    assert delivery["on_time_rate"] == pytest.approx(1 / 3)
    assert teams["eng"]["delivery"]["on_time_rate"] == pytest.approx(1 / 3)
    assert teams["api"]["delivery"]["on_time_rate"] is None  # nothing due


def test_projects_pool_their_repositories():
    org()
    with db.connect() as connection:
        items = portfolio.projects(connection, scope=scope_for(), params=params())["items"]

    by_name = {entry["project"]: entry for entry in items}
    assert list(by_name) == ["Platform", "Storefront"]
    storefront = by_name["Storefront"]
    assert storefront["repositories"] == ["acme/app", "acme/web"]
    # {1, 2, 3} and {4} pooled: 2.5 (the repositories' medians 2 and 4 average to 3)
    assert storefront["pull_requests"]["median_cycle_hours"] == 2.5
    assert storefront["pull_requests"]["merged"] == 4
    # work items linked to a Storefront PR: W1 and W2, features of 5 and 3 points
    assert storefront["work_items"]["done_by_type"] == {"feature": 2, "bug": 0, "chore": 0, "untyped": 0}
    assert storefront["work_items"]["done_points"] == 8.0
    assert storefront["quality"]["median_coverage"] == pytest.approx(0.65)
    assert storefront["quality"]["lowest_coverage"] == 0.5
    assert by_name["Platform"]["pull_requests"]["previous"]["merged"] == 0
    assert by_name["Platform"]["pull_requests"]["change"]["merged"] is None  # previous 0
    assert storefront["deployment_frequency"]["n"] == 0


def alignment(caller: Caller = ADMIN, teams: tuple[str, ...] = ()) -> dict[str, Any]:
    scope = scope_for(caller, teams)
    with db.connect() as connection:
        return portfolio.alignment(connection, scope=scope, params=params())


def test_investment_shares_by_count_and_by_points():
    org()

    body = alignment()

    org_share = body["investment"]["org"]["investment"]
    # done in March: features W1 (5), W2 (3); bugs W3 (2), A1 (8); chore W4 (no points): 18 points.
    assert (org_share["done"], org_share["points"], org_share["n"]) == (5, 18.0, 5)
    assert {name: t["count_share"] for name, t in org_share["by_type"].items()} == {
        "feature": 0.4,
        "bug": 0.4,
        "chore": 0.2,
        "untyped": 0.0,
    }
    assert org_share["by_type"]["feature"]["points_share"] == pytest.approx(8 / 18)
    assert org_share["by_type"]["bug"]["points_share"] == pytest.approx(10 / 18)
    assert org_share["by_type"]["chore"]["points_share"] == 0.0
    teams = {entry["team"]["key"]: entry for entry in body["investment"]["teams"]}
    web = teams["web"]["investment"]["by_type"]
    assert (web["feature"]["count_share"], web["feature"]["points_share"]) == (0.5, 0.8)
    assert teams["web"]["team"]["parent"] == "eng"
    # previous period: web's one feature
    assert teams["web"]["investment"]["previous"]["by_type"]["feature"]["count_share"] == 1.0
    projects = {entry["project"]: entry for entry in body["investment"]["projects"]}
    assert projects["Storefront"]["investment"]["by_type"]["feature"]["points_share"] == 1.0
    assert projects["Platform"]["investment"]["done"] == 0


def test_investment_series_per_week():
    org()

    series = alignment()["investment"]["org"]["series"]

    # March 2026 spans the Monday-weeks of 23 Feb .. 30 March.
    assert [entry["period_start"] for entry in series] == [
        "2026-02-23", "2026-03-02", "2026-03-09", "2026-03-16", "2026-03-23", "2026-03-30",
    ]  # fmt: skip
    # week of 2 March: W1 (Thu 5), W2, W3, W4 (Sun 8); week of 9 March: A1 (Tue 10)
    assert [entry["done"] for entry in series] == [0, 4, 1, 0, 0, 0]
    assert series[1]["by_type"]["feature"]["count_share"] == 0.5
    assert series[0]["by_type"]["feature"]["count_share"] is None  # no item: null, not 0


def test_coverage_shows_the_unlinked_merged_prs():
    org()

    coverage = alignment()["coverage"]

    # March merged PRs: web #1, #2 (linked to W1, W2), web #3, app #1, api #1 (unlinked)
    assert (coverage["merged"], coverage["linked"], coverage["unlinked"]) == (5, 2, 3)
    assert (coverage["share"], coverage["unlinked_share"], coverage["n"]) == (0.4, 0.6, 5)
    assert coverage["previous"]["unlinked"] == 1


def test_objectives_progress_and_forecast():
    from pulse.analytics import forecast

    org()

    found = {entry["key"]: entry for entry in alignment()["objectives"]}

    # open ones (O3, O5, O6) and those due in March (O1, O2, O3, O4)
    assert sorted(found) == ["O1", "O2", "O3", "O4", "O5", "O6"]
    o1 = found["O1"]
    assert (o1["items_done"], o1["items_total"], o1["points_done"], o1["points_total"]) == (2, 2, 8.0, 8.0)
    assert o1["p50_date"] is None and o1["forecast_reason"] == "the objective is done"
    o5 = found["O5"]
    assert (o5["items_done"], o5["items_total"], o5["remaining"], o5["points_total"]) == (0, 1, 1, 2.0)
    # web's history: weeks since its first done item (W5, done 15 Feb: the week of 9 Feb) up to
    # the last full week before 1 April (the week of 23 March): 9 Feb 1 (W5), 2 March 4.
    assert o5["weekly_throughput"] == [1, 0, 0, 4, 0, 0, 0]
    expected = forecast.forecast_delivery(
        weekly_throughput=[1, 0, 0, 4, 0, 0, 0],
        remaining=1,
        start=dt.date(2026, 3, 30),
        target=dt.date(2026, 4, 30),
    ).as_dict()
    assert {name: o5[name] for name in expected} == expected
    assert o5["p50_date"] <= o5["p85_date"]
    # api's first item was done 10 March: 3 weeks of history, too thin to forecast.
    o6 = found["O6"]
    assert o6["p50_date"] is None and o6["probability_by_target"] is None
    assert o6["forecast_reason"] == "fewer than 6 weeks of throughput history (3)"


def test_a_member_sees_only_their_subtree():
    org()
    member = Caller(subject="2", kind="user", role="member", teams=("web",))

    tree = teams_tree(member)

    assert [node["team"]["key"] for node in tree] == ["web"]
    assert [child["team"]["key"] for child in tree[0]["children"]] == ["mobile"]
    body = alignment(member)
    assert body["coverage"]["merged"] == 4  # acme/web and acme/app only
    assert body["investment"]["org"]["investment"]["done"] == 4
    assert {entry["project"] for entry in body["investment"]["projects"]} == {"Storefront"}
    assert sorted(entry["key"] for entry in body["objectives"]) == ["O1", "O2", "O3", "O4", "O5"]


def test_forecast_start_is_the_monday_after_the_last_full_week():
    # window ending Tuesday 31 March: the last full week ends Sunday 29 March
    assert portfolio.forecast_start(MARCH) == dt.date(2026, 3, 30)
    # window ending Sunday 29 March: that week is full
    assert portfolio.forecast_start(Window(dt.date(2026, 3, 1), dt.date(2026, 3, 29))) == dt.date(2026, 3, 30)


def test_relative_change():
    assert portfolio.relative_change(3.0, 2.0) == 0.5
    assert portfolio.relative_change(1, 0) is None
    assert portfolio.relative_change(None, 2) is None
    assert portfolio.relative_change(2, None) is None


def test_the_history_length_is_the_forecasts():
    from pulse.analytics import forecast

    assert portfolio.HISTORY_WEEKS == forecast.HISTORY_WEEKS
