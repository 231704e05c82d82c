"""Executive KPI cards and trends, hand-computed on records loaded through ingest.

The window is March 2026 (31 days); its previous period is 29 January - 28 February (31 days).
2 March 2026 is a Monday.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pulse import db
from pulse.auth.context import Caller
from pulse.auth.scope import resolve_scope
from pulse.errors import ApiError
from pulse.metrics import executive
from pulse.metrics.common import CommonParams, Window

MARCH = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
ADMIN = Caller(subject="1", kind="user", role="admin")


def at(day: int, hour: int = 0, month: int = 3) -> str:
    return dt.datetime(2026, month, day, hour, tzinfo=dt.UTC).isoformat()


def load(records: list[dict[str, Any]]) -> None:
    from pulse.ingest import load_records

    with db.transaction() as connection:
        load_records(connection, records)


def deployment(key: str, finished: str, repo: str = "acme/web", **fields: Any) -> dict[str, Any]:
    return {
        "type": "deployment",
        "id": key,
        "repository": repo,
        "environment": "production",
        "status": "success",
        "finished_at": finished,
        **fields,
    }


def merged_pr(number: int, created: str, hours: float, repo: str = "acme/web") -> dict[str, Any]:
    """A merged PR without commits or deployment: its cycle time is ``merged_at - created_at``."""
    merged = dt.datetime.fromisoformat(created) + dt.timedelta(hours=hours)
    return {
        "type": "pull_request",
        "repository": repo,
        "number": number,
        "author": "alice",
        "state": "merged",
        "created_at": created,
        "merged_at": merged.isoformat(),
    }


def work_item(key: str, kind: str, status: str = "done", **fields: Any) -> dict[str, Any]:
    return {
        "type": "work_item",
        "key": key,
        "title": key,
        "team": "web",
        "kind": kind,
        "status": status,
        **fields,
    }


def org() -> None:
    """The cards' org: one team, one repository, figures in the comments of the tests."""
    load(
        [
            {"type": "team", "key": "web", "name": "Web"},
            {"type": "repository", "key": "acme/web", "team": "web", "project": "Storefront"},
            {"type": "commit", "repository": "acme/web", "sha": "c0", "authored_at": at(10, 6, month=2)},
            {"type": "commit", "repository": "acme/web", "sha": "c1", "authored_at": at(2, 8)},
            {"type": "commit", "repository": "acme/web", "sha": "c2", "authored_at": at(8, 10)},
            # March: four deployments (one a hotfix); previous period: two.
            deployment("d1", at(2, 10), commits=["c1"]),
            deployment("d2", at(9, 10), commits=["c2"]),
            deployment("d3", at(16, 10), kind="hotfix"),
            deployment("d4", at(23, 10)),
            deployment("p1", at(10, 10, month=2), commits=["c0"]),
            deployment("p2", at(17, 10, month=2)),
            # i1 -> d1 (2 h after it), resolved in 2 h; i2 -> d3 (96 h after it), still open;
            # pi1 is 192 h after p2: beyond the 168 h attribution window, so no failed deployment.
            {
                "type": "incident",
                "id": "i1",
                "repository": "acme/web",
                "created_at": at(2, 12),
                "resolved_at": at(2, 14),
            },
            {"type": "incident", "id": "i2", "repository": "acme/web", "created_at": at(20, 10)},
            {
                "type": "incident",
                "id": "pi1",
                "repository": "acme/web",
                "created_at": at(25, 10, month=2),
                "resolved_at": at(25, 16, month=2),
            },
            merged_pr(1, at(3), 10),
            merged_pr(2, at(4), 20),
            merged_pr(3, at(5), 30),
            merged_pr(4, at(10, month=2), 40),
            # Work: two features and a bug done in March, a bug done in February; W5 open.
            work_item("W1", "feature", created_at=at(1), done_at=at(10), objective="O1"),
            work_item("W2", "feature", created_at=at(1), done_at=at(11)),
            work_item("W3", "bug", created_at=at(1), done_at=at(12)),
            work_item("W4", "bug", created_at=at(5, month=1), done_at=at(15, month=2)),
            work_item("W5", "feature", status="in_progress", created_at=at(1), objective="O2"),
            # O1: nothing remains (on track); O2: one item left, target before the first
            # simulated week ends (probability 0, not on track).
            {
                "type": "objective",
                "key": "O1",
                "title": "Checkout v2",
                "team": "web",
                "target_date": "2026-06-30",
                "status": "in_progress",
            },
            {
                "type": "objective",
                "key": "O2",
                "title": "Wallets",
                "team": "web",
                "target_date": "2026-03-31",
                "status": "in_progress",
            },
        ]
    )


