"""Executive dashboard (portfolio-executive.md "Executive dashboard"): KPI cards, trends, risks.

Nothing here defines a metric anew: every figure comes from the module that owns its
definition (``dora``, ``pull_requests``, ``portfolio``, ``quality``, ``repositories``) and is
only compared, forecast or judged here. Decisions where the spec is silent are in
``docs/metrics-decisions.md`` ("Executive"); the ones that shape a figure are repeated below.

**Cards** (org, or a ``team`` / ``project``), each over the window and the previous window of
equal length: ``value``, ``previous``, ``change`` (relative, ``portfolio.relative_change``),
``better`` (true when the value moved the good way, false the bad way, null when equal, when
either is null or when the metric has no good direction), ``n`` and ``previous_n`` (sample
sizes), ``direction`` (``higher`` / ``lower`` / null), ``unit``, and ``tier`` / ``previous_tier``
for the four DORA metrics. Rework rate has no benchmark table in metrics.md, so its tier is null.

**Trends**: the metric per bucket over the *complete* buckets of the window (a partial first or
last week would read as a drop and drag the forecast down), then ``pulse.analytics.smoothing``'s
``forecast_series`` (damped trend with backtest, naive fallback, no forecast under 12 buckets).
Forecast bounds are clipped to the metric's range (no negative counts or hours, rates in [0, 1]).

**Risks**: the eight rules of the spec, thresholds from ``pulse.config`` (``RISK_*``). Teams are
pooled with their sub-teams (``dora.TeamGroups``); "this period" is the window and "previous"
the window just before it; open PRs are those open at the window's end (or now, if earlier).

pandas and numpy live in their own Lambda layers: they are imported inside the functions that
need them, never when this module is imported.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from sqlalchemy import Connection, text

from pulse.auth.caller import Caller
from pulse.auth.scope import Scope
from pulse.config import Settings, get_settings
from pulse.errors import ApiError
from pulse.metrics import dora, portfolio, pull_requests, quality, repositories
from pulse.metrics.common import CommonParams, Window, answer, repository_filter
from pulse.metrics.series import window_params

if TYPE_CHECKING:
    import pandas as pd

Direction = Literal["higher", "lower"] | None
TrendMetric = Literal[
    "deployments",
    "lead_time",
    "change_failure_rate",
    "time_to_restore",
    "cycle_time",
    "throughput",
    "incidents",
]
TREND_METRICS: tuple[TrendMetric, ...] = (
    "deployments",
    "lead_time",
    "change_failure_rate",
    "time_to_restore",
    "cycle_time",
    "throughput",
    "incidents",
)
TREND_INTERVALS = ("week", "month")
DEFAULT_HORIZON = 4
MAX_HORIZON = 12
OPEN_OBJECTIVE = (None, "planned", "in_progress")
SEVERITIES = ("high", "medium", "low")
RISK_KINDS = (
    "delivery_slowdown",
    "stability_drop",
    "review_bottleneck",
    "knowledge_concentration",
    "objective_at_risk",
    "quality_decline",
    "stale_work",
    "incident_surge",
)
# Bumped when the shape or a definition of a cached answer changes, so old entries are never read.
CACHE_SCHEMA = 1


# --- cards -----------------------------------------------------------------------------------------


def better(value: Any, previous: Any, direction: Direction) -> bool | None:
    """Whether ``value`` moved the good way from ``previous`` (null when equal or unknown)."""
    if direction is None or value is None or previous is None or value == previous:
        return None
    return (value > previous) == (direction == "higher")


def card(
    *,
    label: str,
    unit: str,
    direction: Direction,
    now: tuple[Any, int],
    before: tuple[Any, int],
    tiers: tuple[str | None, str | None] | None = None,
    detail: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """One KPI card from ``(value, n)`` now and before."""
    (value, n), (previous, previous_n) = now, before
    shaped: dict[str, Any] = {
        "label": label,
        "value": value,
        "previous": previous,
        "change": portfolio.relative_change(value, previous),
        "better": better(value, previous, direction),
        "direction": direction,
        "unit": unit,
        "n": n,
        "previous_n": previous_n,
    }
    if tiers is not None:
        shaped["tier"], shaped["previous_tier"] = tiers
    if detail is not None:
        shaped["detail"] = dict(detail)
    return shaped


@dataclass(frozen=True)
class CardFacts:
    """What the cards read over one window."""

    dora: dict[str, Any]
    pull_requests: dict[str, Any]
    work_items: dict[str, Any]
    objectives: list[dict[str, Any]]
    days: int

    def on_track(self) -> tuple[int, int, int]:
        """Open objectives on track, open objectives with a forecast, open objectives without."""
        open_ones = [item for item in self.objectives if item["status"] in OPEN_OBJECTIVE]
        forecast = [item for item in open_ones if item["on_track"] is not None]
        return sum(1 for item in forecast if item["on_track"]), len(forecast), len(open_ones) - len(forecast)


def card_facts(connection: Connection, *, scope: Scope, params: CommonParams, window: Window) -> CardFacts:
    """The pooled facts of the cards over ``window`` (the org rollup of the scope)."""
    rollup = portfolio.org_rollup()
    query = dora.Query(window=window, environment=params.environment, benchmark=params.benchmark)
    return CardFacts(
        dora=dora.summary(connection, scope=scope, query=query),
        pull_requests=portfolio.pull_request_stats(
            connection, rollup=rollup, scope=scope, window=window, environment=params.environment
        ).get(0, {}),
        work_items=portfolio.work_item_stats(connection, rollup=rollup, scope=scope, window=window).get(
            0, {}
        ),
        objectives=portfolio.objectives(connection, scope=scope, window=window),
        days=window.days,
    )


def _ratio(part: float, whole: float) -> float | None:
    return None if not whole else part / whole


def _card_values(facts: CardFacts) -> dict[str, tuple[Any, int]]:
    """Each card's ``(value, n)`` over one window."""
    d, prs, items = facts.dora, facts.pull_requests, facts.work_items
    weeks = facts.days / 7
    restore = d["time_to_restore"]
    on_track, forecast, _ = facts.on_track()
    merged = prs.get("merged", 0)
    return {
        "deployment_frequency": (
            d["deployment_frequency"]["per_day"] * 7,
            d["deployment_frequency"]["deployments"],
        ),
        "lead_time_for_changes": (
            d["lead_time_for_changes"]["median_hours"],
            d["lead_time_for_changes"]["changes"],
        ),
        "change_failure_rate": (d["change_failure_rate"]["rate"], d["change_failure_rate"]["deployments"]),
        "time_to_restore": (restore["median_hours"], restore["incidents"]),
        "rework_rate": (d["rework_rate"]["rate"], d["rework_rate"]["deployments"]),
        "cycle_time": (prs.get("median_cycle_hours"), prs.get("cycle_n", 0)),
        "merged_prs_per_week": (merged / weeks, merged),
        "feature_share": (_ratio(items.get("feature_count", 0), items.get("done", 0)), items.get("done", 0)),
        "objectives_on_track": (_ratio(on_track, forecast), forecast),
        "open_incidents": (restore["open_incidents"], restore["incidents"] + restore["open_incidents"]),
    }


