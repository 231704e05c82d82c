"""DORA metrics (metrics.md "DORA"): each definition sits next to the SQL that computes it.

A **deployment** is a ``deployments`` row with ``status = 'success'`` in the requested
environment; it is in the window when its ``finished_at`` is (``[start, end)``, half-open).

Every query is written once against a *grouping* that says which rows form one answer:

- ``ScopeGroups``: one group, the caller's scope (summary and the per-metric blocks);
- ``TeamGroups``: one group per visible team, pooled over the team's repositories and those of
  all its sub-teams (``/teams``);
- ``BucketGroups``: one group per day/week/month bucket of the window in ``tz`` (``series``).

A grouping provides a ``groups(group_id, from_day, to_day)`` CTE (each group's part of the
window as local dates, ``to_day`` exclusive), a join that assigns a fact row to its group(s),
and the group key. Queries select from ``groups`` so that a group without data still answers,
with zero counts and null statistics ("a statistic over zero items is null, never 0").

Decisions where metrics.md is silent are in ``docs/metrics-decisions.md`` ("DORA"); the ones
that shape a query are repeated next to it.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sqlalchemy import Connection, text

from pulse import db
from pulse.auth.caller import Caller
from pulse.auth.scope import Scope
from pulse.config import get_settings
from pulse.metrics import tiers
from pulse.metrics.common import CommonParams, Window, answer, make_window, repository_filter
from pulse.metrics.series import INTERVALS, bucket_of, buckets_sql, window_params

Metric = Literal["deployment_frequency", "lead_time_for_changes", "change_failure_rate", "time_to_restore"]
METRICS: tuple[Metric, ...] = (
    "deployment_frequency",
    "lead_time_for_changes",
    "change_failure_rate",
    "time_to_restore",
)
REWORK_KINDS = ("rollback", "hotfix")
# Bumped when the shape or a definition of a cached answer changes, so old entries are never read.
CACHE_SCHEMA = 1


# --- groupings ---------------------------------------------------------------------------------


class Grouping(Protocol):
    def ctes(self) -> str:
        """CTEs ending with ``groups(group_id, from_day, to_day)`` and a trailing comma."""
        ...

    def key(self, timestamp: str) -> str:
        """SQL for the group id of a fact row whose instant is ``timestamp``."""
        ...

    def join(self, repository: str) -> str:
        """A join assigning a fact row with repository column ``repository`` to its groups."""
        ...

    def member(self, repository: str, timestamp: str) -> str:
        """A condition: the fact row with ``repository`` and instant ``timestamp`` is in group ``g``
        (a row of ``groups``); for queries that aggregate one group at a time (``LATERAL``)."""
        ...

    def params(self) -> dict[str, Any]: ...


_WHOLE_WINDOW = "CAST(:start_date AS date) AS from_day, CAST(:end_date AS date) + 1 AS to_day"


@dataclass(frozen=True)
class ScopeGroups:
    """One group (id 0): everything the scope may read."""

    def ctes(self) -> str:
        return f"groups AS (SELECT 0 AS group_id, {_WHOLE_WINDOW}),"

    def key(self, timestamp: str) -> str:
        return "0"

    def join(self, repository: str) -> str:
        return ""

    def member(self, repository: str, timestamp: str) -> str:
        return "TRUE"

    def params(self) -> dict[str, Any]:
        return {}


@dataclass(frozen=True)
class TeamGroups:
    """One group per visible team (id = team id): its repositories and its sub-teams' (pooled)."""

    scope: Scope

    def ctes(self) -> str:
        visible = "TRUE" if self.scope.team_ids is None else "id = ANY(:group_team_ids)"
        # UNION (not UNION ALL) so that a parent cycle in bad data still terminates.
        return f"""
        team_closure(team_id, member_id) AS (
            SELECT id, id FROM teams WHERE {visible}
            UNION
            SELECT c.team_id, t.id FROM team_closure c JOIN teams t ON t.parent_id = c.member_id
        ),
        team_repositories AS (
            SELECT c.team_id, r.id AS repository_id
            FROM team_closure c JOIN repositories r ON r.team_id = c.member_id
        ),
        groups AS (SELECT id AS group_id, {_WHOLE_WINDOW} FROM teams WHERE {visible}),
        """

    def key(self, timestamp: str) -> str:
        return "g.team_id"

    def join(self, repository: str) -> str:
        return f"JOIN team_repositories g ON g.repository_id = {repository}"

    def member(self, repository: str, timestamp: str) -> str:
        return (
            f"{repository} IN (SELECT m.repository_id FROM team_repositories m WHERE m.team_id = g.group_id)"
        )

    def params(self) -> dict[str, Any]:
        return {} if self.scope.team_ids is None else {"group_team_ids": list(self.scope.team_ids)}