def params(window: Window = MARCH, interval: str = "week", project: str | None = None) -> CommonParams:
    return executive.with_project(CommonParams(window=window, interval=interval), project)  # type: ignore[arg-type]


def scope_for(teams: tuple[str, ...] = (), project: str | None = None, caller: Caller = ADMIN) -> Any:
    with db.connect() as connection:
        scope = resolve_scope(connection, caller, teams, ())
        return executive.project_scope(connection, scope, project) if project else scope


def cards(**kwargs: Any) -> dict[str, Any]:
    project = kwargs.get("project")
    scope = scope_for(kwargs.get("teams", ()), project)
    with db.connect() as connection:
        return executive.cards(connection, scope=scope, params=params(project=project))["cards"]


def test_the_dora_cards_compare_with_the_previous_period_and_carry_tiers():
    org()

    found = cards()

    frequency = found["deployment_frequency"]
    # 4 deployments in 31 days = 4 / 31 * 7 per week; before 2 / 31 * 7; change (4 - 2) / 2.
    assert frequency["value"] == pytest.approx(4 / 31 * 7)
    assert frequency["previous"] == pytest.approx(2 / 31 * 7)
    assert frequency["change"] == pytest.approx(1.0)
    assert (frequency["better"], frequency["n"], frequency["previous_n"]) == (True, 4, 2)
    # Weeks overlapping March hold 0,1,1,1,1,0 deployment days: median 1 = high. Before: weeks
    # 0,0,1,1,0 (median 0), months Jan 0 / Feb 2 (median 1) = medium.
    assert (frequency["tier"], frequency["previous_tier"]) == ("high", "medium")

    lead = found["lead_time_for_changes"]
    # c1 2 h, c2 24 h: median 13 h; before c0 4 h. Lower is better: 13 > 4 is worse.
    assert (lead["value"], lead["previous"], lead["n"]) == (13.0, 4.0, 2)
    assert lead["change"] == pytest.approx(2.25)
    assert (lead["better"], lead["direction"], lead["tier"]) == (False, "lower", "elite")

    failure = found["change_failure_rate"]
    # d1 and d3 have an incident: 2 / 4; before 0 / 2. Change from 0 is null, but worse is worse.
    assert (failure["value"], failure["previous"], failure["change"]) == (0.5, 0.0, None)
    assert (failure["better"], failure["tier"], failure["previous_tier"]) == (False, "low", "elite")

    restore = found["time_to_restore"]
    # resolved: i1 2 h (n 1); before pi1 6 h: (2 - 6) / 6, better.
    assert (restore["value"], restore["previous"], restore["n"]) == (2.0, 6.0, 1)
    assert restore["change"] == pytest.approx(-2 / 3)
    assert (restore["better"], restore["tier"]) == (True, "high")

    rework = found["rework_rate"]
    # d3 is a hotfix: 1 / 4; no benchmark table for rework, so no tier.
    assert (rework["value"], rework["previous"], rework["better"], rework["tier"]) == (0.25, 0.0, False, None)


