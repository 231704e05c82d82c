"""Portfolio analytics (portfolio-executive.md "Portfolio"): projects, the team tree, alignment.

**Pooled, never averaged.** Every rollup (a project, a parent team, the organisation) recomputes
its statistics over the pooled items of its members: the DORA blocks come from
``pulse.metrics.dora`` run over a project or team *grouping*, PR medians from
``pulse.metrics.pull_requests.stages_sql`` grouped the same way, latest coverage from
``pulse.metrics.quality``. No statistic of a child is ever combined with another's.

Groups:
- a **team** pools the repositories (PRs, deployments, incidents, coverage) and the team-owned
  records (work items, objectives) of itself and all its sub-teams (``dora.TeamGroups``);
- a **project** is the repositories' ``project``; its work items are those linked to a PR of
  one of its repositories (an item linked to two projects counts in both, once in each);
- the **organisation** is the caller's whole scope.

Work items and objectives are team-owned: the scope's teams restrict them; a ``repository``
filter restricts work items to those linked to a PR of those repositories (objectives stay
team-scoped). A work item is *done in the window* when ``status = 'done'`` and ``done_at`` is in
the window; its flow time is ``done_at - started_at`` (null when unknown or negative). Story
points that are null count as 0 points (the item still counts).

**Evidence.** Every block carries ``n`` (its sample size: an integer, or for a block whose
figures have different samples, an object naming each figure's), ``previous`` (the same block
over the window of equal length just before) and ``change`` (relative change per figure,
``(value - previous) / previous``; null when either is null or the previous value is 0).

Decisions where the spec is silent are in ``docs/metrics-decisions.md`` ("Portfolio").
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections import defaultdict
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, text

from pulse.auth.caller import Caller
from pulse.auth.scope import Scope
from pulse.config import get_settings
from pulse.metrics import dora, quality
from pulse.metrics.common import CommonParams, Window, answer, repository_filter, team_filter
from pulse.metrics.pull_requests import stages_sql
from pulse.metrics.series import bucket_of, buckets_sql, window_params

TYPES = ("feature", "bug", "chore", "untyped")  # untyped: a work item without feature/bug/chore
OPEN_STATUSES = ("planned", "in_progress")
# Bumped when the shape or a definition of a cached answer changes, so old entries are never read.
CACHE_SCHEMA = 1
FORECAST_SEED = 0
# Forecasts need numpy, which ships in the analytics layer: imported only when one is computed.
if TYPE_CHECKING:
    from pulse.analytics import forecast
HISTORY_WEEKS = 12  # forecast.HISTORY_WEEKS (asserted equal in the tests)
_WHOLE_WINDOW = "CAST(:start_date AS date) AS from_day, CAST(:end_date AS date) + 1 AS to_day"


# --- groupings -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ProjectGroups:
    """One group per project (id = its name) of the scope's repositories (a ``dora.Grouping``)."""

    scope: Scope

    def ctes(self) -> str:
        condition, _ = repository_filter(self.scope, "r.id")
        return (
            f"groups AS (SELECT DISTINCT r.project AS group_id, {_WHOLE_WINDOW} FROM repositories r "
            f"WHERE r.project IS NOT NULL AND {condition}),"
        )

    def key(self, timestamp: str) -> str:
        return "g.project"

    def join(self, repository: str) -> str:
        return f"JOIN repositories g ON g.id = {repository} AND g.project IS NOT NULL"

    def member(self, repository: str, timestamp: str) -> str:
        return f"{repository} IN (SELECT m.id FROM repositories m WHERE m.project = g.group_id)"

    def params(self) -> dict[str, Any]:
        return repository_filter(self.scope, "r.id")[1]


@dataclass(frozen=True)
class Rollup:
    """A DORA grouping plus how team-owned records (work items, objectives) join its groups."""

    grouping: dora.Grouping
    kind: str  # org | team | project

    def member_join(self, *, team: str, work_item: str) -> tuple[str, str]:
        """The join assigning a team-owned row to its groups, and the SQL of its group id."""
        if self.kind == "team":
            return f"JOIN team_closure gm ON gm.member_id = {team}", "gm.team_id"
        if self.kind == "project":
            # Probed per row (the link table's primary key leads with the work item).
            return (
                "JOIN LATERAL (SELECT DISTINCT r.project FROM work_item_pull_requests wp "
                "JOIN pull_requests pr ON pr.id = wp.pull_request_id "
                "JOIN repositories r ON r.id = pr.repository_id "
                f"WHERE wp.work_item_id = {work_item} AND r.project IS NOT NULL) gm ON TRUE",
                "gm.project",
            )
        return "", "0"


def org_rollup() -> Rollup:
    return Rollup(dora.ScopeGroups(), "org")


def team_rollup(scope: Scope) -> Rollup:
    return Rollup(dora.TeamGroups(scope), "team")


def project_rollup(scope: Scope) -> Rollup:
    return Rollup(ProjectGroups(scope), "project")