# key: (label, unit, direction, DORA block whose tier the card shows)
CARDS: dict[str, tuple[str, str, Direction, str | None]] = {
    "deployment_frequency": ("Deployments per week", "deployments/week", "higher", "deployment_frequency"),
    "lead_time_for_changes": ("Median lead time for changes", "hours", "lower", "lead_time_for_changes"),
    "change_failure_rate": ("Change failure rate", "ratio", "lower", "change_failure_rate"),
    "time_to_restore": ("Median time to restore", "hours", "lower", "time_to_restore"),
    "rework_rate": ("Rework rate", "ratio", "lower", "rework_rate"),
    "cycle_time": ("Median PR cycle time", "hours", "lower", None),
    "merged_prs_per_week": ("Merged PRs per week", "pull requests/week", "higher", None),
    # Investment mix is a decision, not a quality: a higher feature share is neither better nor worse.
    "feature_share": ("Feature share of done work", "ratio", None, None),
    "objectives_on_track": ("Objectives on track", "ratio", "higher", None),
    "open_incidents": ("Open incidents", "incidents", "lower", None),
}


def cards(connection: Connection, *, scope: Scope, params: CommonParams) -> dict[str, Any]:
    """The KPI cards of the scope: each over the window, against the previous window."""
    now = card_facts(connection, scope=scope, params=params, window=params.window)
    before = card_facts(connection, scope=scope, params=params, window=params.window.previous())
    values_now, values_before = _card_values(now), _card_values(before)
    on_track = now.on_track()
    shaped = {}
    for key, (label, unit, direction, block) in CARDS.items():
        tiers = None
        if block is not None:
            tiers = (now.dora[block].get("tier"), before.dora[block].get("tier"))
        detail = None
        if key == "deployment_frequency":
            detail = {
                "median_deployment_days_per_week": now.dora[block or ""]["median_deployment_days_per_week"]
            }
        elif key == "objectives_on_track":
            detail = {"on_track": on_track[0], "forecast": on_track[1], "without_forecast": on_track[2]}
        shaped[key] = card(
            label=label,
            unit=unit,
            direction=direction,
            now=values_now[key],
            before=values_before[key],
            tiers=tiers,
            detail=detail,
        )
    return {"cards": shaped}


