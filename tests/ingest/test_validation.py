"""Validation: every bad line is rejected as ``line N: <reason>`` and a bad file writes nothing."""

from __future__ import annotations

import json

import pytest

from pulse import db
from pulse.ingest import IngestValidationError, import_lines, load_records, validate
from tests.ingest.helpers import count, ndjson, version

GOOD_COMMIT = {"type": "commit", "repository": "acme/app", "sha": "a1", "authored_at": "2026-03-02T09:00:00Z"}


def commit_with(**fields: object) -> str:
    record = {**GOOD_COMMIT, **fields}
    return json.dumps({key: value for key, value in record.items() if value is not ...})


# (line, words the reason must contain): one per rule of the ingest format.
BAD_LINES = [
    ('{"type": "commit", ', "not valid JSON"),
    ("[1, 2]", "must be a JSON object"),
    ('{"repository": "acme/app"}', 'missing "type"'),
    ('{"type": "branch", "name": "main"}', 'unknown type "branch"'),
    (commit_with(sha=...), 'commit: missing required field "sha"'),
    (commit_with(additions="12"), '"additions": expected int, got str'),
    (commit_with(additions=-1), '"additions": must not be negative'),
    (commit_with(additions=2**31), '"additions": expected int <= 2147483647'),
    (commit_with(authored_at="2026-03-02T09:00:00"), '"authored_at": timestamp has no UTC offset'),
    (commit_with(authored_at="2026-13-02T09:00:00Z"), '"authored_at": not an ISO-8601 timestamp'),
    (commit_with(authored_at="yesterday"), '"authored_at": not an ISO-8601 timestamp'),
    (commit_with(repository="app"), '"repository": must look like owner/name'),
    (commit_with(sha="a 1"), '"sha": must be a commit sha'),
    (commit_with(parents="a0"), '"parents": expected array, got str'),
    (commit_with(message="nul \u0000 byte"), '"message" contains a NUL character'),
    (
        '{"type": "incident", "id": "I1", "repository": "acme/app", "created_at": "2026-03-02T10:00:00Z", '
        '"resolved_at": "2026-03-02T09:00:00Z"}',
        '"resolved_at" is before "created_at"',
    ),
    (
        '{"type": "pull_request", "repository": "acme/app", "number": 1, "state": "done", '
        '"created_at": "2026-03-02T10:00:00Z"}',
        '"state": "done" is not one of open, closed, merged',
    ),
    (
        '{"type": "pull_request", "repository": "acme/app", "number": 0, "state": "open", '
        '"created_at": "2026-03-02T10:00:00Z"}',
        '"number": expected int >= 1',
    ),
    (
        '{"type": "pull_request", "repository": "acme/app", "number": 1, "state": "merged", '
        '"created_at": "2026-03-02T10:00:00Z"}',
        'a "merged" pull request needs "merged_at"',
    ),
    (
        '{"type": "review", "repository": "acme/app", "pull_request": 1, "id": "r1", "reviewer": "bob", '
        '"state": "lgtm", "submitted_at": "2026-03-02T10:00:00Z"}',
        '"state": "lgtm" is not one of approved, changes_requested, commented, dismissed',
    ),
    (
        '{"type": "deployment", "id": "d1", "repository": "acme/app", "environment": "production", '
        '"status": "success", "started_at": "2026-03-02T11:00:00Z", "finished_at": "2026-03-02T10:00:00Z"}',
        '"finished_at" is before "started_at"',
    ),
    (
        '{"type": "quality", "repository": "acme/app", "measured_at": "2026-03-02T10:00:00Z", "coverage": 1.5}',
        '"coverage": expected float <= 1.0',
    ),
    (
        '{"type": "contributor", "login": "bob", "is_bot": "yes"}',
        '"is_bot": expected bool, got str',
    ),
    ('{"type": "team", "key": "core", "name": "Core", "parent": "core"}', "a team cannot be its own parent"),
    (
        '{"type": "objective", "key": "O1", "title": "Ship", "start_date": "2026-03-10", "target_date": "2026-03-01"}',
        '"target_date" is before "start_date"',
    ),
    (
        '{"type": "work_item", "key": "W1", "title": "Do", "status": "done", "created_at": "2026-03-02T10:00:00Z"}',
        'a "done" work item needs "done_at"',
    ),
    (
        '{"type": "work_item", "key": "W1", "title": "Do", "status": "todo", "created_at": "2026-03-02T10:00:00Z", '
        '"pull_requests": ["acme/app-7"]}',
        '"pull_requests[0]": must look like owner/name#number',
    ),
]