# --- pooled facts per group -------------------------------------------------------------------------


def _work_item_scope(scope: Scope, item: str = "w") -> tuple[str, dict[str, Any]]:
    """Team-owned work items of the scope; with a repository filter, only those linked to its PRs."""
    condition, params = team_filter(scope, f"{item}.team_id")
    if scope.repository_keys:
        condition += (
            " AND EXISTS (SELECT 1 FROM work_item_pull_requests sp JOIN pull_requests spr "
            f"ON spr.id = sp.pull_request_id WHERE sp.work_item_id = {item}.id "
            "AND spr.repository_id = ANY(:scope_repository_ids))"
        )
        params = {**params, "scope_repository_ids": list(scope.repository_ids or ())}
    return condition, params


def pull_request_stats(
    connection: Connection,
    *,
    rollup: Rollup,
    scope: Scope,
    window: Window,
    environment: str,
    split: dt.datetime | None = None,
) -> dict[Any, dict[str, Any]]:
    """Per group (and whether ``merged_at >= split`` when given, keyed ``(group, after)``): merged
    PRs in the window and their pooled median cycle and pickup hours. Groups without a PR are absent."""
    grouping = rollup.grouping
    condition, params = repository_filter(scope, "st.repository_id")
    sql = f"""
    WITH RECURSIVE {grouping.ctes()}
    s AS ({stages_sql(condition, environment=environment)})
    SELECT {grouping.key("s.merged_at")} AS group_id, {"s.merged_at >= :split" if split else "NULL::boolean"} AS after,
           count(*) AS merged,
           count(s.cycle_hours) AS cycle_n, count(s.pickup_hours) AS pickup_n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY s.cycle_hours) AS median_cycle_hours,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY s.pickup_hours) AS median_pickup_hours
    FROM s {grouping.join("s.repository_id")}
    GROUP BY 1, 2
    """
    rows = connection.execute(
        text(sql),
        {**window_params(window), "environment": environment, **grouping.params(), **params, "split": split},
    )
    return {(row.group_id, row.after) if split else row.group_id: dict(row._mapping) for row in rows}


def work_item_stats(
    connection: Connection,
    *,
    rollup: Rollup,
    scope: Scope,
    window: Window,
    interval: str | None = None,
    split: dt.datetime | None = None,
) -> dict[Any, dict[str, Any]]:
    """Per group (and per ``interval`` bucket of ``done_at`` when given, keyed ``(group, bucket)``,
    and whether ``done_at >= split`` when given, keyed ``(group, bucket, after)``): work items
    done in the window, by type, their points, and the pooled median flow time."""
    join, key = rollup.member_join(team="w.team_id", work_item="w.id")
    condition, params = _work_item_scope(scope)
    bucket = bucket_of("w.done_at", interval) if interval else "NULL::date"
    after = "w.done_at >= :split" if split else "NULL::boolean"
    by_type = ", ".join(
        f"count(*) FILTER (WHERE {_type_is(name)}) AS {name}_count, "
        f"coalesce(sum(w.story_points) FILTER (WHERE {_type_is(name)}), 0) AS {name}_points"
        for name in TYPES
    )
    flow = "date_part('epoch', w.done_at - w.started_at) / 3600"
    sql = f"""
    WITH RECURSIVE {rollup.grouping.ctes()}
    unused AS (SELECT 1)  -- the groupings' CTEs end with a comma
    SELECT {key} AS group_id, {bucket} AS period_start, {after} AS after, count(*) AS done,
           count(w.story_points) AS pointed, coalesce(sum(w.story_points), 0) AS points, {by_type},
           count(*) FILTER (WHERE w.done_at >= w.started_at) AS flow_n,
           percentile_cont(0.5) WITHIN GROUP (ORDER BY CASE WHEN w.done_at >= w.started_at THEN {flow} END)
               AS median_flow_hours
    FROM work_items w {join}
    WHERE w.status = 'done' AND w.done_at >= :start AND w.done_at < :end AND {condition}
    GROUP BY 1, 2, 3
    """
    rows = connection.execute(
        text(sql), {**window_params(window), **rollup.grouping.params(), **params, "split": split}
    )
    result: dict[Any, dict[str, Any]] = {}
    for row in rows.mappings():
        stats = {name: _plain(value) for name, value in row.items()}
        key_parts = (
            row["group_id"],
            *([row["period_start"]] if interval else []),
            *([row["after"]] if split else []),
        )
        result[key_parts if len(key_parts) > 1 else row["group_id"]] = stats
    return result


_ADDITIVE = (
    "done",
    "pointed",
    "points",
    *(f"{name}_{part}" for name in TYPES for part in ("count", "points")),
)


def _add(totals: dict[Any, dict[str, Any]], group: Any, stats: Mapping[str, Any]) -> None:
    """Add ``stats``' counts and points to ``totals[group]``."""
    total = totals.setdefault(group, dict.fromkeys(_ADDITIVE, 0))
    for name in _ADDITIVE:
        total[name] += stats[name]