@dataclass(frozen=True)
class BucketGroups:
    """One group per ``interval`` bucket (id = its first day), clipped to the window."""

    interval: str

    def ctes(self) -> str:
        return f"""
        groups AS (
            SELECT period_start AS group_id,
                   GREATEST(period_start, CAST(:start_date AS date)) AS from_day,
                   LEAST((period_start + interval '1 {self.interval}')::date,
                         CAST(:end_date AS date) + 1) AS to_day
            FROM {buckets_sql(self.interval)}
        ),
        """

    def key(self, timestamp: str) -> str:
        return bucket_of(timestamp, self.interval)

    def join(self, repository: str) -> str:
        return ""

    def member(self, repository: str, timestamp: str) -> str:
        # The bucket's local days as instants; the same rows as ``key`` puts in the bucket.
        return (
            f"{timestamp} >= (g.from_day::timestamp AT TIME ZONE :tz) "
            f"AND {timestamp} < (g.to_day::timestamp AT TIME ZONE :tz)"
        )

    def params(self) -> dict[str, Any]:
        return {}


# --- incident attribution ----------------------------------------------------------------------


def attribution(incident: str = "i") -> str:
    """A LATERAL subquery ``cause(deployment_id, finished_at)``: the deployment an incident is attributed to.

    metrics.md: an incident is attributed to its ``deployment_id`` when given; otherwise to the
    latest deployment of the same repository (same environment) that finished at or before the
    incident's ``created_at``, if that deployment finished no more than
    ``INCIDENT_ATTRIBUTION_WINDOW_HOURS`` before it (both edges inclusive); otherwise to none.

    - An explicit ``deployment_id`` always wins: when it names a deployment of another
      environment, a failed/cancelled one, or one not ingested yet, the incident is attributed to
      no deployment of this environment (no fallback to the implicit rule).
    - "Latest" ties on ``finished_at`` are broken by the higher row id (the later ingested).
    - The implicit branch is one backward probe of ``ix_deployments_repository_env_finished``.
    """
    i = incident
    return f"""
    LATERAL (
        SELECT d.id AS deployment_id, d.finished_at
        FROM deployments d
        WHERE {i}.deployment_external_id IS NOT NULL AND d.external_id = {i}.deployment_external_id
          AND d.status = 'success' AND d.environment = :environment
        UNION ALL
        (SELECT d.id, d.finished_at
         FROM deployments d
         WHERE {i}.deployment_external_id IS NULL
           AND d.repository_id = {i}.repository_id AND d.environment = :environment
           AND d.status = 'success'
           AND d.finished_at <= {i}.created_at
           AND d.finished_at >= {i}.created_at - CAST(:attribution_hours AS integer) * interval '1 hour'
         ORDER BY d.finished_at DESC, d.id DESC
         LIMIT 1)
    ) AS cause
    """


# --- the queries -------------------------------------------------------------------------------


