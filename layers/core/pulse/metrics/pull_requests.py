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
DEFAULT_LIMIT = 50
MAX_LIMIT = 500

CHANGED_LINES_SQL = (
    "CASE WHEN pr.additions IS NULL AND pr.deletions IS NULL THEN NULL "
    "ELSE coalesce(pr.additions, 0) + coalesce(pr.deletions, 0) END"
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
    return (
        f"CASE WHEN {later} >= {earlier} "
        f"THEN CAST(extract(epoch FROM {later} - {earlier}) AS double precision) / 3600 END"
    )


@dataclass(frozen=True)
class PullRequestFilter:
    """Endpoint filters on merged PRs: author login, size bucket, label."""

    author: str | None = None
    size: Size | None = None
    label: str | None = None

    def sql(self) -> tuple[str, dict[str, Any]]:
        """SQL conditions over ``pr`` and their parameters."""
        conditions: list[str] = []
        params: dict[str, Any] = {}
        if self.author is not None:
            conditions.append("pr.author_id = (SELECT id FROM contributors WHERE login = :filter_author)")
            params["filter_author"] = self.author
        if self.size is not None:
            conditions.append(size_condition(self.size))
        if self.label is not None:
            conditions.append("CAST(:filter_label AS text) = ANY(pr.labels)")
            params["filter_label"] = self.label
        return " AND ".join(conditions) or "TRUE", params


def stages_sql(condition: str = "TRUE", *, page: bool = False) -> str:
    """SELECT of every merged PR with ``merged_at`` in ``[:start, :end)`` satisfying ``condition``.

    ``condition`` is over ``pr`` (``pull_requests``). Binds ``:start``, ``:end`` and
    ``:environment``. Columns: ``id``, ``repository_id``, ``number``, ``author_id``, ``title``,
    ``created_at``, ``ready_at``, ``merged_at``, ``base_branch``, ``additions``, ``deletions``,
    ``changed_lines``, ``size``, ``labels``, ``first_commit_at``, ``first_review_at``,
    ``deployed_at``, ``reviews``, ``approved`` and the stages of ``STAGES``. Use it as a subquery
    to pool stages over any grouping (teams, projects, buckets). With ``page``, only the first
    ``:limit`` PRs by ``merged_at``, id get their stages computed.
    """
    tail = "ORDER BY pr.merged_at, pr.id LIMIT :limit" if page else ""
    deploy_known = "d.deployed_at >= d.merged_at"
    cycle_start = (
        "CASE WHEN d.first_commit_at <= d.created_at THEN d.first_commit_at ELSE d.created_at END"
    )
    cycle_end = f"CASE WHEN {deploy_known} THEN d.deployed_at ELSE d.merged_at END"
    return f"""
        SELECT d.*,
               {_hours("d.created_at", "d.first_commit_at")} AS coding_hours,
               {_hours("d.first_review_at", "coalesce(d.ready_at, d.created_at)")} AS pickup_hours,
               {_hours("d.merged_at", "d.first_review_at")} AS review_hours,
               {_hours("d.deployed_at", "d.merged_at")} AS deploy_hours,
               {_hours(cycle_end, cycle_start)} AS cycle_hours
        FROM (
            SELECT pr.id, pr.repository_id, pr.number, pr.author_id, pr.title, pr.created_at,
                   pr.ready_at, pr.merged_at, pr.base_branch, pr.additions, pr.deletions,
                   {CHANGED_LINES_SQL} AS changed_lines, {size_sql(CHANGED_LINES_SQL)} AS size,
                   pr.labels, fc.first_commit_at, rv.first_review_at,
                   coalesce(rv.reviews, 0) AS reviews, coalesce(rv.approved, false) AS approved,
                   dep.deployed_at
            FROM pull_requests pr
            LEFT JOIN LATERAL (
                SELECT min(c.authored_at) AS first_commit_at
                FROM pull_request_commits prc JOIN commits c ON c.id = prc.commit_id
                WHERE prc.pull_request_id = pr.id
            ) fc ON TRUE
            LEFT JOIN LATERAL (
                SELECT min(r.submitted_at) FILTER (
                           WHERE r.submitted_at >= coalesce(pr.ready_at, pr.created_at)
                       ) AS first_review_at,
                       count(*) AS reviews,
                       bool_or(r.state = 'approved' AND r.submitted_at <= pr.merged_at) AS approved
                FROM reviews r JOIN contributors who ON who.id = r.reviewer_id
                WHERE r.pull_request_id = pr.id
                  AND NOT who.is_bot
                  AND r.reviewer_id IS DISTINCT FROM pr.author_id
            ) rv ON TRUE
            LEFT JOIN LATERAL (
                SELECT cfd.finished_at AS deployed_at
                FROM commits mc
                JOIN commit_first_deployments cfd
                  ON cfd.commit_id = mc.id AND cfd.environment = :environment
                WHERE mc.repository_id = pr.repository_id AND mc.sha = pr.merge_commit_sha
            ) dep ON TRUE
            WHERE pr.merged_at >= :start AND pr.merged_at < :end AND ({condition})
            {tail}
        ) d
    """


def _median(column: str) -> str:
    return f"percentile_cont(0.5) WITHIN GROUP (ORDER BY {column})"


MEDIANS_SQL = ", ".join(f"{_median(stage)} AS median_{stage}" for stage in STAGES)


def _condition(scope: Scope, pr_filter: PullRequestFilter | None) -> tuple[str, dict[str, Any]]:
    scope_sql, scope_params = repository_filter(scope, "pr.repository_id")
    filter_sql, filter_params = (pr_filter or PullRequestFilter()).sql()
    return f"{scope_sql} AND {filter_sql}", {**scope_params, **filter_params}


def _params(window: Window, environment: str, extra: Mapping[str, Any]) -> dict[str, Any]:
    return {**window_params(window), "environment": environment, **extra}


def stage_rows(
    connection: Connection,
    *,
    window: Window,
    scope: Scope,
    environment: str = "production",
    pr_filter: PullRequestFilter | None = None,
) -> list[dict[str, Any]]:
    """The stages of every merged PR in the window and scope, ordered by ``merged_at``, id."""
    condition, params = _condition(scope, pr_filter)
    rows = connection.execute(
        text(f"SELECT s.* FROM ({stages_sql(condition)}) s ORDER BY s.merged_at, s.id"),
        _params(window, environment, params),
    )
    return [dict(row) for row in rows.mappings()]


def stage_summary(
    connection: Connection,
    *,
    window: Window,
    scope: Scope,
    environment: str = "production",
    pr_filter: PullRequestFilter | None = None,
) -> dict[str, Any]:
    """Pooled over every merged PR in the window and scope: the count and each stage's median."""
    condition, params = _condition(scope, pr_filter)
    row = (
        connection.execute(
            text(f"SELECT count(*) AS count, {MEDIANS_SQL} FROM ({stages_sql(condition)}) s"),
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


def _item(row: Mapping[str, Any]) -> dict[str, Any]:
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
    environment: str = "production",
    pr_filter: PullRequestFilter | None = None,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """``items`` (one page, by ``merged_at`` then id), ``next_cursor`` and the pooled ``summary``."""
    condition, params = _condition(scope, pr_filter)
    page_condition = condition
    if cursor is not None:
        after_merged_at, after_id = decode_cursor(cursor)
        page_condition += " AND (pr.merged_at, pr.id) > (:after_merged_at, :after_id)"
        params = {**params, "after_merged_at": after_merged_at, "after_id": after_id}
    rows = (
        connection.execute(
            text(
                f"""
                SELECT s.*, r.key AS repository, a.login AS author
                FROM ({stages_sql(page_condition, page=True)}) s
                JOIN repositories r ON r.id = s.repository_id
                LEFT JOIN contributors a ON a.id = s.author_id
                ORDER BY s.merged_at, s.id
                """
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
    environment: str = "production",
    pr_filter: PullRequestFilter | None = None,
) -> list[dict[str, Any]]:
    """Per bucket of ``merged_at``: count, stage medians and the share merged without approval.

    ``unapproved_share`` = merged PRs without an approving review by a non-author (non-bot) at or
    before the merge / merged PRs; null in a bucket without PRs.
    """
    condition, params = _condition(scope, pr_filter)
    rows = connection.execute(
        text(
            f"""
            SELECT buckets.period_start,
                   count(s.id) AS count,
                   {MEDIANS_SQL},
                   count(s.id) FILTER (WHERE NOT s.approved) AS unapproved,
                   CAST(count(s.id) FILTER (WHERE NOT s.approved) AS double precision)
                       / nullif(count(s.id), 0) AS unapproved_share
            FROM {buckets_sql(interval)}
            LEFT JOIN ({stages_sql(condition)}) s
              ON {bucket_of("s.merged_at", interval)} = buckets.period_start
            GROUP BY buckets.period_start
            ORDER BY buckets.period_start
            """
        ),
        _params(window, environment, params),
    )
    return [{**row, "period_start": row["period_start"].isoformat()} for row in rows.mappings()]