def test_the_flow_cards():
    org()

    found = cards()

    cycle = found["cycle_time"]
    # PR cycles 10, 20, 30 h: median 20; before 40: (20 - 40) / 40.
    assert (cycle["value"], cycle["previous"], cycle["change"], cycle["better"]) == (20.0, 40.0, -0.5, True)
    assert (cycle["n"], cycle["previous_n"], "tier" in cycle) == (3, 1, False)

    throughput = found["merged_prs_per_week"]
    assert throughput["value"] == pytest.approx(3 / 31 * 7)
    assert throughput["previous"] == pytest.approx(1 / 31 * 7)
    assert (throughput["change"], throughput["better"]) == (pytest.approx(2.0), True)

    share = found["feature_share"]
    # done in March: 2 features of 3 items; before 0 of 1. No good direction: better is null.
    assert (share["value"], share["previous"], share["n"]) == (pytest.approx(2 / 3), 0.0, 3)
    assert (share["better"], share["direction"]) == (None, None)

    objectives = found["objectives_on_track"]
    # O1 on track, O2 not: 1 / 2. As of 28 February neither had items yet: both done, 2 / 2.
    assert (objectives["value"], objectives["previous"], objectives["n"]) == (0.5, 1.0, 2)
    assert (objectives["change"], objectives["better"]) == (-0.5, False)
    assert objectives["detail"] == {"on_track": 1, "forecast": 2, "without_forecast": 0}

    incidents = found["open_incidents"]
    # i2 is open (of 2 created); before none open (of 1).
    assert (incidents["value"], incidents["previous"], incidents["n"], incidents["better"]) == (
        1,
        0,
        2,
        False,
    )


def test_an_unchanged_or_missing_figure_is_neither_better_nor_worse():
    assert executive.better(2.0, 2.0, "lower") is None
    assert executive.better(None, 2.0, "higher") is None
    assert executive.better(3.0, None, "higher") is None
    assert executive.better(3.0, 2.0, "higher") is True
    assert executive.better(3.0, 2.0, "lower") is False


def test_the_project_filter_keeps_the_projects_repositories_only():
    org()
    load(
        [
            {"type": "team", "key": "api", "name": "API"},
            {"type": "repository", "key": "acme/api", "team": "api", "project": "Platform"},
            deployment("a1", at(4, 10), repo="acme/api"),
            merged_pr(1, at(6), 100, repo="acme/api"),
        ]
    )

    org_wide, storefront, platform = cards(), cards(project="Storefront"), cards(project="Platform")

    assert [c["deployment_frequency"]["n"] for c in (org_wide, storefront, platform)] == [5, 4, 1]
    # pooled: {10, 20, 30, 100} has median 25; Storefront {10, 20, 30} 20; Platform {100}.
    assert [c["cycle_time"]["value"] for c in (org_wide, storefront, platform)] == [25.0, 20.0, 100.0]
    assert cards(teams=("api",))["deployment_frequency"]["n"] == 1


def test_an_unknown_project_is_a_404():
    org()

    with pytest.raises(ApiError) as raised:
        scope_for(project="Nowhere")

    assert raised.value.status == 404


# --- trends ---------------------------------------------------------------------------------------


def weekly_deployments(counts: list[int], first_monday: dt.date) -> list[dict[str, Any]]:
    """``counts[k]`` deployments on the Tuesday of week k (from ``first_monday``)."""
    records: list[dict[str, Any]] = [
        {"type": "team", "key": "web", "name": "Web"},
        {"type": "repository", "key": "acme/web", "team": "web"},
    ]
    for week, count in enumerate(counts):
        tuesday = first_monday + dt.timedelta(weeks=week, days=1)
        for k in range(count):
            finished = dt.datetime.combine(tuesday, dt.time(9 + k), dt.UTC)
            records.append(deployment(f"w{week}-{k}", finished.isoformat()))
    return records


def trend(metric: str, window: Window, interval: str = "week", horizon: int = 4) -> dict[str, Any]:
    with db.connect() as connection:
        return executive.trend(
            connection,
            metric=metric,  # type: ignore[arg-type]
            scope=scope_for(),
            params=params(window, interval),
            horizon=horizon,
        )


# 5 January 2026 is a Monday; 12 weeks end on Sunday 29 March.
JANUARY_5 = dt.date(2026, 1, 5)