def _deployments_sql(grouping: Grouping, scope: Scope) -> tuple[str, dict[str, Any]]:
    """Deployment frequency, change failure rate and rework rate per group.

    - ``deployments``: successful deployments to the environment finishing in the window.
    - ``deployment_days``: distinct local dates (``finished_at AT TIME ZONE tz``) with one.
    - ``per_week``/``per_month``: the median of deployment days over the Monday-weeks / calendar
      months (in ``tz``) that overlap the group's part of the window; a period with none counts
      as 0, and a period that only partly overlaps counts only its days inside the window.
    - ``per_six_months``: the same over six-month periods counted back from the end of the
      window (so a window of six months or less is one period); used by the 2021 tier only.
    - ``failed_deployments``: deployments in the window with at least one incident attributed
      (``attribution``), whenever that incident was created: an incident created after the
      window still marks a deployment inside it as failed. The candidates are incidents naming
      a deployment of the window explicitly (looked up by ``ix_incidents_deployment_external_id``)
      and incidents without one created in ``[start, end + attribution window)`` (no other
      incident can be attributed implicitly to a deployment finishing in the window).
    - ``rework_deployments``: deployments in the window whose ``kind`` is rollback or hotfix.
    """
    scope_sql, scope_params = repository_filter(scope, "d.repository_id")
    incident_scope, _ = repository_filter(scope, "i.repository_id")
    sql = f"""
    WITH RECURSIVE {grouping.ctes()}
    deploys AS (
        SELECT {grouping.key("d.finished_at")} AS group_id, d.id, d.external_id, d.kind,
               (d.finished_at AT TIME ZONE :tz)::date AS day
        FROM deployments d {grouping.join("d.repository_id")}
        WHERE d.status = 'success' AND d.environment = :environment
          AND d.finished_at >= :start AND d.finished_at < :end AND {scope_sql}
    ),
    failed AS (
        -- attribution()'s explicit branch, for the deployments at hand: no second lookup
        SELECT d.id AS deployment_id
        FROM deploys d
        WHERE EXISTS (SELECT 1 FROM incidents i WHERE i.deployment_external_id = d.external_id)
        UNION
        SELECT cause.deployment_id
        FROM incidents i CROSS JOIN {attribution("i")}
        WHERE i.deployment_external_id IS NULL
          AND i.created_at >= :start
          AND i.created_at < CAST(:end AS timestamptz) + CAST(:attribution_hours AS integer) * interval '1 hour'
          AND {incident_scope}
    ),
    counts AS (
        SELECT group_id,
               count(*) AS deployments,
               count(*) FILTER (WHERE id IN (SELECT deployment_id FROM failed)) AS failed_deployments,
               count(*) FILTER (WHERE kind IN ('rollback', 'hotfix')) AS rework_deployments
        FROM deploys GROUP BY group_id
    ),
    days AS (SELECT DISTINCT group_id, day FROM deploys),
    day_counts AS (SELECT group_id, count(*) AS deployment_days FROM days GROUP BY group_id),
    periods AS (
        SELECT g.group_id, 'week' AS kind, p::date AS period_start,
               (p + interval '1 week')::date AS period_end
        FROM groups g CROSS JOIN LATERAL generate_series(
            date_trunc('week', g.from_day::timestamp), (g.to_day - 1)::timestamp, interval '1 week') AS p
        UNION ALL
        SELECT g.group_id, 'month', p::date, (p + interval '1 month')::date
        FROM groups g CROSS JOIN LATERAL generate_series(
            date_trunc('month', g.from_day::timestamp), (g.to_day - 1)::timestamp, interval '1 month') AS p
        UNION ALL
        SELECT g.group_id, 'six_months', (g.to_day - (k + 1) * interval '6 months')::date,
               (g.to_day - k * interval '6 months')::date
        FROM groups g CROSS JOIN generate_series(0, 7) AS k
        WHERE g.to_day - k * interval '6 months' > g.from_day
    ),
    period_days AS (
        SELECT p.group_id, p.kind, p.period_start, count(d.day) AS n
        FROM periods p
        LEFT JOIN days d ON d.group_id = p.group_id AND d.day >= p.period_start AND d.day < p.period_end
        GROUP BY p.group_id, p.kind, p.period_start
    ),
    medians AS (
        SELECT group_id,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY n) FILTER (WHERE kind = 'week') AS per_week,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY n) FILTER (WHERE kind = 'month') AS per_month,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY n)
                   FILTER (WHERE kind = 'six_months') AS per_six_months
        FROM period_days GROUP BY group_id
    )
    SELECT g.group_id, g.to_day - g.from_day AS days,
           coalesce(c.deployments, 0) AS deployments,
           coalesce(n.deployment_days, 0) AS deployment_days,
           coalesce(c.failed_deployments, 0) AS failed_deployments,
           coalesce(c.rework_deployments, 0) AS rework_deployments,
           m.per_week, m.per_month, m.per_six_months
    FROM groups g
    LEFT JOIN counts c USING (group_id)
    LEFT JOIN day_counts n USING (group_id)
    LEFT JOIN medians m USING (group_id)
    ORDER BY g.group_id
    """
    return sql, {**grouping.params(), **scope_params}


