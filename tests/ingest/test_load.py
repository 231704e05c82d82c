"""Loading: upsert by natural key, idempotent re-import, order-free batches and placeholders."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from pulse import db
from pulse.ingest import Importer, IngestValidationError, import_lines, load_records
from tests.conftest import new_session
from tests.ingest.helpers import (
    REPO,
    commit,
    count,
    deployment,
    first_deployments,
    load,
    ndjson,
    rows,
    shipped,
    ts,
    version,
)

TABLES = [
    "teams",
    "repositories",
    "contributors",
    "commits",
    "pull_requests",
    "pull_request_commits",
    "reviews",
    "deployments",
    "deployment_commits",
    "commit_first_deployments",
    "incidents",
    "quality_measurements",
    "objectives",
    "work_items",
    "work_item_pull_requests",
]

ORG = [
    {"type": "team", "key": "eng", "name": "Engineering"},
    {"type": "team", "key": "payments", "name": "Payments", "parent": "eng"},
    {"type": "repository", "key": REPO, "team": "payments", "project": "Checkout", "default_branch": "main"},
    {"type": "contributor", "login": "alice", "name": "Alice", "team": "payments"},
    {"type": "contributor", "login": "ci-bot", "is_bot": True},
    commit("a1", 1, parents=[], author="alice", additions=10, deletions=2, message="first\nline"),
    commit("m7", 2, parents=["a1"], author="alice"),
    {
        "type": "pull_request",
        "repository": REPO,
        "number": 7,
        "author": "alice",
        "title": "Tabs\tand \\ backslashes",
        "state": "merged",
        "created_at": ts(1, 10),
        "merged_at": ts(2, 9),
        "merge_commit_sha": "m7",
        "commits": ["a1"],
        "labels": ["bug", 'quote " and , comma'],
    },
    {
        "type": "review",
        "repository": REPO,
        "pull_request": 7,
        "id": "r1",
        "reviewer": "bob",
        "state": "approved",
        "submitted_at": ts(1, 12),
    },
    deployment("d1", 3, sha="m7"),
    {
        "type": "incident",
        "id": "INC-1",
        "repository": REPO,
        "created_at": ts(3, 5),
        "resolved_at": ts(3, 7),
        "deployment_id": "d1",
    },
    {"type": "quality", "repository": REPO, "measured_at": ts(3), "coverage": 0.8, "issues": 4},
    {
        "type": "objective",
        "key": "OBJ-1",
        "title": "Faster checkout",
        "team": "payments",
        "target_date": "2026-04-01",
    },
    {
        "type": "work_item",
        "key": "PAY-1",
        "title": "Cache prices",
        "kind": "feature",
        "objective": "OBJ-1",
        "team": "payments",
        "status": "done",
        "created_at": ts(1),
        "done_at": ts(2, 10),
        "story_points": 3,
        "pull_requests": [f"{REPO}#7"],
    },
]


def snapshot() -> dict[str, list[tuple]]:
    """Every row of every table with its xmin: an UPDATE, even to equal values, changes xmin."""
    return {table: rows(f"SELECT xmin::text, * FROM {table} ORDER BY 2, 3") for table in TABLES}


def test_every_record_type_lands_in_its_table():
    result = load(*ORG)

    assert result.accepted == 14
    assert result.by_type == {
        "team": 2,
        "repository": 1,
        "contributor": 2,
        "commit": 2,
        "pull_request": 1,
        "review": 1,
        "deployment": 1,
        "incident": 1,
        "quality": 1,
        "objective": 1,
        "work_item": 1,
    }
    assert rows(
        "SELECT t.key, p.key FROM teams t LEFT JOIN teams p ON p.id = t.parent_id ORDER BY t.key"
    ) == [
        ("eng", None),
        ("payments", "eng"),
    ]
    assert rows("SELECT login, is_bot FROM contributors ORDER BY login") == [
        ("alice", False),
        ("bob", False),  # a placeholder: the review named him
        ("ci-bot", True),
    ]
    assert rows("SELECT sha, parents, additions, message FROM commits ORDER BY sha") == [
        ("a1", [], 10, "first\nline"),
        ("m7", ["a1"], None, None),
    ]
    assert rows("SELECT title, labels, state FROM pull_requests") == [
        ("Tabs\tand \\ backslashes", ["bug", 'quote " and , comma'], "merged")
    ]
    assert rows("SELECT type, story_points FROM work_items") == [("feature", 3)]
    assert count("pull_request_commits") == 1
    assert count("work_item_pull_requests") == 1
    assert rows("SELECT deployment_external_id FROM incidents") == [("d1",)]
    assert shipped() == {"d1": {"a1", "m7"}}
    assert result.data_version == version() == 1


def test_a_repeated_import_changes_nothing_and_keeps_the_data_version():
    load(*ORG)
    before = snapshot()

    result = load(*ORG)

    # Same rows, same xmin (no row rewritten), no new data version: cached answers stay valid.
    assert snapshot() == before
    assert result.changed == 0
    assert result.data_version is None
    assert version() == 1


def test_sending_a_record_again_with_new_values_updates_it():
    load(*ORG)

    result = load(
        commit("a1", 1, parents=[], author="alice", additions=11, deletions=2, message="first\nline")
    )

    assert rows("SELECT additions FROM commits WHERE sha = 'a1'") == [(11,)]
    assert result.changed == 1
    assert version() == 2


def test_an_absent_optional_field_is_null_after_an_update():
    load({"type": "repository", "key": REPO, "project": "Checkout"})

    load({"type": "repository", "key": REPO})

    assert rows("SELECT project FROM repositories") == [(None,)]


def test_an_out_of_order_batch_loads_the_same_as_an_ordered_one():
    load(*reversed(ORG))
    reversed_rows = {
        "parents": rows(
            "SELECT t.key, p.key FROM teams t LEFT JOIN teams p ON p.id = t.parent_id ORDER BY 1"
        ),
        "review": rows(
            "SELECT r.external_id, p.number, c.login FROM reviews r JOIN pull_requests p ON p.id = r.pull_request_id "
            "JOIN contributors c ON c.id = r.reviewer_id"
        ),
        "pr": rows("SELECT number, state, title FROM pull_requests"),
        "repository": rows(
            "SELECT r.key, t.key, r.project FROM repositories r JOIN teams t ON t.id = r.team_id"
        ),
        "shipped": shipped(),
        "counts": {table: count(table) for table in TABLES},
    }

    assert reversed_rows == {
        "parents": [("eng", None), ("payments", "eng")],
        "review": [("r1", 7, "bob")],
        "pr": [(7, "merged", "Tabs\tand \\ backslashes")],
        "repository": [(REPO, "payments", "Checkout")],
        "shipped": {"d1": {"a1", "m7"}},
        "counts": {
            "teams": 2,
            "repositories": 1,
            "contributors": 3,
            "commits": 2,
            "pull_requests": 1,
            "pull_request_commits": 1,
            "reviews": 1,
            "deployments": 1,
            "deployment_commits": 2,
            "commit_first_deployments": 2,
            "incidents": 1,
            "quality_measurements": 1,
            "objectives": 1,
            "work_items": 1,
            "work_item_pull_requests": 1,
        },
    }


def test_placeholders_are_filled_in_when_their_record_arrives():
    load(
        {"type": "review", "repository": REPO, "pull_request": 9, "id": "r9", "reviewer": "carol",
         "state": "commented", "submitted_at": ts(2)},
        {"type": "work_item", "key": "W1", "title": "T", "status": "todo", "created_at": ts(1),
         "objective": "OBJ-9", "team": "infra"},
    )  # fmt: skip
    assert rows("SELECT number, state, created_at FROM pull_requests") == [(9, None, None)]
    assert rows("SELECT key, name FROM teams") == [("infra", None)]
    assert rows("SELECT key, title FROM objectives") == [("OBJ-9", None)]
    assert rows("SELECT key FROM repositories") == [(REPO,)]

    load(
        {"type": "pull_request", "repository": REPO, "number": 9, "state": "open", "created_at": ts(1)},
        {"type": "team", "key": "infra", "name": "Infrastructure"},
        {"type": "objective", "key": "OBJ-9", "title": "Uptime"},
        {"type": "contributor", "login": "carol", "name": "Carol", "is_bot": True},
    )

    assert rows("SELECT number, state, created_at FROM pull_requests") == [
        (9, "open", dt.datetime(2026, 3, 1, tzinfo=dt.UTC))
    ]
    assert rows("SELECT key, name FROM teams") == [("infra", "Infrastructure")]
    assert rows("SELECT key, title FROM objectives") == [("OBJ-9", "Uptime")]
    assert rows("SELECT login, name, is_bot FROM contributors") == [("carol", "Carol", True)]
    # the review still points at the same, now described, rows
    assert rows(
        "SELECT p.state, c.name FROM reviews r JOIN pull_requests p ON p.id = r.pull_request_id "
        "JOIN contributors c ON c.id = r.reviewer_id"
    ) == [("open", "Carol")]


def test_a_later_reference_never_overwrites_described_data():
    load(*ORG)
    before = snapshot()

    # These records only mention known keys: the team, repository, contributor, objective and
    # PR they reference must keep their described values.
    load(
        {"type": "review", "repository": REPO, "pull_request": 7, "id": "r2", "reviewer": "alice",
         "state": "commented", "submitted_at": ts(1, 13)},
        {"type": "work_item", "key": "PAY-2", "title": "T", "status": "todo", "created_at": ts(1),
         "objective": "OBJ-1", "team": "payments", "pull_requests": [f"{REPO}#7"]},
        deployment("d2", 4, sha="a1"),
    )  # fmt: skip

    after = snapshot()
    for table in ("teams", "repositories", "contributors", "objectives", "pull_requests", "commits"):
        assert after[table] == before[table], table


def test_the_last_record_with_a_key_wins_within_a_batch():
    load(
        {"type": "repository", "key": REPO, "project": "Old"},
        {"type": "repository", "key": REPO, "project": "New"},
    )

    assert rows("SELECT project FROM repositories") == [("New",)]


def test_a_link_list_replaces_the_links_and_an_absent_one_keeps_them():
    pr = {"type": "pull_request", "repository": REPO, "number": 1, "state": "open", "created_at": ts(1)}
    load(commit("a1"), commit("a2"), {**pr, "commits": ["a1", "a2"]})

    load({**pr, "title": "renamed"})  # no "commits": links kept
    assert count("pull_request_commits") == 2

    load({**pr, "commits": ["a2", "a3"]})  # replaced; a3 becomes a placeholder commit
    assert rows(
        "SELECT c.sha FROM pull_request_commits l JOIN commits c ON c.id = l.commit_id ORDER BY 1"
    ) == [("a2",), ("a3",)]


def test_a_team_parent_cycle_is_rejected_with_its_lines():
    load({"type": "team", "key": "a", "name": "A"}, {"type": "team", "key": "b", "name": "B", "parent": "a"})

    with pytest.raises(IngestValidationError) as raised, db.transaction() as connection:
        import_lines(connection, ['{"type": "team", "key": "a", "name": "A", "parent": "b"}'])

    assert raised.value.errors == ['line 1: team: "parent" makes a cycle (a → b → a)']
    assert rows("SELECT t.key, p.key FROM teams t LEFT JOIN teams p ON p.id = t.parent_id ORDER BY 1") == [
        ("a", None),
        ("b", "a"),
    ]


def test_load_records_takes_dicts_with_datetimes():
    with db.transaction() as connection:
        result = load_records(
            connection,
            [
                {
                    "type": "commit",
                    "repository": REPO,
                    "sha": "a1",
                    "authored_at": dt.datetime(2026, 3, 1, tzinfo=dt.UTC),
                }
            ],
        )

    assert result.accepted == 1
    assert rows("SELECT sha, authored_at FROM commits") == [("a1", dt.datetime(2026, 3, 1, tzinfo=dt.UTC))]


@pytest.mark.parametrize(
    "written, stored",
    [
        ("2026-03-02T10:00:00+02:00", dt.datetime(2026, 3, 2, 8, 0, tzinfo=dt.UTC)),
        ("2026-03-02T10:00:00.5-05:30", dt.datetime(2026, 3, 2, 15, 30, 0, 500000, tzinfo=dt.UTC)),
        ("2026-03-02T23:59:59.999999Z", dt.datetime(2026, 3, 2, 23, 59, 59, 999999, tzinfo=dt.UTC)),
    ],
)
def test_a_timestamp_keeps_its_instant_whatever_its_offset_and_precision(written: str, stored: dt.datetime):
    load(commit("a1", authored_at=written, committed_at=written))

    assert rows("SELECT authored_at, committed_at FROM commits") == [(stored, stored)]


def test_one_import_fed_in_several_calls_derives_once_at_the_end():
    with db.transaction() as connection:
        importer = Importer(connection, chunk=2)
        importer.add_records([deployment("d1", 5, sha="c2")])
        importer.add_lines(
            [
                '{"type": "commit", "repository": "acme/app", "sha": "c1", "authored_at": "2026-03-01T00:00:00Z", "parents": []}'
            ]
        )
        importer.add_records([commit("c2", 2, parents=["c1"])])
        result = importer.finish()

    assert result.accepted == 3
    assert shipped() == {"d1": {"c1", "c2"}}
    assert version() == 1


def test_the_result_names_the_repositories_whose_data_changed():
    load({"type": "repository", "key": "acme/quiet"}, commit("a1", repo="acme/busy"))

    result = load(commit("a2", repo="acme/busy"), {"type": "repository", "key": "acme/quiet"})

    assert result.repository_ids == [rows("SELECT id FROM repositories WHERE key = 'acme/busy'")[0][0]]


def test_the_last_record_wins_across_chunks_too():
    lines = ndjson(commit("a1", 1, additions=1), commit("b1", 1), commit("a1", 1, additions=2))

    with db.transaction() as connection:
        importer = Importer(connection, chunk=2)
        importer.add_lines(lines)
        importer.finish()

    assert rows("SELECT sha, additions FROM commits ORDER BY sha") == [("a1", 2), ("b1", None)]


def test_a_cycle_within_one_file_names_every_line_in_it():
    with pytest.raises(IngestValidationError) as raised, db.transaction() as connection:
        import_lines(
            connection,
            ndjson(
                {"type": "team", "key": "a", "name": "A", "parent": "b"},
                {"type": "team", "key": "c", "name": "C"},
                {"type": "team", "key": "b", "name": "B", "parent": "a"},
            ),
        )

    assert raised.value.errors == [
        'line 1: team: "parent" makes a cycle (a → b → a)',
        'line 3: team: "parent" makes a cycle (b → a → b)',
    ]
    assert count("teams") == 0


def test_a_deployment_without_sha_or_commits_ships_nothing():
    load(deployment("d1", 5))

    assert shipped() == {}
    assert count("deployments") == 1


def test_an_import_growing_a_table_past_the_analyze_threshold_refreshes_its_statistics():
    # Threshold: 50 rows + 10% of the planner's row count (autovacuum's default), per table.
    assert load(*(commit(f"a{n}", 1 + n % 20) for n in range(3))).analyzed == []  # 3 < 50

    grown = load(*(commit(f"b{n}", 1 + n % 20) for n in range(60)))
    assert grown.analyzed == ["commits"]  # 60 >= 50; nothing else received rows
    assert rows("SELECT reltuples FROM pg_class WHERE relname = 'commits'") == [(63.0,)]

    assert load(*(commit(f"c{n}", 1 + n % 20) for n in range(50))).analyzed == []  # 50 < 50 + 6.3


def _temp_buffers_around_import(prior_use: bool) -> tuple[str, str]:
    """``temp_buffers`` of a new session before an import, and as the import sees it."""
    with new_session() as connection:
        before = connection.exec_driver_sql("SHOW temp_buffers").scalar_one()
        if prior_use:  # like a pooled connection whose session sized its pool already
            connection.exec_driver_sql("CREATE TEMP TABLE earlier (x int)")
            connection.exec_driver_sql("INSERT INTO earlier VALUES (1)")
        connection.commit()
        with connection.begin():
            assert load_records(connection, ORG[:2]).accepted == 2
            during = connection.exec_driver_sql("SHOW temp_buffers").scalar_one()
    return before, during


def test_an_import_sizes_a_fresh_sessions_temporary_buffers():
    assert _temp_buffers_around_import(prior_use=False)[1] == "64MB"


def test_a_session_that_used_temporary_tables_before_still_imports():
    # PostgreSQL refuses to resize a pool in use: the import goes on with the session's own.
    before, during = _temp_buffers_around_import(prior_use=True)
    assert during == before != "64MB"


SECONDARY_INDEXES = (
    "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = 'public' AND tablename = ANY(:tables) "
    "AND indexname LIKE 'ix\\_%' ORDER BY 1"
)
BIG = 1_001  # more than SMALL_BATCH_RECORDS: a bulk load, not a webhook's batch


def _secondary_indexes(*tables: str) -> list[tuple[str, str]]:
    with db.connect() as connection:
        return [tuple(row) for row in connection.execute(text(SECONDARY_INDEXES), {"tables": list(tables)})]


def _primary_keys(*tables: str) -> list[tuple[str, str, str]]:
    with db.connect() as connection:
        found = connection.execute(
            text(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'p' AND conrelid::regclass::text = ANY(:tables) ORDER BY 1"
            ),
            {"tables": list(tables)},
        )
        return [tuple(row) for row in found]


def test_a_bulk_load_into_empty_tables_builds_their_secondary_indexes_at_the_end():
    before = _secondary_indexes("commits", "deployments")
    assert [name for name, _ in before] == [
        "ix_commits_authored",
        "ix_commits_repository_authored",
        "ix_deployments_env_finished",
        "ix_deployments_repository_env_finished",
    ]
    derived_keys = _primary_keys("commit_first_deployments", "deployment_commits")
    assert [name for _, name, _ in derived_keys] == ["pk_commit_first_deployments", "pk_deployment_commits"]

    result = load(*(commit(f"c{n}", 1 + n % 20) for n in range(BIG)), deployment("d1", 21, sha="c0"))

    # Only the tables the import wrote (first deployments derive from deployments). Unique keys
    # stay, but for the primary keys of the two tables only the shipped commits' COPY fills.
    assert result.rebuilt_indexes == sorted(
        [name for name, _ in before]
        + ["ix_commit_first_deployments_lead_time", "pk_commit_first_deployments", "pk_deployment_commits"]
    )
    assert _secondary_indexes("commits", "deployments") == before
    assert _primary_keys("commit_first_deployments", "deployment_commits") == derived_keys
    assert count("commits") == BIG
    assert shipped() == {"d1": {"c0"}}

    # The next bulk load finds rows there: it keeps the keys, which its upserts need.
    again = load(
        *(commit(f"c{n}", 1 + n % 20) for n in range(BIG)), deployment("d2", 22, commits=["c1", "c2"])
    )
    assert again.rebuilt_indexes == []
    assert shipped() == {"d1": {"c0"}, "d2": {"c1", "c2"}}
    assert first_deployments() == {"c0": "d1", "c1": "d2", "c2": "d2"}


def test_a_bulk_load_neither_drops_indexes_of_nor_locks_a_table_with_rows():
    load(commit("c-existing", 1))

    with db.transaction() as connection:
        importer = Importer(connection)
        importer.add_lines(ndjson(*(commit(f"c{n}", 1 + n % 20) for n in range(BIG))))
        locked = connection.execute(
            text(
                "SELECT count(*) FROM pg_locks WHERE pid = pg_backend_pid() "
                "AND relation = 'commits'::regclass AND mode = 'AccessExclusiveLock'"
            )
        ).scalar()
        result = importer.finish()

    assert locked == 0
    assert result.rebuilt_indexes == []
    assert count("commits") == BIG + 1


def test_a_small_batch_never_drops_an_index():
    assert load(*(commit(f"c{n}", 1) for n in range(10))).rebuilt_indexes == []


def test_a_failed_bulk_load_leaves_every_index_in_place():
    before = _secondary_indexes("commits")
    lines = [*ndjson(*(commit(f"c{n}", 1 + n % 20) for n in range(BIG))), '{"type": "commit"}']

    with pytest.raises(IngestValidationError), db.transaction() as connection:
        importer = Importer(connection, chunk=BIG)  # the good lines are loaded before the bad one
        importer.add_lines(lines)
        importer.finish()

    assert _secondary_indexes("commits") == before
    assert count("commits") == 0


def test_a_bulk_load_does_not_wait_for_readers_of_an_empty_table():
    # Dropping an index locks its table until commit: a table being read keeps its indexes.
    with new_session() as reader:
        reader.exec_driver_sql("BEGIN")
        reader.exec_driver_sql("SELECT count(*) FROM commits")  # holds its lock until rollback
        result = load(*(commit(f"c{n}", 1 + n % 20) for n in range(BIG)), deployment("d1", 21, sha="c0"))
        reader.exec_driver_sql("ROLLBACK")

    assert "ix_commits_authored" not in result.rebuilt_indexes
    assert "ix_deployments_env_finished" in result.rebuilt_indexes
    assert count("commits") == BIG


@pytest.mark.parametrize("feed", ["lines", "records"])
def test_an_import_into_empty_tables_stores_keys_it_meets_again_with_their_last_values(feed: str):
    # Lines with new keys are inserted without a conflict check; a key met before (as a record
    # or as a placeholder) must still go through the upsert, or the import would fail on it.
    # Records (dicts) always go through the upsert: the rule holds the same.
    review = {"type": "review", "repository": REPO, "pull_request": 7, "id": "r1", "reviewer": "bob"}
    records = [
        commit("c2", 2, parents=["c1"], additions=1),  # chunk 1: c1 and PR 7 become placeholders
        {**review, "state": "commented", "submitted_at": ts(2)},
        commit("c1", 1, message="described"),  # chunk 2: both placeholders described
        {
            "type": "pull_request",
            "repository": REPO,
            "number": 7,
            "title": "PR",
            "state": "open",
            "created_at": ts(1),
            "commits": ["c1"],
        },
        commit("c2", 2, parents=["c1"], additions=9),  # chunk 3: records met again
        {**review, "state": "approved", "submitted_at": ts(3)},
    ]

    with db.transaction() as connection:
        importer = Importer(connection, chunk=2)
        if feed == "lines":
            importer.add_lines(ndjson(*records))
        else:
            importer.add_records(records)
        importer.finish()

    assert rows("SELECT sha, additions, message FROM commits ORDER BY sha") == [
        ("c1", None, "described"),
        ("c2", 9, None),
    ]
    assert rows("SELECT number, title FROM pull_requests") == [(7, "PR")]
    assert rows("SELECT external_id, state FROM reviews") == [("r1", "approved")]


def test_lines_added_after_others_upsert_into_the_tables_those_filled():
    with db.transaction() as connection:
        importer = Importer(connection)
        importer.add_lines(ndjson(commit("c1", 1, additions=1)))
        importer.add_lines(ndjson(commit("c1", 1, additions=2), commit("c2", 2)))
        importer.finish()

    assert rows("SELECT sha, additions FROM commits ORDER BY sha") == [("c1", 2), ("c2", None)]


def test_a_commit_listed_twice_in_a_pr_is_linked_once():
    pr = {"type": "pull_request", "repository": REPO, "number": 7, "state": "open", "created_at": ts(1)}

    load(commit("a1", 1), {**pr, "commits": ["a1", "a1"]})
    load({**pr, "commits": ["a1", "a1"], "title": "again"})

    assert rows("SELECT count(*) FROM pull_request_commits") == [(1,)]