@pytest.mark.parametrize(("line", "reason"), BAD_LINES, ids=[reason for _, reason in BAD_LINES])
def test_each_rule_is_reported_with_its_line_number(line, reason):
    good = commit_with()

    records, errors = validate([good, "", line, good])

    # The blank line 2 is skipped but still counted, so the bad one is line 3.
    assert len(records) == 2
    assert len(errors) == 1
    assert errors[0].startswith("line 3: ")
    assert reason in errors[0]


def test_every_bad_line_is_reported_not_just_the_first():
    lines = [commit_with(additions=-1), commit_with(), "nope", commit_with(sha=...)]

    _, errors = validate(lines)

    assert [error.split(":")[0] for error in errors] == ["line 1", "line 3", "line 4"]


def test_unknown_fields_are_ignored_and_optional_fields_may_be_null():
    line = commit_with(author=None, future_field={"nested": [1, 2]}, parents=None)

    records, errors = validate([line])

    assert errors == []
    assert records == [
        {
            "type": "commit",
            "repository": "acme/app",
            "sha": "a1",
            "authored_at": "2026-03-02T09:00:00Z",
            "author": None,
            "committed_at": None,
            "parents": None,
            "additions": None,
            "deletions": None,
            "message": None,
        }
    ]


def test_timestamps_with_an_offset_and_integer_ids_are_accepted():
    line = json.dumps(
        {
            "type": "deployment",
            "id": 42,
            "repository": "acme/app",
            "environment": "production",
            "status": "success",
            "finished_at": "2026-03-02T09:00:00.250+05:30",
        }
    )

    records, errors = validate([line.encode()])

    assert errors == []
    assert records[0]["id"] == 42


def test_a_file_with_one_bad_line_writes_nothing():
    lines = [
        *ndjson({"type": "team", "key": "core", "name": "Core"}, GOOD_COMMIT),
        commit_with(sha="b2", deletions=-3),
    ]

    with pytest.raises(IngestValidationError) as raised, db.transaction() as connection:
        import_lines(connection, lines)

    assert raised.value.errors == ['line 3: commit: "deletions": must not be negative']
    assert count("teams") == 0
    assert count("commits") == 0
    assert version() == 0


def test_a_bad_line_after_several_loaded_chunks_still_writes_nothing():
    from pulse.ingest import Importer

    lines = [commit_with(sha=f"s{i}") for i in range(25)] + [commit_with(sha="bad sha")]

    with pytest.raises(IngestValidationError) as raised, db.transaction() as connection:
        importer = Importer(connection, chunk=10)
        importer.add_lines(lines)
        # the first two chunks were written inside the transaction before line 26 was read
        assert count_in(connection, "commits") == 20
        importer.finish()

    assert raised.value.errors == [
        "line 26: commit: \"sha\": must be a commit sha (letters, digits, '.', '_' or '-')"
    ]
    assert count("commits") == 0


def count_in(connection, table: str) -> int:
    from sqlalchemy import text

    return int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())


def test_load_records_names_bad_records_by_position():
    records = [GOOD_COMMIT, {**GOOD_COMMIT, "sha": "b2", "authored_at": "not a time"}, {"type": "nope"}]

    with pytest.raises(IngestValidationError) as raised, db.transaction() as connection:
        load_records(connection, records)

    assert raised.value.errors[0].startswith('record 2: commit: "authored_at": not an ISO-8601 timestamp')
    assert raised.value.errors[1].startswith('record 3: unknown type "nope"')
    assert count("commits") == 0