def _lead_time_sql(grouping: Grouping, scope: Scope) -> tuple[str, dict[str, Any]]:
    """Lead time for changes per group.

    For every commit whose first successful deployment to the environment
    (``commit_first_deployments``, resolved at ingest) finishes in the window:
    ``finished_at - authored_at`` in hours. Negative values are dropped (zero is kept); a commit
    with unknown ``authored_at`` (a placeholder) has no lead time. The row carries the commit's
    repository and ``authored_at`` (migration 0005), so this is index-only scans of
    ``ix_commit_first_deployments_lead_time`` and never joins ``commits``. Statistics are
    ``percentile_cont`` (linear interpolation, one sort for the three) and the mean.

    Each group is aggregated on its own (``LATERAL``, ``Grouping.member``): a percentile sorts
    its group's values anyway, and grouping first would sort every change by group before that
    (about 40% of the query for 50 teams pooling 270,000 changes).
    """
    scope_sql, scope_params = repository_filter(scope, "f.repository_id")
    sql = f"""
    WITH RECURSIVE {grouping.ctes()}
    changes AS (
        SELECT f.repository_id, f.finished_at,
               date_part('epoch', f.finished_at - f.authored_at) / 3600 AS hours
        FROM commit_first_deployments f
        WHERE f.environment = :environment AND f.finished_at >= :start AND f.finished_at < :end
          AND f.authored_at <= f.finished_at AND {scope_sql}
    )
    SELECT g.group_id, s.changes, s.percentiles, s.mean
    FROM groups g CROSS JOIN LATERAL (
        SELECT count(*) AS changes,
               percentile_cont(ARRAY[0.5, 0.75, 0.9]) WITHIN GROUP (ORDER BY hours) AS percentiles,
               avg(hours) AS mean
        FROM changes f
        WHERE {grouping.member("f.repository_id", "f.finished_at")}
    ) s
    ORDER BY g.group_id
    """
    return sql, {**grouping.params(), **scope_params}


def _restore_sql(grouping: Grouping, scope: Scope) -> tuple[str, dict[str, Any]]:
    """Time to restore per group.

    Over incidents *created* in the window in the scope's repositories (incidents have no
    environment: all of them count; ``environment`` only steers attribution):
    - ``incidents``: the resolved ones; ``open_incidents``: the others;
    - ``median``/``p90`` of ``resolved_at - created_at`` over the resolved ones;
    - ``recovery``: the median of ``resolved_at - attributed deployment's finished_at`` over the
      resolved incidents attributed to a deployment of this environment ("failed deployment
      recovery time"). A negative value (an explicitly named deployment finishing after the
      incident was resolved) is dropped, as negative lead times are.
    """
    scope_sql, scope_params = repository_filter(scope, "i.repository_id")
    sql = f"""
    WITH RECURSIVE {grouping.ctes()}
    restores AS (
        SELECT {grouping.key("i.created_at")} AS group_id, i.resolved_at,
               date_part('epoch', i.resolved_at - i.created_at) / 3600 AS restore_hours,
               CASE WHEN i.resolved_at >= cause.finished_at
                    THEN date_part('epoch', i.resolved_at - cause.finished_at) / 3600
               END AS recovery_hours
        FROM incidents i
        LEFT JOIN {attribution("i")} ON TRUE
        {grouping.join("i.repository_id")}
        WHERE i.created_at >= :start AND i.created_at < :end AND {scope_sql}
    ),
    stats AS (
        SELECT group_id,
               count(resolved_at) AS incidents,
               count(*) - count(resolved_at) AS open_incidents,
               percentile_cont(ARRAY[0.5, 0.9]) WITHIN GROUP (ORDER BY restore_hours) AS percentiles,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY recovery_hours) AS recovery
        FROM restores GROUP BY group_id
    )
    SELECT g.group_id, coalesce(s.incidents, 0) AS incidents,
           coalesce(s.open_incidents, 0) AS open_incidents, s.percentiles, s.recovery
    FROM groups g LEFT JOIN stats s USING (group_id)
    ORDER BY g.group_id
    """
    return sql, {**grouping.params(), **scope_params}


