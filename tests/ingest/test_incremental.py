"""Derived data kept current by small imports equals what one import of everything derives.

An import re-derives only what its records can change: the PR stages of the PRs whose inputs
changed, and shipped commits only where deployments or a stored commit's parents changed. The
rule these tests state: after any sequence of imports, ``pull_request_stages``,
``deployment_commits`` and ``commit_first_deployments`` are exactly what a full derivation gives.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from sqlalchemy import text

from pulse import db
from pulse.ingest import Importer, loader
from pulse.metrics.pull_requests import refresh_stages
from tests.conftest import _data_tables
from tests.ingest.helpers import REPO, commit, deployment, load, rows, ts


def pull_request(number: int, day: int, **fields: Any) -> dict[str, Any]:
    return {
        "type": "pull_request",
        "repository": REPO,
        "number": number,
        "author": "alice",
        "title": f"PR {number}",
        "state": "open",
        "created_at": ts(day),
        **fields,
    }


def merged(number: int, day: int, merge_sha: str, commits: list[str]) -> dict[str, Any]:
    return pull_request(
        number, day, state="merged", merged_at=ts(day + 1, 12), merge_commit_sha=merge_sha, commits=commits
    )


def review(external_id: int, number: int, day: int, reviewer: str = "carol") -> dict[str, Any]:
    return {
        "type": "review",
        "repository": REPO,
        "pull_request": number,
        "id": external_id,
        "reviewer": reviewer,
        "state": "approved",
        "submitted_at": ts(day, 9),
    }


def contributor(login: str, *, is_bot: bool = False) -> dict[str, Any]:
    return {"type": "contributor", "login": login, "is_bot": is_bot}


# Each step is one import; together they take every path by which a record changes a PR's
# stages or what a deployment ships.
STEPS: list[tuple[str, list[dict[str, Any]]]] = [
    (
        "history",
        [
            {"type": "repository", "key": REPO},
            contributor("alice"),
            contributor("carol"),
            commit("c1", 1, parents=[]),
            commit("c2", 2, parents=["c1"]),
            merged(1, 2, "m1", ["c1", "c2"]),
            deployment("d1", 3, sha="c2"),
        ],
    ),
    # a push of new commits (no stored record can reach them) and a deployment shipping them
    ("push", [commit("m1", 3, parents=["c2"]), commit("c3", 3, parents=["m1"])]),
    ("deploy the merge commit", [deployment("d2", 4, sha="c3")]),
    ("a review", [review(100, 1, 2)]),
    # the review moves to PR 2, which only the review names (a placeholder PR)
    ("a review moves to an unknown PR", [review(100, 2, 2)]),
    # PR 3 lists a commit nobody described yet; it is described later (first_commit_at changes)
    ("a PR listing an unknown commit", [merged(3, 5, "m3", ["c9"])]),
    ("the unknown commit described", [commit("c9", 1, parents=["c3"])]),
    # a deployment of an unknown sha ships it alone (rule 3) until its parents are known (rule 2)
    ("deploy an unknown sha", [deployment("d3", 6, sha="c5")]),
    ("its parents become known", [commit("c5", 5, parents=["c9"])]),
    ("the merge commit of PR 3 arrives", [commit("m3", 6, parents=["c5"]), deployment("d4", 7, sha="m3")]),
    ("a PR's commit list is replaced", [merged(1, 2, "m1", ["c2"])]),
    (
        "a work item links an unknown PR",
        [
            {
                "type": "work_item",
                "key": "W-1",
                "title": "Checkout",
                "status": "todo",
                "created_at": ts(1),
                "pull_requests": [f"{REPO}#7"],
            }
        ],
    ),
    ("a reviewer turns out to be a bot", [contributor("carol", is_bot=True)]),
    ("a deployment moves to staging", [deployment("d2", 4, sha="c3", environment="staging")]),
    ("an earlier deployment arrives late", [deployment("d0", 2, sha="c1")]),
]


def derived() -> dict[str, list[tuple[Any, ...]]]:
    """The derived tables by natural keys (ids differ between two loads of the same records)."""
    return {
        "stages": rows(
            "SELECT p.number, s.first_commit_at, s.first_review_at, s.review_count, s.approved, "
            "s.production_deployed_at, s.coding_hours, s.pickup_hours, s.review_hours, s.deploy_hours, "
            "s.cycle_hours FROM pull_request_stages s JOIN pull_requests p ON p.id = s.pull_request_id "
            "ORDER BY p.number"
        ),
        "shipped": rows(
            "SELECT d.external_id, c.sha FROM deployment_commits dc JOIN deployments d ON d.id = dc.deployment_id "
            "JOIN commits c ON c.id = dc.commit_id ORDER BY 1, 2"
        ),
        "first deployments": rows(
            "SELECT c.sha, f.environment, d.external_id, f.finished_at, f.authored_at FROM commit_first_deployments f "
            "JOIN commits c ON c.id = f.commit_id JOIN deployments d ON d.id = f.deployment_id ORDER BY 1, 2"
        ),
    }


def empty_database() -> None:
    with db.transaction() as connection:
        tables = ", ".join(f'"{name}"' for name in _data_tables())
        connection.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture(params=["small batches", "big batches"])
def batch_size(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Small batches note exactly what changed; big ones re-derive whole repositories."""
    if request.param == "big batches":
        monkeypatch.setattr(loader, "SMALL_BATCH_RECORDS", 0)
    return str(request.param)


