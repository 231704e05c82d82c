"""Pull-request flow: the per-PR stages (metrics.md "GitHub analytics") and what is built on them.

The one definition of a PR's stages, reused by every route group that reports cycle time
(GitHub analytics, portfolio, executive):

- ``first_commit_at``: earliest ``authored_at`` of the PR's commits.
- ``first_review_at``: the first review (any state, ``dismissed`` included) by someone other than
  the author and not a bot, submitted at or after ``ready_at`` (or ``created_at``); earlier
  reviews are ignored. With an unknown author every non-bot reviewer counts.
- ``deployed_at``: ``finished_at`` of the first successful deployment to the environment
  (``production`` by default) that ships ``merge_commit_sha`` (``commit_first_deployments``,
  resolved at ingest). It is reported even when it finished before the merge; the deploy stage
  is then null.
- ``coding_hours = created_at - first_commit_at``; ``pickup_hours = first_review_at -
  (ready_at or created_at)``; ``review_hours = merged_at - first_review_at``; ``deploy_hours =
  deployed_at - merged_at``; ``cycle_hours = end - start`` with start ``first_commit_at`` when it
  is at or before ``created_at``, else ``created_at``, and end ``deployed_at`` when the deploy
  stage is known, else ``merged_at``. A stage that is negative or has an unknown end is null.
- ``approved``: an ``approved`` review by a non-author, non-bot submitted at or before the merge.

The stage ends, the stages (against production) and a copy of each PR's own times and size are
derived at ingest into the narrow table ``pull_request_stages`` (``refresh_stages``; ends defined
in ``stage_ends_sql``, stages in ``stage_hours_sql``), so pooling the stages of a 90-day
org-wide window reads one small table; another environment's deployment is looked up at query
time.

PRs authored by bots are still PRs: they are listed and counted; bots only never count as
reviewers. Size is ``additions + deletions`` (null when both are unknown), bucketed by
``SIZE_THRESHOLDS``.
"""

from __future__ import annotations

import base64
import binascii
import datetime as dt
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from sqlalchemy import Connection, text

from pulse.auth.scope import Scope
from pulse.errors import ApiError
from pulse.metrics.common import Window, repository_filter
from pulse.metrics.series import bucket_of, buckets_sql, window_params

Size = Literal["xs", "s", "m", "l", "xl"]
STAGES = ("coding_hours", "pickup_hours", "review_hours", "deploy_hours", "cycle_hours")
# Upper bounds (exclusive) of changed lines (additions + deletions) per size; xl has none.
SIZE_THRESHOLDS: dict[str, int] = {"xs": 10, "s": 50, "m": 250, "l": 1000}
SIZES: tuple[Size, ...] = ("xs", "s", "m", "l", "xl")
PRODUCTION = "production"
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

CHANGED_LINES_SQL = (
    "CASE WHEN st.additions IS NULL AND st.deletions IS NULL THEN NULL "
    "ELSE coalesce(st.additions, 0) + coalesce(st.deletions, 0) END"
)


def size_sql(lines: str) -> str:
    """SQL naming the size bucket (``xs``..``xl``) of the changed-lines expression ``lines``."""
    cases = " ".join(f"WHEN {lines} < {bound} THEN '{name}'" for name, bound in SIZE_THRESHOLDS.items())
    return f"CASE WHEN {lines} IS NULL THEN NULL {cases} ELSE 'xl' END"


def size_condition(size: Size, lines: str = CHANGED_LINES_SQL) -> str:
    """SQL condition: ``lines`` falls in the ``size`` bucket."""
    lower = 0
    for name, bound in SIZE_THRESHOLDS.items():
        if name == size:
            return f"({lines} >= {lower} AND {lines} < {bound})"
        lower = bound
    return f"({lines} >= {lower})"


def _hours(later: str, earlier: str) -> str:
    """Hours from ``earlier`` to ``later``; null when negative or either end is unknown."""
    return f"CASE WHEN {later} >= {earlier} THEN date_part('epoch', {later} - {earlier}) / 3600 END"