def test_a_trend_keeps_complete_buckets_only_and_forecasts_a_constant_as_the_constant():
    # A deployment in the partial weeks at both ends (Sat 3 Jan, Tue 31 Mar) must not show.
    load(
        [
            *weekly_deployments([2] * 12, JANUARY_5),
            deployment("early", at(3, 9, month=1)),
            deployment("late", at(31, 9)),
        ]
    )

    found = trend("deployments", Window(dt.date(2026, 1, 1), dt.date(2026, 3, 31)))

    assert (found["history_start"], found["history_end"]) == ("2026-01-05", "2026-03-29")
    assert [entry["value"] for entry in found["history"]] == [2.0] * 12
    assert found["history"][0] == {"period_start": "2026-01-05", "value": 2.0, "n": 2}
    # A series that never changes: naive is perfect, MASE undefined, so naive is served.
    assert found["model"] == "naive" and found["backtest"]["mase"] is None
    assert [row["period_start"] for row in found["forecast"]] == [
        "2026-03-30",
        "2026-04-06",
        "2026-04-13",
        "2026-04-20",
    ]
    assert all(row["value"] == row["lo95"] == row["hi95"] == 2.0 for row in found["forecast"])


def test_a_linear_trend_is_followed_by_the_damped_model():
    load(weekly_deployments(list(range(1, 15)), JANUARY_5))

    found = trend("deployments", Window(JANUARY_5, JANUARY_5 + dt.timedelta(weeks=14, days=-1)), horizon=2)

    assert [entry["value"] for entry in found["history"]] == [float(v) for v in range(1, 15)]
    assert found["model"] == "damped_trend" and found["backtest"]["mase"] < 1
    assert found["backtest"]["origins"] == 8
    # Next value of 1..14 is 15; damping (phi <= 0.98) keeps it a little under.
    assert 14.5 < found["forecast"][0]["value"] <= 15.0
    assert found["forecast"][0]["lo95"] < found["forecast"][0]["lo80"] < found["forecast"][0]["value"]


def test_fewer_than_12_buckets_give_no_forecast_and_the_reason():
    load(weekly_deployments([1] * 11, JANUARY_5))

    found = trend("deployments", Window(JANUARY_5, JANUARY_5 + dt.timedelta(weeks=11, days=-1)))

    assert len(found["history"]) == 11
    assert (found["model"], found["forecast"]) == (None, None)
    assert found["reason"] == "fewer than 12 buckets of history (11)"


def test_a_window_without_a_complete_bucket_has_no_history():
    found = trend("throughput", Window(dt.date(2026, 3, 3), dt.date(2026, 3, 8)))

    assert found["history"] == [] and found["forecast"] is None
    assert found["reason"] == "the window holds no complete week"


def test_monthly_buckets_and_rates_stay_within_their_range():
    # Months: complete ones from January to March; a rate's forecast is clipped to [0, 1].
    found = trend(
        "change_failure_rate", Window(dt.date(2025, 12, 15), dt.date(2026, 4, 10)), interval="month"
    )

    assert [entry["period_start"] for entry in found["history"]] == ["2026-01-01", "2026-02-01", "2026-03-01"]
    assert [entry["value"] for entry in found["history"]] == [None, None, None]
    assert found["reason"] == "no data in any month of the window"


def test_cycle_time_and_throughput_trends_read_the_pr_stages():
    load(
        [
            {"type": "team", "key": "web", "name": "Web"},
            {"type": "repository", "key": "acme/web", "team": "web"},
            merged_pr(1, at(2), 10),
            merged_pr(2, at(3), 20),
            merged_pr(3, at(10), 5),
        ]
    )
    window = Window(dt.date(2026, 3, 2), dt.date(2026, 3, 15))

    cycle, throughput = trend("cycle_time", window), trend("throughput", window)

    assert [(e["value"], e["n"]) for e in cycle["history"]] == [(15.0, 2), (5.0, 1)]
    assert [e["value"] for e in throughput["history"]] == [2.0, 1.0]


def test_the_next_buckets_of_a_month_and_a_week():
    assert executive.next_buckets(dt.date(2026, 11, 1), "month", 3) == [
        "2026-12-01",
        "2027-01-01",
        "2027-02-01",
    ]
    assert executive.next_buckets(dt.date(2026, 3, 30), "week", 1) == ["2026-04-06"]