# --- trends ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrendSpec:
    """Where a trend metric's buckets come from and how to read them."""

    label: str
    unit: str
    direction: Direction
    source: str  # a dora.Metric, or "pull_requests"
    value: Callable[[Mapping[str, Any]], Any]
    n: Callable[[Mapping[str, Any]], int]
    upper: float | None = None  # rates cannot exceed 1


TRENDS: dict[TrendMetric, TrendSpec] = {
    "deployments": TrendSpec(
        "Deployments", "deployments", "higher", "deployment_frequency",
        lambda e: e["deployments"], lambda e: e["deployments"],
    ),
    "lead_time": TrendSpec(
        "Median lead time for changes", "hours", "lower", "lead_time_for_changes",
        lambda e: e["median_hours"], lambda e: e["changes"],
    ),
    "change_failure_rate": TrendSpec(
        "Change failure rate", "ratio", "lower", "change_failure_rate",
        lambda e: e["rate"], lambda e: e["deployments"], upper=1.0,
    ),
    "time_to_restore": TrendSpec(
        "Median time to restore", "hours", "lower", "time_to_restore",
        lambda e: e["median_hours"], lambda e: e["incidents"],
    ),
    "cycle_time": TrendSpec(
        "Median PR cycle time", "hours", "lower", "pull_requests",
        lambda e: e["median_cycle_hours"], lambda e: e["count"],
    ),
    "throughput": TrendSpec(
        "Merged PRs", "pull requests", "higher", "pull_requests",
        lambda e: e["count"], lambda e: e["count"],
    ),
    "incidents": TrendSpec(
        "Incidents created", "incidents", "lower", "time_to_restore",
        lambda e: e["incidents"] + e["open_incidents"], lambda e: e["incidents"] + e["open_incidents"],
    ),
}  # fmt: skip


def _offset(interval: str) -> Any:
    import pandas as pd

    return pd.offsets.Week(weekday=0) if interval == "week" else pd.offsets.MonthBegin()


def complete_window(window: Window, interval: str) -> Window | None:
    """The part of ``window`` made of whole ``interval`` buckets (weeks from Monday, months), if any."""
    import pandas as pd

    if interval not in TREND_INTERVALS:
        raise ValueError(f"unknown trend interval {interval!r}")
    offset = _offset(interval)
    first = offset.rollforward(pd.Timestamp(window.start_date)).date()
    boundary = offset.rollback(pd.Timestamp(window.end_date + dt.timedelta(days=1))).date()
    if boundary <= first:
        return None
    return Window(first, boundary - dt.timedelta(days=1), window.tz)


def next_buckets(last: dt.date, interval: str, count: int) -> list[str]:
    """The starts of the ``count`` buckets after the bucket starting on ``last``."""
    import pandas as pd

    offset = _offset(interval)
    starts = pd.date_range(pd.Timestamp(last) + offset, periods=count, freq=offset)
    return [start.date().isoformat() for start in starts]


def history_frame(
    connection: Connection, *, metric: TrendMetric, scope: Scope, params: CommonParams, window: Window
) -> pd.DataFrame:
    """One row per bucket of ``window`` (``period_start`` index): the metric's ``value`` and ``n``."""
    import pandas as pd

    spec = TRENDS[metric]
    if spec.source == "pull_requests":
        entries = pull_requests.trends(
            connection, window=window, scope=scope, interval=params.interval, environment=params.environment
        )
    else:
        query = dora.Query(window=window, environment=params.environment, benchmark=params.benchmark)
        entries = dora.metric(
            connection,
            metric=spec.source,  # type: ignore[arg-type]  # the TRENDS table names dora metrics only
            scope=scope,
            query=query,
            interval=params.interval,
        )["series"]
    frame = pd.DataFrame(
        {
            "period_start": [entry["period_start"] for entry in entries],
            "value": pd.array([spec.value(entry) for entry in entries], dtype="Float64"),
            "n": [int(spec.n(entry)) for entry in entries],
        }
    )
    return frame.set_index("period_start")


def _clip(rows: Sequence[Mapping[str, float]], upper: float | None) -> list[dict[str, float]]:
    """Bounds inside the metric's range: no negative counts, hours or rates; rates at most 1."""
    high = float("inf") if upper is None else upper
    return [{key: min(max(value, 0.0), high) for key, value in row.items()} for row in rows]