def stage_hours_sql(ends: str) -> dict[str, str]:
    """The SQL of each stage of ``STAGES`` over the stage ends of the row alias ``ends``.

    ``ends`` has ``created_at``, ``ready_at``, ``merged_at``, ``first_commit_at``,
    ``first_review_at`` and ``deployed_at``: the definitions of the module docstring.
    """
    deploy_known = f"{ends}.deployed_at >= {ends}.merged_at"
    cycle_start = (
        f"CASE WHEN {ends}.first_commit_at <= {ends}.created_at "
        f"THEN {ends}.first_commit_at ELSE {ends}.created_at END"
    )
    cycle_end = f"CASE WHEN {deploy_known} THEN {ends}.deployed_at ELSE {ends}.merged_at END"
    return {
        "coding_hours": _hours(f"{ends}.created_at", f"{ends}.first_commit_at"),
        "pickup_hours": _hours(f"{ends}.first_review_at", f"coalesce({ends}.ready_at, {ends}.created_at)"),
        "review_hours": _hours(f"{ends}.merged_at", f"{ends}.first_review_at"),
        "deploy_hours": _hours(f"{ends}.deployed_at", f"{ends}.merged_at"),
        "cycle_hours": _hours(cycle_end, cycle_start),
    }


@dataclass(frozen=True)
class PullRequestFilter:
    """Endpoint filters on merged PRs: author login, size bucket, label."""

    author: str | None = None
    size: Size | None = None
    label: str | None = None

    def sql(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions over ``st`` (``pull_request_stages``) and their parameters."""
        conditions: list[str] = []
        params: dict[str, Any] = {}
        if self.author is not None:
            conditions.append("st.author_id = (SELECT id FROM contributors WHERE login = :filter_author)")
            params["filter_author"] = self.author
        if self.size is not None:
            conditions.append(size_condition(self.size))
        if self.label is not None:
            conditions.append(
                "EXISTS (SELECT 1 FROM pull_requests labelled WHERE labelled.id = st.pull_request_id "
                "AND CAST(:filter_label AS text) = ANY(labelled.labels))"
            )
            params["filter_label"] = self.label
        return " AND ".join(conditions) or "TRUE", params


def stage_ends_sql(condition: str = "TRUE") -> str:
    """SELECT of the stage facts of every PR satisfying ``condition`` (over ``pr``).

    Columns: the PR's ``pull_request_id``, ``repository_id``, ``author_id``, ``created_at``,
    ``ready_at``, ``merged_at``, ``additions``, ``deletions``; its ``first_commit_at``,
    ``first_review_at``, ``review_count`` (reviews by non-bots other than the author, any state,
    any time), ``approved`` and ``deployed_at`` (the first successful deployment to
    ``:environment`` shipping ``merge_commit_sha``). Joins and GROUP BY rather than per-PR
    subqueries, so the planner can hash-join whole repositories.
    """
    # For every PR, target is inlined into each of its four uses so that the plan may use
    # parallel workers (a materialized CTE keeps it in one process); a subset is computed once.
    materialized = "NOT MATERIALIZED" if condition == "TRUE" else "MATERIALIZED"
    return f"""
        WITH target AS {materialized} (
            SELECT pr.id, pr.repository_id, pr.author_id, pr.created_at, pr.ready_at, pr.merged_at,
                   pr.additions, pr.deletions, pr.merge_commit_sha
            FROM pull_requests pr
            WHERE {condition}
        ),
        first_commits AS (
            SELECT t.id, min(c.authored_at) AS first_commit_at
            FROM target t
            JOIN pull_request_commits prc ON prc.pull_request_id = t.id
            JOIN commits c ON c.id = prc.commit_id
            GROUP BY t.id
        ),
        human_reviews AS (
            SELECT t.id,
                   min(r.submitted_at) FILTER (
                       WHERE r.submitted_at >= coalesce(t.ready_at, t.created_at)
                   ) AS first_review_at,
                   count(*) AS review_count,
                   bool_or(r.state = 'approved' AND r.submitted_at <= t.merged_at) AS approved
            FROM target t
            JOIN reviews r ON r.pull_request_id = t.id
            JOIN contributors who ON who.id = r.reviewer_id
            WHERE NOT who.is_bot AND r.reviewer_id IS DISTINCT FROM t.author_id
            GROUP BY t.id
        ),
        deployed AS (
            SELECT t.id, cfd.finished_at AS deployed_at
            FROM target t
            JOIN commits mc ON mc.repository_id = t.repository_id AND mc.sha = t.merge_commit_sha
            JOIN commit_first_deployments cfd ON cfd.commit_id = mc.id AND cfd.environment = :environment
        )
        SELECT t.id AS pull_request_id, t.repository_id, t.author_id, t.created_at, t.ready_at,
               t.merged_at, t.additions, t.deletions, fc.first_commit_at, hr.first_review_at,
               coalesce(hr.review_count, 0) AS review_count,
               coalesce(hr.approved, false) AS approved,
               dep.deployed_at
        FROM target t
        LEFT JOIN first_commits fc ON fc.id = t.id
        LEFT JOIN human_reviews hr ON hr.id = t.id
        LEFT JOIN deployed dep ON dep.id = t.id
    """


STAGE_COLUMNS = (
    "repository_id",
    "author_id",
    "created_at",
    "ready_at",
    "merged_at",
    "additions",
    "deletions",
    "first_commit_at",
    "first_review_at",
    "review_count",
    "approved",
    "production_deployed_at",
    *STAGES,
)


def refresh_stages(connection: Connection, *, only: str | None = None) -> int:
    """Derive ``pull_request_stages`` for the PRs whose ids the SELECT ``only`` gives (``None``:
    every PR); return how many rows changed.

    Ingest calls it once at the end of an import, for the PRs whose stage inputs the import
    changed (``pulse.ingest.loader``), and for every PR when a contributor's ``is_bot`` changed.
    Rows that would not change are not rewritten.
    """
    condition = "TRUE" if only is None else f"pr.id IN ({only})"
    columns = ", ".join(STAGE_COLUMNS)
    updates = ", ".join(f"{column} = excluded.{column}" for column in STAGE_COLUMNS)
    hours = stage_hours_sql("ends")
    stages = ", ".join(hours[stage] for stage in STAGES)
    # Nothing derived yet (a first load): no conflict can happen, and a plain INSERT skips the
    # speculative insertion ON CONFLICT makes for every row (~8% of a 142,800-PR refresh).
    empty = connection.execute(text("SELECT NOT EXISTS (SELECT 1 FROM pull_request_stages)")).scalar()
    upsert = (
        ""
        if empty
        else f"""
            ON CONFLICT (pull_request_id) DO UPDATE SET {updates}
            WHERE (stored.{", stored.".join(STAGE_COLUMNS)})
                  IS DISTINCT FROM (excluded.{", excluded.".join(STAGE_COLUMNS)})
            """
    )
    if only is None:
        ends = "s_stage_ends"
        _compute_in_parallel(connection, ends, stage_ends_sql(), {"environment": PRODUCTION})
    else:
        ends = f"({stage_ends_sql(condition)})"
    result = connection.execute(
        text(
            f"""
            INSERT INTO pull_request_stages AS stored (pull_request_id, {columns})
            SELECT ends.pull_request_id, ends.repository_id, ends.author_id, ends.created_at,
                   ends.ready_at, ends.merged_at, ends.additions, ends.deletions,
                   ends.first_commit_at, ends.first_review_at, ends.review_count, ends.approved,
                   ends.deployed_at, {stages}
            FROM {ends} ends
            {upsert}
            """
        ),
        {"environment": PRODUCTION},
    )
    return int(result.rowcount)


# Planner costs for _compute_in_parallel: the defaults (1000 and 0.1) price handing the rows of
# a whole-table join to the leader above computing them in one process.
PARALLEL_COSTS = {"parallel_setup_cost": "10", "parallel_tuple_cost": "0.001"}


def _compute_in_parallel(connection: Connection, table: str, select: str, params: Mapping[str, Any]) -> None:
    """Store ``select`` in the temporary ``table`` (dropped at commit) with CREATE TABLE AS,
    which, unlike INSERT, may use parallel workers: the whole-table joins of a refresh of every
    PR then use a core the import leaves idle (142,800 PRs: 1.70 -> 0.89-1.03 s).
    The cheaper parallel costs hold for this statement only."""
    settings = ", ".join(f"set_config('{name}', :{name}, true)" for name in PARALLEL_COSTS)
    before = connection.execute(
        text("SELECT " + ", ".join(f"current_setting('{name}')" for name in PARALLEL_COSTS))
    ).one()
    connection.execute(text(f"SELECT {settings}"), PARALLEL_COSTS)
    connection.execute(text(f"DROP TABLE IF EXISTS pg_temp.{table}"))
    connection.execute(text(f"CREATE TEMP TABLE {table} ON COMMIT DROP AS {select}"), params)
    connection.execute(text(f"SELECT {settings}"), dict(zip(PARALLEL_COSTS, before, strict=True)))


def stages_sql(condition: str = "TRUE", *, page: bool = False, environment: str = PRODUCTION) -> str:
    """SELECT of every merged PR with ``merged_at`` in ``[:start, :end)`` satisfying ``condition``.

    ``condition`` is over ``st`` (``pull_request_stages``, e.g. ``st.repository_id``). Binds
    ``:start`` and ``:end`` (and ``:environment`` unless it is production, whose deployment and
    stages are stored). Columns: ``id``, ``repository_id``, ``author_id``, ``created_at``,
    ``ready_at``, ``merged_at``, ``additions``, ``deletions``, ``changed_lines``, ``size``,
    ``first_commit_at``, ``first_review_at``, ``deployed_at``, ``reviews``, ``approved`` and the
    stages of ``STAGES``. Use it as a subquery to pool stages over any grouping (teams,
    projects, buckets). With ``page``, only the first ``:limit`` PRs by ``merged_at``, id.
    """
    tail = "ORDER BY st.merged_at, st.pull_request_id LIMIT :limit" if page else ""
    columns = f"""
        st.pull_request_id AS id, st.repository_id, st.author_id, st.created_at, st.ready_at,
        st.merged_at, st.additions, st.deletions, {CHANGED_LINES_SQL} AS changed_lines,
        {size_sql(CHANGED_LINES_SQL)} AS size, st.first_commit_at, st.first_review_at,
        st.review_count AS reviews, st.approved, st.coding_hours, st.pickup_hours, st.review_hours
    """
    where = f"st.merged_at >= :start AND st.merged_at < :end AND ({condition})"
    if environment == PRODUCTION:
        return f"""
            SELECT {columns}, st.production_deployed_at AS deployed_at, st.deploy_hours, st.cycle_hours
            FROM pull_request_stages st
            WHERE {where}
            {tail}
        """
    # Another environment: its first deployment is looked up, its two stages computed here.
    stages = stage_hours_sql("d")
    return f"""
        SELECT d.*, {stages["deploy_hours"]} AS deploy_hours, {stages["cycle_hours"]} AS cycle_hours
        FROM (
            SELECT {columns}, dep.finished_at AS deployed_at
            FROM pull_request_stages st
            LEFT JOIN LATERAL (
                SELECT cfd.finished_at
                FROM pull_requests pr
                JOIN commits mc ON mc.repository_id = pr.repository_id AND mc.sha = pr.merge_commit_sha
                JOIN commit_first_deployments cfd
                  ON cfd.commit_id = mc.id AND cfd.environment = :environment
                WHERE pr.id = st.pull_request_id
            ) dep ON TRUE
            WHERE {where}
            {tail}
        ) d
    """


def _median(column: str) -> str:
    return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {column})"


MEDIANS_SQL = ", ".join(f"{_median(stage)} AS median_{stage}" for stage in STAGES)


def _condition(scope: Scope, pr_filter: PullRequestFilter | None) -> tuple[str, dict[str, Any]]:
    scope_sql, scope_params = repository_filter(scope, "st.repository_id")
    filter_sql, filter_params = (pr_filter or PullRequestFilter()).sql()
    return f"{scope_sql} AND {filter_sql}", {**scope_params, **filter_params}


def _params(window: Window, environment: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {**window_params(window), "environment": environment, **extra}


def _listed_sql(stages: str) -> str:
    """``stages`` (a ``stages_sql``) with each PR's ``repository`` key, ``number``, ``title``,
    ``labels`` and ``author`` login."""
    return f"""
        SELECT s.*, r.key AS repository, pr.number, pr.title, pr.labels, a.login AS author
        FROM ({stages}) s
        JOIN pull_requests pr ON pr.id = s.id
        JOIN repositories r ON r.id = s.repository_id
        LEFT JOIN contributors a ON a.id = s.author_id
    """


def stage_rows(
    connection: Connection,
    *,
    window: Window,
    scope: Scope,
    environment: str = PRODUCTION,
    pr_filter: PullRequestFilter | None = None,
) -> list[dict[str, Any]]:
    """The stages of every merged PR in the window and scope, ordered by ``merged_at``, id."""
    condition, params = _condition(scope, pr_filter)
    rows = connection.execute(
        text(f"{_listed_sql(stages_sql(condition, environment=environment))} ORDER BY s.merged_at, s.id"),
        _params(window, environment, params),
    )
    return [dict(row) for row in rows.mappings()]


def stage_summary(
    connection: Connection,
    *,
    window: Window,
    scope: Scope,
    environment: str = PRODUCTION,
    pr_filter: PullRequestFilter | None = None,
) -> dict[str, Any]:
    """Pooled over every merged PR in the window and scope: the count and each stage's median."""
    condition, params = _condition(scope, pr_filter)
    row = (
        connection.execute(
            text(
                f"SELECT count(*) AS count, {MEDIANS_SQL} FROM ({stages_sql(condition, environment=environment)}) s"
            ),
            _params(window, environment, params),
        )
        .mappings()
        .one()
    )
    return dict(row)


def encode_cursor(merged_at: dt.datetime, pull_request_id: int) -> str:
    """The opaque cursor after a PR: base64 of ``[merged_at, id]``."""
    raw = json.dumps([merged_at.isoformat(), pull_request_id]).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[dt.datetime, int]:
    """``(merged_at, id)`` from a cursor; 422 ``invalid_cursor`` when it is not one of ours."""
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        merged_at, pull_request_id = json.loads(raw)
        position = dt.datetime.fromisoformat(merged_at)
        if position.tzinfo is None or not isinstance(pull_request_id, int):
            raise ValueError("not a cursor")
    except (ValueError, TypeError, binascii.Error, UnicodeDecodeError) as error:
        raise ApiError(422, "invalid_cursor", "The cursor is not valid.") from error
    return position, pull_request_id


def _iso(value: dt.datetime | None) -> str | None:
    return value.isoformat() if value is not None else None


def _item(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "repository": row["repository"],
        "number": row["number"],
        "author": row["author"],
        "title": row["title"],
        "created_at": _iso(row["created_at"]),
        "ready_at": _iso(row["ready_at"]),
        "merged_at": _iso(row["merged_at"]),
        "first_commit_at": _iso(row["first_commit_at"]),
        "first_review_at": _iso(row["first_review_at"]),
        "deployed_at": _iso(row["deployed_at"]),
        "additions": row["additions"],
        "deletions": row["deletions"],
        "size": row["size"],
        "labels": list(row["labels"] or []),
        "reviews": row["reviews"],
        "approved": row["approved"],
        **{stage: row[stage] for stage in STAGES},
    }


def pull_requests_page(
    connection: Connection,
    *,
    window: Window,
    scope: Scope,
    environment: str = PRODUCTION,
    pr_filter: PullRequestFilter | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """``items`` (one page, by ``merged_at`` then id), ``next_cursor`` and the pooled ``summary``."""
    condition, params = _condition(scope, pr_filter)
    page_condition = condition
    if cursor is not None:
        after_merged_at, after_id = decode_cursor(cursor)
        page_condition += " AND (st.merged_at, st.pull_request_id) > (:after_merged_at, :after_id)"
        params = {**params, "after_merged_at": after_merged_at, "after_id": after_id}
    rows = (
        connection.execute(
            text(
                f"{_listed_sql(stages_sql(page_condition, page=True, environment=environment))} "
                "ORDER BY s.merged_at, s.id"
            ),
            _params(window, environment, {**params, "limit": limit + 1}),
        )
        .mappings()
        .all()
    )
    page = rows[:limit]
    next_cursor = encode_cursor(page[-1]["merged_at"], page[-1]["id"]) if len(rows) > limit else None
    summary = stage_summary(
        connection, window=window, scope=scope, environment=environment, pr_filter=pr_filter
    )
    return {"items": [_item(row) for row in page], "next_cursor": next_cursor, "summary": summary}


def trends(
    connection: Connection,
    *,
    window: Window,
    scope: Scope,
    interval: str,
    environment: str = PRODUCTION,
    pr_filter: PullRequestFilter | None = None,
) -> list[dict[str, Any]]:
    """Per bucket of ``merged_at``: count, stage medians and the share merged without approval.

    ``without_approval_share`` = merged PRs without an approving review by a non-author (non-bot) at or
    before the merge / merged PRs; null in a bucket without PRs.
    """
    condition, params = _condition(scope, pr_filter)
    rows = connection.execute(
        text(
            f"""
            SELECT buckets.period_start,
                   count(s.id) AS count,
                   {MEDIANS_SQL},
                   count(s.id) FILTER (WHERE NOT s.approved) AS without_approval,
                   CAST(count(s.id) FILTER (WHERE NOT s.approved) AS double precision)
                       / nullif(count(s.id), 0) AS without_approval_share
            FROM {buckets_sql(interval)}
            LEFT JOIN ({stages_sql(condition, environment=environment)}) s
              ON {bucket_of("s.merged_at", interval)} = buckets.period_start
            GROUP BY buckets.period_start
            ORDER BY buckets.period_start
            """
        ),
        _params(window, environment, params),
    )
    return [{**row, "period_start": row["period_start"].isoformat()} for row in rows.mappings()]
