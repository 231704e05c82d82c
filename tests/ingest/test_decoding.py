"""Decoding in a forked process (``pulse import``'s path): the same chunks, errors and progress as
decoding here, failures raised here, and no child left behind."""

from __future__ import annotations

import multiprocessing
import os

import pytest

from pulse.ingest.batch import FreshKeys
from pulse.ingest.loader import forked_line_batches, line_batches
from tests.ingest.helpers import commit, ndjson

LINES = ndjson(
    {"type": "team", "key": "core", "name": "Core"},
    *(commit(f"a{n}") for n in range(7)),
    {"type": "repository", "key": "acme/app", "team": "core"},
)


def chunks(batches) -> list[tuple[int, dict[str, int], dict[str, str], dict[str, bytes]]]:
    return [(batch.records, dict(batch.by_type), batch.team_lines, payloads) for batch, payloads in batches]


def test_the_child_yields_the_chunks_decoding_here_yields():
    here = chunks(line_batches(LINES, [], chunk=3))

    forked = chunks(forked_line_batches(LINES, [], chunk=3))

    assert [records for records, *_ in forked] == [3, 3, 3]
    assert forked == here
    assert forked[0][2] == {"core": "line 1"}


BAD = [*LINES[:2], "not json", *LINES[2:5], '{"type": "commit"}', *LINES[5:]]


def test_bad_lines_reach_the_callers_errors_with_their_numbers():
    errors: list[str] = []

    forked = chunks(forked_line_batches(BAD, errors, label="org.ndjson", chunk=2))

    assert [error.split(":")[:2] for error in errors] == [
        ["org.ndjson", " line 3"],
        ["org.ndjson", " line 7"],
    ]
    # Nothing is encoded once a line is bad: only the chunk completed before line 3.
    assert [records for records, *_ in forked] == [2]
    here: list[str] = []
    assert chunks(line_batches(BAD, here, label="org.ndjson", chunk=2)) == forked
    assert here == errors


def test_after_an_earlier_files_bad_line_nothing_is_encoded_and_errors_add_up():
    errors = ["earlier.ndjson: line 9: not an object"]

    forked = chunks(forked_line_batches(BAD, errors, label="org.ndjson", chunk=2))

    assert forked == []
    assert errors[0] == "earlier.ndjson: line 9: not an object"
    assert len(errors) == 3


def test_progress_is_reported_here_in_order():
    here: list[int] = []
    list(line_batches(LINES, [], chunk=4, progress=here.append))
    forked: list[int] = []

    list(forked_line_batches(LINES, [], chunk=4, progress=forked.append))

    assert forked == here == [4, 8, 9]


def failing_lines():
    yield from LINES[:4]
    raise OSError("the disk went away")


def test_an_error_reading_the_input_is_raised_here():
    with pytest.raises(OSError, match="the disk went away"):
        list(forked_line_batches(failing_lines(), [], chunk=2))

    assert multiprocessing.active_children() == []


def dying_lines():
    yield from LINES[:4]
    os._exit(3)


def test_a_child_that_dies_is_an_error_naming_its_exit_code():
    with pytest.raises(RuntimeError, match="exit code 3"):
        list(forked_line_batches(dying_lines(), [], chunk=2))


def test_a_caller_that_stops_early_leaves_no_child():
    batches = forked_line_batches(LINES * 100, [], chunk=2)
    next(batches)

    batches.close()

    assert multiprocessing.active_children() == []


def _fresh_flags(payload: bytes) -> dict[str, str]:
    """sha -> the ``fresh`` column (the last) of each s_commits row."""
    rows = [line.split("\t") for line in payload.decode().splitlines()]
    return {row[1]: row[-1] for row in rows}


def test_a_key_is_fresh_until_the_stream_has_written_it_as_a_record_or_a_reference():
    fresh = FreshKeys({"s_commits"})
    lines = ndjson(
        commit("c2", 2, parents=["c1"]),  # chunk 1: c1 becomes a placeholder
        commit("c3", 3),
        commit("c1", 1),  # chunk 2: c1 was written as a placeholder
        commit("c2", 2, additions=5),  # c2 was written as a record
        commit("c4", 4),  # chunk 3: new
    )

    batches = [payloads for _, payloads in line_batches(lines, [], chunk=2, fresh=fresh)]

    assert [_fresh_flags(payloads["s_commits"]) for payloads in batches] == [
        {"c2": "t", "c3": "t"},
        {"c1": "f", "c2": "f"},
        {"c4": "t"},
    ]


def test_no_row_is_fresh_for_a_table_that_was_not_empty_or_without_fresh_keys():
    lines = ndjson(
        commit("c1", 1),
        {
            "type": "review",
            "repository": "acme/app",
            "pull_request": 1,
            "id": "r1",
            "reviewer": "bob",
            "state": "approved",
            "submitted_at": "2026-03-01T00:00:00Z",
        },
    )

    for fresh in (FreshKeys({"s_reviews"}), None):
        [(batch, payloads)] = line_batches(lines, [], fresh=fresh)
        assert _fresh_flags(payloads["s_commits"]) == {"c1": "f"}
        assert batch.fresh_rows["s_commits"] == (0, 1)
    assert batch.fresh_rows["s_reviews"] == (0, 1)
