"""DORA definitions (metrics.md "DORA"), hand-computed, on records loaded through the real ingest.

Dates: 2 March 2026 is a Monday; Europe/Berlin moves to summer time on Sunday 29 March 2026 at
02:00 local (01:00 UTC).
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from pulse import db
from pulse.auth.context import Caller
from pulse.auth.scope import Scope, resolve_scope
from pulse.errors import ApiError
from pulse.metrics import dora
from pulse.metrics.common import Window

REPO = "acme/api"
EVERYTHING = Scope(None, None)
MARCH = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> str:
    """An instant in 2026, UTC."""
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=dt.UTC).isoformat()


def load(*records: dict[str, Any]) -> None:
    """Import records through the real ingest path (which bumps the data version)."""
    from pulse.ingest import load_records

    with db.transaction() as connection:
        load_records(connection, list(records))


def repository(key: str = REPO, team: str | None = None) -> dict[str, Any]:
    return {"type": "repository", "key": key, "team": team}


def team(key: str, parent: str | None = None) -> dict[str, Any]:
    return {"type": "team", "key": key, "name": key.title(), "parent": parent}


def commit(
    sha: str, authored_at: str, *, repo: str = REPO, parents: list[str] | None = None
) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "commit", "repository": repo, "sha": sha, "authored_at": authored_at}
    if parents is not None:
        record["parents"] = parents
    return record


def deployment(
    id: str,
    finished_at: str,
    *,
    repo: str = REPO,
    environment: str = "production",
    status: str = "success",
    commits: list[str] | None = None,
    sha: str | None = None,
    kind: str = "regular",
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "deployment",
        "id": id,
        "repository": repo,
        "environment": environment,
        "status": status,
        "finished_at": finished_at,
        "kind": kind,
    }
    if commits is not None:
        record["commits"] = commits
    if sha is not None:
        record["sha"] = sha
    return record


def incident(
    id: str,
    created_at: str,
    resolved_at: str | None = None,
    *,
    repo: str = REPO,
    deployment_id: str | None = None,
) -> dict[str, Any]:
    record: dict[str, Any] = {"type": "incident", "id": id, "repository": repo, "created_at": created_at}
    if resolved_at is not None:
        record["resolved_at"] = resolved_at
    if deployment_id is not None:
        record["deployment_id"] = deployment_id
    return record


def summary(window: Window = MARCH, scope: Scope = EVERYTHING, **query: Any) -> dict[str, Any]:
    with db.connect() as connection:
        return dora.summary(connection, scope=scope, query=dora.Query(window=window, **query))


def series(
    metric: dora.Metric, interval: str, window: Window = MARCH, scope: Scope = EVERYTHING, **query: Any
) -> dict[str, Any]:
    with db.connect() as connection:
        return dora.metric(
            connection,
            metric=metric,
            scope=scope,
            query=dora.Query(window=window, **query),
            interval=interval,
        )


def scope_for(caller: Caller, teams: tuple[str, ...] = (), repositories: tuple[str, ...] = ()) -> Scope:
    with db.connect() as connection:
        return resolve_scope(connection, caller, teams, repositories)


ADMIN = Caller(subject="1", kind="user", role="admin")


# --- change failure rate: attribution -------------------------------------------------------------


def test_attribution_window_edges_are_inclusive_at_168_hours():
    # d-edge finishes 1 Mar 00:00; the incident 168 h later (8 Mar 00:00) is attributed to it.
    # d-late finishes 1 Mar 00:00 in another repository; its incident comes 168 h + 1 s later: none.
    load(
        repository(),
        repository("acme/web"),
        deployment("d-edge", at(1)),
        deployment("d-late", at(1), repo="acme/web"),
        incident("i-edge", at(8), at(8, 1)),
        incident("i-late", at(8, 0, 0, 1), at(8, 1), repo="acme/web"),
    )

    result = summary()

    assert result["change_failure_rate"] == {
        "deployments": 2,
        "failed_deployments": 1,
        "rate": 0.5,
        "tier": "low",
    }
    # Recovery counts only the attributed incident: 8 Mar 01:00 - 1 Mar 00:00 = 169 h.
    assert result["time_to_restore"]["failed_deployment_recovery_hours"] == 169.0
    assert result["time_to_restore"]["incidents"] == 2


def test_attribution_window_is_configurable():
    # With a 24-hour window, an incident 25 h after the only deployment is attributed to none.
    load(repository(), deployment("d1", at(2)), incident("i1", at(3, 1), at(3, 2)))

    assert summary(attribution_hours=168)["change_failure_rate"]["failed_deployments"] == 1
    assert summary(attribution_hours=24)["change_failure_rate"]["failed_deployments"] == 0


def test_attribution_takes_the_latest_successful_deployment_of_the_same_repository_and_environment():
    # Before the incident (10 Mar 12:00): d-old (9 Mar), d-new (10 Mar 09:00), a failed deployment
    # (10 Mar 10:00, not a deployment), a staging one (10 Mar 11:00) and one of another repository
    # (10 Mar 11:30). The latest *production success of acme/api* is d-new.
    load(
        repository(),
        repository("acme/web"),
        deployment("d-old", at(9)),
        deployment("d-new", at(10, 9)),
        deployment("d-failed", at(10, 10), status="failure"),
        deployment("d-staging", at(10, 11), environment="staging"),
        deployment("d-web", at(10, 11, 30), repo="acme/web"),
        incident("i1", at(10, 12), at(10, 14)),
    )

    cfr = series("change_failure_rate", "day", Window(dt.date(2026, 3, 9), dt.date(2026, 3, 10)))

    # Production deployments: d-old (9 Mar), d-new and d-web (10 Mar); only d-new failed.
    assert cfr["change_failure_rate"]["failed_deployments"] == 1
    assert [(p["period_start"], p["deployments"], p["failed_deployments"]) for p in cfr["series"]] == [
        ("2026-03-09", 1, 0),
        ("2026-03-10", 2, 1),
    ]
    # Recovery: 10 Mar 14:00 - d-new 09:00 = 5 h.
    assert summary()["time_to_restore"]["failed_deployment_recovery_hours"] == 5.0


def test_an_explicit_deployment_id_wins_over_the_latest_deployment():
    # i1 names d-old (10 days before it, far outside 168 h) although d-new finished just before it.
    load(
        repository(),
        deployment("d-old", at(2)),
        deployment("d-new", at(12, 9)),
        incident("i1", at(12, 10), at(12, 12), deployment_id="d-old"),
    )

    result = summary()

    assert result["change_failure_rate"]["failed_deployments"] == 1
    # 12 Mar 12:00 - 2 Mar 00:00 = 10 days 12 hours = 252 h (attributed to d-old, not d-new).
    assert result["time_to_restore"]["failed_deployment_recovery_hours"] == 252.0
    old_only = summary(Window(dt.date(2026, 3, 2), dt.date(2026, 3, 2)))
    assert old_only["change_failure_rate"]["failed_deployments"] == 1


def test_an_explicit_deployment_of_another_environment_attributes_to_none_here():
    # The incident names a staging deployment: production has no failed deployment (no fallback to
    # the latest production deployment), and staging has one.
    load(
        repository(),
        deployment("d-prod", at(5)),
        deployment("d-stage", at(5, 1), environment="staging"),
        incident("i1", at(5, 2), at(5, 3), deployment_id="d-stage"),
    )

    assert summary()["change_failure_rate"]["failed_deployments"] == 0
    assert summary()["time_to_restore"]["failed_deployment_recovery_hours"] is None
    staging = summary(environment="staging")
    assert staging["change_failure_rate"]["failed_deployments"] == 1
    assert staging["time_to_restore"]["failed_deployment_recovery_hours"] == 2.0


def test_an_incident_before_any_deployment_is_attributed_to_none():
    load(
        repository(),
        incident("i1", at(3), at(3, 4)),
        deployment("d1", at(4)),
    )

    result = summary()

    assert result["change_failure_rate"]["failed_deployments"] == 0
    assert result["time_to_restore"]["incidents"] == 1
    assert result["time_to_restore"]["median_hours"] == 4.0
    assert result["time_to_restore"]["failed_deployment_recovery_hours"] is None


def test_an_incident_after_the_window_still_fails_a_deployment_inside_it():
    # d1 on 31 Mar 20:00, its incident on 1 Apr 02:00 (outside March): March's CFR is 1/1, and the
    # incident counts for time to restore in April only.
    load(repository(), deployment("d1", at(31, 20)), incident("i1", at(1, 2, month=4), at(1, 3, month=4)))

    result = summary()

    assert result["change_failure_rate"]["rate"] == 1.0
    assert result["time_to_restore"]["incidents"] == 0


# --- lead time for changes -----------------------------------------------------------------------


def test_lead_time_percentiles_interpolate_linearly():
    # Lead times 1, 2, 4 and 10 h. percentile_cont: median = 3; p75 at rank 2.25 = 4 + 0.25 * 6 =
    # 5.5; p90 at rank 2.7 = 4 + 0.7 * 6 = 8.2; mean = 17 / 4 = 4.25.
    load(
        repository(),
        commit("c1", at(10, 9)),
        commit("c2", at(10, 8)),
        commit("c3", at(10, 6)),
        commit("c4", at(10, 0)),
        deployment("d1", at(10, 10), commits=["c1", "c2", "c3", "c4"]),
    )

    lead = summary()["lead_time_for_changes"]

    assert lead["changes"] == 4
    assert lead["median_hours"] == 3.0
    assert lead["p75_hours"] == 5.5
    assert lead["p90_hours"] == pytest.approx(8.2, abs=1e-9)
    assert lead["mean_hours"] == 4.25
    assert lead["tier"] == "elite"


def test_negative_lead_times_are_dropped_and_zero_is_kept():
    # c-future was authored 2 h after the deployment finished (clock skew): dropped.
    load(
        repository(),
        commit("c-zero", at(10, 10)),
        commit("c-future", at(10, 12)),
        commit("c-six", at(10, 4)),
        deployment("d1", at(10, 10), commits=["c-zero", "c-future", "c-six"]),
    )

    lead = summary()["lead_time_for_changes"]

    assert lead["changes"] == 2
    assert lead["median_hours"] == 3.0  # of 0 and 6


def test_a_commit_shipped_twice_counts_at_its_first_deployment():
    # c1 ships in d1 (5 Mar) and again in d2 (8 Mar); c2 only in d2.
    load(
        repository(),
        commit("c1", at(5)),
        commit("c2", at(7)),
        deployment("d1", at(5, 6), commits=["c1"]),
        deployment("d2", at(8), commits=["c1", "c2"]),
    )

    march = summary()["lead_time_for_changes"]
    assert march["changes"] == 2
    assert march["median_hours"] == 15.0  # c1: 6 h, c2: 24 h

    # A window holding only d2: c1's first deployment is outside it, so only c2 counts.
    later = summary(Window(dt.date(2026, 3, 6), dt.date(2026, 3, 31)))["lead_time_for_changes"]
    assert later["changes"] == 1
    assert later["median_hours"] == 24.0


def test_commits_shipped_through_the_commit_graph():
    # a <- b <- c (each the parent of the next). d1 deploys sha a; d2 deploys sha c, which ships
    # what `git log a..c` lists: b and c (rule 2). Lead times: a 2 h, b 44 h, c 4 h.
    load(
        repository(),
        commit("a", at(3), parents=[]),
        commit("b", at(3, 6), parents=["a"]),
        commit("c", at(4, 22), parents=["b"]),
        deployment("d1", at(3, 2), sha="a"),
        deployment("d2", at(5, 2), sha="c"),
    )

    lead = series("lead_time_for_changes", "day", Window(dt.date(2026, 3, 3), dt.date(2026, 3, 5)))

    assert lead["lead_time_for_changes"]["changes"] == 3
    assert lead["lead_time_for_changes"]["median_hours"] == 4.0
    assert [(p["period_start"], p["changes"], p["median_hours"]) for p in lead["series"]] == [
        ("2026-03-03", 1, 2.0),
        ("2026-03-04", 0, None),
        ("2026-03-05", 2, 24.0),  # median of b 44 h and c 4 h
    ]


def test_a_shipped_commit_without_authored_at_has_no_lead_time():
    load(repository(), commit("c1", at(9)), deployment("d1", at(10), commits=["c1", "unknown"]))

    assert summary()["lead_time_for_changes"]["changes"] == 1


def test_a_commit_described_after_it_shipped_gets_its_lead_time():
    # d1 ships c1 before any record describes it (a placeholder); c1 arrives in a later import.
    load(repository(), deployment("d1", at(10, 12), commits=["c1"]))
    assert summary()["lead_time_for_changes"]["changes"] == 0

    load(commit("c1", at(10, 2)))

    lead = summary()["lead_time_for_changes"]
    assert (lead["changes"], lead["median_hours"]) == (1, 10.0)
    load(commit("c1", at(10, 6)))  # corrected: authored 4 h later
    assert summary()["lead_time_for_changes"]["median_hours"] == 6.0


# --- windows, time zones, series -------------------------------------------------------------------


def test_window_edges_start_is_in_end_is_out():
    # Window 2..8 March UTC = [2 Mar 00:00, 9 Mar 00:00).
    window = Window(dt.date(2026, 3, 2), dt.date(2026, 3, 8))
    load(
        repository(),
        commit("c1", at(1, 12)),
        deployment("d-start", at(2), commits=["c1"]),
        deployment("d-end", at(9)),
        deployment("d-before-end", at(8, 23, 59, 59)),
        incident("i-start", at(2), at(2, 1)),
        incident("i-end", at(9), at(9, 1)),
    )

    result = summary(window)

    assert result["deployment_frequency"]["deployments"] == 2  # d-start and d-before-end
    assert result["lead_time_for_changes"]["changes"] == 1
    assert result["time_to_restore"]["incidents"] == 1


def test_time_zone_moves_deployment_days_and_weeks_across_a_dst_change():
    # Window 23 Mar - 5 Apr (two Monday-weeks). Europe/Berlin switches to summer time on 29 Mar.
    # d1 28 Mar 23:30Z = Sun 29 Mar 00:30 CET        (UTC: Sat 28 Mar)
    # d2 29 Mar 23:30Z = Mon 30 Mar 01:30 CEST       (UTC: Sun 29 Mar)
    # d3  5 Apr 22:30Z = Mon  6 Apr 00:30 CEST: after the Berlin window's end (5 Apr 22:00Z)
    window_utc = Window(dt.date(2026, 3, 23), dt.date(2026, 4, 5))
    window_berlin = Window(dt.date(2026, 3, 23), dt.date(2026, 4, 5), "Europe/Berlin")
    load(
        repository(),
        deployment("d1", at(28, 23, 30)),
        deployment("d2", at(29, 23, 30)),
        deployment("d3", at(5, 22, 30, month=4)),
    )

    utc = series("deployment_frequency", "week", window_utc)
    berlin = series("deployment_frequency", "week", window_berlin)

    # UTC: days 28 Mar, 29 Mar (week of 23 Mar) and 5 Apr (week of 30 Mar): weeks [2, 1].
    assert utc["deployment_frequency"]["deployments"] == 3
    assert utc["deployment_frequency"]["median_deployment_days_per_week"] == 1.5
    assert [(p["period_start"], p["deployment_days"]) for p in utc["series"]] == [
        ("2026-03-23", 2),
        ("2026-03-30", 1),
    ]
    # Berlin: days 29 Mar (week of 23 Mar) and 30 Mar (week of 30 Mar): weeks [1, 1].
    assert berlin["deployment_frequency"]["deployments"] == 2
    assert berlin["deployment_frequency"]["median_deployment_days_per_week"] == 1.0
    assert [(p["period_start"], p["deployment_days"]) for p in berlin["series"]] == [
        ("2026-03-23", 1),
        ("2026-03-30", 1),
    ]
    # per_day divides by the window's 14 calendar days, even though Berlin's has 335 hours.
    assert berlin["deployment_frequency"]["per_day"] == 2 / 14
    berlin_days = series("deployment_frequency", "day", window_berlin)["series"]
    assert [p["period_start"] for p in berlin_days if p["deployments"]] == ["2026-03-29", "2026-03-30"]


def test_lead_time_series_buckets_changes_by_local_day_across_a_dst_change():
    # Berlin weeks of 23 and 30 March; summer time from 29 Mar 01:00Z. Each change is shipped by
    # its own deployment (rule 1) and bucketed by the deployment's local finish:
    # c1 authored 28 Mar 20:00Z, deployed 29 Mar 21:59Z = Sun 23:59 CEST: week of 23 Mar, 25.98 h
    # c2 authored 29 Mar 20:00Z, deployed 29 Mar 22:00Z = Mon 00:00 CEST: week of 30 Mar, 2 h
    # c3 authored  5 Apr 20:00Z, deployed  5 Apr 22:00Z = Mon 6 Apr 00:00: after the window
    window_berlin = Window(dt.date(2026, 3, 23), dt.date(2026, 4, 5), "Europe/Berlin")
    load(
        repository(),
        commit("c1", at(28, 20)),
        commit("c2", at(29, 20)),
        commit("c3", at(5, 20, month=4)),
        deployment("d1", at(29, 21, 59), commits=["c1"]),
        deployment("d2", at(29, 22), commits=["c2"]),
        deployment("d3", at(5, 22, month=4), commits=["c3"]),
    )

    result = series("lead_time_for_changes", "week", window_berlin)

    assert result["lead_time_for_changes"]["changes"] == 2
    assert [(p["period_start"], p["changes"], p["median_hours"]) for p in result["series"]] == [
        ("2026-03-23", 1, pytest.approx(25 + 59 / 60)),
        ("2026-03-30", 1, 2.0),
    ]


def test_an_empty_window_has_zero_counts_null_statistics_and_null_tiers():
    load(repository(), deployment("d1", at(1, 12, month=5)))

    result = summary(MARCH, benchmark="2021")

    assert result == {
        "deployment_frequency": {
            "deployments": 0,
            "deployment_days": 0,
            "per_day": 0.0,
            "median_deployment_days_per_week": 0.0,
            "median_deployment_days_per_month": 0.0,
            "tier": None,
        },
        "lead_time_for_changes": {
            "changes": 0,
            "median_hours": None,
            "p75_hours": None,
            "p90_hours": None,
            "mean_hours": None,
            "tier": None,
        },
        "change_failure_rate": {"deployments": 0, "failed_deployments": 0, "rate": None, "tier": None},
        "time_to_restore": {
            "incidents": 0,
            "open_incidents": 0,
            "median_hours": None,
            "p90_hours": None,
            "failed_deployment_recovery_hours": None,
            "tier": None,
        },
        "rework_rate": {"deployments": 0, "rework_deployments": 0, "rate": None},
    }


def test_series_list_every_bucket_including_empty_ones():
    # Monthly series over 15 Jan - 10 Mar: buckets Jan, Feb, Mar; only February has data.
    window = Window(dt.date(2026, 1, 15), dt.date(2026, 3, 10))
    load(
        repository(),
        deployment("d1", at(3, month=2)),
        deployment("d2", at(4, month=2), kind="rollback"),
        incident("i1", at(3, 1, month=2), at(3, 4, month=2)),
        incident("i2", at(20, month=2)),
    )

    cfr = series("change_failure_rate", "month", window)["series"]
    restore = series("time_to_restore", "month", window)["series"]
    frequency = series("deployment_frequency", "month", window)["series"]

    assert cfr == [
        {"period_start": "2026-01-01", "deployments": 0, "failed_deployments": 0, "rate": None},
        {"period_start": "2026-02-01", "deployments": 2, "failed_deployments": 1, "rate": 0.5},
        {"period_start": "2026-03-01", "deployments": 0, "failed_deployments": 0, "rate": None},
    ]
    assert restore[1] == {
        "period_start": "2026-02-01",
        "incidents": 1,
        "open_incidents": 1,
        "median_hours": 3.0,
        "p90_hours": 3.0,
        "failed_deployment_recovery_hours": 4.0,
    }
    assert restore[0]["incidents"] == 0 and restore[0]["median_hours"] is None
    # per_day counts only the bucket's days inside the window: January has 17 (15..31), March 10.
    assert [(p["deployments"], p["per_day"]) for p in frequency] == [(0, 0.0), (2, 2 / 28), (0, 0.0)]
    # February's Monday-weeks 26 Jan (only 1 Feb is in the bucket), 2, 9, 16 and 23 Feb hold
    # 0, 2 (3 and 4 Feb), 0, 0, 0 deployment days: median 0.
    assert frequency[1]["median_deployment_days_per_week"] == 0.0


def test_median_deployment_days_per_week_counts_partial_weeks_and_empty_weeks():
    # Window Wed 4 - Tue 17 March overlaps three Monday-weeks: 2 Mar (4..8), 9 Mar, 16 Mar (16..17).
    # Deployment days: 4, 5, 6 Mar (week 1: 3), 10 Mar (week 2: 1), none in week 3 -> median 1.
    window = Window(dt.date(2026, 3, 4), dt.date(2026, 3, 17))
    load(
        repository(),
        deployment("d1", at(4, 10)),
        deployment("d2", at(5, 10)),
        deployment("d3", at(5, 16)),
        deployment("d4", at(6, 10)),
        deployment("d5", at(10, 10)),
        deployment("d0", at(2, 10)),  # outside the window, in the first week
    )

    frequency = summary(window)["deployment_frequency"]

    assert frequency["deployments"] == 5
    assert frequency["deployment_days"] == 4
    assert frequency["per_day"] == 5 / 14
    assert frequency["median_deployment_days_per_week"] == 1.0
    assert frequency["median_deployment_days_per_month"] == 4.0
    assert frequency["tier"] == "high"


def test_rework_rate_counts_rollbacks_and_hotfixes():
    load(
        repository(),
        deployment("d1", at(2)),
        deployment("d2", at(3), kind="rollback"),
        deployment("d3", at(4), kind="hotfix"),
        deployment("d4", at(5)),
        deployment("d5", at(6), kind="rollback", status="failure"),
    )

    assert summary()["rework_rate"] == {"deployments": 4, "rework_deployments": 2, "rate": 0.5}


# --- tiers on real data ---------------------------------------------------------------------------


def test_both_benchmark_tables_on_the_same_data():
    # One deployment day per week in March (Mondays 2, 9, 16, 23, 30), 1 of 5 failed (20 %),
    # lead time 30 h, restore 2 h.
    records: list[dict[str, Any]] = [repository()]
    for index, day in enumerate((2, 9, 16, 23, 30)):
        records.append(commit(f"c{index}", at(day - 1, 4)))
        records.append(deployment(f"d{index}", at(day, 10), commits=[f"c{index}"]))
    records.append(incident("i1", at(2, 11), at(2, 13)))
    load(*records)

    tiers_2023 = {name: block.get("tier") for name, block in summary(benchmark="2023").items()}
    tiers_2021 = {name: block.get("tier") for name, block in summary(benchmark="2021").items()}

    # 2023: weeks [0 (23 Feb week, holds 1 Mar), 1, 1, 1, 1, 1] -> median 1 -> high; 30 h < 168 ->
    # high; 20 % > 15 % -> low; 2 h < 24 -> high.
    assert tiers_2023 == {
        "deployment_frequency": "high",
        "lead_time_for_changes": "high",
        "change_failure_rate": "low",
        "time_to_restore": "high",
        "rework_rate": None,
    }
    # 2021: days/week 1 < 5 but days/month 5 >= 1 -> high; 30 h -> high; 20 % <= 20 % -> high.
    assert tiers_2021 == {
        "deployment_frequency": "high",
        "lead_time_for_changes": "high",
        "change_failure_rate": "high",
        "time_to_restore": "high",
        "rework_rate": None,
    }


# --- scopes and teams -------------------------------------------------------------------------------


def team_org() -> None:
    # platform > infra (sub-team); payments beside them. Lead times: core 1 h; tf 3 h and 5 h;
    # pay 10 h.
    load(
        team("platform"),
        team("infra", parent="platform"),
        team("payments"),
        repository("acme/core", team="platform"),
        repository("acme/tf", team="infra"),
        repository("acme/pay", team="payments"),
        commit("k1", at(2, 9), repo="acme/core"),
        commit("t1", at(2, 7), repo="acme/tf"),
        commit("t2", at(2, 5), repo="acme/tf"),
        commit("p1", at(2), repo="acme/pay"),
        deployment("dc", at(2, 10), repo="acme/core", commits=["k1"]),
        deployment("dt", at(2, 10), repo="acme/tf", commits=["t1", "t2"]),
        deployment("dp", at(2, 10), repo="acme/pay", commits=["p1"]),
        incident("ip", at(2, 12), at(2, 13), repo="acme/pay"),
    )


def test_a_team_filter_includes_its_sub_teams():
    team_org()

    platform = summary(scope=scope_for(ADMIN, teams=("platform",)))
    infra = summary(scope=scope_for(ADMIN, teams=("infra",)))

    assert platform["deployment_frequency"]["deployments"] == 2
    assert platform["lead_time_for_changes"]["changes"] == 3
    assert infra["deployment_frequency"]["deployments"] == 1
    assert infra["lead_time_for_changes"]["median_hours"] == 4.0
    assert platform["change_failure_rate"]["failed_deployments"] == 0


def test_team_and_repository_filters_combine_with_and():
    team_org()

    both = summary(scope=scope_for(ADMIN, teams=("platform",), repositories=("acme/tf",)))
    disjoint = summary(scope=scope_for(ADMIN, teams=("platform",), repositories=("acme/pay",)))

    assert both["lead_time_for_changes"]["changes"] == 2
    assert disjoint["deployment_frequency"]["deployments"] == 0


def test_teams_pool_sub_teams_into_parents_and_list_them_on_their_own():
    team_org()

    with db.connect() as connection:
        items = dora.teams(connection, scope=EVERYTHING, query=dora.Query(window=MARCH))["items"]

    by_key = {item["team"]["key"]: item for item in items}
    assert [item["team"] for item in items] == [
        {"key": "infra", "name": "Infra", "parent": "platform"},
        {"key": "payments", "name": "Payments", "parent": None},
        {"key": "platform", "name": "Platform", "parent": None},
    ]
    # Pooled, not averaged: platform's lead times are 1, 3 and 5 h -> median 3 (the mean of the
    # two teams' medians would be 2.5).
    assert by_key["platform"]["lead_time_for_changes"]["changes"] == 3
    assert by_key["platform"]["lead_time_for_changes"]["median_hours"] == 3.0
    assert by_key["infra"]["lead_time_for_changes"]["median_hours"] == 4.0
    assert by_key["payments"]["change_failure_rate"]["rate"] == 1.0
    assert by_key["payments"]["time_to_restore"]["median_hours"] == 1.0
    assert by_key["platform"]["time_to_restore"]["incidents"] == 0


def test_teams_lists_only_what_a_manager_may_see():
    team_org()
    manager = Caller(subject="7", kind="user", role="manager", teams=("platform",))

    with db.connect() as connection:
        items = dora.teams(connection, scope=scope_for(manager), query=dora.Query(window=MARCH))["items"]

    assert [item["team"]["key"] for item in items] == ["infra", "platform"]
    # A manager's unfiltered summary covers only their teams' repositories.
    assert summary(scope=scope_for(manager))["deployment_frequency"]["deployments"] == 2


def test_filters_outside_the_scope_are_403_and_unknown_keys_404():
    team_org()
    manager = Caller(subject="7", kind="user", role="manager", teams=("infra",))

    with pytest.raises(ApiError) as forbidden:
        scope_for(manager, teams=("platform",))
    with pytest.raises(ApiError) as unknown:
        scope_for(manager, teams=("nope",))
    with pytest.raises(ApiError) as forbidden_repository:
        scope_for(manager, repositories=("acme/pay",))

    assert (forbidden.value.status, unknown.value.status, forbidden_repository.value.status) == (
        403,
        404,
        403,
    )
