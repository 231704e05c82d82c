"""Cross-check against a peer: Apache DevLake's own fixture for its PR cycle-time calculator.

The fixture (``../shared/fixtures/devlake-dora/``) is converted to Pulse ingest records, imported
through the real ingest path and read back through ``GET /pull-requests``; every stage of every
PR must match DevLake's ``project_pr_metrics.csv`` (minutes, rounded up) except the rows in
``DELIBERATE``, where metrics.md defines the stage differently and our value is asserted instead.

Conversion:
- DevLake's PRs, comments and deployments are joined through the *project*, not the repository
  (deployments of REPO111/REPO222 ship ``repo1``'s merge commits). A Pulse commit belongs to one
  repository, so every row becomes a record of the one repository ``devlake/repo1``.
- PR ``prN`` becomes number ``N + 1`` (GitHub numbers start at 1) with title ``prN``.
- DevLake treats every PR comment as a review: each comment becomes a ``commented`` review.
- Each ``cicd_deployment_commits`` row becomes a deployment (``result`` and ``environment``
  lower-cased) that ships its ``commit_sha`` and every commit ``commits_diffs`` lists for it.
  Row 16 has no environment (required by the ingest format) and ships nothing a PR needs: skipped.
- Times without an offset are UTC (the fixture's README).
"""

from __future__ import annotations

import csv
import datetime as dt
import math
from collections import defaultdict
from typing import Any

import pytest

from tests.conftest import ROOT
from tests.metrics.github_records import load

FIXTURE = ROOT.parent / "shared" / "fixtures" / "devlake-dora"
REPOSITORY = "devlake/repo1"
STAGES = {
    "pr_coding_time": "coding_hours",
    "pr_pickup_time": "pickup_hours",
    "pr_review_time": "review_hours",
    "pr_deploy_time": "deploy_hours",
    "pr_cycle_time": "cycle_hours",
}

EARLY_REVIEW = (
    "metrics.md counts only reviews submitted at or after the PR was opened (ready); DevLake takes "
    "the first comment whenever it was made, even before the PR existed, and then drops the "
    "negative pickup but keeps a review stage measured from that early comment."
)
NO_PREDECESSOR = (
    "DevLake only matches a deployment to the commits between it and the previous successful "
    "deployment, so the first deployment (no predecessor) never ships anything; in Pulse a "
    "deployment ships the commits it lists (ingest format rule 1), so pr0's merge commit is "
    "deployed by deployment 1 and its cycle ends there."
)
# (DevLake PR id, DevLake column): (our value in minutes rounded up, why we differ)
DELIBERATE: dict[tuple[str, str], tuple[int | None, str]] = {
    # pr0: merged 2022-02-10 04:51:47, deployed 2023-04-10 06:52:47 (424 days 2 h 1 min later);
    # first commit 2022-01-10 04:51:47, 31 days before the merge.
    ("pr0", "pr_deploy_time"): (424 * 1440 + 121, NO_PREDECESSOR),
    ("pr0", "pr_cycle_time"): (31 * 1440 + 424 * 1440 + 121, NO_PREDECESSOR),
    # pr3: opened 2023-04-11 06:53:51; comment07 (04-10) predates it, so the first review is
    # comment08 at 2023-04-12 06:53:51: pickup 1 day; merged 2023-04-14 06:53:51: review 2 days.
    ("pr3", "pr_pickup_time"): (1440, EARLY_REVIEW),
    ("pr3", "pr_review_time"): (2880, EARLY_REVIEW),
    # pr5: its only comment (2022-09-07) predates the PR (2023-04-13): no first review at all.
    ("pr5", "pr_review_time"): (None, EARLY_REVIEW),
}
# pr0's deployment instant, which DevLake leaves empty (NO_PREDECESSOR): deployment 1's finish.
DEPLOYED_DIFFERENTLY = {"pr0": "2023-04-10T06:52:47+00:00"}


def _csv(name: str) -> list[dict[str, str]]:
    with (FIXTURE / name).open(newline="") as handle:
        return list(csv.DictReader(handle))


def _instant(value: str) -> str:
    """An ISO instant with an offset; the fixture's offset-less times are UTC."""
    if "T" in value:
        return dt.datetime.fromisoformat(value).isoformat()
    return dt.datetime.strptime(value, "%Y-%m-%d %H:%M:%S").replace(tzinfo=dt.UTC).isoformat()


def _number(devlake_id: str) -> int:
    return int(devlake_id.removeprefix("pr")) + 1


