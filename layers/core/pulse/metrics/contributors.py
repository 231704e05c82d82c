"""Contributor stats: who commits, opens, merges and reviews, and who carries review load.

Counted over the window and the scoped repositories (a ``team`` filter selects the team's
repositories, not the contributor's team). Bots are never listed and never count as reviewers.

- ``commits``: commits authored in the window.
- ``pull_requests_opened`` / ``pull_requests_merged``: PRs they authored created / merged in it.
- ``reviews_given``: reviews (any state) they submitted in the window on someone else's PR.
- ``reviews_received``: reviews by non-bots other than them submitted in the window on their PRs.
- ``median_pickup_hours``: as a reviewer; per PR of someone else they reviewed, their own first
  review at or after ``ready_at`` (or ``created_at``) minus that instant, over the PRs whose
  such first review falls in the window.
- ``active_days``: distinct days (in ``tz``) with a commit authored, a PR opened or a review given.
- ``heatmap``: the same activity by weekday × hour in ``tz``: ``heatmap[weekday][hour]``, 7 rows
  (Monday first) of 24 counts.

A page is found first (who has any event, by login), then only its contributors' events are
counted.
"""

from __future__ import annotations

import base64
import binascii
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Connection, text

from pulse.auth.scope import Scope
from pulse.errors import ApiError
from pulse.metrics.common import Window, repository_filter
from pulse.metrics.series import window_params

DEFAULT_LIMIT = 50
MAX_LIMIT = 500
COLLABORATORS = 10
ACTIVITY = ("commit", "opened", "given")  # the kinds that make a day active

_WINDOW_REVIEW = """
    SELECT r.id, r.pull_request_id, r.reviewer_id, st.author_id, r.submitted_at,
           who.is_bot AS by_bot, coalesce(st.ready_at, st.created_at) AS ready_at
    FROM reviews r
    JOIN pull_request_stages st ON st.pull_request_id = r.pull_request_id
    JOIN contributors who ON who.id = r.reviewer_id
    WHERE r.submitted_at >= :start AND r.submitted_at < :end AND {scope}
      AND r.reviewer_id IS DISTINCT FROM st.author_id
"""


def events_sql(scope: Scope, *, people: bool = False) -> tuple[str, dict[str, Any]]:
    """CTEs ``window_reviews`` and ``events`` (``contributor_id``, ``kind``, ``at``) for a WITH.

    Kinds: ``commit``, ``opened``, ``merged``, ``given`` (review on another's PR), ``received``
    (a non-bot's review on the contributor's PR). ``window_reviews`` holds each review of the
    window on someone else's PR once, for both review kinds and the pickups. With ``people``,
    only the events of ``:contributor_ids`` are read.
    """
    commits, params = repository_filter(scope, "c.repository_id")
    prs, _ = repository_filter(scope, "pr.repository_id")
    merged, _ = repository_filter(scope, "st.repository_id")
    reviews = _WINDOW_REVIEW.format(scope=repository_filter(scope, "r.repository_id")[0])
    only = {"commit": "", "opened": "", "merged": ""}
    if people:
        only = {
            "commit": "AND c.author_id = ANY(:contributor_ids)",
            "opened": "AND pr.author_id = ANY(:contributor_ids)",
            "merged": "AND st.author_id = ANY(:contributor_ids)",
        }
        # Reviews they gave, and reviews of the PRs they authored (a UNION: two index paths).
        reviews = f"""
            {reviews} AND r.reviewer_id = ANY(:contributor_ids)
            UNION
            {reviews} AND st.author_id = ANY(:contributor_ids)
        """
    sql = f"""
        window_reviews AS MATERIALIZED ({reviews}),
        events AS (
            SELECT c.author_id AS contributor_id, 'commit' AS kind, c.authored_at AS at
            FROM commits c
            WHERE c.authored_at >= :start AND c.authored_at < :end AND {commits} {only["commit"]}
            UNION ALL
            SELECT pr.author_id, 'opened', pr.created_at
            FROM pull_requests pr
            WHERE pr.created_at >= :start AND pr.created_at < :end AND {prs} {only["opened"]}
            UNION ALL
            SELECT st.author_id, 'merged', st.merged_at
            FROM pull_request_stages st
            WHERE st.merged_at >= :start AND st.merged_at < :end AND {merged} {only["merged"]}
            UNION ALL
            SELECT w.reviewer_id, 'given', w.submitted_at FROM window_reviews w
            UNION ALL
            SELECT w.author_id, 'received', w.submitted_at FROM window_reviews w WHERE NOT w.by_bot
        )
    """
    return sql, params