# --- shaping -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Query:
    """What a DORA answer depends on besides the scope."""

    window: Window
    environment: str = "production"
    benchmark: tiers.Benchmark = "2023"
    attribution_hours: int = field(default_factory=lambda: get_settings().INCIDENT_ATTRIBUTION_WINDOW_HOURS)

    def params(self) -> dict[str, Any]:
        return {
            **window_params(self.window),
            "environment": self.environment,
            "attribution_hours": self.attribution_hours,
        }


def _ratio(part: int, whole: int) -> float | None:
    return None if whole == 0 else part / whole


def _float(value: Any) -> float | None:
    return None if value is None else float(value)


def _percentiles(values: Sequence[Any] | None, count: int) -> list[float | None]:
    return [None] * count if values is None else [_float(value) for value in values]


def _frequency_block(row: Any, benchmark: tiers.Benchmark) -> dict[str, Any]:
    per_week, per_month = _float(row.per_week), _float(row.per_month)
    return {
        "deployments": row.deployments,
        "deployment_days": row.deployment_days,
        "per_day": row.deployments / row.days,
        "median_deployment_days_per_week": per_week,
        "median_deployment_days_per_month": per_month,
        "tier": tiers.deployment_frequency_tier(
            deployments=row.deployments,
            median_days_per_week=per_week or 0.0,
            median_days_per_month=per_month or 0.0,
            median_days_per_six_months=_float(row.per_six_months) or 0.0,
            benchmark=benchmark,
        ),
    }


def _failure_block(row: Any, benchmark: tiers.Benchmark) -> dict[str, Any]:
    rate = _ratio(row.failed_deployments, row.deployments)
    return {
        "deployments": row.deployments,
        "failed_deployments": row.failed_deployments,
        "rate": rate,
        "tier": tiers.change_failure_rate_tier(rate, benchmark=benchmark),
    }


def _rework_block(row: Any) -> dict[str, Any]:
    return {
        "deployments": row.deployments,
        "rework_deployments": row.rework_deployments,
        "rate": _ratio(row.rework_deployments, row.deployments),
    }


def _lead_time_block(row: Any, benchmark: tiers.Benchmark) -> dict[str, Any]:
    median, p75, p90 = _percentiles(row.percentiles, 3)
    return {
        "changes": row.changes,
        "median_hours": median,
        "p75_hours": p75,
        "p90_hours": p90,
        "mean_hours": _float(row.mean),
        "tier": tiers.lead_time_tier(median, benchmark=benchmark),
    }


def _restore_block(row: Any, benchmark: tiers.Benchmark) -> dict[str, Any]:
    median, p90 = _percentiles(row.percentiles, 2)
    return {
        "incidents": row.incidents,
        "open_incidents": row.open_incidents,
        "median_hours": median,
        "p90_hours": p90,
        "failed_deployment_recovery_hours": _float(row.recovery),
        "tier": tiers.time_to_restore_tier(median, benchmark=benchmark),
    }


Statement = tuple[str, str, dict[str, Any]]


def statements(grouping: Grouping, scope: Scope, query: Query) -> list[Statement]:
    """The summary's three queries as ``(name, sql, bind parameters)`` (for benchmarks and EXPLAIN)."""
    built = []
    for name, build in (
        ("deployments", _deployments_sql),
        ("lead_time", _lead_time_sql),
        ("time_to_restore", _restore_sql),
    ):
        sql, params = build(grouping, scope)
        built.append((name, sql, {**query.params(), **params}))
    return built


def _rows(
    connection: Connection,
    build: Callable[[Grouping, Scope], tuple[str, dict[str, Any]]],
    grouping: Grouping,
    scope: Scope,
    query: Query,
) -> list[Any]:
    sql, params = build(grouping, scope)
    return list(connection.execute(text(sql), {**query.params(), **params}))