def _type_is(name: str) -> str:
    return "w.type IS NULL" if name == "untyped" else f"w.type = '{name}'"


def objective_due_stats(
    connection: Connection, *, rollup: Rollup, scope: Scope, window: Window
) -> dict[Any, dict[str, Any]]:
    """Per group: objectives due in the window (target date in it, not dropped) and how many were
    done on time (status done and none of its work items done after the target date, in ``tz``)."""
    join, key = rollup.member_join(team="o.team_id", work_item="NULL")
    condition, params = team_filter(scope, "o.team_id")
    sql = f"""
    WITH RECURSIVE {rollup.grouping.ctes()}
    due AS (
        SELECT o.id, o.team_id, o.status, o.target_date,
               (SELECT max(w.done_at) FROM work_items w
                WHERE w.objective_id = o.id AND w.status = 'done') AS completed_at
        FROM objectives o
        WHERE o.target_date >= :start_date AND o.target_date <= :end_date
          AND o.status IS DISTINCT FROM 'dropped' AND {condition}
    )
    SELECT {key} AS group_id, count(*) AS due,
           count(*) FILTER (WHERE o.status = 'done' AND (o.completed_at IS NULL
               OR (o.completed_at AT TIME ZONE :tz)::date <= o.target_date)) AS on_time
    FROM due o {join}
    GROUP BY 1
    """
    rows = connection.execute(text(sql), {**window_params(window), **rollup.grouping.params(), **params})
    return {row.group_id: {"due": row.due, "on_time": row.on_time} for row in rows}


def coverage_stats(
    connection: Connection, *, rollup: Rollup, scope: Scope, window: Window
) -> dict[Any, dict[str, Any]]:
    """Per group: the median and the lowest of its repositories' latest coverage in the window
    (``quality.code_quality``'s ``latest``), over the repositories measured."""
    latest = {
        item["repository"]: item["latest"]["coverage"]
        for item in quality.code_quality(
            connection, window=window, scope=scope, interval="month", with_series=False
        )
        if item["latest"]["coverage"] is not None
    }
    if not latest:
        return {}
    grouping = rollup.grouping
    members = connection.execute(
        text(
            f"WITH RECURSIVE {grouping.ctes()} unused AS (SELECT 1) "
            f"SELECT {grouping.key('NULL')} AS group_id, r.key FROM repositories r {grouping.join('r.id')} "
            "WHERE r.key = ANY(:keys)"
        ),
        {**window_params(window), **grouping.params(), "keys": list(latest)},
    )
    values: dict[Any, list[float]] = defaultdict(list)
    for row in members:
        values[row.group_id].append(latest[row.key])
    return {
        group: {"median": statistics.median(found), "lowest": min(found), "repositories": len(found)}
        for group, found in values.items()
    }


def _plain(value: Any) -> Any:
    return float(value) if isinstance(value, Decimal) else value


# --- blocks ---------------------------------------------------------------------------------------


def relative_change(value: Any, previous: Any) -> float | None:
    """``(value - previous) / previous``; null when either is null, not a number, or previous is 0."""
    if not _number(value) or not _number(previous) or previous == 0:
        return None
    return float((value - previous) / previous)


def _number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _changes(current: Mapping[str, Any], previous: Mapping[str, Any]) -> dict[str, Any]:
    changes: dict[str, Any] = {}
    for name, value in current.items():
        if name == "n":
            continue
        before = previous.get(name)
        if isinstance(value, Mapping):
            changes[name] = _changes(value, before if isinstance(before, Mapping) else {})
        elif _number(value) or value is None:
            changes[name] = relative_change(value, before)
    return changes


def compared(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, Any]:
    """``current`` with ``previous`` and the relative ``change`` of each of its figures."""
    return {**current, "previous": previous, "change": _changes(current, previous)}


_DORA_N = {
    "deployment_frequency": "deployments",
    "lead_time_for_changes": "changes",
    "change_failure_rate": "deployments",
    "time_to_restore": "incidents",
    "rework_rate": "deployments",
}


def _ratio(part: float, whole: float) -> float | None:
    return None if not whole else part / whole


