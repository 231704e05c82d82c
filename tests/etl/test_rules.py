"""Pure rules: five-field cron, the job state machine, repository coverage and overlap."""

from __future__ import annotations

import datetime as dt

import pytest

from pulse.etl import cron
from pulse.etl.jobs import decide
from pulse.etl.settings import covers, overlap

UTC = dt.UTC


def at(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=UTC)


@pytest.mark.parametrize(
    ("expression", "moment", "fires"),
    [
        ("0 * * * *", "2026-03-02 10:00", True),  # minute 0 of any hour
        ("0 * * * *", "2026-03-02 10:01", False),
        ("*/15 * * * *", "2026-03-02 10:45", True),  # 0, 15, 30, 45
        ("*/15 * * * *", "2026-03-02 10:50", False),
        ("30 2 * * 1-5", "2026-03-02 02:30", True),  # 2026-03-02 is a Monday
        ("30 2 * * 1-5", "2026-03-01 02:30", False),  # Sunday
        ("0 0 * * 7", "2026-03-01 00:00", True),  # 7 is Sunday too
        ("0 0 1 * *", "2026-04-01 00:00", True),
        ("0 0 1,15 * *", "2026-04-15 00:00", True),
        ("10-20/5 8 * 3 *", "2026-03-09 08:15", True),  # 10, 15, 20 in March
        ("10-20/5 8 * 3 *", "2026-04-09 08:15", False),
        # day of month and day of week both restricted: either matches (Vixie cron)
        ("0 9 13 * 5", "2026-03-13 09:00", True),  # the 13th (a Friday anyway)
        ("0 9 13 * 5", "2026-03-20 09:00", True),  # a Friday, not the 13th
        ("0 9 13 * 5", "2026-03-19 09:00", False),  # neither
    ],
)
def test_cron_matches(expression, moment, fires):
    assert cron.parse(expression).matches(at(moment)) is fires


@pytest.mark.parametrize(
    ("expression", "problem"),
    [
        ("* * * *", "expected 5 fields"),
        ("60 * * * *", "minute: 60 is outside 0-59"),
        ("* 24 * * *", "hour: 24 is outside 0-23"),
        ("* * 0 * *", "day of month: 0 is outside 1-31"),
        ("* * * 13 *", "month: 13 is outside 1-12"),
        ("* * * * 8", "day of week: 8 is outside 0-7"),
        ("5-1 * * * *", "runs backwards"),
        ("*/0 * * * *", "0 is outside"),
        ("MON * * * *", "'MON' is not a number"),
    ],
)
def test_cron_rejects_with_the_field_named(expression, problem):
    with pytest.raises(cron.CronError, match=problem):
        cron.parse(expression)


def test_cron_latest_is_the_last_firing_in_the_half_open_window():
    hourly = cron.parse("0 * * * *")

    # (09:30, 11:20] holds 10:00 and 11:00; the latest is 11:00
    assert hourly.latest(at("2026-03-02 09:30"), at("2026-03-02 11:20")) == at("2026-03-02 11:00")
    # the upper bound is included, the lower one is not
    assert hourly.latest(at("2026-03-02 10:00"), at("2026-03-02 10:59")) is None
    assert hourly.latest(at("2026-03-02 09:59"), at("2026-03-02 10:00:30")) == at("2026-03-02 10:00")


@pytest.mark.parametrize(
    ("status", "progress", "reported", "reported_progress", "expected"),
    [
        # forward moves apply; progress keeps the higher value
        ("queued", 0.0, "dispatched", None, (True, "dispatched", 0.0)),
        ("dispatched", 0.0, "running", 0.2, (True, "running", 0.2)),
        ("queued", 0.0, "running", 0.4, (True, "running", 0.4)),  # a skipped step is fine
        ("running", 0.6, "succeeded", 0.9, (True, "succeeded", 1.0)),  # success means 1
        ("running", 0.6, "failed", 0.1, (True, "failed", 0.6)),  # progress never drops
        # same status: only a running report with more progress applies
        ("running", 0.5, "running", 0.7, (True, "running", 0.7)),
        ("running", 0.5, "running", 0.3, (False, "running", 0.5)),  # late report
        ("running", 0.5, "running", 0.5, (False, "running", 0.5)),  # duplicate
        ("running", 0.5, "running", None, (False, "running", 0.5)),
        ("dispatched", 0.0, "dispatched", None, (False, "dispatched", 0.0)),
        # backwards never applies
        ("running", 0.5, "dispatched", None, (False, "running", 0.5)),
        # a finished job never changes
        ("succeeded", 1.0, "failed", None, (False, "succeeded", 1.0)),
        ("succeeded", 1.0, "succeeded", 1.0, (False, "succeeded", 1.0)),
        ("cancelled", 0.3, "running", 0.9, (False, "cancelled", 0.3)),
        ("failed", 0.0, "succeeded", 1.0, (False, "failed", 0.0)),
    ],
)
def test_state_machine_never_moves_backwards(status, progress, reported, reported_progress, expected):
    outcome = decide(status=status, progress=progress, reported=reported, reported_progress=reported_progress)

    assert (outcome.applied, outcome.status, outcome.progress) == expected


def test_repository_coverage_and_overlap():
    assert covers(["acme/checkout"], "acme/checkout")
    assert covers(["acme/*"], "acme/checkout")
    assert not covers(["acme/checkout"], "acme/billing")
    assert not covers(["acme/checkout"], "acme/*")  # a wildcard is wider than one repository

    assert overlap(["acme/a", "acme/b"], ["acme/b"])
    assert overlap(["acme/*"], ["acme/z"])
    assert overlap(["acme/z"], ["acme/*"])
    assert not overlap(["acme/a"], ["acme/b", "other/a"])
    assert not overlap(["acme/*"], ["other/*"])