def trend(
    connection: Connection, *, metric: TrendMetric, scope: Scope, params: CommonParams, horizon: int
) -> dict[str, Any]:
    """The metric's history over the window's complete buckets and its forecast (see the module docstring)."""
    import pandas as pd

    from pulse.analytics import smoothing

    spec = TRENDS[metric]
    window = complete_window(params.window, params.interval)
    shaped: dict[str, Any] = {
        "metric": metric,
        "label": spec.label,
        "unit": spec.unit,
        "direction": spec.direction,
        "interval": params.interval,
        "horizon": horizon,
        "history_start": window.start_date.isoformat() if window else None,
        "history_end": window.end_date.isoformat() if window else None,
    }
    if window is None:
        return {
            **shaped,
            "history": [],
            "model": None,
            "forecast": None,
            "parameters": None,
            "backtest": None,
            "reason": f"the window holds no complete {params.interval}",
        }
    frame = history_frame(connection, metric=metric, scope=scope, params=params, window=window)
    values = [None if pd.isna(value) else float(value) for value in frame["value"]]
    history = [
        {"period_start": start, "value": value, "n": int(n)}
        for start, value, n in zip(frame.index, values, frame["n"], strict=True)
    ]
    result = smoothing.forecast_series(values, horizon)
    if all(value is None for value in values):
        result = {"forecast": None, "reason": f"no data in any {params.interval} of the window"}
    forecast = None
    if result.get("forecast") is not None:
        labels = next_buckets(dt.date.fromisoformat(str(frame.index[-1])), params.interval, horizon)
        forecast = [
            {"period_start": label, "step": row["step"], **_clip([_bounds(row)], spec.upper)[0]}
            for label, row in zip(labels, result["forecast"], strict=True)
        ]
    return {
        **shaped,
        "history": history,
        "model": result.get("model"),
        "forecast": forecast,
        "parameters": result.get("parameters"),
        "backtest": result.get("backtest"),
        "reason": result.get("reason"),
    }


def _bounds(row: Mapping[str, Any]) -> dict[str, float]:
    return {key: float(row[key]) for key in ("value", "lo80", "hi80", "lo95", "hi95")}


# --- risks -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Thresholds:
    """The risk rules' thresholds (portfolio-executive.md's defaults; ``RISK_*`` settings)."""

    slowdown_increase: float = 0.25
    slowdown_min_prs: int = 10
    change_failure_rate: float = 0.15
    pickup_hours: float = 24.0
    waiting_share: float = 0.20
    waiting_hours: float = 48.0
    concentration_share: float = 0.5
    concentration_min_commits: int = 20
    objective_probability: float = 0.5
    coverage_drop_points: float = 5.0
    stale_days: int = 30
    surge_p_value: float = 0.05
    surge_min_incidents: int = 3

    @classmethod
    def from_settings(cls, settings: Settings | None = None) -> Thresholds:
        """The thresholds configured in the environment."""
        settings = settings or get_settings()
        return cls(
            **{
                f.name: getattr(settings, f"RISK_{f.name.upper()}")
                for f in dataclasses.fields(cls)
                if hasattr(settings, f"RISK_{f.name.upper()}")
            }
        )


def finding(
    kind: str,
    severity: str,
    subject: tuple[str, str],
    evidence: Mapping[str, Any],
    explanation: str,
    since: dt.date | None,
) -> dict[str, Any]:
    """One risk finding in the spec's shape."""
    return {
        "kind": kind,
        "severity": severity,
        "subject": {"type": subject[0], "key": subject[1]},
        "evidence": dict(evidence),
        "explanation": explanation,
        "since": since.isoformat() if since else None,
    }


def _hours(value: float) -> str:
    return f"{value:.1f} h"


def _visible_teams(connection: Connection, scope: Scope) -> list[Any]:
    visible = "TRUE" if scope.team_ids is None else "t.id = ANY(:ids)"
    return list(
        connection.execute(
            text(f"SELECT t.id, t.key, t.name FROM teams t WHERE {visible} ORDER BY t.key"),
            {} if scope.team_ids is None else {"ids": list(scope.team_ids)},
        )
    )