@dataclass(frozen=True)
class Facts:
    """Everything pooled for one group over one window."""

    dora: dict[str, Any]
    pull_requests: dict[str, Any] | None
    work_items: dict[str, Any] | None
    objectives: dict[str, Any] | None
    coverage: dict[str, Any] | None
    days: int

    def dora_blocks(self) -> dict[str, dict[str, Any]]:
        return {name: {**block, "n": block[_DORA_N[name]]} for name, block in self.dora.items()}

    def pull_requests_block(self) -> dict[str, Any]:
        prs = self.pull_requests or {}
        return {
            "merged": prs.get("merged", 0),
            "median_cycle_hours": prs.get("median_cycle_hours"),
            "median_pickup_hours": prs.get("median_pickup_hours"),
            "n": prs.get("merged", 0),
        }

    def work_items_block(self) -> dict[str, Any]:
        items = self.work_items or {}
        return {
            "done": items.get("done", 0),
            "done_by_type": {name: items.get(f"{name}_count", 0) for name in TYPES},
            "done_points": items.get("points", 0.0),
            "n": items.get("done", 0),
        }

    def quality_block(self) -> dict[str, Any]:
        coverage = self.coverage or {}
        return {
            "median_coverage": coverage.get("median"),
            "lowest_coverage": coverage.get("lowest"),
            "n": coverage.get("repositories", 0),
        }

    def incidents_block(self) -> dict[str, Any]:
        restore = self.dora["time_to_restore"]
        created = restore["incidents"] + restore["open_incidents"]
        return {
            "created": created,
            "resolved": restore["incidents"],
            "open": restore["open_incidents"],
            "n": created,
        }

    def velocity_block(self) -> dict[str, Any]:
        weeks = self.days / 7
        merged = (self.pull_requests or {}).get("merged", 0)
        items = self.work_items or {}
        return {
            "weeks": weeks,
            "merged_prs": merged,
            "done_items": items.get("done", 0),
            "done_points": items.get("points", 0.0),
            "merged_prs_per_week": merged / weeks,
            "done_items_per_week": items.get("done", 0) / weeks,
            "done_points_per_week": items.get("points", 0.0) / weeks,
            "n": {"merged_prs": merged, "done_items": items.get("done", 0)},
        }

    def team_quality_block(self) -> dict[str, Any]:
        failure, rework = self.dora["change_failure_rate"], self.dora["rework_rate"]
        items = self.work_items or {}
        coverage = self.coverage or {}
        return {
            "change_failure_rate": failure["rate"],
            "bug_share": _ratio(items.get("bug_count", 0), items.get("done", 0)),
            "median_coverage": coverage.get("median"),
            "lowest_coverage": coverage.get("lowest"),
            "rework_rate": rework["rate"],
            "n": {
                "change_failure_rate": failure["deployments"],
                "bug_share": items.get("done", 0),
                "coverage": coverage.get("repositories", 0),
                "rework_rate": rework["deployments"],
            },
        }

    def delivery_block(self) -> dict[str, Any]:
        prs, items, objectives = self.pull_requests or {}, self.work_items or {}, self.objectives or {}
        return {
            "median_cycle_hours": prs.get("median_cycle_hours"),
            "median_flow_hours": items.get("median_flow_hours"),
            "objectives_due": objectives.get("due", 0),
            "objectives_on_time": objectives.get("on_time", 0),
            "on_time_rate": _ratio(objectives.get("on_time", 0), objectives.get("due", 0)),
            "n": {
                "cycle_time": prs.get("cycle_n", 0),
                "flow_time": items.get("flow_n", 0),
                "on_time_rate": objectives.get("due", 0),
            },
        }


def _facts(
    connection: Connection, *, rollup: Rollup, scope: Scope, params: CommonParams, teams: bool
) -> tuple[dict[Any, Facts], dict[Any, Facts]]:
    """Every group's pooled facts over the window and over the previous one.

    PR and work-item statistics are computed in one pass over both windows, per group and window.
    """
    window, previous = params.window, params.window.previous()
    both = Window(previous.start_date, window.end_date, window.tz)
    prs = pull_request_stats(
        connection,
        rollup=rollup,
        scope=scope,
        window=both,
        environment=params.environment,
        split=window.start,
    )
    items = work_item_stats(connection, rollup=rollup, scope=scope, window=both, split=window.start)
    answers = []
    for period, after in ((window, True), (previous, False)):
        query = dora.Query(window=period, environment=params.environment, benchmark=params.benchmark)
        blocks = dora.grouped(connection, grouping=rollup.grouping, scope=scope, query=query)
        objectives = (
            objective_due_stats(connection, rollup=rollup, scope=scope, window=period) if teams else {}
        )
        coverage = coverage_stats(connection, rollup=rollup, scope=scope, window=period)
        answers.append(
            {
                group: Facts(
                    dora=block,
                    pull_requests=prs.get((group, after)),
                    work_items=items.get((group, after)),
                    objectives=objectives.get(group),
                    coverage=coverage.get(group),
                    days=period.days,
                )
                for group, block in blocks.items()
            }
        )
    return answers[0], answers[1]


def _project_blocks(now: Facts, before: Facts) -> dict[str, Any]:
    dora_now, dora_before = now.dora_blocks(), before.dora_blocks()
    return {
        **{name: compared(block, dora_before[name]) for name, block in dora_now.items()},
        "pull_requests": compared(now.pull_requests_block(), before.pull_requests_block()),
        "work_items": compared(now.work_items_block(), before.work_items_block()),
        "incidents": compared(now.incidents_block(), before.incidents_block()),
    }