def _blocks(
    connection: Connection, grouping: Grouping, scope: Scope, query: Query, *, lead_time: bool = True
) -> dict[Any, dict[str, Any]]:
    """The summary's five blocks for every group of ``grouping``, by group id (four without ``lead_time``)."""
    benchmark = query.benchmark
    (_, deployments, d_params), (_, lead, l_params), (_, restore, r_params) = statements(
        grouping, scope, query
    )
    blocks: dict[Any, dict[str, Any]] = {}
    for row in connection.execute(text(deployments), d_params):
        blocks[row.group_id] = {
            "deployment_frequency": _frequency_block(row, benchmark),
            "change_failure_rate": _failure_block(row, benchmark),
            "rework_rate": _rework_block(row),
        }
    # Lead time is the costly query: a caller that does not read it can skip it.
    for row in connection.execute(text(lead), l_params) if lead_time else ():
        blocks[row.group_id]["lead_time_for_changes"] = _lead_time_block(row, benchmark)
    for row in connection.execute(text(restore), r_params):
        blocks[row.group_id]["time_to_restore"] = _restore_block(row, benchmark)
    names = [name for name in (*METRICS, "rework_rate") if lead_time or name != "lead_time_for_changes"]
    return {group: {name: block[name] for name in names} for group, block in blocks.items()}


def grouped(
    connection: Connection, *, grouping: Grouping, scope: Scope, query: Query, lead_time: bool = True
) -> dict[Any, dict[str, Any]]:
    """The summary's five blocks for every group of any ``grouping`` (portfolio pools projects too);
    without ``lead_time``, the four others only (the executive risks read no lead time)."""
    return _blocks(connection, grouping, scope, query, lead_time=lead_time)


# --- the answers -------------------------------------------------------------------------------


def summary(connection: Connection, *, scope: Scope, query: Query) -> dict[str, Any]:
    """The four DORA metrics plus rework rate for the scope, with tiers (no ``meta``)."""
    return _blocks(connection, ScopeGroups(), scope, query)[0]


_SERIES: dict[Metric, tuple[Callable[[Grouping, Scope], tuple[str, dict[str, Any]]], Callable[..., Any]]] = {
    "deployment_frequency": (_deployments_sql, _frequency_block),
    "lead_time_for_changes": (_lead_time_sql, _lead_time_block),
    "change_failure_rate": (_deployments_sql, _failure_block),
    "time_to_restore": (_restore_sql, _restore_block),
}
# Series entries carry the block's counts and statistics; tiers describe a whole window only.
_SERIES_FIELDS: dict[Metric, tuple[str, ...]] = {
    "deployment_frequency": ("deployments", "deployment_days", "per_day", "median_deployment_days_per_week"),
    "lead_time_for_changes": ("changes", "median_hours", "p75_hours", "p90_hours", "mean_hours"),
    "change_failure_rate": ("deployments", "failed_deployments", "rate"),
    "time_to_restore": (
        "incidents",
        "open_incidents",
        "median_hours",
        "p90_hours",
        "failed_deployment_recovery_hours",
    ),
}


def metric(
    connection: Connection, *, metric: Metric, scope: Scope, query: Query, interval: str
) -> dict[str, Any]:
    """One metric's block over the window plus its ``series``: one entry per bucket, empty ones included."""
    if interval not in INTERVALS:
        raise ValueError(f"unknown interval {interval!r}")
    build, shape = _SERIES[metric]
    (whole,) = _rows(connection, build, ScopeGroups(), scope, query)
    series = []
    for row in _rows(connection, build, BucketGroups(interval), scope, query):
        block = shape(row, query.benchmark)
        series.append(
            {
                "period_start": row.group_id.isoformat(),
                **{name: block[name] for name in _SERIES_FIELDS[metric]},
            }
        )
    return {metric: shape(whole, query.benchmark), "series": series}