def devlake_records() -> list[dict[str, Any]]:
    """The fixture as Pulse ingest records."""
    prs = _csv("pull_requests.csv")
    authors = {pr["id"]: pr["author_id"] or None for pr in prs}
    records: list[dict[str, Any]] = [{"type": "repository", "key": REPOSITORY, "default_branch": "main"}]
    commits_of: dict[str, list[str]] = defaultdict(list)
    for row in _csv("pull_request_commits.csv"):
        commits_of[row["pull_request_id"]].append(row["commit_sha"])
        record = {
            "type": "commit",
            "repository": REPOSITORY,
            "sha": row["commit_sha"],
            "authored_at": _instant(row["commit_authored_date"]),
        }
        if authors[row["pull_request_id"]]:
            record["author"] = authors[row["pull_request_id"]]
        records.append(record)
    for pr in prs:
        record = {
            "type": "pull_request",
            "repository": REPOSITORY,
            "number": _number(pr["id"]),
            "title": pr["id"],
            "state": "merged" if pr["merged_date"] else "open",
            "created_at": _instant(pr["created_date"]),
            "merged_at": _instant(pr["merged_date"]) if pr["merged_date"] else None,
            "merge_commit_sha": pr["merge_commit_sha"],
            "commits": commits_of[pr["id"]],
        }
        if pr["author_id"]:
            record["author"] = pr["author_id"]
        records.append(record)
    for comment in _csv("pull_request_comments.csv"):
        records.append(
            {
                "type": "review",
                "repository": REPOSITORY,
                "pull_request": _number(comment["pull_request_id"]),
                "id": comment["id"],
                "reviewer": comment["account_id"],
                "state": "commented",
                "submitted_at": _instant(comment["created_date"]),
            }
        )
    shipped: dict[str, list[str]] = defaultdict(list)
    for diff in _csv("commits_diffs.csv"):
        shipped[diff["new_commit_sha"]].append(diff["commit_sha"])
    for row in _csv("cicd_deployment_commits.csv"):
        if not row["environment"]:
            continue
        records.append(
            {
                "type": "deployment",
                "id": f"devlake-{row['id']}",
                "repository": REPOSITORY,
                "environment": row["environment"].lower(),
                "status": row["result"].lower(),
                "started_at": _instant(row["started_date"]),
                "finished_at": _instant(row["finished_date"]),
                "sha": row["commit_sha"],
                "commits": [row["commit_sha"], *shipped[row["commit_sha"]]],
            }
        )
    return records


def _minutes(hours: float | None) -> int | None:
    """DevLake's unit: minutes rounded up (rounded to the microsecond first: float noise)."""
    return None if hours is None else math.ceil(round(hours * 60, 6))


def _devlake(value: str) -> int | None:
    return int(value) if value else None


EXPECTED = _csv("project_pr_metrics.csv") if FIXTURE.exists() else []


@pytest.fixture
def ours(gateway, auth_headers) -> dict[str, dict[str, Any]]:
    """Our ``/pull-requests`` items for the fixture, by DevLake PR id (the title)."""
    load(devlake_records())
    response = gateway.request(
        "GET",
        "/api/v1/analytics/github/pull-requests",
        query=[("start_date", "2022-01-01"), ("end_date", "2023-12-31"), ("limit", "500")],
        headers=auth_headers("admin"),
    )
    assert response.status == 200, response.text
    return {item["title"]: item for item in response.json()["items"]}


def test_the_fixture_is_there():
    assert FIXTURE.exists(), f"missing {FIXTURE}"
    assert [row["id"] for row in EXPECTED] == ["pr0", "pr1", "pr2", "pr3", "pr4", "pr5"]


def test_every_merged_pr_is_listed_and_the_open_one_is_not(ours):
    assert sorted(ours) == ["pr0", "pr1", "pr2", "pr3", "pr4", "pr5"]


@pytest.mark.parametrize("row", EXPECTED, ids=[row["id"] for row in EXPECTED])
def test_every_stage_matches_devlake_or_is_a_named_deliberate_difference(ours, row):
    item = ours[row["id"]]

    for column, stage in STAGES.items():
        expected, _reason = DELIBERATE.get((row["id"], column), (_devlake(row[column]), ""))
        assert _minutes(item[stage]) == expected, f"{row['id']} {column}"


@pytest.mark.parametrize("row", EXPECTED, ids=[row["id"] for row in EXPECTED])
def test_first_commit_and_deployment_instants_match(ours, row):
    item = ours[row["id"]]

    assert item["first_commit_at"] == _instant(row["first_commit_authored_date"])
    theirs = _instant(row["pr_deployed_date"]) if row["pr_deployed_date"] else None
    assert item["deployed_at"] == DEPLOYED_DIFFERENTLY.get(row["id"], theirs)


def test_each_deliberate_difference_really_differs_from_devlake():
    devlake = {row["id"]: row for row in EXPECTED}

    for (pr_id, column), (ours_value, reason) in DELIBERATE.items():
        assert reason
        assert _devlake(devlake[pr_id][column]) != ours_value, (pr_id, column)


def test_devlake_reads_the_early_comment_as_the_first_review(ours):
    # What EARLY_REVIEW describes, visible in DevLake's own output: comment07 and comment12.
    devlake = {row["id"]: row for row in EXPECTED}

    assert (devlake["pr3"]["first_review_id"], devlake["pr5"]["first_review_id"]) == (
        "comment07",
        "comment12",
    )
    assert ours["pr3"]["first_review_at"] == "2023-04-12T06:53:51+00:00"
    assert ours["pr5"]["first_review_at"] is None
