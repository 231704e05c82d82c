"""Per-PR stages (metrics.md "GitHub analytics"), pagination, filters and trends, by hand."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from pulse import db
from pulse.auth.context import Caller
from pulse.auth.scope import resolve_scope
from pulse.errors import ApiError
from pulse.metrics import pull_requests as prs
from pulse.metrics.common import Window
from tests.metrics.github_records import (
    EVERYTHING,
    MARCH,
    at,
    commit,
    deployment,
    load,
    org,
    pull_request,
    review,
)


def stages(window: Window = MARCH, **kwargs) -> dict[int, dict]:
    with db.connect() as connection:
        rows = prs.stage_rows(connection, window=window, scope=EVERYTHING, **kwargs)
    return {row["number"]: row for row in rows}


def page(**kwargs) -> dict:
    with db.connect() as connection:
        return prs.pull_requests_page(connection, window=MARCH, scope=EVERYTHING, **kwargs)


def test_the_ingest_format_example_has_every_stage():
    load(
        [
            *org(),
            commit("a1", at(2, 9)),
            pull_request(7, created_at=at(2, 10), merged_at=at(2, 15), commits=("a1",)),
            review("r1", 7, "bob", at(2, 12)),
            deployment("d-100", at(3, 8), commits=("a1", "m7")),
        ]
    )

    pr = stages()[7]

    # coding 09:00→10:00, pickup 10:00→12:00, review 12:00→15:00, deploy 15:00→08:00 next day,
    # cycle from the first commit (before creation) to the deployment.
    assert (pr["coding_hours"], pr["pickup_hours"], pr["review_hours"]) == (1.0, 2.0, 3.0)
    assert (pr["deploy_hours"], pr["cycle_hours"]) == (17.0, 23.0)
    assert pr["first_commit_at"] == dt.datetime(2026, 3, 2, 9, tzinfo=dt.UTC)
    assert pr["deployed_at"] == dt.datetime(2026, 3, 3, 8, tzinfo=dt.UTC)


def test_first_review_ignores_early_own_and_bot_reviews_but_counts_dismissed_ones():
    load(
        [
            *org(),
            pull_request(1, created_at=at(2, 10), ready_at=at(2, 12), merged_at=at(2, 16), draft=False),
            review("early", 1, "bob", at(2, 11)),  # before ready_at: ignored for pickup
            review("own", 1, "alice", at(2, 12, 30), state="commented"),  # the author
            review("bot", 1, "ci-bot", at(2, 12, 45)),  # a bot
            review("first", 1, "carol", at(2, 14), state="dismissed"),  # any state counts
            review("later", 1, "bob", at(2, 15)),
        ]
    )

    pr = stages()[1]

    assert pr["first_review_at"] == dt.datetime(2026, 3, 2, 14, tzinfo=dt.UTC)
    assert pr["pickup_hours"] == 2.0  # from ready_at 12:00, not created_at 10:00
    assert pr["review_hours"] == 2.0  # 14:00 → merged 16:00
    # reviews by people other than the author and not bots, whenever submitted: early, first, later
    assert pr["reviews"] == 3
    assert pr["approved"] is True


def test_a_review_exactly_at_ready_at_is_a_zero_hour_pickup():
    load(
        [
            *org(),
            pull_request(1, created_at=at(2, 10), ready_at=at(2, 12), merged_at=at(2, 13)),
            review("r", 1, "bob", at(2, 12), state="commented"),
        ]
    )

    assert stages()[1]["pickup_hours"] == 0.0


def test_unknown_or_negative_stages_are_null_and_the_cycle_starts_at_creation():
    load(
        [
            *org(),
            # commits authored after the PR was opened: coding would be negative
            commit("late", at(3, 12)),
            pull_request(2, created_at=at(3, 10), merged_at=at(3, 18), commits=("late",)),
            # no commits known at all
            pull_request(3, created_at=at(4, 10), merged_at=at(4, 12)),
        ]
    )

    rows = stages()

    late = rows[2]
    assert late["coding_hours"] is None
    assert (late["pickup_hours"], late["review_hours"], late["deploy_hours"]) == (None, None, None)
    assert late["cycle_hours"] == 8.0  # created 10:00 → merged 18:00
    unknown = rows[3]
    assert unknown["first_commit_at"] is None and unknown["coding_hours"] is None
    assert unknown["cycle_hours"] == 2.0


def test_a_deployment_before_the_merge_leaves_deploy_null_and_ends_the_cycle_at_the_merge():
    load(
        [
            *org(),
            commit("c", at(4, 8)),
            pull_request(3, created_at=at(4, 10), merged_at=at(5, 10), commits=("c",)),
            deployment("early", at(5, 9), commits=("m3",)),
        ]
    )

    pr = stages()[3]

    assert pr["deployed_at"] == dt.datetime(2026, 3, 5, 9, tzinfo=dt.UTC)  # reported as a fact
    assert pr["deploy_hours"] is None
    assert pr["cycle_hours"] == 26.0  # first commit 4th 08:00 → merged 5th 10:00


def test_deploy_uses_the_first_successful_deployment_to_the_environment():
    load(
        [
            *org(),
            pull_request(4, created_at=at(6, 8), merged_at=at(6, 10)),
            deployment("staging", at(6, 11), commits=("m4",), environment="staging"),
            deployment("failed", at(6, 12), commits=("m4",), status="failure"),
            deployment("first", at(6, 14), commits=("m4",)),
            deployment("second", at(7, 10), commits=("m4",)),
        ]
    )

    assert stages()[4]["deploy_hours"] == 4.0  # merged 10:00 → first production success 14:00
    assert stages()[4]["cycle_hours"] == 6.0  # created 08:00 → 14:00
    assert stages(environment="staging")[4]["deploy_hours"] == 1.0


def test_a_review_after_the_merge_has_a_pickup_but_no_review_stage_and_no_approval():
    load(
        [
            *org(),
            pull_request(5, created_at=at(9, 10), merged_at=at(9, 11)),
            review("post", 5, "bob", at(9, 12)),
        ]
    )

    pr = stages()[5]

    assert pr["pickup_hours"] == 2.0
    assert pr["review_hours"] is None
    assert pr["approved"] is False


def test_a_pr_with_an_unknown_author_takes_any_human_review_as_first():
    load(
        [
            *org(),
            pull_request(6, created_at=at(9, 10), merged_at=at(9, 14), author=None),
            review("r", 6, "alice", at(9, 11)),
        ]
    )

    assert stages()[6]["pickup_hours"] == 1.0


def test_the_window_is_half_open_in_the_requested_time_zone():
    # New York: 1 March 00:00 EST is 05:00Z; 1 April 00:00 EDT is 04:00Z.
    load(
        [
            *org(),
            pull_request(1, created_at=at(1, 0), merged_at=at(1, 4, 59, 59)),
            pull_request(2, created_at=at(1, 0), merged_at=at(1, 5)),
            pull_request(3, created_at=at(31), merged_at=at(1, 3, 59, 59, month=4)),
            pull_request(4, created_at=at(31), merged_at=at(1, 4, month=4)),
        ]
    )

    new_york = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31), "America/New_York")

    assert sorted(stages(new_york)) == [2, 3]


def _four_prs() -> None:
    # No commits: each cycle is merged - created: 1, 2, 3 and 10 hours. 10 and 11 tie on merged_at.
    load(
        [
            *org(),
            pull_request(10, created_at=at(10, 9), merged_at=at(10, 10)),
            pull_request(11, created_at=at(10, 8), merged_at=at(10, 10)),
            pull_request(12, created_at=at(11, 7), merged_at=at(11, 10)),
            pull_request(13, created_at=at(12, 0), merged_at=at(12, 10)),
        ]
    )


def test_pages_follow_merged_at_then_id_and_the_summary_covers_every_page():
    _four_prs()
    with db.connect() as connection:
        by_id = [
            row.number for row in connection.execute(text("SELECT number FROM pull_requests ORDER BY id"))
        ]
    tie = [number for number in by_id if number in (10, 11)]

    first = page(limit=2)
    second = page(limit=2, cursor=first["next_cursor"])

    assert [item["number"] for item in first["items"]] == tie
    assert [item["number"] for item in second["items"]] == [12, 13]
    assert first["next_cursor"] is not None and second["next_cursor"] is None
    for answer in (first, second):
        # median of 1, 2, 3, 10 interpolates to 2.5; no PR has commits, so coding is null
        assert answer["summary"]["count"] == 4
        assert answer["summary"]["median_cycle_hours"] == 2.5
        assert answer["summary"]["median_coding_hours"] is None


def test_an_exact_page_has_no_next_cursor():
    _four_prs()

    assert page(limit=4)["next_cursor"] is None
    assert len(page(limit=4)["items"]) == 4


def test_items_carry_the_listed_fields():
    load(
        [
            *org(),
            commit("a1", at(2, 9)),
            pull_request(
                7,
                created_at=at(2, 10),
                merged_at=at(2, 15),
                commits=("a1",),
                title="Checkout",
                additions=30,
                deletions=5,
                labels=["bug"],
            ),
            review("r1", 7, "bob", at(2, 12)),
        ]
    )

    item = page()["items"][0]

    assert item["repository"] == "acme/checkout"
    assert (item["number"], item["author"], item["title"]) == (7, "alice", "Checkout")
    assert item["created_at"] == "2026-03-02T10:00:00+00:00"
    assert item["merged_at"] == "2026-03-02T15:00:00+00:00"
    assert item["first_commit_at"] == "2026-03-02T09:00:00+00:00"
    assert item["first_review_at"] == "2026-03-02T12:00:00+00:00"
    assert item["deployed_at"] is None
    assert (item["additions"], item["deletions"], item["size"]) == (30, 5, "s")
    assert (item["reviews"], item["labels"]) == (1, ["bug"])
    assert (item["coding_hours"], item["pickup_hours"], item["review_hours"]) == (1.0, 2.0, 3.0)
    assert (item["deploy_hours"], item["cycle_hours"]) == (None, 6.0)


@pytest.mark.parametrize(
    ("size", "numbers"),
    [("xs", [1]), ("s", [2, 3]), ("m", [4, 5]), ("l", [6, 7]), ("xl", [8])],
)
def test_size_buckets_by_changed_lines(size, numbers):
    # changed lines: 9, 10, 49, 50, 249, 250, 999, 1000 and unknown
    lines = {
        1: (5, 4),
        2: (10, 0),
        3: (49, 0),
        4: (25, 25),
        5: (249, 0),
        6: (250, 0),
        7: (0, 999),
        8: (1000, 0),
    }
    records = [
        pull_request(n, created_at=at(2), merged_at=at(2, n), additions=a, deletions=d)
        for n, (a, d) in lines.items()
    ]
    load([*org(), *records, pull_request(9, created_at=at(2), merged_at=at(2, 9))])

    found = page(pr_filter=prs.PullRequestFilter(size=size))

    assert [item["number"] for item in found["items"]] == numbers
    assert found["summary"]["count"] == len(numbers)


def test_author_and_label_filters_combine():
    load(
        [
            *org(),
            pull_request(1, created_at=at(2), merged_at=at(2, 1), labels=["bug", "ui"]),
            pull_request(2, created_at=at(2), merged_at=at(2, 2), labels=["bug"], author="bob"),
            pull_request(3, created_at=at(2), merged_at=at(2, 3)),
        ]
    )

    def numbers(**filters) -> list[int]:
        return [item["number"] for item in page(pr_filter=prs.PullRequestFilter(**filters))["items"]]

    assert numbers(label="bug") == [1, 2]
    assert numbers(author="bob") == [2]
    assert numbers(author="alice", label="bug") == [1]
    assert numbers(author="nobody") == []


def test_a_member_only_sees_prs_of_their_teams_repositories():
    load(
        [
            *org(repositories=("acme/checkout", "acme/search")),
            pull_request(1, created_at=at(2), merged_at=at(2, 1)),
            pull_request(2, created_at=at(2), merged_at=at(2, 2), repo="acme/search"),
        ]
    )
    member = Caller(subject="7", kind="user", role="member", teams=("search",))

    with db.connect() as connection:
        scope = resolve_scope(connection, member)
        answer = prs.pull_requests_page(connection, window=MARCH, scope=scope)

    assert [item["repository"] for item in answer["items"]] == ["acme/search"]
    assert answer["summary"]["count"] == 1


@pytest.mark.parametrize("cursor", ["not a cursor", "YWJj", prs.encode_cursor(dt.datetime(2026, 3, 1), 1)])
def test_a_foreign_cursor_is_a_422(cursor):
    with pytest.raises(ApiError) as raised:
        prs.decode_cursor(cursor)

    assert (raised.value.status, raised.value.code) == (422, "invalid_cursor")


def test_trends_count_stage_medians_and_merges_without_a_non_author_approval():
    load(
        [
            *org(),
            # week of 2 March: one approved by bob, one approved only by its author
            pull_request(1, created_at=at(2, 8), merged_at=at(2, 12)),
            review("a", 1, "bob", at(2, 9)),
            pull_request(2, created_at=at(3, 8), merged_at=at(3, 10)),
            review("b", 2, "alice", at(3, 9)),
            # week of 9 March: approved by a bot; approved by bob after the merge; dismissed
            pull_request(3, created_at=at(9, 8), merged_at=at(9, 9)),
            review("c", 3, "ci-bot", at(9, 8, 30)),
            pull_request(4, created_at=at(10, 8), merged_at=at(10, 9)),
            review("d", 4, "bob", at(10, 10)),
            pull_request(5, created_at=at(11, 8), merged_at=at(11, 9)),
            review("e", 5, "bob", at(11, 8, 30), state="dismissed"),
        ]
    )
    window = Window(dt.date(2026, 3, 2), dt.date(2026, 3, 22))

    with db.connect() as connection:
        series = prs.trends(connection, window=window, scope=EVERYTHING, interval="week")

    assert [bucket["period_start"] for bucket in series] == ["2026-03-02", "2026-03-09", "2026-03-16"]
    first, second, empty = series
    assert (first["count"], first["without_approval"], first["without_approval_share"]) == (2, 1, 0.5)
    assert first["median_cycle_hours"] == 3.0  # cycles 4 h and 2 h
    assert first["median_pickup_hours"] == 1.0  # only bob's review counts: 08:00 → 09:00
    assert (second["count"], second["without_approval"], second["without_approval_share"]) == (3, 3, 1.0)
    assert (empty["count"], empty["without_approval_share"], empty["median_cycle_hours"]) == (0, None, None)


def test_a_later_import_rederives_the_stages_it_changes():
    # ingest refreshes pull_request_stages for what each import touched
    load([*org(), pull_request(1, created_at=at(2, 10), merged_at=at(2, 12))])
    assert stages()[1]["first_review_at"] is None

    load([review("r", 1, "bob", at(2, 11))])

    assert stages()[1]["pickup_hours"] == 1.0


def test_a_reviewer_turning_out_to_be_a_bot_no_longer_counts():
    load(
        [
            *org(),
            pull_request(1, created_at=at(2, 10), merged_at=at(2, 12)),
            review("r", 1, "dave", at(2, 11)),
        ]
    )
    assert stages()[1]["pickup_hours"] == 1.0

    load([{"type": "contributor", "login": "dave", "is_bot": True}])

    assert stages()[1]["pickup_hours"] is None