# --- the answers ------------------------------------------------------------------------------------


def projects(connection: Connection, *, scope: Scope, params: CommonParams) -> dict[str, Any]:
    """One item per project of the scope's repositories, ordered by name, each block pooled over
    its repositories (and the work items linked to them), with the previous period."""
    rollup = project_rollup(scope)
    now, before = _facts(connection, rollup=rollup, scope=scope, params=params, teams=False)
    condition, bound = repository_filter(scope, "id")
    repositories: dict[str, list[str]] = defaultdict(list)
    for row in connection.execute(
        text(f"SELECT project, key FROM repositories WHERE project IS NOT NULL AND {condition} ORDER BY key"),
        bound,
    ):
        repositories[row.project].append(row.key)
    return {
        "items": [
            {
                "project": name,
                "repositories": repositories[name],
                **_project_blocks(now[name], before[name]),
                "quality": compared(now[name].quality_block(), before[name].quality_block()),
            }
            for name in sorted(now)
        ]
    }


def _visible_teams(connection: Connection, scope: Scope) -> list[Any]:
    visible = "TRUE" if scope.team_ids is None else "t.id = ANY(:ids)"
    return list(
        connection.execute(
            text(f"SELECT t.id, t.key, t.name, t.parent_id FROM teams t WHERE {visible} ORDER BY t.key"),
            {} if scope.team_ids is None else {"ids": list(scope.team_ids)},
        )
    )


def tree(rows: Iterable[Any], node: Any) -> list[dict[str, Any]]:
    """Nest ``node(row)`` dicts by ``parent_id``: roots are rows whose parent is not among them."""
    rows = list(rows)
    ids = {row.id for row in rows}
    children: dict[int | None, list[Any]] = defaultdict(list)
    for row in rows:
        children[row.parent_id if row.parent_id in ids else None].append(row)

    def build(row: Any, path: frozenset[int]) -> dict[str, Any]:
        # A parent cycle in bad data must not recurse forever.
        return {
            **node(row),
            "children": [
                build(child, path | {child.id}) for child in children[row.id] if child.id not in path
            ],
        }

    return [build(row, frozenset({row.id})) for row in children[None]]


def teams(connection: Connection, *, scope: Scope, params: CommonParams) -> dict[str, Any]:
    """The visible teams as a tree (``children``), every node pooled over its whole subtree."""
    rollup = team_rollup(scope)
    now, before = _facts(connection, rollup=rollup, scope=scope, params=params, teams=True)

    def node(row: Any) -> dict[str, Any]:
        current, previous = now[row.id], before[row.id]
        return {
            "team": {"key": row.key, "name": row.name},
            **_project_blocks(current, previous),
            "velocity": compared(current.velocity_block(), previous.velocity_block()),
            "quality": compared(current.team_quality_block(), previous.team_quality_block()),
            "delivery": compared(current.delivery_block(), previous.delivery_block()),
        }

    return {"items": tree(_visible_teams(connection, scope), node)}


# --- alignment ----------------------------------------------------------------------------------------


def _investment(items: Mapping[str, Any] | None) -> dict[str, Any]:
    """Shares of done work items by type, by count and by points."""
    items = items or {}
    done, points = items.get("done", 0), items.get("points", 0.0)
    return {
        "done": done,
        "points": points,
        "by_type": {
            name: {
                "count": items.get(f"{name}_count", 0),
                "count_share": _ratio(items.get(f"{name}_count", 0), done),
                "points": items.get(f"{name}_points", 0.0),
                "points_share": _ratio(items.get(f"{name}_points", 0.0), points),
            }
            for name in TYPES
        },
        "n": done,
    }


def _coverage(prs: Mapping[str, Any] | None) -> dict[str, Any]:
    """Merged PRs linked to any work item, and the unlinked ones, with their shares."""
    prs = prs or {}
    merged, linked = prs.get("merged", 0), prs.get("linked", 0)
    return {
        "merged": merged,
        "linked": linked,
        "unlinked": merged - linked,
        "share": _ratio(linked, merged),
        "unlinked_share": _ratio(merged - linked, merged),
        "n": merged,
    }


def _buckets(connection: Connection, window: Window, interval: str) -> list[dt.date]:
    rows = connection.execute(
        text(f"SELECT period_start FROM {buckets_sql(interval)}"), window_params(window)
    )
    return [row.period_start for row in rows]