def listed_sql(scope: Scope) -> tuple[str, dict[str, Any]]:
    """A SELECT of the non-bot contributors (``id``, ``login``, ``name``) with an event.

    The same events as ``events_sql``, each source probed as a hashed set rather than appended
    and grouped: far fewer rows move than in an org-wide window's events.
    """
    commits, params = repository_filter(scope, "c.repository_id")
    prs, _ = repository_filter(scope, "pr.repository_id")
    merged, _ = repository_filter(scope, "st.repository_id")
    reviews = _WINDOW_REVIEW.format(scope=repository_filter(scope, "r.repository_id")[0])
    sql = f"""
        WITH window_reviews AS MATERIALIZED ({reviews})
        SELECT ct.id, ct.login, ct.name
        FROM contributors ct
        WHERE NOT ct.is_bot AND (
            ct.id IN (
                SELECT c.author_id FROM commits c
                WHERE c.authored_at >= :start AND c.authored_at < :end AND {commits}
            )
            OR ct.id IN (
                SELECT pr.author_id FROM pull_requests pr
                WHERE pr.created_at >= :start AND pr.created_at < :end AND {prs}
            )
            OR ct.id IN (
                SELECT st.author_id FROM pull_request_stages st
                WHERE st.merged_at >= :start AND st.merged_at < :end AND {merged}
            )
            OR ct.id IN (SELECT w.reviewer_id FROM window_reviews w)
            OR ct.id IN (SELECT w.author_id FROM window_reviews w WHERE NOT w.by_bot)
        )
    """
    return sql, params


# A reviewer's pickup of a PR: their first review at or after ready (or created), when that first
# review falls in the window (no earlier one before the window starts).
PICKUPS_SQL = """
    pickups AS (
        SELECT p.reviewer_id AS contributor_id,
               percentile_cont(0.5) WITHIN GROUP (ORDER BY p.hours) AS median_pickup_hours,
               count(*) AS pickups
        FROM (
            SELECT w.reviewer_id, date_part('epoch', min(w.submitted_at) - w.ready_at) / 3600 AS hours
            FROM window_reviews w
            WHERE w.submitted_at >= w.ready_at
              AND (w.ready_at >= :start OR NOT EXISTS (
                  SELECT 1 FROM reviews earlier
                  WHERE earlier.pull_request_id = w.pull_request_id
                    AND earlier.reviewer_id = w.reviewer_id
                    AND earlier.submitted_at < :start
                    AND earlier.submitted_at >= w.ready_at
              ))
            GROUP BY w.reviewer_id, w.pull_request_id, w.ready_at
        ) p
        GROUP BY p.reviewer_id
    )
"""


def stats_sql(scope: Scope) -> tuple[str, dict[str, Any]]:
    """The stats and heatmap cells of each of ``:contributor_ids`` that has an event.

    One row per contributor; ``cells`` is an array of ``[weekday * 24 + hour, count]`` pairs
    (weekday 0 = Monday, in ``tz``), one per non-empty cell.
    """
    events, params = events_sql(scope, people=True)
    activity = " + ".join(f"n_{kind}" for kind in ACTIVITY)
    kinds = ", ".join(f"'{kind}'" for kind in ACTIVITY)
    # Counted per contributor and day first, so active days need no DISTINCT sort; the events
    # CTE is read twice (days, heatmap cells), so PostgreSQL computes it once.
    sql = f"""
        WITH {events}, {PICKUPS_SQL},
        daily AS (
            SELECT e.contributor_id,
                   count(*) FILTER (WHERE e.kind = 'commit') AS n_commit,
                   count(*) FILTER (WHERE e.kind = 'opened') AS n_opened,
                   count(*) FILTER (WHERE e.kind = 'merged') AS n_merged,
                   count(*) FILTER (WHERE e.kind = 'given') AS n_given,
                   count(*) FILTER (WHERE e.kind = 'received') AS n_received
            FROM events e
            WHERE e.contributor_id = ANY(:contributor_ids)
            GROUP BY e.contributor_id, CAST(e.at AT TIME ZONE :tz AS date)
        ),
        cells AS (
            SELECT slots.contributor_id, array_agg(ARRAY[slots.slot, slots.n]) AS cells
            FROM (
                SELECT e.contributor_id,
                       CAST((extract(isodow FROM e.at AT TIME ZONE :tz) - 1) * 24
                            + extract(hour FROM e.at AT TIME ZONE :tz) AS integer) AS slot,
                       CAST(count(*) AS integer) AS n
                FROM events e
                WHERE e.kind IN ({kinds}) AND e.contributor_id = ANY(:contributor_ids)
                GROUP BY 1, 2
            ) slots
            GROUP BY slots.contributor_id
        )
        SELECT t.*, p.median_pickup_hours, coalesce(p.pickups, 0) AS pickups, c.cells
        FROM (
            SELECT d.contributor_id AS id,
                   CAST(sum(d.n_commit) AS bigint) AS commits,
                   CAST(sum(d.n_opened) AS bigint) AS pull_requests_opened,
                   CAST(sum(d.n_merged) AS bigint) AS pull_requests_merged,
                   CAST(sum(d.n_given) AS bigint) AS reviews_given,
                   CAST(sum(d.n_received) AS bigint) AS reviews_received,
                   count(*) FILTER (WHERE {activity} > 0) AS active_days
            FROM daily d
            GROUP BY d.contributor_id
        ) t
        LEFT JOIN pickups p ON p.contributor_id = t.id
        LEFT JOIN cells c ON c.contributor_id = t.id
    """
    return sql, params


def empty_heatmap() -> list[list[int]]:
    """Seven rows (Monday first) of 24 zero counts."""
    return [[0] * 24 for _ in range(7)]


