"""Contributor stats, heatmaps and collaboration, computed by hand from a small org."""

from __future__ import annotations

import datetime as dt

import pytest

from pulse import db
from pulse.auth.scope import Scope
from pulse.errors import ApiError
from pulse.metrics import contributors
from pulse.metrics.common import Window
from tests.metrics.github_records import (
    EVERYTHING,
    MARCH,
    at,
    commit,
    load,
    org,
    pull_request,
    review,
    scope_of,
)


def _org() -> None:
    load(
        [
            *org(repositories=("acme/checkout", "acme/search")),
            commit("c0", at(27, 10, month=2)),  # before the window
            commit("c1", at(2, 9)),  # Monday
            commit("c2", at(2, 17)),
            commit("c3", at(4, 10)),  # Wednesday
            commit("b1", at(4, 23, 30), author="bob"),  # Wednesday 23:30 UTC = Thursday 00:30 Berlin
            commit("bot1", at(2, 10), author="ci-bot"),
            commit("d1", at(6, 10), author="dave", repo="acme/search"),
            pull_request(1, created_at=at(2, 12), merged_at=at(3, 12)),
            review("r1", 1, "bob", at(2, 14)),  # bob picks up PR 1 after 2 h
            review("r2", 1, "ci-bot", at(2, 13)),  # a bot: never a reviewer
            review("r3", 1, "carol", at(2, 18), state="commented"),  # carol after 6 h
            review("r4", 1, "bob", at(3, 9), state="commented"),  # bob again: not a pickup
            pull_request(2, created_at=at(4, 8), ready_at=at(4, 10), author="bob"),
            review("r5", 2, "alice", at(4, 11)),  # alice picks up PR 2 1 h after ready
            review("r6", 2, "bob", at(4, 12), state="commented"),  # bob on his own PR: not given
            pull_request(3, created_at=at(20, month=2), merged_at=at(21, month=2)),
            review("r7", 3, "carol", at(20, 12, month=2), state="commented"),  # before the window
            review("r8", 3, "carol", at(5, 10), state="commented"),  # in it, but not carol's first
        ]
    )


def _page(scope: Scope | None = None, window: Window = MARCH, **kwargs) -> dict:
    scope = scope or scope_of("acme/checkout")
    with db.connect() as connection:
        return contributors.contributors_page(connection, window=window, scope=scope, **kwargs)


def _stats(item: dict) -> dict:
    return {key: value for key, value in item.items() if key not in ("name", "heatmap")}


def test_stats_per_contributor_exclude_bots_and_count_only_the_window():
    _org()

    items = {item["login"]: item for item in _page()["items"]}

    assert sorted(items) == ["alice", "bob", "carol"]  # no bot; dave only worked in acme/search
    assert _stats(items["alice"]) == {
        "login": "alice",
        "commits": 3,
        "pull_requests_opened": 1,
        "pull_requests_merged": 1,
        "reviews_given": 1,  # r5
        "reviews_received": 4,  # r1, r3, r4 on PR 1 and r8 on PR 3 (the bot's r2 is not one)
        "median_pickup_hours": 1.0,
        "pickups": 1,
        "active_days": 2,  # 2 March (commits, PR opened) and 4 March (commit, review)
    }
    assert _stats(items["bob"]) == {
        "login": "bob",
        "commits": 1,
        "pull_requests_opened": 1,
        "pull_requests_merged": 0,
        "reviews_given": 2,  # r1, r4 (r6 is on his own PR)
        "reviews_received": 1,  # r5
        "median_pickup_hours": 2.0,
        "pickups": 1,
        "active_days": 3,  # 2 and 3 March (reviews), 4 March (PR opened and commit)
    }
    assert _stats(items["carol"]) == {
        "login": "carol",
        "commits": 0,
        "pull_requests_opened": 0,
        "pull_requests_merged": 0,
        "reviews_given": 2,  # r3, r8
        "reviews_received": 0,
        "median_pickup_hours": 6.0,  # PR 1 only: her first review of PR 3 was before the window
        "pickups": 1,
        "active_days": 2,
    }


def test_the_heatmap_is_weekday_by_hour_in_the_time_zone():
    _org()

    utc = {item["login"]: item["heatmap"] for item in _page()["items"]}
    berlin_window = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31), "Europe/Berlin")
    berlin = {item["login"]: item for item in _page(window=berlin_window)["items"]}

    alice = utc["alice"]
    assert (alice[0][9], alice[0][12], alice[0][17], alice[2][10], alice[2][11]) == (1, 1, 1, 1, 1)
    assert sum(map(sum, alice)) == 5  # three commits, one PR opened, one review given
    assert len(alice) == 7 and all(len(row) == 24 for row in alice)
    assert utc["bob"][2][23] == 1
    assert berlin["bob"]["heatmap"][3][0] == 1 and berlin["bob"]["heatmap"][2][23] == 0
    # in Berlin bob's commit falls on 5 March, a day of its own
    assert berlin["bob"]["active_days"] == 4


def test_pages_go_by_login_with_a_total():
    _org()

    first = _page(limit=2)
    second = _page(limit=2, cursor=first["next_cursor"])

    assert [item["login"] for item in first["items"]] == ["alice", "bob"]
    assert [item["login"] for item in second["items"]] == ["carol"]
    assert second["next_cursor"] is None
    assert first["total"] == second["total"] == 3
    beyond = _page(limit=2, cursor=contributors.encode_cursor("zz"))
    assert (beyond["items"], beyond["next_cursor"], beyond["total"]) == ([], None, 3)


def test_org_wide_lists_work_in_every_repository():
    _org()

    assert [item["login"] for item in _page(scope=EVERYTHING)["items"]] == ["alice", "bob", "carol", "dave"]


def test_detail_adds_who_reviews_them_and_whom_they_review():
    _org()

    with db.connect() as connection:
        detail = contributors.contributor_detail(
            connection, window=MARCH, scope=scope_of("acme/checkout"), login="alice"
        )

    assert detail["contributor"]["reviews_received"] == 4
    assert detail["collaboration"]["reviewed_by"] == [
        {"login": "bob", "name": "Bob", "reviews": 2, "pull_requests": 1},
        {"login": "carol", "name": "Carol", "reviews": 2, "pull_requests": 2},
    ]
    assert detail["collaboration"]["reviews"] == [
        {"login": "bob", "name": "Bob", "reviews": 1, "pull_requests": 1}
    ]


def test_detail_of_an_idle_contributor_is_zeros_and_nulls():
    _org()

    with db.connect() as connection:
        detail = contributors.contributor_detail(
            connection, window=MARCH, scope=scope_of("acme/checkout"), login="dave"
        )

    assert detail["contributor"]["commits"] == 0
    assert detail["contributor"]["median_pickup_hours"] is None
    assert sum(map(sum, detail["contributor"]["heatmap"])) == 0
    assert detail["collaboration"] == {"reviewed_by": [], "reviews": []}


@pytest.mark.parametrize("login", ["nobody", "ci-bot"])
def test_detail_of_an_unknown_login_or_a_bot_is_a_404(login):
    _org()

    with db.connect() as connection, pytest.raises(ApiError) as raised:
        contributors.contributor_detail(connection, window=MARCH, scope=EVERYTHING, login=login)

    assert raised.value.status == 404