@pytest.mark.parametrize("steps", range(1, len(STEPS) + 1), ids=[name for name, _ in STEPS])
def test_small_imports_derive_what_one_import_of_everything_derives(steps: int, batch_size: str) -> None:
    for _, records in STEPS[:steps]:
        load(*records)
    incremental = derived()
    with db.transaction() as connection:
        assert refresh_stages(connection) == 0, "a full stage refresh changed rows the imports left stale"

    empty_database()
    load(*(record for _, records in STEPS[:steps] for record in records))

    assert derived() == incremental


def test_the_steps_change_what_they_claim():
    # The rule above would hold vacuously if the steps derived nothing: spot-check the end state.
    for _, records in STEPS:
        load(*records)
    stages = {row[0]: row for row in derived()["stages"]}
    shipped = derived()["shipped"]

    assert ("d2", "m1") in shipped and ("d2", "c3") in shipped  # the push reached d2 via c3's parent
    assert ("d3", "c5") in shipped and ("d3", "c9") in shipped  # rule 2 once c5's parents were known
    # PR 1's merge commit m1 went out with d2 (day 4), which moved to staging; d3 (day 6) ships
    # it to production now, through c5's parents c9 -> c3 -> m1.
    assert stages[1][5] == dt.datetime(2026, 3, 6, tzinfo=dt.UTC)
    assert stages[3][5] is not None  # PR 3's merge commit m3 went out with d4
    assert stages[2][3] == 0  # carol's review moved to PR 2, and carol is a bot
    assert set(stages) == {1, 2, 3, 7}  # the placeholder PRs have stage rows too


@pytest.mark.parametrize(
    "first, moved",
    [
        ([review(100, 1, 2)], [review(100, 2, 2)]),
        ([deployment("d1", 3, sha="c2")], [deployment("d1", 3, sha="c2", environment="staging")]),
    ],
    ids=["a review moves to another PR", "a deployment moves to staging"],
)
def test_a_record_moving_within_one_import_of_an_empty_table_is_derived_like_one_import(
    first: list[dict[str, Any]], moved: list[dict[str, Any]], monkeypatch: pytest.MonkeyPatch
) -> None:
    # Big chunks skip the probes for what a write moves away from while the table was empty at
    # the first chunk: the first chunk's write noted the old PR or pair already.
    monkeypatch.setattr(loader, "SMALL_BATCH_RECORDS", 0)
    history = STEPS[0][1]
    with db.transaction() as connection:
        importer = Importer(connection, chunk=len(history) + len(first))
        importer.add_records([*history, *first, *moved])  # the move is the second chunk
        importer.finish()
    in_chunks = derived()
    with db.transaction() as connection:
        assert refresh_stages(connection) == 0, "the move left a PR's stages stale"

    empty_database()
    load(*history, *moved)

    assert derived() == in_chunks


def test_a_first_bulk_load_builds_the_stage_key_at_the_end_and_the_next_one_upserts_through_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(loader, "SMALL_BATCH_RECORDS", 0)
    key = "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = 'pk_pull_request_stages'"
    assert rows(key) == [("PRIMARY KEY (pull_request_id)",)]

    first = load(*STEPS[0][1])
    assert "pk_pull_request_stages" in first.rebuilt_indexes
    assert rows(key) == [("PRIMARY KEY (pull_request_id)",)]

    second = load(*STEPS[1][1])  # its stage refresh is an upsert, which needs the key
    assert "pk_pull_request_stages" not in second.rebuilt_indexes
    with db.transaction() as connection:
        assert refresh_stages(connection) == 0


def test_a_refresh_of_every_pr_leaves_the_callers_planner_settings_as_they_were() -> None:
    # It plans its CREATE TABLE AS with cheaper parallel costs, for that statement only.
    load(*STEPS[0][1])
    with db.transaction() as connection:
        connection.execute(text("SET LOCAL parallel_tuple_cost = 0.05"))
        assert refresh_stages(connection) == 0
        settings = "SELECT current_setting('parallel_tuple_cost'), current_setting('parallel_setup_cost')"
        assert tuple(connection.execute(text(settings)).one()) == ("0.05", "1000")
