"""Code quality per repository: the latest measurements, their change and a series.

Over ``quality`` records measured in the window, each field on its own (a record may carry only
some fields):
- ``latest``: the field's value in the last measurement of the window that has it;
- ``change``: that value minus the field's value in the first measurement of the window that
  has it (0 with a single measurement; null when the field was never measured);
- ``series``: per ``interval`` bucket, the field's last value measured in the bucket (null in a
  bucket without one), empty buckets included.
Repositories in scope without a measurement in the window are not listed. Coverage and
duplication are fractions (0..1), as ingested.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, text

from pulse.auth.scope import Scope
from pulse.metrics.common import Window, repository_filter
from pulse.metrics.series import bucket_of, buckets_sql, window_params

FIELDS = ("coverage", "complexity", "duplication", "issues", "vulnerabilities")


def _last(field: str, order: str = "DESC") -> str:
    return f"(array_agg(q.{field} ORDER BY q.measured_at {order}) FILTER (WHERE q.{field} IS NOT NULL))[1]"


def code_quality(
    connection: Connection, *, window: Window, scope: Scope, interval: str, with_series: bool = True
) -> list[dict[str, Any]]:
    """One item per repository in scope measured in the window, ordered by repository key.

    ``with_series=False`` leaves ``series`` empty (portfolio rollups need only ``latest``).
    """
    condition, params = repository_filter(scope, "q.repository_id")
    bound = {**window_params(window), **params}
    in_window = f"q.measured_at >= :start AND q.measured_at < :end AND {condition}"
    latest = ", ".join(
        f"{_last(field)} AS latest_{field}, {_last(field, 'ASC')} AS first_{field}" for field in FIELDS
    )
    summary = (
        connection.execute(
            text(
                f"""
            SELECT r.id, r.key, count(*) AS measurements, max(q.measured_at) AS measured_at, {latest}
            FROM quality_measurements q JOIN repositories r ON r.id = q.repository_id
            WHERE {in_window}
            GROUP BY r.id
            ORDER BY r.key
            """
            ),
            bound,
        )
        .mappings()
        .all()
    )
    if not summary:
        return []
    series: dict[int, list[dict[str, Any]]] = {row["id"]: [] for row in summary}
    if not with_series:
        return [_item(row, series) for row in summary]
    per_bucket = ", ".join(f"{_last(field)} AS {field}" for field in FIELDS)
    for row in connection.execute(
        text(
            f"""
            SELECT repos.id AS repository_id, buckets.period_start, {per_bucket}
            FROM {buckets_sql(interval)}
            CROSS JOIN (SELECT unnest(CAST(:measured AS integer[])) AS id) repos
            LEFT JOIN quality_measurements q
              ON q.repository_id = repos.id AND q.measured_at >= :start AND q.measured_at < :end
             AND {bucket_of("q.measured_at", interval)} = buckets.period_start
            GROUP BY repos.id, buckets.period_start
            ORDER BY repos.id, buckets.period_start
            """
        ),
        {**bound, "measured": list(series)},
    ).mappings():
        series[row["repository_id"]].append(
            {"period_start": row["period_start"].isoformat(), **{field: row[field] for field in FIELDS}}
        )
    return [_item(row, series) for row in summary]


def _item(row: Mapping[Any, Any], series: Mapping[int, list[dict[str, Any]]]) -> dict[str, Any]:
    return {
        "repository": row["key"],
        "measurements": row["measurements"],
        "measured_at": row["measured_at"].isoformat(),
        "latest": {field: row[f"latest_{field}"] for field in FIELDS},
        "change": {field: _change(row[f"latest_{field}"], row[f"first_{field}"]) for field in FIELDS},
        "series": series[row["id"]],
    }


def _change(latest: float | None, first: float | None) -> float | None:
    """``latest - first``, rounded so 0.7 - 0.8 reads -0.1 rather than float noise."""
    if latest is None or first is None:
        return None
    return round(latest - first, 10)
