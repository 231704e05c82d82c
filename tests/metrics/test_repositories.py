"""Repository insights, each figure worked out by hand from one month of one repository."""

from __future__ import annotations

import datetime as dt

import pytest

from pulse import db
from pulse.metrics import repositories
from pulse.metrics.common import Window
from tests.metrics.github_records import (
    MARCH,
    at,
    commit,
    deployment,
    load,
    org,
    pull_request,
    review,
    scope_of,
)


def _insights(window: Window = MARCH) -> dict:
    with db.connect() as connection:
        return repositories.insights(connection, window=window, scope=scope_of("acme/checkout"))


@pytest.fixture
def month() -> dict:
    load(
        [
            *org(repositories=("acme/checkout", "acme/search")),
            # alice 4, bob 2, carol 1 commits in March; the bot's 3 and other repos' do not count
            commit("a1", at(2, 9)),
            commit("a2", at(2, 10)),
            commit("a3", at(9, 9)),
            commit("a4", at(16, 15)),
            commit("b1", at(3, 11), author="bob"),
            commit("b2", at(10, 11), author="bob"),
            commit("c1", at(4, 12), author="carol"),
            *(commit(f"bot{n}", at(5, n), author="ci-bot") for n in range(3)),
            commit("old", at(20, 9, month=2)),
            commit("s1", at(2, 9), repo="acme/search"),
            # merged in March
            pull_request(
                1, created_at=at(2, 10), merged_at=at(2, 14), additions=5, deletions=0, base_branch="main"
            ),
            review("r1", 1, "bob", at(2, 12)),  # approved by a non-author
            pull_request(
                2, created_at=at(3, 10), merged_at=at(4, 10), additions=60, deletions=40, base_branch="main"
            ),
            review("r2", 2, "alice", at(3, 12)),  # approved by its author only: self-merged
            pull_request(
                3,
                created_at=at(5, 10),
                merged_at=at(5, 12),
                author="bob",
                additions=1500,
                deletions=500,
                base_branch="develop",
            ),
            review("r3", 3, "carol", at(5, 11), state="commented"),  # reviewed, not approved
            pull_request(4, created_at=at(6, 10), merged_at=at(6, 11), author="bob", base_branch="main"),
            review("r4", 4, "ci-bot", at(6, 10, 30)),  # a bot's approval: self-merged, not covered
            # still open, or open at the end of March
            pull_request(5, created_at=at(20), base_branch="main"),
            pull_request(6, created_at=at(15, month=1), base_branch="main"),
            pull_request(8, created_at=at(1)),  # base unknown; opened 31 days before 1 April
            pull_request(9, created_at=at(1, month=2), merged_at=at(5, month=4), base_branch="main"),
            pull_request(7, created_at=at(25, 10, month=2), state="closed", closed_at=at(10, 10)),
            # production successes 2 March 00:00, 4 March 00:00, 5 March 12:00, 10 March 00:00
            deployment("d0", at(25, month=2), commits=("x0",)),
            deployment("d1", at(2), commits=("x1",)),
            deployment("d-failed", at(3), commits=("x2",), status="failure"),
            deployment("d-staging", at(3, 12), commits=("x3",), environment="staging"),
            deployment("d2", at(4), commits=("x4",)),
            deployment("d3", at(5, 12), commits=("x5",)),
            deployment("d4", at(10), commits=("x6",)),
        ]
    )
    return _insights()


def test_commit_heatmap_and_weekly_counts_leave_out_bots(month):
    commits = month["commits"]

    assert commits["total"] == 7
    heatmap = commits["heatmap"]
    # Mondays 9:00 (2 and 9 March), 10:00 and 15:00; Tuesdays 11:00 (3 and 10 March); Wednesday 12:00
    assert (heatmap[0][9], heatmap[0][10], heatmap[0][15], heatmap[1][11], heatmap[2][12]) == (2, 1, 1, 2, 1)
    assert commits["weekly"] == [
        {"period_start": "2026-02-23", "commits": 0},
        {"period_start": "2026-03-02", "commits": 4},
        {"period_start": "2026-03-09", "commits": 2},
        {"period_start": "2026-03-16", "commits": 1},
        {"period_start": "2026-03-23", "commits": 0},
        {"period_start": "2026-03-30", "commits": 0},
    ]


def test_sizes_review_coverage_and_self_merges(month):
    prs = month["pull_requests"]

    assert prs["merged"] == 4
    assert prs["size_distribution"] == {"xs": 1, "s": 0, "m": 1, "l": 0, "xl": 1, "unknown": 1}
    # covered: PR 1 only; self-merged (no human non-author review before merge): PRs 2 and 4
    assert prs["review"] == {"approved": 1, "coverage": 0.25, "self_merged": 2, "self_merge_rate": 0.5}


def test_branch_strategy(month):
    assert month["branches"] == {
        "opened_with_known_base": 5,  # PRs 1-5 (PR 8's base is unknown)
        "into_default_branch": 4,  # all but PR 3 (develop)
        "default_branch_share": 0.8,
        "median_lifetime_hours": 4.0,  # 1, 2, 4, 24 and PR 7's 312
        "open_over_30_days": 3,  # PR 6, PR 8 (31 days) and PR 9 (merged only in April)
    }


def test_release_cadence_takes_gaps_between_successful_deployments_in_the_window(month):
    # gaps 2, 1.5 and 4.5 days; the February deployment, the failure and staging do not count
    assert month["releases"] == {"deployments": 4, "median_days_between": 2.0}


def test_knowledge_concentration_is_the_fewest_authors_of_half_the_commits(month):
    assert month["knowledge"] == {
        "commits": 7,
        "authors": 3,
        "contributors": 1,
        "share": 4 / 7,
        "top": [{"login": "alice", "commits": 4}],
    }


def test_two_authors_are_needed_when_none_holds_half():
    load(
        [
            *org(),
            *(commit(f"a{n}", at(2, n)) for n in range(3)),
            *(commit(f"b{n}", at(3, n), author="bob") for n in range(2)),
            *(commit(f"c{n}", at(4, n), author="carol") for n in range(2)),
        ]
    )

    knowledge = _insights()["knowledge"]

    # 3 of 7 is under half; alice and then bob (2, before carol by login) make 5 of 7
    assert (knowledge["contributors"], knowledge["share"]) == (2, 5 / 7)


def test_an_empty_window_gives_nulls_not_zeros(month):
    quiet = _insights(Window(dt.date(2025, 1, 1), dt.date(2025, 1, 31)))

    assert quiet["pull_requests"]["review"]["coverage"] is None
    assert quiet["branches"]["median_lifetime_hours"] is None
    assert quiet["releases"] == {"deployments": 0, "median_days_between": None}
    assert quiet["knowledge"]["share"] is None