def open_pull_requests(
    connection: Connection, *, scope: Scope, as_of: dt.datetime, thresholds: Thresholds
) -> dict[int, dict[str, Any]]:
    """Per team (pooled with its sub-teams): its repositories' PRs open at ``as_of``.

    A PR is open at ``as_of`` when created before it and not merged or closed by then (state
    ``open``, or merged/closed at or after ``as_of``). It *awaits review* when it was ready
    (not a draft; ``ready_at`` or ``created_at`` before ``as_of``) and no non-bot other than its
    author reviewed it between ready and ``as_of``; it *waits* when it has awaited review for
    over ``waiting_hours``. It is *stale* when open for over ``stale_days``.
    """
    visible = "TRUE" if scope.team_ids is None else "id = ANY(:group_team_ids)"
    condition, params = repository_filter(scope, "pr.repository_id")
    rows = connection.execute(
        text(
            f"""
            WITH RECURSIVE team_closure(team_id, member_id) AS (
                SELECT id, id FROM teams WHERE {visible}
                UNION
                SELECT c.team_id, t.id FROM team_closure c JOIN teams t ON t.parent_id = c.member_id
            ),
            open_prs AS (
                SELECT pr.id, pr.repository_id, pr.created_at,
                       CASE WHEN coalesce(pr.draft, false) THEN NULL
                            ELSE coalesce(pr.ready_at, pr.created_at) END AS ready_at
                FROM pull_requests pr
                WHERE pr.state IS NOT NULL AND pr.created_at < :as_of AND {condition}
                  AND (pr.state = 'open' OR coalesce(pr.merged_at, pr.closed_at) >= :as_of)
            ),
            awaiting AS (
                SELECT o.*, NOT EXISTS (
                    SELECT 1 FROM reviews r JOIN contributors who ON who.id = r.reviewer_id
                    JOIN pull_requests pr ON pr.id = r.pull_request_id
                    WHERE r.pull_request_id = o.id AND NOT who.is_bot
                      AND r.reviewer_id IS DISTINCT FROM pr.author_id
                      AND r.submitted_at >= o.ready_at AND r.submitted_at < :as_of
                ) AS unreviewed
                FROM open_prs o
            )
            SELECT c.team_id,
                   count(*) AS open,
                   count(*) FILTER (WHERE a.ready_at < :as_of) AS ready,
                   count(*) FILTER (WHERE a.ready_at < :as_of AND a.unreviewed
                       AND a.ready_at < CAST(:as_of AS timestamptz) - :waiting_hours * interval '1 hour')
                       AS waiting,
                   count(*) FILTER (WHERE a.created_at < CAST(:as_of AS timestamptz) - :stale_days * interval '1 day')
                       AS stale,
                   min(a.created_at) AS oldest_created_at
            FROM team_closure c
            JOIN repositories r ON r.team_id = c.member_id
            JOIN awaiting a ON a.repository_id = r.id
            GROUP BY c.team_id
            """
        ),
        {
            **params,
            **({} if scope.team_ids is None else {"group_team_ids": list(scope.team_ids)}),
            "as_of": as_of,
            "waiting_hours": thresholds.waiting_hours,
            "stale_days": thresholds.stale_days,
        },
    )
    return {row.team_id: dict(row._mapping) for row in rows}


