"""What every analytics endpoint shares: the window, filters, scope, ``meta`` and caching.

metrics.md "Common to every analytics endpoint":
- ``start_date``/``end_date`` are inclusive ISO dates, default the 90 days ending today (in
  ``tz``); the window is ``[start_date 00:00 tz, end_date+1 00:00 tz)``. ``end_date <
  start_date``, a span over 3 years or a malformed date is a 422.
- ``tz`` is an IANA zone (default UTC) used for the window and for day/week/month buckets.
- ``team`` (with sub-teams) and ``repository`` filters, repeatable, combined with AND, checked
  against the caller's scope (``pulse.auth.scope``).
- ``interval`` is ``day`` | ``week`` (weeks start Monday) | ``month``, default ``week``;
  ``environment`` defaults to ``production``.

The FastAPI side (the query parameters as a dependency) is ``pulse.metrics.params``: this module
is also what the cache warmer computes with, without FastAPI.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from sqlalchemy import Connection

from pulse import cache, dataversion, db
from pulse.auth.caller import Caller
from pulse.auth.scope import Scope, resolve_scope
from pulse.errors import ApiError

Interval = Literal["day", "week", "month"]
Benchmark = Literal["2023", "2021"]
DEFAULT_DAYS = 90
MAX_SPAN_DAYS = 3 * 366


@dataclass(frozen=True)
class Window:
    """An inclusive date range in a time zone, and the half-open instant range it covers."""

    start_date: dt.date
    end_date: dt.date
    tz: str = "UTC"

    @property
    def zone(self) -> ZoneInfo:
        return ZoneInfo(self.tz)

    @property
    def start(self) -> dt.datetime:
        """``start_date`` 00:00 in ``tz`` (inclusive)."""
        return dt.datetime.combine(self.start_date, dt.time(), self.zone)

    @property
    def end(self) -> dt.datetime:
        """``end_date + 1`` 00:00 in ``tz`` (exclusive)."""
        return dt.datetime.combine(self.end_date + dt.timedelta(days=1), dt.time(), self.zone)

    @property
    def days(self) -> int:
        return (self.end_date - self.start_date).days + 1

    def previous(self) -> Window:
        """The window of equal length just before this one."""
        return Window(
            self.start_date - dt.timedelta(days=self.days), self.start_date - dt.timedelta(days=1), self.tz
        )


@dataclass(frozen=True)
class CommonParams:
    """The common query parameters, validated but not yet checked against a caller's scope."""

    window: Window
    teams: tuple[str, ...] = ()
    repositories: tuple[str, ...] = ()
    interval: Interval = "week"
    environment: str = "production"
    benchmark: Benchmark = "2023"
    extra: dict[str, Any] = field(default_factory=dict)

    def cache_params(self) -> dict[str, Any]:
        return {
            "start_date": self.window.start_date,
            "end_date": self.window.end_date,
            "tz": self.window.tz,
            "teams": sorted(self.teams),
            "repositories": sorted(self.repositories),
            "interval": self.interval,
            "environment": self.environment,
            "benchmark": self.benchmark,
            **self.extra,
        }


def make_window(start_date: dt.date | None, end_date: dt.date | None, tz: str) -> Window:
    """Validate the window parameters (422 with a clear message when wrong)."""
    try:
        zone = ZoneInfo(tz)
    except (ZoneInfoNotFoundError, ValueError) as error:
        raise ApiError(422, "invalid_tz", f"Unknown time zone '{tz}'.") from error
    today = dt.datetime.now(zone).date()
    end = end_date or (
        today if start_date is None else min(today, start_date + dt.timedelta(days=DEFAULT_DAYS - 1))
    )
    start = start_date or end - dt.timedelta(days=DEFAULT_DAYS - 1)
    if end < start:
        raise ApiError(422, "invalid_window", "end_date is before start_date.")
    if (end - start).days + 1 > MAX_SPAN_DAYS:
        raise ApiError(422, "invalid_window", "The window may span at most 3 years.")
    return Window(start, end, tz)


def meta(
    params: CommonParams,
    *,
    data_updated_at: dt.datetime | None,
    cached: bool,
    generated_at: str | None = None,
) -> dict[str, Any]:
    """The ``meta`` block every analytics response carries."""
    return {
        "start_date": params.window.start_date.isoformat(),
        "end_date": params.window.end_date.isoformat(),
        "tz": params.window.tz,
        "filters": {
            "team": list(params.teams),
            "repository": list(params.repositories),
            "environment": params.environment,
            "interval": params.interval,
            "benchmark": params.benchmark,
            **params.extra,
        },
        "generated_at": generated_at or dt.datetime.now(dt.UTC).isoformat(),
        "data_updated_at": data_updated_at.isoformat() if data_updated_at else None,
        "cached": cached,
    }


def repository_filter(scope: Scope, column: str = "repository_id") -> tuple[str, dict[str, Any]]:
    """A SQL condition restricting ``column`` to the scope's repositories, and its parameters.

    Unrestricted scopes give ``TRUE`` so the planner drops the condition entirely.
    """
    if scope.repository_ids is None:
        return "TRUE", {}
    return f"{column} = ANY(:scope_repository_ids)", {"scope_repository_ids": list(scope.repository_ids)}


def team_filter(scope: Scope, column: str = "team_id") -> tuple[str, dict[str, Any]]:
    """A SQL condition restricting ``column`` to the scope's teams (for team-owned records)."""
    if scope.team_ids is None:
        return "TRUE", {}
    return f"{column} = ANY(:scope_team_ids)", {"scope_team_ids": list(scope.team_ids)}


def scope_cache_params(scope: Scope) -> dict[str, Any]:
    """What a cached answer depends on: the data it could see, not who asked."""
    return {"scope_teams": scope.team_ids, "scope_repositories": scope.repository_ids}


def answer(
    namespace: str,
    caller: Caller,
    params: CommonParams,
    compute: Callable[[Connection, Scope], dict[str, Any]],
    refine: Callable[[Connection, Scope], Scope] | None = None,
) -> dict[str, Any]:
    """Resolve the caller's scope, then serve ``compute`` cache-aside, with ``meta`` on top.

    ``compute(connection, scope)`` returns the JSON body without ``meta``; ``refine`` narrows
    the resolved scope further (an endpoint's own filter, e.g. the executive ``project``).
    """
    with db.connect() as connection:
        scope = resolve_scope(connection, caller, params.teams, params.repositories)
        if refine is not None:
            scope = refine(connection, scope)
        state = dataversion.current(connection)
        key = {**params.cache_params(), **scope_cache_params(scope)}

        def fresh() -> dict[str, Any]:
            return {"generated_at": dt.datetime.now(dt.UTC).isoformat(), "body": compute(connection, scope)}

        stored, cached = cache.get_or_compute(namespace, key, state.version, fresh)
    return {
        "meta": meta(
            params, data_updated_at=state.updated_at, cached=cached, generated_at=stored["generated_at"]
        ),
        **stored["body"],
    }


__all__ = [
    "Caller",
    "CommonParams",
    "Scope",
    "Window",
    "answer",
    "make_window",
    "meta",
    "repository_filter",
    "team_filter",
]
