"""Executive risk rules, each at its threshold (just below, just above), on records loaded through ingest.

The window is March 2026 (31 days, ending 1 April 00:00 UTC, which is also the "as of" instant
for open PRs); the previous period is 29 January - 28 February (31 days).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from typing import Any

import pytest

from pulse import db
from pulse.auth.context import Caller
from pulse.auth.scope import resolve_scope
from pulse.metrics import executive
from pulse.metrics.common import CommonParams, Window
from tests.metrics.test_executive import at, deployment, load, merged_pr

MARCH = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31))
AS_OF = dt.datetime(2026, 4, 1, tzinfo=dt.UTC)
ADMIN = Caller(subject="1", kind="user", role="admin")
DEFAULTS = executive.Thresholds()
BASE = [
    {"type": "team", "key": "web", "name": "Web"},
    {"type": "repository", "key": "acme/web", "team": "web", "project": "Storefront"},
]


def risks(thresholds: executive.Thresholds = DEFAULTS, caller: Caller = ADMIN) -> list[dict[str, Any]]:
    with db.connect() as connection:
        scope = resolve_scope(connection, caller, (), ())
        found = executive.risks(
            connection, scope=scope, params=CommonParams(window=MARCH), thresholds=thresholds
        )
    return found["items"]


def kinds(items: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [item for item in items if item["kind"] == kind]


def ago(**delta: float) -> str:
    return (AS_OF - dt.timedelta(**delta)).isoformat()


def test_the_default_thresholds_are_the_specs():
    assert (
        executive.Thresholds(
            slowdown_increase=0.25,
            slowdown_min_prs=10,
            change_failure_rate=0.15,
            pickup_hours=24,
            waiting_share=0.2,
            waiting_hours=48,
            concentration_share=0.5,
            concentration_min_commits=20,
            objective_probability=0.5,
            coverage_drop_points=5,
            stale_days=30,
            surge_p_value=0.05,
            surge_min_incidents=3,
        )
        == DEFAULTS
    )
    assert executive.Thresholds.from_settings() == DEFAULTS


def test_thresholds_are_configurable_through_settings(monkeypatch):
    from pulse.config import Settings

    monkeypatch.setenv("RISK_STALE_DAYS", "10")
    monkeypatch.setenv("RISK_CHANGE_FAILURE_RATE", "0.3")

    configured = executive.Thresholds.from_settings(Settings())

    assert (configured.stale_days, configured.change_failure_rate) == (10, 0.3)


# --- delivery_slowdown: median cycle >= previous * 1.25, at least 10 PRs in each -------------------


@pytest.mark.parametrize(
    ("now_hours", "now_count", "fires"),
    [(12.5, 10, True), (12.4, 10, False), (12.5, 9, False)],
)
def test_delivery_slowdown(now_hours, now_count, fires):
    # previous: 10 PRs of 10 h (median 10); now: PRs of now_hours.
    load(
        [
            *BASE,
            *[merged_pr(k + 1, at(2 + k, month=2), 10) for k in range(10)],
            *[merged_pr(100 + k, at(2 + k), now_hours) for k in range(now_count)],
        ]
    )

    found = kinds(risks(), "delivery_slowdown")

    assert len(found) == (1 if fires else 0)
    if fires:
        (item,) = found
        assert item["subject"] == {"type": "team", "key": "web"}
        assert item["evidence"]["median_cycle_hours"] == 12.5
        assert item["evidence"]["previous_median_cycle_hours"] == 10.0
        assert item["evidence"]["increase"] == pytest.approx(0.25)
        assert item["severity"] == "low" and item["since"] == "2026-03-01"
        assert "25%" in item["explanation"]


# --- stability_drop: change failure rate above 15% and above the previous period -------------------


def deployments_with_failures(prefix: str, month: int, total: int, failed: int) -> list[dict[str, Any]]:
    """``total`` deployments on days 1..total of ``month``, the first ``failed`` with an incident naming them."""
    records = []
    for day in range(1, total + 1):
        records.append(deployment(f"{prefix}{day}", at(day, 10, month=month)))
        if day <= failed:
            records.append(
                {
                    "type": "incident",
                    "id": f"{prefix}-inc{day}",
                    "repository": "acme/web",
                    "created_at": at(day, 11, month=month),
                    "resolved_at": at(day, 12, month=month),
                    "deployment_id": f"{prefix}{day}",
                }
            )
    return records


@pytest.mark.parametrize(
    ("failed_now", "failed_before", "fires"),
    [
        (3, 2, False),  # 3 / 20 = 15%: not above
        (4, 2, True),  # 20% > 15% and > 10%
        (4, 5, False),  # 20% but the previous period was 25%
    ],
)
def test_stability_drop(failed_now, failed_before, fires):
    load(
        [
            *BASE,
            *deployments_with_failures("m", 3, 20, failed_now),
            *deployments_with_failures("f", 2, 20, failed_before),
        ]
    )

    found = kinds(risks(), "stability_drop")

    assert len(found) == (1 if fires else 0)
    if fires:
        evidence = found[0]["evidence"]
        assert (evidence["change_failure_rate"], evidence["previous_change_failure_rate"]) == (0.2, 0.1)
        assert (evidence["failed_deployments"], evidence["deployments"]) == (4, 20)
        assert found[0]["severity"] == "medium"


# --- review_bottleneck: median pickup > 24 h, or > 20% of open PRs waiting over 48 h ----------------


def reviewed_pr(number: int, created: str, pickup_hours: float) -> list[dict[str, Any]]:
    pr = merged_pr(number, created, pickup_hours + 1)
    review_at = dt.datetime.fromisoformat(created) + dt.timedelta(hours=pickup_hours)
    return [
        pr,
        {
            "type": "review",
            "repository": "acme/web",
            "pull_request": number,
            "id": f"r{number}",
            "reviewer": "bob",
            "state": "approved",
            "submitted_at": review_at.isoformat(),
        },
    ]


@pytest.mark.parametrize(("pickup", "fires"), [(24.0, False), (24.5, True)])
def test_review_bottleneck_on_pickup_time(pickup, fires):
    load([*BASE, *reviewed_pr(1, at(2), pickup)])

    found = kinds(risks(), "review_bottleneck")

    assert len(found) == (1 if fires else 0)
    if fires:
        assert found[0]["evidence"]["median_pickup_hours"] == 24.5
        assert found[0]["severity"] == "medium"


def open_pr(number: int, created: str, **fields: Any) -> dict[str, Any]:
    return {
        "type": "pull_request",
        "repository": "acme/web",
        "number": number,
        "author": "alice",
        "state": "open",
        "created_at": created,
        **fields,
    }


@pytest.mark.parametrize(("waiting", "fires"), [(1, False), (2, True)])
def test_review_bottleneck_on_waiting_open_prs(waiting, fires):
    # 5 open ready PRs; `waiting` of them ready 49 h before the end of the window, unreviewed.
    # The others: ready exactly 48 h before (not over 48 h), or reviewed, or new. A draft and a PR
    # merged before the end are not open ready PRs.
    records = [*BASE]
    for k in range(waiting):
        records.append(open_pr(k + 1, ago(hours=49)))
    others = [
        open_pr(11, ago(hours=48)),
        open_pr(12, ago(hours=100)),
        open_pr(13, ago(hours=1)),
        open_pr(15, ago(hours=5)),
    ]
    records.extend(others[: 5 - waiting])
    records.append(open_pr(14, ago(hours=200), draft=True))
    records.append(merged_pr(16, ago(hours=300), 200))
    records.append(
        {
            "type": "review",
            "repository": "acme/web",
            "pull_request": 12,
            "id": "r12",
            "reviewer": "bob",
            "state": "commented",
            "submitted_at": ago(hours=90),
        }
    )
    load(records)

    found = kinds(risks(), "review_bottleneck")

    assert len(found) == (1 if fires else 0)
    if fires:
        evidence = found[0]["evidence"]
        assert (evidence["waiting_pull_requests"], evidence["open_pull_requests"]) == (2, 5)
        assert evidence["waiting_share"] == 0.4 and evidence["median_pickup_hours"] is None


# --- knowledge_concentration: one contributor >= half of a repository's commits, >= 20 commits -----


def commits(author: str, count: int, start: int = 0) -> list[dict[str, Any]]:
    return [
        {
            "type": "commit",
            "repository": "acme/web",
            "sha": f"{author}{start + k}",
            "author": author,
            "authored_at": at(2 + k % 20, 9),
        }
        for k in range(count)
    ]


@pytest.mark.parametrize(
    ("split", "fires"),
    [
        ({"alice": 10, "bob": 6, "carol": 4}, True),  # 10 / 20 = half
        ({"alice": 9, "bob": 6, "carol": 5}, False),  # 45%
        ({"alice": 10, "bob": 5, "carol": 4}, False),  # 19 commits
    ],
)
def test_knowledge_concentration(split, fires):
    load([*BASE, *[record for author, count in split.items() for record in commits(author, count)]])

    found = kinds(risks(), "knowledge_concentration")

    assert len(found) == (1 if fires else 0)
    if fires:
        (item,) = found
        assert item["subject"] == {"type": "repository", "key": "acme/web"}
        assert item["evidence"]["top_contributor"] == "alice"
        assert (item["evidence"]["share"], item["evidence"]["commits"]) == (0.5, 20)
        assert item["severity"] == "low"


# --- objective_at_risk: an open objective with probability_by_target < 0.5 -----------------------


def objective_records(target: str, status: str = "in_progress") -> list[dict[str, Any]]:
    """The team did 1 item a week for 12 weeks; O1 has one item left."""
    records: list[dict[str, Any]] = [
        *BASE,
        {
            "type": "objective",
            "key": "O1",
            "title": "Wallets",
            "team": "web",
            "target_date": target,
            "status": status,
        },
        {
            "type": "work_item",
            "key": "LEFT",
            "title": "left",
            "team": "web",
            "status": "todo",
            "created_at": at(1),
            "objective": "O1",
        },
    ]
    for week in range(12):
        done = dt.datetime(2026, 1, 6, tzinfo=dt.UTC) + dt.timedelta(weeks=week)
        records.append(
            {
                "type": "work_item",
                "key": f"D{week}",
                "title": "done",
                "team": "web",
                "status": "done",
                "created_at": at(5, month=1),
                "done_at": done.isoformat(),
            }
        )
    return records


def test_objective_at_risk_below_the_probability():
    # The first simulated week is 30 March - 5 April; a target of 31 March ends no simulated
    # week: probability 0. A target of 5 April: every trial is done by then (1 item a week).
    load(objective_records("2026-03-31"))

    (item,) = kinds(risks(), "objective_at_risk")

    assert item["subject"] == {"type": "objective", "key": "O1"}
    assert item["evidence"]["probability_by_target"] == 0.0 and item["evidence"]["remaining"] == 1
    assert item["severity"] == "high"
    # "below" is strict: a threshold of 0 flags nothing.
    assert kinds(risks(dataclasses.replace(DEFAULTS, objective_probability=0.0)), "objective_at_risk") == []


def test_an_objective_on_track_or_done_is_no_risk():
    load(objective_records("2026-04-05"))
    assert kinds(risks(), "objective_at_risk") == []


def test_a_done_objective_is_no_risk():
    load(objective_records("2026-03-31", status="done"))
    assert kinds(risks(), "objective_at_risk") == []


# --- quality_decline: coverage fell by 5 points or more over the window --------------------------


@pytest.mark.parametrize(("latest", "fires"), [(0.75, True), (0.7501, False)])
def test_quality_decline(latest, fires):
    load(
        [
            *BASE,
            {"type": "quality", "repository": "acme/web", "measured_at": at(3, 12), "coverage": 0.8},
            {"type": "quality", "repository": "acme/web", "measured_at": at(20), "coverage": latest},
        ]
    )

    found = kinds(risks(), "quality_decline")

    assert len(found) == (1 if fires else 0)
    if fires:
        (item,) = found
        assert item["evidence"]["drop_points"] == pytest.approx(5.0)
        assert (item["evidence"]["coverage"], item["evidence"]["first_coverage"]) == (
            0.75,
            pytest.approx(0.8),
        )
        assert item["since"] == "2026-03-03"


# --- stale_work: a team with PRs open longer than 30 days ---------------------------------------


@pytest.mark.parametrize(
    ("age", "fires"), [(dt.timedelta(days=30), False), (dt.timedelta(days=30, hours=1), True)]
)
def test_stale_work(age, fires):
    load([*BASE, open_pr(1, (AS_OF - age).isoformat(), draft=True)])

    found = kinds(risks(), "stale_work")

    assert len(found) == (1 if fires else 0)
    if fires:
        (item,) = found
        assert item["evidence"]["stale_pull_requests"] == 1
        assert item["evidence"]["oldest_age_days"] == pytest.approx(30 + 1 / 24)
        assert item["since"] == "2026-03-01" and item["severity"] == "low"


def test_a_pr_closed_before_the_end_of_the_window_is_not_stale():
    load([*BASE, {**open_pr(1, at(1, month=1)), "state": "closed", "closed_at": at(20)}])
    assert kinds(risks(), "stale_work") == []


# --- incident_surge: one-sided Poisson rate test p < 0.05, at least 3 incidents ------------------


def incidents(prefix: str, month: int, count: int) -> list[dict[str, Any]]:
    return [
        {
            "type": "incident",
            "id": f"{prefix}{k}",
            "repository": "acme/web",
            "created_at": at(2 + k, month=month),
        }
        for k in range(count)
    ]


@pytest.mark.parametrize(
    ("now", "before", "thresholds", "fires"),
    [
        # equal periods: P(X >= k | X ~ Bin(k + m, 1/2)); 5 vs 0: 1/32 < 0.05; 4 vs 0: 1/16.
        (5, 0, DEFAULTS, True),
        (4, 0, DEFAULTS, False),
        # at least 3 incidents: 2 vs 0 has p = 1/4 < 0.3 but too few; 3 vs 0 has p = 1/8.
        (2, 0, dataclasses.replace(DEFAULTS, surge_p_value=0.3), False),
        (3, 0, dataclasses.replace(DEFAULTS, surge_p_value=0.3), True),
    ],
)
def test_incident_surge(now, before, thresholds, fires):
    load([*BASE, *incidents("m", 3, now), *incidents("f", 2, before)])

    found = kinds(risks(thresholds), "incident_surge")

    assert len(found) == (1 if fires else 0)
    if fires:
        evidence = found[0]["evidence"]
        assert evidence["p_value"] == pytest.approx(0.5**now)
        assert (evidence["incidents"], evidence["previous_incidents"]) == (now, before)


# --- order and scope ---------------------------------------------------------------------------------


def test_findings_come_most_severe_first_and_only_from_what_the_caller_may_see():
    load(
        [
            *objective_records("2026-03-31"),  # web: objective_at_risk, high
            open_pr(1, at(1, month=2)),  # web: stale_work (low) and waiting (review_bottleneck, medium)
            {"type": "team", "key": "api", "name": "API"},
            {"type": "repository", "key": "acme/api", "team": "api"},
            {**open_pr(2, at(1, month=2)), "repository": "acme/api"},
        ]
    )

    everything = risks()
    web_only = risks(caller=Caller(subject="2", kind="user", role="member", teams=("web",)))

    assert [(i["severity"], i["kind"], i["subject"]["key"]) for i in everything] == [
        ("high", "objective_at_risk", "O1"),
        ("medium", "review_bottleneck", "api"),
        ("medium", "review_bottleneck", "web"),
        ("low", "stale_work", "api"),
        ("low", "stale_work", "web"),
    ]
    assert {i["subject"]["key"] for i in web_only} == {"O1", "web"}
    assert all(item["explanation"].endswith(".") for item in everything)