def _team_findings(
    connection: Connection, *, scope: Scope, params: CommonParams, thresholds: Thresholds, as_of: dt.datetime
) -> list[dict[str, Any]]:
    """delivery_slowdown, stability_drop, review_bottleneck, stale_work and incident_surge."""
    from pulse.analytics import poisson

    window, previous = params.window, params.window.previous()
    rollup = portfolio.team_rollup(scope)

    def dora_blocks(span: Window) -> dict[Any, dict[str, Any]]:
        query = dora.Query(window=span, environment=params.environment, benchmark=params.benchmark)
        return dora.grouped(connection, grouping=rollup.grouping, scope=scope, query=query, lead_time=False)

    # Both periods' PR medians in one pass: split at the window's start.
    both = portfolio.pull_request_stats(
        connection,
        rollup=rollup,
        scope=scope,
        window=Window(previous.start_date, window.end_date, window.tz),
        environment=params.environment,
        split=window.start,
    )
    prs_now = {group: stats for (group, after), stats in both.items() if after}
    prs_before = {group: stats for (group, after), stats in both.items() if not after}
    dora_now, dora_before = dora_blocks(window), dora_blocks(previous)
    open_prs = open_pull_requests(connection, scope=scope, as_of=as_of, thresholds=thresholds)
    since = window.start_date
    found = []
    for team in _visible_teams(connection, scope):
        subject = ("team", team.key)
        now, before = prs_now.get(team.id, {}), prs_before.get(team.id, {})

        cycle, cycle_before = now.get("median_cycle_hours"), before.get("median_cycle_hours")
        n, n_before = now.get("cycle_n", 0), before.get("cycle_n", 0)
        if (
            cycle is not None
            and cycle_before is not None
            and n >= thresholds.slowdown_min_prs
            and n_before >= thresholds.slowdown_min_prs
            and cycle >= cycle_before * (1 + thresholds.slowdown_increase)
        ):
            increase = portfolio.relative_change(cycle, cycle_before)
            severity = (
                "high" if cycle >= 2 * cycle_before else "medium" if cycle >= 1.5 * cycle_before else "low"
            )
            found.append(
                finding(
                    "delivery_slowdown",
                    severity,
                    subject,
                    {
                        "median_cycle_hours": cycle,
                        "previous_median_cycle_hours": cycle_before,
                        "increase": increase,
                        "pull_requests": n,
                        "previous_pull_requests": n_before,
                        "threshold": thresholds.slowdown_increase,
                    },
                    f"{team.name}'s median PR cycle time rose {increase or 0:.0%} to {_hours(cycle)} "
                    f"(from {_hours(cycle_before)}, {n} PRs): check which stage grew (coding, pickup, "
                    "review or deploy) in the team's PR trends.",
                    since,
                )
            )

        failure = dora_now[team.id]["change_failure_rate"]
        failure_before = dora_before[team.id]["change_failure_rate"]
        rate, rate_before = failure["rate"], failure_before["rate"]
        if (
            rate is not None
            and rate_before is not None
            and rate > thresholds.change_failure_rate
            and rate > rate_before
        ):
            found.append(
                finding(
                    "stability_drop",
                    "high" if rate > 2 * thresholds.change_failure_rate else "medium",
                    subject,
                    {
                        "change_failure_rate": rate,
                        "previous_change_failure_rate": rate_before,
                        "failed_deployments": failure["failed_deployments"],
                        "deployments": failure["deployments"],
                        "threshold": thresholds.change_failure_rate,
                    },
                    f"{failure['failed_deployments']} of {team.name}'s {failure['deployments']} deployments "
                    f"caused an incident ({rate:.0%}, up from {rate_before:.0%}): review those incidents "
                    "and add the missing tests or checks before the next release.",
                    since,
                )
            )

        pickup = now.get("median_pickup_hours")
        waiting = open_prs.get(team.id, {})
        ready, stuck = waiting.get("ready", 0), waiting.get("waiting", 0)
        share = _ratio(stuck, ready)
        slow_pickup = pickup is not None and pickup > thresholds.pickup_hours
        queue = share is not None and share > thresholds.waiting_share
        if slow_pickup or queue:
            causes = []
            if slow_pickup:
                causes.append(f"PRs wait a median {_hours(pickup or 0)} for a first review")
            if queue:
                causes.append(
                    f"{stuck} of {ready} open PRs have waited over {thresholds.waiting_hours:g} h for one"
                )
            found.append(
                finding(
                    "review_bottleneck",
                    "high" if slow_pickup and queue else "medium",
                    subject,
                    {
                        "median_pickup_hours": pickup,
                        "pull_requests": now.get("pickup_n", 0),
                        "open_pull_requests": ready,
                        "waiting_pull_requests": stuck,
                        "waiting_share": share,
                        "pickup_threshold_hours": thresholds.pickup_hours,
                        "waiting_share_threshold": thresholds.waiting_share,
                        "waiting_hours": thresholds.waiting_hours,
                    },
                    f"In {team.name}, {' and '.join(causes)}: agree on a review rota or a daily review slot.",
                    since,
                )
            )

        stale = waiting.get("stale", 0)
        if stale > 0:
            oldest = waiting["oldest_created_at"]
            age_days = (as_of - oldest).total_seconds() / 86400
            found.append(
                finding(
                    "stale_work",
                    "medium" if stale >= 5 or age_days > 3 * thresholds.stale_days else "low",
                    subject,
                    {
                        "stale_pull_requests": stale,
                        "open_pull_requests": waiting.get("open", 0),
                        "oldest_age_days": age_days,
                        "threshold_days": thresholds.stale_days,
                    },
                    f"{team.name} has {stale} PR{'s' if stale != 1 else ''} open for over "
                    f"{thresholds.stale_days} days (the oldest {age_days:.0f} days): merge, split or close them.",
                    oldest.date(),
                )
            )

        restore, restore_before = (
            dora_now[team.id]["time_to_restore"],
            dora_before[team.id]["time_to_restore"],
        )
        count = restore["incidents"] + restore["open_incidents"]
        count_before = restore_before["incidents"] + restore_before["open_incidents"]
        if count >= thresholds.surge_min_incidents:
            p_value = poisson.rate_increase_p_value(
                count_now=count,
                count_prev=count_before,
                exposure_now=window.days,
                exposure_prev=previous.days,
            )
            if p_value < thresholds.surge_p_value:
                found.append(
                    finding(
                        "incident_surge",
                        "high" if p_value < 0.01 else "medium",
                        subject,
                        {
                            "incidents": count,
                            "previous_incidents": count_before,
                            "p_value": p_value,
                            "p_value_threshold": thresholds.surge_p_value,
                            "min_incidents": thresholds.surge_min_incidents,
                        },
                        f"{team.name} had {count} incidents against {count_before} the period before "
                        f"(p = {p_value:.3f}): look for a common cause (a service, a release, an alert) "
                        "and fix it before shipping more change.",
                        since,
                    )
                )
    return found


