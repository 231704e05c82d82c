"""Repository insights: when work happens, how PRs flow and how much depends on whom.

Over one repository and the window (``tz`` for days, weeks and heatmaps):
- ``commits.heatmap[weekday][hour]`` (Monday first) and ``commits.weekly`` (Monday weeks
  overlapping the window, empty weeks included) of commits authored in the window, bots' commits
  left out (they are not people's working hours).
- ``pull_requests.size_distribution``: merged PRs of the window per size (``pull_requests.SIZES``,
  plus ``unknown`` when neither additions nor deletions are known).
- ``review``: over merged PRs of the window, ``coverage`` = share with an approving review by a
  non-author non-bot at or before the merge; ``self_merge_rate`` = share merged without any
  review by a non-author non-bot before the merge (the ingest format has no ``merged_by``, so a
  PR merged with nobody else's review is what we can call self-merged).
- ``branches``: ``default_branch_share`` = share of PRs opened in the window whose base is the
  repository's default branch (over those where both are known); ``median_lifetime_hours`` over
  PRs merged or closed in the window (``merged_at`` or ``closed_at`` minus ``created_at``);
  ``open_over_30_days`` = PRs still open at the window's end that were opened more than 30 days
  before it.
- ``releases``: ``median_days_between`` consecutive successful deployments to the environment
  finishing in the window (null with fewer than two).
- ``knowledge``: the smallest number of (non-bot, known) authors whose commits make at least
  half of the window's commits by known non-bot authors, and the share those authors hold.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import Connection, text

from pulse.auth.scope import Scope
from pulse.metrics.common import Window
from pulse.metrics.contributors import empty_heatmap
from pulse.metrics.pull_requests import SIZES, stages_sql
from pulse.metrics.series import buckets_sql, window_params

STALE_DAYS = 30


def _repository_ids(scope: Scope) -> list[int]:
    return list(scope.repository_ids or ())


def commit_activity(connection: Connection, *, window: Window, repository_ids: list[int]) -> dict[str, Any]:
    """Commit heatmap (weekday × hour in ``tz``) and weekly counts."""
    params = {**window_params(window), "repository_ids": repository_ids}
    heatmap = empty_heatmap()
    for row in connection.execute(
        text(
            """
            SELECT CAST(extract(isodow FROM c.authored_at AT TIME ZONE :tz) AS integer) - 1 AS weekday,
                   CAST(extract(hour FROM c.authored_at AT TIME ZONE :tz) AS integer) AS hour,
                   count(*) AS count
            FROM commits c
            WHERE c.repository_id = ANY(:repository_ids) AND c.authored_at >= :start AND c.authored_at < :end
              AND NOT EXISTS (SELECT 1 FROM contributors who WHERE who.id = c.author_id AND who.is_bot)
            GROUP BY 1, 2
            """
        ),
        params,
    ):
        heatmap[row.weekday][row.hour] = row.count
    weekly = connection.execute(
        text(
            f"""
            SELECT buckets.period_start, count(c.id) AS commits
            FROM {buckets_sql("week")}
            LEFT JOIN commits c
              ON c.repository_id = ANY(:repository_ids)
             AND c.authored_at >= :start AND c.authored_at < :end
             AND date_trunc('week', c.authored_at AT TIME ZONE :tz)::date = buckets.period_start
             AND NOT EXISTS (SELECT 1 FROM contributors who WHERE who.id = c.author_id AND who.is_bot)
            GROUP BY buckets.period_start
            ORDER BY buckets.period_start
            """
        ),
        params,
    )
    return {
        "total": sum(sum(row) for row in heatmap),
        "heatmap": heatmap,
        "weekly": [{"period_start": row.period_start.isoformat(), "commits": row.commits} for row in weekly],
    }


def pull_request_health(
    connection: Connection, *, window: Window, repository_ids: list[int], environment: str
) -> dict[str, Any]:
    """Size distribution, review coverage and self-merge rate of the window's merged PRs."""
    row = (
        connection.execute(
            text(
                f"""
                SELECT count(*) AS merged,
                       {", ".join(f"count(*) FILTER (WHERE s.size = '{size}') AS size_{size}" for size in SIZES)},
                       count(*) FILTER (WHERE s.size IS NULL) AS size_unknown,
                       count(*) FILTER (WHERE s.approved) AS approved,
                       count(*) FILTER (WHERE NOT EXISTS (
                           SELECT 1 FROM reviews r JOIN contributors who ON who.id = r.reviewer_id
                           WHERE r.pull_request_id = s.id AND r.submitted_at <= s.merged_at
                             AND r.reviewer_id IS DISTINCT FROM s.author_id AND NOT who.is_bot
                       )) AS self_merged
                FROM ({stages_sql("st.repository_id = ANY(:repository_ids)", environment=environment)}) s
                """
            ),
            {**window_params(window), "repository_ids": repository_ids, "environment": environment},
        )
        .mappings()
        .one()
    )
    merged = row["merged"]
    return {
        "merged": merged,
        "size_distribution": {
            **{size: row[f"size_{size}"] for size in SIZES},
            "unknown": row["size_unknown"],
        },
        "review": {
            "approved": row["approved"],
            "coverage": row["approved"] / merged if merged else None,
            "self_merged": row["self_merged"],
            "self_merge_rate": row["self_merged"] / merged if merged else None,
        },
    }