def teams(connection: Connection, *, scope: Scope, query: Query) -> dict[str, Any]:
    """One item per team the scope covers, each with the summary's blocks over the team and its sub-teams."""
    grouping = TeamGroups(scope)
    blocks = _blocks(connection, grouping, scope, query)
    visible = "TRUE" if scope.team_ids is None else "t.id = ANY(:ids)"
    rows = connection.execute(
        text(
            f"SELECT t.id, t.key, t.name, p.key AS parent FROM teams t "
            f"LEFT JOIN teams p ON p.id = t.parent_id WHERE {visible} ORDER BY t.key"
        ),
        {} if scope.team_ids is None else {"ids": list(scope.team_ids)},
    )
    return {
        "items": [
            {"team": {"key": row.key, "name": row.name, "parent": row.parent}, **blocks[row.id]}
            for row in rows
        ]
    }


# --- cache-aside entry points (shared by the routes and the warmer) ------------------------------


def _namespace(endpoint: str, query: Query) -> str:
    # The attribution window is configuration, not a parameter: it goes in the key, not in meta.
    return f"dora:{CACHE_SCHEMA}:{endpoint}:h{query.attribution_hours}"


def query_of(params: CommonParams) -> Query:
    """The DORA query of validated common parameters."""
    return Query(window=params.window, environment=params.environment, benchmark=params.benchmark)


def answer_summary(caller: Caller, params: CommonParams) -> dict[str, Any]:
    """``GET /summary``: the summary for the caller's scope, cache-aside, with ``meta``."""
    query = query_of(params)
    return answer(_namespace("summary", query), caller, params, lambda c, s: summary(c, scope=s, query=query))


def answer_metric(caller: Caller, params: CommonParams, name: Metric) -> dict[str, Any]:
    """``GET /<metric>``: one metric with its series, cache-aside, with ``meta``."""
    query = query_of(params)
    return answer(
        _namespace(name, query),
        caller,
        params,
        lambda c, s: metric(c, metric=name, scope=s, query=query, interval=params.interval),
    )


def answer_teams(caller: Caller, params: CommonParams) -> dict[str, Any]:
    """``GET /teams``: one item per visible team, cache-aside, with ``meta``."""
    query = query_of(params)
    return answer(_namespace("teams", query), caller, params, lambda c, s: teams(c, scope=s, query=query))


# --- the warmer --------------------------------------------------------------------------------

WARM_WINDOWS_DAYS = (30, 90)
WARMER = Caller(subject="warmer", kind="user", role="admin")


@dataclass
class WarmReport:
    computed: int = 0
    already_cached: int = 0
    answers: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {"computed": self.computed, "already_cached": self.already_cached, "answers": self.answers}


def default_params(days: int, *, today: dt.date | None = None, teams: Iterable[str] = ()) -> CommonParams:
    """The parameters of a dashboard request for the last ``days`` days (UTC, defaults otherwise)."""
    end = today or dt.datetime.now(dt.UTC).date()
    window = make_window(end - dt.timedelta(days=days - 1), end, "UTC")
    return CommonParams(window=window, teams=tuple(teams))


def warm(*, today: dt.date | None = None) -> WarmReport:
    """Fill the cache for the dashboard's default requests: summary and teams, last 30 and 90 days.

    For the whole organisation (the keys of an admin's or executive's request) and for every team
    (the keys of a request with ``team=<key>``). An answer already cached for the current data
    version costs one Redis GET.
    """
    # The connection goes back to the pool before answering: a Lambda container holds one.
    with db.connect() as connection:
        team_keys = [row.key for row in connection.execute(text("SELECT key FROM teams ORDER BY key"))]
    report = WarmReport()
    for days in WARM_WINDOWS_DAYS:
        for team in (None, *team_keys):
            params = default_params(days, today=today, teams=() if team is None else (team,))
            for endpoint, serve in (("summary", answer_summary), ("teams", answer_teams)):
                body = serve(WARMER, params)
                if body["meta"]["cached"]:
                    report.already_cached += 1
                else:
                    report.computed += 1
                report.answers.append(f"{endpoint} {days}d {team or 'org'}")
    return report


__all__ = [
    "METRICS",
    "BucketGroups",
    "Grouping",
    "Metric",
    "Query",
    "ScopeGroups",
    "TeamGroups",
    "WarmReport",
    "answer_metric",
    "answer_summary",
    "answer_teams",
    "attribution",
    "default_params",
    "grouped",
    "metric",
    "statements",
    "summary",
    "teams",
    "warm",
]