def _repository_findings(
    connection: Connection, *, scope: Scope, params: CommonParams, thresholds: Thresholds
) -> list[dict[str, Any]]:
    """knowledge_concentration and quality_decline."""
    window = params.window
    condition, bound = repository_filter(scope, "c.repository_id")
    # One grouped count finds the candidates (enough non-bot commits, one author holding the
    # share); repositories.knowledge_concentration, the definition, then confirms each of them.
    candidates = connection.execute(
        text(
            f"""
            SELECT r.id, r.key
            FROM (
                SELECT c.repository_id, count(*) AS n
                FROM commits c JOIN contributors ct ON ct.id = c.author_id AND NOT ct.is_bot
                WHERE c.authored_at >= :start AND c.authored_at < :end AND {condition}
                GROUP BY c.repository_id, c.author_id
            ) authors
            JOIN repositories r ON r.id = authors.repository_id
            GROUP BY r.id
            HAVING sum(authors.n) >= :min_commits AND max(authors.n) >= :share * sum(authors.n)
            ORDER BY r.key
            """
        ),
        {
            **window_params(window),
            **bound,
            "min_commits": thresholds.concentration_min_commits,
            "share": thresholds.concentration_share,
        },
    ).all()
    found = []
    for row in candidates:
        knowledge = repositories.knowledge_concentration(connection, window=window, repository_ids=[row.id])
        top = knowledge["top"][0] if knowledge["top"] else None
        share = None if top is None else top["commits"] / knowledge["commits"]
        if (
            top is not None
            and share is not None
            and knowledge["commits"] >= thresholds.concentration_min_commits
            and share >= thresholds.concentration_share
        ):
            found.append(
                finding(
                    "knowledge_concentration",
                    "medium" if share >= 0.8 else "low",
                    ("repository", row.key),
                    {
                        "commits": knowledge["commits"],
                        "authors": knowledge["authors"],
                        "top_contributor": top["login"],
                        "top_contributor_commits": top["commits"],
                        "share": share,
                        "threshold": thresholds.concentration_share,
                    },
                    f"{top['login']} wrote {share:.0%} of {row.key}'s {knowledge['commits']} commits: pair "
                    "someone else on its next changes and have them review its PRs.",
                    window.start_date,
                )
            )
    for item in quality.code_quality(connection, window=window, scope=scope, interval="month"):
        change = item["change"]["coverage"]
        if change is None:
            continue
        points = -change * 100
        if points >= thresholds.coverage_drop_points - 1e-9:
            latest = item["latest"]["coverage"]
            first = latest - change
            found.append(
                finding(
                    "quality_decline",
                    "medium" if points >= 2 * thresholds.coverage_drop_points else "low",
                    ("repository", item["repository"]),
                    {
                        "coverage": latest,
                        "first_coverage": first,
                        "drop_points": points,
                        "measurements": item["measurements"],
                        "threshold_points": thresholds.coverage_drop_points,
                    },
                    f"{item['repository']}'s test coverage fell {points:.1f} points to {latest:.0%} "
                    f"(from {first:.0%}): require tests with new changes there.",
                    _first_measured(connection, item["repository"], window),
                )
            )
    return found


def _first_measured(connection: Connection, repository: str, window: Window) -> dt.date | None:
    """Local date of a repository's first coverage measurement in the window (the decline's baseline)."""
    row = connection.execute(
        text(
            "SELECT (min(q.measured_at) AT TIME ZONE :tz)::date AS day FROM quality_measurements q "
            "JOIN repositories r ON r.id = q.repository_id WHERE r.key = :key AND q.coverage IS NOT NULL "
            "AND q.measured_at >= :start AND q.measured_at < :end"
        ),
        {**window_params(window), "key": repository},
    ).one()
    day: dt.date | None = row.day
    return day


def _objective_findings(
    connection: Connection, *, scope: Scope, params: CommonParams, thresholds: Thresholds
) -> list[dict[str, Any]]:
    """objective_at_risk: open objectives whose forecast gives them under the threshold by target."""
    found = []
    for item in portfolio.objectives(connection, scope=scope, window=params.window):
        probability = item["probability_by_target"]
        if item["status"] not in OPEN_OBJECTIVE or probability is None:
            continue
        if probability < thresholds.objective_probability:
            found.append(
                finding(
                    "objective_at_risk",
                    "high" if probability < 0.2 else "medium",
                    ("objective", item["key"]),
                    {
                        "probability_by_target": probability,
                        "target_date": item["target_date"],
                        "p50_date": item["p50_date"],
                        "p85_date": item["p85_date"],
                        "remaining": item["remaining"],
                        "items_done": item["items_done"],
                        "items_total": item["items_total"],
                        "threshold": thresholds.objective_probability,
                    },
                    f"'{item['title']}' has a {probability:.0%} chance of finishing its {item['remaining']} "
                    f"remaining items by {item['target_date']} (likely by {item['p50_date'] or 'unknown'}): "
                    "cut scope or move the date now.",
                    dt.date.fromisoformat(item["start_date"])
                    if item["start_date"]
                    else params.window.start_date,
                )
            )
    return found


def _severity_order(item: Mapping[str, Any]) -> tuple[int, int, str, str]:
    return (
        SEVERITIES.index(item["severity"]),
        RISK_KINDS.index(item["kind"]),
        item["subject"]["type"],
        item["subject"]["key"],
    )