def _zero_stats() -> dict[str, Any]:
    return {
        "commits": 0,
        "pull_requests_opened": 0,
        "pull_requests_merged": 0,
        "reviews_given": 0,
        "reviews_received": 0,
        "median_pickup_hours": None,
        "pickups": 0,
        "active_days": 0,
    }


def contributor_stats(
    connection: Connection, *, window: Window, scope: Scope, people: Sequence[Mapping[Any, Any]]
) -> list[dict[str, Any]]:
    """``login``, ``name``, the stats and ``heatmap`` of each of ``people`` (rows with ``id``,
    ``login``, ``name``), in their order; zeros and nulls for one without events."""
    if not people:
        return []
    bound = {**window_params(window), "contributor_ids": [person["id"] for person in people]}
    query, params = stats_sql(scope)
    stats = {row["id"]: dict(row) for row in connection.execute(text(query), {**bound, **params}).mappings()}
    items = []
    for person in people:
        found = stats.get(person["id"], {})
        heatmap = empty_heatmap()
        for slot, count in found.get("cells") or ():
            heatmap[slot // 24][slot % 24] = count
        values = {key: found.get(key, zero) for key, zero in _zero_stats().items()}
        items.append({"login": person["login"], "name": person["name"], **values, "heatmap": heatmap})
    return items


def encode_cursor(login: str) -> str:
    """The opaque cursor after ``login``."""
    return base64.urlsafe_b64encode(login.encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> str:
    """The login a cursor points after; 422 ``invalid_cursor`` when it is not one of ours."""
    try:
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (ValueError, binascii.Error, UnicodeDecodeError) as error:
        raise ApiError(422, "invalid_cursor", "The cursor is not valid.") from error


def contributors_page(
    connection: Connection,
    *,
    window: Window,
    scope: Scope,
    limit: int = DEFAULT_LIMIT,
    cursor: str | None = None,
) -> dict[str, Any]:
    """Every non-bot contributor with an event in the window and scope, by login, one page."""
    after = decode_cursor(cursor) if cursor is not None else None
    listed, params = listed_sql(scope)
    rows = (
        connection.execute(
            text(
                f"""
                WITH listed AS ({listed})
                SELECT listed.*, (SELECT count(*) FROM listed) AS total
                FROM listed
                WHERE CAST(:after AS text) IS NULL OR listed.login > :after
                ORDER BY listed.login
                LIMIT :limit
                """
            ),
            {**window_params(window), **params, "after": after, "limit": limit + 1},
        )
        .mappings()
        .all()
    )
    page = rows[:limit]
    if rows:
        total = int(rows[0]["total"])
    else:  # a page past the last one
        count = text(f"SELECT count(*) FROM ({listed}) listed")
        total = int(connection.execute(count, {**window_params(window), **params}).scalar_one())
    return {
        "items": contributor_stats(connection, window=window, scope=scope, people=page),
        "next_cursor": encode_cursor(page[-1]["login"]) if len(rows) > limit else None,
        "total": total,
    }


def collaborators_sql(scope: Scope, *, direction: str) -> tuple[str, dict[str, Any]]:
    """Top reviewers of ``:contributor_id``'s PRs (``reviewed_by``) or authors they review."""
    prs, params = repository_filter(scope, "pr.repository_id")
    subject, other = ("pr.author_id", "r.reviewer_id")
    if direction == "reviews":
        subject, other = other, subject
    sql = f"""
        SELECT other.login, other.name, count(*) AS reviews, count(DISTINCT pr.id) AS pull_requests
        FROM reviews r
        JOIN pull_requests pr ON pr.id = r.pull_request_id
        JOIN contributors other ON other.id = {other}
        WHERE r.submitted_at >= :start AND r.submitted_at < :end AND {prs}
          AND {subject} = :contributor_id AND {other} <> :contributor_id AND NOT other.is_bot
        GROUP BY other.id
        ORDER BY reviews DESC, other.login
        LIMIT {COLLABORATORS}
    """
    return sql, params


def contributor_detail(connection: Connection, *, window: Window, scope: Scope, login: str) -> dict[str, Any]:
    """One contributor's stats and heatmap, with who reviews them most and whom they review most.

    404 for an unknown login or a bot.
    """
    found = (
        connection.execute(
            text("SELECT id, login, name, is_bot FROM contributors WHERE login = :login"), {"login": login}
        )
        .mappings()
        .one_or_none()
    )
    if found is None or found["is_bot"]:
        raise ApiError(404, "contributor_not_found", f"Unknown contributor '{login}'.")
    [stats] = contributor_stats(connection, window=window, scope=scope, people=[found])
    bound = {**window_params(window), "contributor_id": found["id"]}

    def top(direction: str) -> list[dict[str, Any]]:
        sql, extra = collaborators_sql(scope, direction=direction)
        return [dict(item) for item in connection.execute(text(sql), {**bound, **extra}).mappings()]

    return {
        "contributor": stats,
        "collaboration": {"reviewed_by": top("reviewed_by"), "reviews": top("reviews")},
    }