def linked_pull_requests(
    connection: Connection, *, scope: Scope, params: CommonParams
) -> dict[str, dict[int, dict[str, int]]]:
    """Per period (``now``: the window, ``before``: the previous one) and repository: merged PRs
    and how many of them are linked to any work item. One pass over both windows."""
    window, previous = params.window, params.window.previous()
    both = Window(previous.start_date, window.end_date, window.tz)
    condition, bound = repository_filter(scope, "st.repository_id")
    rows = connection.execute(
        text(
            f"""
            SELECT s.repository_id, s.merged_at >= :split AS now, count(*) AS merged,
                   count(*) FILTER (WHERE EXISTS (
                       SELECT 1 FROM work_item_pull_requests wp WHERE wp.pull_request_id = s.id)) AS linked
            FROM ({stages_sql(condition, environment=params.environment)}) s
            GROUP BY 1, 2
            """
        ),
        {**window_params(both), "split": window.start, "environment": params.environment, **bound},
    )
    found: dict[str, dict[int, dict[str, int]]] = {"now": {}, "before": {}}
    for row in rows:
        found["now" if row.now else "before"][row.repository_id] = {
            "merged": row.merged,
            "linked": row.linked,
        }
    return found


def _repository_groups(connection: Connection, grouping: dora.Grouping, window: Window) -> list[Any]:
    """``(group_id, repository_id)`` of every repository in each group of ``grouping``."""
    return list(
        connection.execute(
            text(
                f"WITH RECURSIVE {grouping.ctes()} unused AS (SELECT 1) "
                f"SELECT {grouping.key('NULL')} AS group_id, r.id AS repository_id "
                f"FROM repositories r {grouping.join('r.id')}"
            ),
            {**window_params(window), **grouping.params()},
        )
    )


def _pooled_links(
    connection: Connection,
    *,
    rollup: Rollup,
    params: CommonParams,
    per_repository: Mapping[str, Mapping[int, Mapping[str, int]]],
) -> dict[str, dict[Any, dict[str, int]]]:
    """``linked_pull_requests`` summed over each group's repositories (counts pool by summing)."""
    pooled: dict[str, dict[Any, dict[str, int]]] = {"now": {}, "before": {}}
    for row in _repository_groups(connection, rollup.grouping, params.window):
        for period, counts in per_repository.items():
            found = counts.get(row.repository_id)
            if found is None:
                continue
            total = pooled[period].setdefault(row.group_id, {"merged": 0, "linked": 0})
            total["merged"] += found["merged"]
            total["linked"] += found["linked"]
    return pooled


def _alignment_entries(
    connection: Connection,
    *,
    rollup: Rollup,
    scope: Scope,
    params: CommonParams,
    buckets: list[dt.date],
    per_repository: Mapping[str, Mapping[int, Mapping[str, int]]],
) -> Callable[[Any], dict[str, Any]]:
    """A function giving a group's investment (with its series) and PR coverage."""
    window, previous = params.window, params.window.previous()
    # Counts and points pool by summing: one pass over both windows, by bucket, is summed into
    # each window's totals (a bucket straddling the window's start is split by ``now``).
    both = Window(previous.start_date, window.end_date, window.tz)
    per_bucket = work_item_stats(
        connection, rollup=rollup, scope=scope, window=both, interval=params.interval, split=window.start
    )
    items_now: dict[Any, dict[str, Any]] = {}
    items_before: dict[Any, dict[str, Any]] = {}
    series: dict[Any, dict[str, Any]] = {}
    for (group, start, now), stats in per_bucket.items():
        if now:
            series[(group, start)] = stats
        _add(items_now if now else items_before, group, stats)
    links = _pooled_links(connection, rollup=rollup, params=params, per_repository=per_repository)
    prs_now, prs_before = links["now"], links["before"]

    def entry(group: Any) -> dict[str, Any]:
        return {
            "investment": compared(_investment(items_now.get(group)), _investment(items_before.get(group))),
            "coverage": compared(_coverage(prs_now.get(group)), _coverage(prs_before.get(group))),
            "series": [
                {"period_start": start.isoformat(), **_investment(series.get((group, start)))}
                for start in buckets
            ],
        }

    return entry


def objectives(connection: Connection, *, scope: Scope, window: Window) -> list[dict[str, Any]]:
    """The scope's objectives that are open or due in the window, with progress and forecast.

    Progress and forecast are as of the window's end: an item counts when created before it and
    as done when done before it. The forecast resamples the owning team's (with its sub-teams)
    weekly done items over the 12 full weeks before the window's end (``pulse.analytics.forecast``).
    """
    return forecast_objectives(objective_progress(connection, scope=scope, window=window))


@dataclass(frozen=True)
class Progress:
    """What the forecasts need from the database: objective rows, team histories, the start."""

    rows: list[Any]
    history: dict[int, list[int]]
    start: dt.date