def risks(
    connection: Connection,
    *,
    scope: Scope,
    params: CommonParams,
    thresholds: Thresholds | None = None,
    now: dt.datetime | None = None,
) -> dict[str, Any]:
    """The risk findings of the scope, most severe first (then by kind, then subject)."""
    thresholds = thresholds or Thresholds.from_settings()
    as_of = min(params.window.end, now or dt.datetime.now(dt.UTC))
    found = [
        *_team_findings(connection, scope=scope, params=params, thresholds=thresholds, as_of=as_of),
        *_repository_findings(connection, scope=scope, params=params, thresholds=thresholds),
        *_objective_findings(connection, scope=scope, params=params, thresholds=thresholds),
    ]
    return {
        "as_of": as_of.isoformat(),
        "thresholds": dataclasses.asdict(thresholds),
        "items": sorted(found, key=_severity_order),
    }


# --- scope: the project filter ---------------------------------------------------------------------


def project_scope(connection: Connection, scope: Scope, project: str) -> Scope:
    """``scope`` narrowed to the repositories of ``project`` (and the work items linked to their PRs).

    404 for a project no repository names; 403 when the caller may see none of its repositories
    and gave no other filter (with a team or repository filter, an empty intersection is an
    empty answer, as for any two filters that do not meet).
    """
    rows = connection.execute(
        text("SELECT id, key FROM repositories WHERE project = :project ORDER BY key"), {"project": project}
    ).all()
    if not rows:
        raise ApiError(404, "project_not_found", f"Unknown project '{project}'.")
    visible = [row for row in rows if scope.repository_ids is None or row.id in scope.repository_ids]
    if not visible and not scope.team_keys and not scope.repository_keys:
        raise ApiError(403, "project_forbidden", f"You may not see project '{project}'.")
    return Scope(
        scope.team_ids,
        tuple(sorted(row.id for row in visible)),
        scope.team_keys,
        # Portfolio's rule: a project's work items are those linked to a PR of its repositories.
        tuple(row.key for row in visible) or ("",),
    )


def with_project(params: CommonParams, project: str | None, **extra: Any) -> CommonParams:
    """``params`` carrying the ``project`` filter (and endpoint parameters) in meta and the cache key."""
    return dataclasses.replace(params, extra={**params.extra, "project": project, **extra})


def _refine(params: CommonParams) -> Callable[[Connection, Scope], Scope] | None:
    project = params.extra.get("project")
    if project is None:
        return None
    return lambda connection, scope: project_scope(connection, scope, project)


# --- cache-aside entry points ------------------------------------------------------------------------


def _namespace(endpoint: str) -> str:
    # Configuration that shapes answers goes in the key, not in meta.
    settings = get_settings()
    thresholds = Thresholds.from_settings(settings) if endpoint == "risks" else None
    digest = "" if thresholds is None else ":" + ",".join(f"{v}" for v in dataclasses.astuple(thresholds))
    return f"executive:{CACHE_SCHEMA}:{endpoint}:h{settings.INCIDENT_ATTRIBUTION_WINDOW_HOURS}{digest}"


def answer_cards(caller: Caller, params: CommonParams) -> dict[str, Any]:
    """``GET /dashboards/executive`` cache-aside, with ``meta``."""
    return answer(
        _namespace("cards"),
        caller,
        params,
        lambda c, s: cards(c, scope=s, params=params),
        refine=_refine(params),
    )


def answer_trend(caller: Caller, params: CommonParams, metric: TrendMetric, horizon: int) -> dict[str, Any]:
    """``GET /dashboards/executive/trends`` cache-aside, with ``meta``."""
    if params.interval not in TREND_INTERVALS:
        raise ApiError(422, "invalid_interval", "Trends are by week or month.")
    if not 1 <= horizon <= MAX_HORIZON:
        raise ApiError(422, "invalid_horizon", f"horizon must be between 1 and {MAX_HORIZON}.")
    keyed = dataclasses.replace(params, extra={**params.extra, "metric": metric, "horizon": horizon})
    return answer(
        _namespace("trends"),
        caller,
        keyed,
        lambda c, s: trend(c, metric=metric, scope=s, params=params, horizon=horizon),
        refine=_refine(params),
    )


def answer_risks(caller: Caller, params: CommonParams) -> dict[str, Any]:
    """``GET /dashboards/executive/risks`` cache-aside, with ``meta``."""
    return answer(
        _namespace("risks"),
        caller,
        params,
        lambda c, s: risks(c, scope=s, params=params),
        refine=_refine(params),
    )


__all__ = [
    "CARDS",
    "RISK_KINDS",
    "TRENDS",
    "TREND_METRICS",
    "Thresholds",
    "answer_cards",
    "answer_risks",
    "answer_trend",
    "better",
    "cards",
    "complete_window",
    "next_buckets",
    "project_scope",
    "risks",
    "trend",
    "with_project",
]