def branch_strategy(connection: Connection, *, window: Window, repository_ids: list[int]) -> dict[str, Any]:
    """Default-branch share, median PR lifetime and PRs open for over 30 days at the window's end."""
    row = (
        connection.execute(
            text(
                """
                SELECT
                    (SELECT count(*) FROM pull_requests pr JOIN repositories r ON r.id = pr.repository_id
                     WHERE pr.repository_id = ANY(:repository_ids)
                       AND pr.created_at >= :start AND pr.created_at < :end
                       AND pr.base_branch IS NOT NULL AND r.default_branch IS NOT NULL) AS opened_known,
                    (SELECT count(*) FROM pull_requests pr JOIN repositories r ON r.id = pr.repository_id
                     WHERE pr.repository_id = ANY(:repository_ids)
                       AND pr.created_at >= :start AND pr.created_at < :end
                       AND pr.base_branch = r.default_branch) AS into_default,
                    (SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY
                                date_part('epoch', coalesce(pr.merged_at, pr.closed_at) - pr.created_at) / 3600)
                     FROM pull_requests pr
                     WHERE pr.repository_id = ANY(:repository_ids)
                       AND coalesce(pr.merged_at, pr.closed_at) >= :start
                       AND coalesce(pr.merged_at, pr.closed_at) < :end
                       AND coalesce(pr.merged_at, pr.closed_at) >= pr.created_at) AS median_lifetime_hours,
                    (SELECT count(*) FROM pull_requests pr
                     WHERE pr.repository_id = ANY(:repository_ids)
                       AND pr.state IS NOT NULL
                       AND pr.created_at < CAST(:end AS timestamptz) - make_interval(days => :stale_days)
                       AND (pr.state = 'open' OR coalesce(pr.merged_at, pr.closed_at) >= :end)
                    ) AS open_over_30_days
                """
            ),
            {**window_params(window), "repository_ids": repository_ids, "stale_days": STALE_DAYS},
        )
        .mappings()
        .one()
    )
    known = row["opened_known"]
    return {
        "opened_with_known_base": known,
        "into_default_branch": row["into_default"],
        "default_branch_share": row["into_default"] / known if known else None,
        "median_lifetime_hours": row["median_lifetime_hours"],
        "open_over_30_days": row["open_over_30_days"],
    }


def release_cadence(
    connection: Connection, *, window: Window, repository_ids: list[int], environment: str
) -> dict[str, Any]:
    """Median days between consecutive successful deployments finishing in the window."""
    row = connection.execute(
        text(
            """
            SELECT count(*) AS deployments,
                   percentile_cont(0.5) WITHIN GROUP (ORDER BY gap_days) AS median_days_between
            FROM (
                SELECT date_part('epoch', finished_at - lag(finished_at) OVER (
                           PARTITION BY repository_id ORDER BY finished_at, id)) / 86400 AS gap_days
                FROM deployments
                WHERE repository_id = ANY(:repository_ids) AND environment = :environment
                  AND status = 'success' AND finished_at >= :start AND finished_at < :end
            ) gaps
            """
        ),
        {**window_params(window), "repository_ids": repository_ids, "environment": environment},
    ).one()
    return {"deployments": row.deployments, "median_days_between": row.median_days_between}


def knowledge_concentration(
    connection: Connection, *, window: Window, repository_ids: list[int]
) -> dict[str, Any]:
    """The fewest authors holding at least half of the window's commits, and their share."""
    rows = connection.execute(
        text(
            """
            SELECT ct.login, count(*) AS commits,
                   sum(count(*)) OVER (ORDER BY count(*) DESC, ct.login) AS running,
                   sum(count(*)) OVER () AS total
            FROM commits c JOIN contributors ct ON ct.id = c.author_id AND NOT ct.is_bot
            WHERE c.repository_id = ANY(:repository_ids) AND c.authored_at >= :start AND c.authored_at < :end
            GROUP BY ct.login
            ORDER BY commits DESC, ct.login
            """
        ),
        {**window_params(window), "repository_ids": repository_ids},
    ).all()
    if not rows:
        return {"commits": 0, "authors": 0, "contributors": None, "share": None, "top": []}
    total = int(rows[0].total)
    top = []
    for row in rows:
        top.append({"login": row.login, "commits": row.commits})
        if 2 * int(row.running) >= total:
            break
    held = int(rows[len(top) - 1].running)
    return {
        "commits": total,
        "authors": len(rows),
        "contributors": len(top),
        "share": held / total,
        "top": top,
    }


def insights(
    connection: Connection, *, window: Window, scope: Scope, environment: str = "production"
) -> dict[str, Any]:
    """Every insight of the scoped repository (the scope names exactly one, or none visible)."""
    ids = _repository_ids(scope)
    return {
        "commits": commit_activity(connection, window=window, repository_ids=ids),
        "pull_requests": pull_request_health(
            connection, window=window, repository_ids=ids, environment=environment
        ),
        "branches": branch_strategy(connection, window=window, repository_ids=ids),
        "releases": release_cadence(connection, window=window, repository_ids=ids, environment=environment),
        "knowledge": knowledge_concentration(connection, window=window, repository_ids=ids),
    }
