"""Time buckets for series: day, week (Monday) or month, in the request's time zone.

A bucket is named by its calendar start (``period_start``). The first and last buckets may
reach outside the window; only data inside the window is counted in them. Empty buckets are
listed (``generate_series``), so a series always has one entry per bucket.
"""

from __future__ import annotations

from typing import Any

from pulse.metrics.common import Window

INTERVALS = ("day", "week", "month")


def bucket_of(column: str, interval: str) -> str:
    """SQL for the bucket start (a date) of timestamptz ``column`` in time zone ``:tz``."""
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}")
    # date_trunc('week', ...) starts weeks on Monday (ISO), as metrics.md wants.
    return f"date_trunc('{interval}', ({column}) AT TIME ZONE :tz)::date"


def buckets_sql(interval: str) -> str:
    """A ``FROM`` item listing every bucket start of the window as ``period_start``."""
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}")
    return (
        f"(SELECT generate_series(date_trunc('{interval}', CAST(:start_date AS timestamp)), "
        f"CAST(:end_date AS timestamp), interval '1 {interval}')::date AS period_start) AS buckets"
    )


def window_params(window: Window) -> dict[str, Any]:
    """Bind parameters for a window: instants ``:start``/``:end``, dates and ``:tz``."""
    return {
        "start": window.start,
        "end": window.end,
        "start_date": window.start_date,
        "end_date": window.end_date,
        "tz": window.tz,
    }
