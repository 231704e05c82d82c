"""The demo generator's promised shapes, checked on the small organisation from its records alone.

Every expected value below is a rule stated in the test (a threshold or an ordering), computed
here from the generated ingest records, never by the generator's own helpers.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import itertools
import json
import os
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from typing import Any

import pytest

from pulse.demo import generate, team_profiles

TODAY = dt.date(2026, 3, 2)
END = dt.datetime(2026, 3, 2, tzinfo=dt.UTC)
TIMESTAMP_FIELDS = (
    "authored_at",
    "committed_at",
    "created_at",
    "ready_at",
    "merged_at",
    "closed_at",
    "submitted_at",
    "started_at",
    "finished_at",
    "resolved_at",
    "measured_at",
    "done_at",
)


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text)


def hours(later: dt.datetime, earlier: dt.datetime) -> float:
    return (later - earlier).total_seconds() / 3600


@pytest.fixture(scope="module")
def records() -> list[dict[str, Any]]:
    return list(generate("small", 42, TODAY))


@pytest.fixture(scope="module")
def by_type(records: list[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    grouped: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for record in records:
        grouped[record["type"]].append(record)
    return grouped


@pytest.fixture(scope="module")
def team_of(by_type: dict[str, list[dict[str, Any]]]) -> dict[str, str]:
    """Repository key -> owning team."""
    return {repo["key"]: repo["team"] for repo in by_type["repository"]}


@pytest.fixture(scope="module")
def bots(by_type: dict[str, list[dict[str, Any]]]) -> set[str]:
    return {c["login"] for c in by_type["contributor"] if c["is_bot"]}


@pytest.fixture(scope="module")
def commit_at(by_type: dict[str, list[dict[str, Any]]]) -> dict[tuple[str, str], dt.datetime]:
    return {(c["repository"], c["sha"]): at(c["authored_at"]) for c in by_type["commit"]}


def cycle_hours(pr: dict[str, Any], commit_at: dict[tuple[str, str], dt.datetime]) -> float:
    """metrics.md cycle time ending at the merge: from the first commit (or creation, if earlier) to merged_at."""
    created = at(pr["created_at"])
    first = min(commit_at[(pr["repository"], sha)] for sha in pr["commits"])
    return hours(at(pr["merged_at"]), min(first, created))


def human_merged(by_type: dict[str, list[dict[str, Any]]], bots: set[str]) -> list[dict[str, Any]]:
    return [pr for pr in by_type["pull_request"] if pr["state"] == "merged" and pr["author"] not in bots]


def failed_deployments(by_type: dict[str, list[dict[str, Any]]]) -> tuple[list[dict[str, Any]], set[str]]:
    """Successful production deployments, and the ids of those an incident is attributed to.

    metrics.md: an incident counts against its deployment_id, else against the latest production
    deployment of its repository that finished at or before it, no more than 168 h before.
    """
    production = sorted(
        (d for d in by_type["deployment"] if d["environment"] == "production" and d["status"] == "success"),
        key=lambda d: at(d["finished_at"]),
    )
    by_repository: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for deployment in production:
        by_repository[deployment["repository"]].append(deployment)
    failed: set[str] = set()
    for incident in by_type["incident"]:
        if incident.get("deployment_id"):
            failed.add(incident["deployment_id"])
            continue
        created = at(incident["created_at"])
        before = [d for d in by_repository[incident["repository"]] if at(d["finished_at"]) <= created]
        if before and hours(created, at(before[-1]["finished_at"])) <= 168:
            failed.add(before[-1]["id"])
    return production, failed


def test_small_organisation_has_the_promised_size(by_type, team_of):
    teams = {t["key"]: t for t in by_type["team"]}
    assert len(teams) == 5
    assert all(t.get("parent") in teams for t in teams.values() if t.get("parent"))
    assert any(t.get("parent") for t in teams.values()), "teams form a tree"
    assert len(by_type["repository"]) == 20
    assert all(
        r["key"].count("/") == 1 and r["project"] and r["default_branch"] for r in by_type["repository"]
    )
    assert len([c for c in by_type["contributor"] if not c["is_bot"]]) == 40
    assert set(team_of.values()) <= set(teams)
    first = min(at(c["authored_at"]) for c in by_type["commit"] if c["parents"])
    assert END - first >= dt.timedelta(days=175), "about six months of history"


def test_every_timestamp_has_an_offset_and_is_before_today(records):
    for record in records:
        for name in TIMESTAMP_FIELDS:
            if name in record and record[name] is not None:
                value = at(record[name])
                assert value.tzinfo is not None, record
                assert value < END, record


def test_commits_fall_on_weekdays(by_type):
    # Weekday in the author's own zone: git records the author's offset with the timestamp.
    commits = by_type["commit"]
    weekday = sum(at(c["authored_at"]).weekday() < 5 for c in commits)
    assert weekday / len(commits) >= 0.85
    assert weekday < len(commits), "some weekend work exists"


def test_most_commits_are_within_working_hours_in_the_authors_zone(by_type, bots):
    commits = [c for c in by_type["commit"] if c["author"] not in bots]
    offsets = {at(c["authored_at"]).utcoffset() for c in commits}
    assert len(offsets) >= 4, "people work from several time zones"
    working = [
        c for c in commits if at(c["authored_at"]).weekday() < 5 and 8 <= at(c["authored_at"]).hour < 19
    ]
    assert len(working) / len(commits) >= 0.75


def test_same_seed_gives_the_same_records_and_another_seed_does_not():
    first = list(itertools.islice(generate("small", 42, TODAY), 3000))
    again = list(itertools.islice(generate("small", 42, TODAY), 3000))
    other = list(itertools.islice(generate("small", 43, TODAY), 3000))
    assert first == again
    assert first != other
    later = list(itertools.islice(generate("small", 42, TODAY + dt.timedelta(days=7)), 3000))
    assert first != later, "the window ends at today"


def test_records_are_the_same_in_another_process_with_another_hash_seed():
    script = (
        "import datetime, hashlib, itertools, json\n"
        "from pulse.demo import generate\n"
        "records = itertools.islice(generate('small', 42, datetime.date(2026, 3, 2)), 3000)\n"
        "print(hashlib.sha256(json.dumps(list(records), sort_keys=True).encode()).hexdigest())\n"
    )
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    child = subprocess.run(
        [sys.executable, "-c", script], env=env, capture_output=True, text=True, check=True
    )
    here = list(itertools.islice(generate("small", 42, TODAY), 3000))
    assert child.stdout.strip() == hashlib.sha256(json.dumps(here, sort_keys=True).encode()).hexdigest()


def test_team_profiles_of_the_small_organisation():
    assert team_profiles("small", 42, TODAY) == {
        "product": "steady",
        "payments": "fast",
        "growth": "degrading",
        "platform": "slow",
        "sre": "fast",
    }


def test_fast_teams_merge_faster_than_the_slow_team(by_type, team_of, bots, commit_at):
    cycles: dict[str, list[float]] = defaultdict(list)
    for pr in human_merged(by_type, bots):
        cycles[team_of[pr["repository"]]].append(cycle_hours(pr, commit_at))
    slow = statistics.median(cycles["platform"])
    # "Clearly faster": at least twice as fast at the median.
    assert statistics.median(cycles["payments"]) * 2 < slow
    assert statistics.median(cycles["sre"]) * 2 < slow


def test_fast_teams_fail_less_and_restore_sooner_than_the_slow_team(by_type, team_of):
    production, failed = failed_deployments(by_type)

    def rate(team: str) -> float:
        mine = [d for d in production if team_of[d["repository"]] == team and d["kind"] == "regular"]
        return sum(d["id"] in failed for d in mine) / len(mine)

    assert rate("payments") < rate("platform")
    assert rate("sre") < rate("platform")

    restore: dict[str, list[float]] = defaultdict(list)
    for incident in by_type["incident"]:
        if incident.get("resolved_at"):
            elapsed = hours(at(incident["resolved_at"]), at(incident["created_at"]))
            restore[team_of[incident["repository"]]].append(elapsed)
    # Fast teams roll back or hotfix; the slow team mostly fixes forward.
    assert statistics.median(restore["payments"]) * 2 < statistics.median(restore["platform"])
    assert statistics.median(restore["sre"]) * 2 < statistics.median(restore["platform"])


def test_the_degrading_team_gets_slower_and_less_stable_in_the_last_months(by_type, team_of, bots, commit_at):
    early_end = END - dt.timedelta(days=120)
    late_start = END - dt.timedelta(days=60)
    early, late = [], []
    for pr in human_merged(by_type, bots):
        if team_of[pr["repository"]] != "growth":
            continue
        merged = at(pr["merged_at"])
        if merged < early_end:
            early.append(cycle_hours(pr, commit_at))
        elif merged >= late_start:
            late.append(cycle_hours(pr, commit_at))
    assert len(early) >= 30 and len(late) >= 30
    assert statistics.median(late) > 1.2 * statistics.median(early)

    production, failed = failed_deployments(by_type)
    growth = [d for d in production if team_of[d["repository"]] == "growth" and d["kind"] == "regular"]
    early_deploys = [d for d in growth if at(d["finished_at"]) < early_end]
    late_deploys = [d for d in growth if at(d["finished_at"]) >= late_start]
    early_rate = sum(d["id"] in failed for d in early_deploys) / len(early_deploys)
    late_rate = sum(d["id"] in failed for d in late_deploys) / len(late_deploys)
    assert late_rate > early_rate


def test_review_waits_are_right_skewed(by_type, bots):
    """Lognormal-ish: the mean pickup time is well above the median (a long tail of slow reviews)."""
    prs = {(p["repository"], p["number"]): p for p in by_type["pull_request"]}
    first_review: dict[tuple[str, int], dt.datetime] = {}
    for review in by_type["review"]:
        key = (review["repository"], review["pull_request"])
        if review["reviewer"] in bots or review["reviewer"] == prs[key]["author"]:
            continue
        submitted = at(review["submitted_at"])
        if key not in first_review or submitted < first_review[key]:
            first_review[key] = submitted
    pickups = [
        hours(submitted, at(prs[key].get("ready_at") or prs[key]["created_at"]))
        for key, submitted in first_review.items()
    ]
    assert len(pickups) > 500
    assert min(pickups) >= 0
    assert statistics.mean(pickups) > 1.5 * statistics.median(pickups)


def test_pull_request_sizes_have_a_long_tail(by_type, bots):
    sizes = sorted(
        p["additions"] + p["deletions"] for p in by_type["pull_request"] if p["author"] not in bots
    )
    median = sizes[len(sizes) // 2]
    assert sizes[int(len(sizes) * 0.99)] > 10 * median
    assert sizes[-1] > 1000


def test_pull_requests_have_drafts_labels_and_mostly_target_the_default_branch(by_type):
    prs = by_type["pull_request"]
    default = {r["key"]: r["default_branch"] for r in by_type["repository"]}
    on_default = sum(p["base_branch"] == default[p["repository"]] for p in prs)
    assert 0.9 <= on_default / len(prs) < 1
    assert any(p.get("ready_at") for p in prs), "some PRs started as drafts"
    assert {"merged", "closed", "open"} == {p["state"] for p in prs}
    assert all(p["labels"] for p in prs)
    states = {r["state"] for r in by_type["review"]}
    assert {"approved", "changes_requested", "commented"} <= states


def test_bots_are_present_marked_and_open_dependency_prs(by_type, bots):
    assert {"dependabot[bot]", "renovate[bot]"} <= bots
    assert all(c.get("team") is None for c in by_type["contributor"] if c["is_bot"])
    assert all(c["team"] for c in by_type["contributor"] if not c["is_bot"])
    bot_prs = [p for p in by_type["pull_request"] if p["author"] in bots]
    assert bot_prs and all("dependencies" in p["labels"] for p in bot_prs)
    assert any(r["reviewer"] in bots for r in by_type["review"]), "a code-analysis bot comments"


def test_commit_graph_is_closed_and_merges_have_two_parents(by_type):
    shas = {(c["repository"], c["sha"]) for c in by_type["commit"]}
    for commit in by_type["commit"]:
        assert all((commit["repository"], parent) in shas for parent in commit["parents"])
    merges = {(c["repository"], c["sha"]) for c in by_type["commit"] if len(c["parents"]) == 2}
    for pr in by_type["pull_request"]:
        assert all((pr["repository"], sha) in shas for sha in pr["commits"])
        if pr["state"] == "merged":
            assert (pr["repository"], pr["merge_commit_sha"]) in merges
    roots = [c for c in by_type["commit"] if not c["parents"]]
    assert len(roots) == 20, "one root commit per repository: a linear-ish history"


def test_deployments_exercise_listed_commits_and_the_commit_graph(by_type):
    shas = {(c["repository"], c["sha"]) for c in by_type["commit"]}
    deployments = by_type["deployment"]
    listed = [d for d in deployments if "commits" in d]
    graph_only = [d for d in deployments if "commits" not in d]
    assert listed and graph_only
    assert all((d["repository"], d["sha"]) in shas for d in deployments)
    assert all((d["repository"], sha) in shas for d in listed for sha in d["commits"])
    assert {d["environment"] for d in deployments} == {"production", "staging"}
    statuses = [d["status"] for d in deployments]
    assert statuses.count("success") / len(statuses) > 0.85 and "failure" in statuses
    assert {"regular", "rollback", "hotfix"} == {d["kind"] for d in deployments}


def test_incidents_follow_risky_deployments(by_type):
    """Deployments an incident is attributed to shipped more lines than the others (median)."""
    lines = {(c["repository"], c["sha"]): c["additions"] + c["deletions"] for c in by_type["commit"]}
    production, failed = failed_deployments(by_type)
    listed = [d for d in production if d["kind"] == "regular" and "commits" in d]
    shipped = {d["id"]: sum(lines[(d["repository"], sha)] for sha in d["commits"]) for d in listed}
    risky = [shipped[d["id"]] for d in listed if d["id"] in failed]
    calm = [shipped[d["id"]] for d in listed if d["id"] not in failed]
    assert len(risky) >= 10
    assert statistics.median(risky) > statistics.median(calm)


def test_incidents_link_some_deployments_resolve_lognormally_and_a_few_stay_open(by_type):
    incidents = by_type["incident"]
    deployments = {d["id"]: d for d in by_type["deployment"]}
    linked = [i for i in incidents if i.get("deployment_id")]
    assert 0 < len(linked) < len(incidents) / 2, "some name their deployment, most do not"
    for incident in linked:
        assert at(deployments[incident["deployment_id"]]["finished_at"]) <= at(incident["created_at"])
    restore = [hours(at(i["resolved_at"]), at(i["created_at"])) for i in incidents if i.get("resolved_at")]
    assert min(restore) >= 0
    assert statistics.mean(restore) > statistics.median(restore)
    assert any("resolved_at" not in i for i in incidents)


def test_rollbacks_and_hotfixes_come_after_incidents(by_type):
    incidents: dict[str, list[dt.datetime]] = defaultdict(list)
    for incident in by_type["incident"]:
        incidents[incident["repository"]].append(at(incident["created_at"]))
    responses = [d for d in by_type["deployment"] if d["kind"] in ("rollback", "hotfix")]
    assert responses
    for deployment in responses:
        finished = at(deployment["finished_at"])
        assert any(
            dt.timedelta(0) < finished - c <= dt.timedelta(days=2)
            for c in incidents[deployment["repository"]]
        )
    hotfix_prs = [p for p in by_type["pull_request"] if "hotfix" in p["labels"]]
    assert hotfix_prs


def test_coverage_drifts_and_some_repositories_decline(by_type):
    series: dict[str, list[tuple[dt.datetime, float]]] = defaultdict(list)
    for q in by_type["quality"]:
        assert 0 <= q["coverage"] <= 1 and 0 <= q["duplication"] <= 1
        assert q["issues"] >= 0 and q["vulnerabilities"] >= 0 and q["complexity"] > 0
        series[q["repository"]].append((at(q["measured_at"]), q["coverage"]))
    change = {repo: sorted(points)[-1][1] - sorted(points)[0][1] for repo, points in series.items()}
    assert len(series) == 20
    assert sum(delta <= -0.05 for delta in change.values()) >= 2, "quality_decline: 5 points or more"
    assert any(delta > 0 for delta in change.values()), "coverage rises somewhere"


def test_objectives_are_delivered_on_time_late_or_at_risk(by_type):
    objectives = {o["key"]: o for o in by_type["objective"]}
    items: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for item in by_type["work_item"]:
        if item.get("objective"):
            items[item["objective"]].append(item)
    on_time = late = 0
    for key, objective in objectives.items():
        assert objective["start_date"] < objective["target_date"]
        if objective["status"] != "done":
            continue
        last = max(at(i["done_at"]).date() for i in items[key])
        if last <= dt.date.fromisoformat(objective["target_date"]):
            on_time += 1
        else:
            late += 1
    assert on_time and late
    statuses = {o["status"] for o in objectives.values()}
    assert {"done", "in_progress", "planned"} <= statuses
    open_now = [
        o for o in objectives.values() if o["status"] == "in_progress" and o["target_date"] > "2026-03-02"
    ]
    assert any(any(i["status"] == "todo" for i in items[o["key"]]) for o in open_now), "work remains"


def test_work_items_link_existing_pull_requests(by_type):
    prs = {f"{p['repository']}#{p['number']}": p for p in by_type["pull_request"]}
    items = by_type["work_item"]
    assert {"feature", "bug", "chore"} == {i["kind"] for i in items}
    assert {"todo", "in_progress", "done"} == {i["status"] for i in items}
    linked = {ref for i in items for ref in i.get("pull_requests", [])}
    assert linked <= set(prs)
    merged = [ref for ref, p in prs.items() if p["state"] == "merged"]
    assert 0.5 < len(linked & set(merged)) / len(merged) < 1, "most merged PRs are linked, not all"
    for item in items:
        assert item["story_points"] in (1, 2, 3, 5, 8, 13)
        if item["status"] == "done":
            assert all(prs[ref]["state"] == "merged" for ref in item["pull_requests"])
            assert at(item["started_at"]) <= at(item["done_at"])


def test_the_large_scale_is_generated_lazily():
    started = time.perf_counter()
    head = list(itertools.islice(generate("large", 42, TODAY), 20_000))
    assert time.perf_counter() - started < 5, "records stream out before the organisation is generated"
    assert {"team", "contributor", "repository", "commit"} <= {r["type"] for r in head}
    assert len([r for r in head if r["type"] == "team"]) == 50
    assert len([r for r in head if r["type"] == "repository"]) == 200
    assert len([r for r in head if r["type"] == "contributor" and not r["is_bot"]]) == 2000
