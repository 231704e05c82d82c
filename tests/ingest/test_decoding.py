"""Decoding in a forked process (``pulse import``'s path): the same chunks, errors and progress as
decoding here, failures raised here, and no child left behind."""

from __future__ import annotations

import multiprocessing
import os

import pytest

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