def objective_progress(connection: Connection, *, scope: Scope, window: Window) -> Progress:
    """The objectives' progress rows and their owning teams' throughput history (see ``objectives``)."""
    condition, bound = team_filter(scope, "o.team_id")
    rows = connection.execute(
        text(
            f"""
            SELECT o.id, o.key, o.title, o.status, o.start_date, o.target_date, o.team_id, t.key AS team,
                   count(w.id) AS total,
                   count(w.id) FILTER (WHERE w.status = 'done' AND w.done_at < :end) AS done,
                   coalesce(sum(w.story_points), 0) AS points_total,
                   coalesce(sum(w.story_points) FILTER (WHERE w.status = 'done' AND w.done_at < :end), 0)
                       AS points_done
            FROM objectives o
            LEFT JOIN teams t ON t.id = o.team_id
            LEFT JOIN work_items w ON w.objective_id = o.id AND w.created_at < :end
            WHERE o.title IS NOT NULL AND {condition}
              AND (o.status IS NULL OR o.status IN ('planned', 'in_progress')
                   OR (o.target_date >= :start_date AND o.target_date <= :end_date))
            GROUP BY o.id, t.key
            ORDER BY o.target_date NULLS LAST, o.key
            """
        ),
        {**window_params(window), **bound},
    ).all()
    start = forecast_start(window)
    owners = sorted({row.team_id for row in rows if row.team_id is not None and _forecastable(row.status)})
    history = weekly_throughput(connection, team_ids=owners, start=start, tz=window.tz)
    return Progress(list(rows), history, start)


def forecast_objectives(progress: Progress) -> list[dict[str, Any]]:
    """Shape the objectives with their forecasts (no database: may run beside queries)."""
    from pulse.analytics import forecast

    rows, history, start = progress.rows, progress.history, progress.start
    pending: dict[int, list[Any]] = defaultdict(list)
    for row in rows:
        if row.team_id is not None and _forecastable(row.status):
            pending[row.team_id].append(row)
    forecasts: dict[int, forecast.DeliveryForecast] = {}
    for team_id, team_rows in pending.items():
        results = forecast.forecast_deliveries(
            weekly_throughput=history.get(team_id, []),
            objectives=[(row.total - row.done, row.target_date) for row in team_rows],
            start=start,
            seed=FORECAST_SEED,
        )
        forecasts.update({row.id: result for row, result in zip(team_rows, results, strict=True)})
    items = []
    for row in rows:
        if row.id in forecasts:
            predicted = forecasts[row.id].as_dict()
        else:
            reason = (
                "the objective has no owning team"
                if row.team_id is None
                else f"the objective is {row.status}"
            )
            predicted = forecast.DeliveryForecast(None, None, None, None, reason).as_dict()
        items.append(
            {
                "key": row.key,
                "title": row.title,
                "team": row.team,
                "status": row.status,
                "start_date": row.start_date.isoformat() if row.start_date else None,
                "target_date": row.target_date.isoformat() if row.target_date else None,
                "items_done": row.done,
                "items_total": row.total,
                "points_done": float(row.points_done),
                "points_total": float(row.points_total),
                "remaining": row.total - row.done,
                "n": row.total,
                "weekly_throughput": history.get(row.team_id, []) if row.id in forecasts else None,
                **predicted,
            }
        )
    return items


def _forecastable(status: str | None) -> bool:
    return status is None or status in OPEN_STATUSES


def forecast_start(window: Window) -> dt.date:
    """The Monday after the last full week (Monday to Sunday) before the window's end."""
    after = window.end_date + dt.timedelta(days=1)
    return after - dt.timedelta(days=after.weekday())


def weekly_throughput(
    connection: Connection, *, team_ids: list[int], start: dt.date, tz: str
) -> dict[int, list[int]]:
    """Per team (pooled with its sub-teams): done work items per week over the 12 full weeks
    before ``start``, zeros included, oldest first; only the weeks since the week of the team's
    first done work item (its history), so a team that only began delivering has fewer than 12."""
    if not team_ids:
        return {}
    first = start - dt.timedelta(weeks=HISTORY_WEEKS)
    rows = connection.execute(
        text(
            """
            WITH RECURSIVE closure(team_id, member_id) AS (
                SELECT id, id FROM teams WHERE id = ANY(:team_ids)
                UNION
                SELECT c.team_id, t.id FROM closure c JOIN teams t ON t.parent_id = c.member_id
            ),
            began AS (
                SELECT c.team_id, min(f.first_done) AS first_done
                FROM closure c CROSS JOIN LATERAL (
                    SELECT min(w.done_at) AS first_done FROM work_items w
                    WHERE w.team_id = c.member_id AND w.done_at IS NOT NULL
                ) f
                GROUP BY c.team_id
            ),
            weeks AS (
                SELECT c.team_id, date_trunc('week', w.done_at AT TIME ZONE :tz)::date AS week, count(*) AS done
                FROM closure c JOIN work_items w ON w.team_id = c.member_id
                WHERE w.status = 'done'
                  AND w.done_at >= (CAST(:first AS timestamp) AT TIME ZONE :tz)
                  AND w.done_at < (CAST(:start AS timestamp) AT TIME ZONE :tz)
                GROUP BY 1, 2
            )
            SELECT b.team_id, date_trunc('week', b.first_done AT TIME ZONE :tz)::date AS since, k.week, k.done
            FROM began b LEFT JOIN weeks k USING (team_id)
            """
        ),
        {"team_ids": team_ids, "first": first, "start": start, "tz": tz},
    )
    done: dict[int, dict[dt.date, int]] = defaultdict(dict)
    since: dict[int, dt.date | None] = {}
    for row in rows:
        since[row.team_id] = row.since
        if row.week is not None:
            done[row.team_id][row.week] = row.done
    history: dict[int, list[int]] = {}
    for team_id in team_ids:
        began = since.get(team_id)
        weeks = [first + dt.timedelta(weeks=k) for k in range(HISTORY_WEEKS)]
        history[team_id] = [
            done[team_id].get(week, 0) for week in weeks if began is not None and week >= began
        ]
    return history


def alignment(connection: Connection, *, scope: Scope, params: CommonParams) -> dict[str, Any]:
    """Investment by work-item type (count and points) for the org, each team and each project,
    with a series per ``interval``; PR-to-work-item coverage; objectives with forecasts."""
    progress = objective_progress(connection, scope=scope, window=params.window)
    # The forecasts are numpy work on this process's CPU: they run while the database answers
    # the investment queries below (one connection, used by this thread only).
    with ThreadPoolExecutor(max_workers=1) as pool:
        forecasts = pool.submit(forecast_objectives, progress)
        body = _investment_body(connection, scope=scope, params=params)
        return {**body, "objectives": forecasts.result()}


def _investment_body(connection: Connection, *, scope: Scope, params: CommonParams) -> dict[str, Any]:
    """Alignment's ``coverage`` and ``investment``."""
    buckets = _buckets(connection, params.window, params.interval)
    links = linked_pull_requests(connection, scope=scope, params=params)
    entries = {
        name: _alignment_entries(
            connection, rollup=rollup, scope=scope, params=params, buckets=buckets, per_repository=links
        )
        for name, rollup in (
            ("org", org_rollup()),
            ("team", team_rollup(scope)),
            ("project", project_rollup(scope)),
        )
    }
    org, by_team, by_project = entries["org"], entries["team"], entries["project"]
    team_rows = _visible_teams(connection, scope)
    parents = {row.id: row.key for row in team_rows}
    condition, bound = repository_filter(scope, "id")
    project_names = [
        row.project
        for row in connection.execute(
            text(
                f"SELECT DISTINCT project FROM repositories WHERE project IS NOT NULL AND {condition} "
                "ORDER BY project"
            ),
            bound,
        )
    ]
    whole = org(0)
    return {
        "coverage": whole["coverage"],
        "investment": {
            "org": whole,
            "teams": [
                {
                    "team": {"key": row.key, "name": row.name, "parent": parents.get(row.parent_id)},
                    **by_team(row.id),
                }
                for row in team_rows
            ],
            "projects": [{"project": name, **by_project(name)} for name in project_names],
        },
    }


# --- cache-aside entry points (shared by the routes and the warmer) --------------------------------


def _namespace(endpoint: str) -> str:
    # The attribution window is configuration, not a parameter: it goes in the key, not in meta.
    hours = get_settings().INCIDENT_ATTRIBUTION_WINDOW_HOURS
    return f"portfolio:{CACHE_SCHEMA}:{endpoint}:h{hours}"


def answer_projects(caller: Caller, params: CommonParams) -> dict[str, Any]:
    """``GET /projects`` cache-aside, with ``meta``."""
    return answer(_namespace("projects"), caller, params, lambda c, s: projects(c, scope=s, params=params))


def answer_teams(caller: Caller, params: CommonParams) -> dict[str, Any]:
    """``GET /teams`` cache-aside, with ``meta``."""
    return answer(_namespace("teams"), caller, params, lambda c, s: teams(c, scope=s, params=params))


def answer_alignment(caller: Caller, params: CommonParams) -> dict[str, Any]:
    """``GET /alignment`` cache-aside, with ``meta``."""
    return answer(_namespace("alignment"), caller, params, lambda c, s: alignment(c, scope=s, params=params))


def warm(*, today: dt.date | None = None) -> dora.WarmReport:
    """Fill the cache for the default portfolio views: projects, teams and alignment, last 90 days,
    org-wide (an admin's or executive's request)."""
    report = dora.WarmReport()
    params = dora.default_params(90, today=today)
    for endpoint, serve in (
        ("projects", answer_projects),
        ("teams", answer_teams),
        ("alignment", answer_alignment),
    ):
        body = serve(dora.WARMER, params)
        if body["meta"]["cached"]:
            report.already_cached += 1
        else:
            report.computed += 1
        report.answers.append(f"portfolio {endpoint} 90d org")
    return report


__all__ = [
    "ProjectGroups",
    "Rollup",
    "alignment",
    "answer_alignment",
    "answer_projects",
    "answer_teams",
    "compared",
    "forecast_start",
    "objectives",
    "projects",
    "relative_change",
    "teams",
    "tree",
    "warm",
    "weekly_throughput",
]
