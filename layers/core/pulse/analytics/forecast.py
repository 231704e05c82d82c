"""Monte Carlo delivery forecast of an objective from its team's weekly throughput.

portfolio-executive.md "Delivery forecast (Monte Carlo)". How the simulation reads:
- History: the team's done work items per week over the last 12 full weeks (zeros included);
  only the last ``HISTORY_WEEKS`` values given are used. Fewer than 6 weeks, or no item done in
  any of them: every field is null and ``forecast_reason`` says why.
- Simulated week 1 is the week starting at ``start`` (the Monday after the last full week, i.e.
  the current week). Each trial draws each week's throughput uniformly, with replacement, from
  the history, and accumulates it.
- A trial completes in the first week k whose cumulative count reaches R; its completion date is
  that week's Sunday, ``start + 7k - 1`` days (the simulation has weekly resolution, so the
  earliest date the work is known done is the end of that week).
- ``probability_by_target``: the share of trials whose completion date is on or before the
  target date, so a target on a Wednesday only counts weeks that ended by the Sunday before.
- ``p50_date`` / ``p85_date``: the earliest completion date by which at least 50% / 85% of the
  trials are done (the empirical quantile of the completion dates; no interpolation, since a
  date between two week ends is a date no trial produced). Hence ``p50_date <= target`` exactly
  when ``probability_by_target >= 0.5``.
- R = 0: already done; both dates are ``start`` and the probability is 1.0, whatever the history.
- No target date: the dates are forecast, ``probability_by_target`` and ``on_track`` are null.
- Trials are simulated for at most ``MAX_WEEKS`` (10 years); a trial not done by then counts as
  not done by any target, and a quantile not reached by then is null with a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

HISTORY_WEEKS = 12
MIN_HISTORY_WEEKS = 6
TRIALS = 10_000
ON_TRACK_PROBABILITY = 0.7
QUANTILES = (0.50, 0.85)
# Weeks are drawn in fixed blocks from one generator, so a given seed yields the same paths
# however many blocks a batch needs: an objective's forecast never depends on its neighbours.
BLOCK_WEEKS = 26
MAX_WEEKS = 20 * BLOCK_WEEKS


@dataclass(frozen=True)
class DeliveryForecast:
    """The forecast fields of one objective (all null with ``forecast_reason`` when none)."""

    p50_date: dt.date | None
    p85_date: dt.date | None
    probability_by_target: float | None
    on_track: bool | None
    forecast_reason: str | None = None

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready fields, dates as ISO strings."""
        return {
            "p50_date": self.p50_date.isoformat() if self.p50_date else None,
            "p85_date": self.p85_date.isoformat() if self.p85_date else None,
            "probability_by_target": self.probability_by_target,
            "on_track": self.on_track,
            "forecast_reason": self.forecast_reason,
        }


def forecast_delivery(
    *,
    weekly_throughput: Sequence[int],
    remaining: int,
    start: dt.date,
    target: dt.date | None,
    trials: int = TRIALS,
    seed: int = 0,
) -> DeliveryForecast:
    """Forecast one objective; see the module docstring for the exact rules."""
    return forecast_deliveries(
        weekly_throughput=weekly_throughput,
        objectives=[(remaining, target)],
        start=start,
        trials=trials,
        seed=seed,
    )[0]


def forecast_deliveries(
    *,
    weekly_throughput: Sequence[int],
    objectives: Sequence[tuple[int, dt.date | None]],
    start: dt.date,
    trials: int = TRIALS,
    seed: int = 0,
) -> list[DeliveryForecast]:
    """Forecast several ``(remaining, target)`` objectives of one team over one set of paths.

    Each result equals what ``forecast_delivery`` gives for that objective alone with the same
    seed. Raises ``ValueError`` on negative counts, a ``start`` that is not a Monday or
    ``trials < 1``.
    """
    if start.weekday() != 0:
        raise ValueError("start must be a Monday (the first day of the current week)")
    if trials < 1:
        raise ValueError("trials must be at least 1")
    history = [int(v) for v in weekly_throughput][-HISTORY_WEEKS:]
    if any(v < 0 for v in history) or any(r < 0 for r, _ in objectives):
        raise ValueError("throughput and remaining items must be non-negative")

    reason = None
    if len(history) < MIN_HISTORY_WEEKS:
        reason = f"fewer than {MIN_HISTORY_WEEKS} weeks of throughput history ({len(history)})"
    elif not any(history):
        reason = f"no work item was done in the last {len(history)} weeks"

    pending = [r for r, _ in objectives if r > 0]
    if reason is not None or not pending:
        return [_done(start, target) if r == 0 else _none(reason or "") for r, target in objectives]

    target_weeks = [_weeks_until(start, t) for r, t in objectives if r > 0 and t is not None]
    done_counts = _done_counts(
        np.asarray(history, dtype=np.int64),
        remaining=np.asarray(sorted(set(pending)), dtype=np.int64),
        min_weeks=min(max(target_weeks, default=0), MAX_WEEKS),
        trials=trials,
        seed=seed,
    )
    results = []
    for remaining, target in objectives:
        if remaining == 0:
            results.append(_done(start, target))
        else:
            results.append(_from_counts(done_counts[remaining], trials, start, target))
    return results


def _done_counts(
    history: npt.NDArray[np.int64],
    *,
    remaining: npt.NDArray[np.int64],
    min_weeks: int,
    trials: int,
    seed: int,
) -> dict[int, npt.NDArray[np.int64]]:
    """For each R, how many trials have reached R by the end of each simulated week (1-based)."""
    rng = np.random.default_rng(seed)
    needed = int(remaining.max())
    enough = int(np.ceil(max(QUANTILES) * trials))
    blocks: list[npt.NDArray[np.int64]] = []
    total = np.zeros(trials, dtype=np.int64)
    weeks = 0
    while weeks < MAX_WEEKS:
        cumulative = total + np.cumsum(rng.choice(history, size=(BLOCK_WEEKS, trials)), axis=0)
        total = cumulative[-1]
        blocks.append(cumulative)
        weeks += BLOCK_WEEKS
        if weeks >= min_weeks and np.count_nonzero(total >= needed) >= enough:
            break
    # Counting, not sorting: a trial past ``needed`` is past every R, so totals are capped there;
    # offsetting week k by k * span turns one bincount into a histogram per week, and its
    # running sum at R - 1 counts the trials still short of R (~20x faster than sorting each
    # week's 10,000 totals).
    span = needed + 1
    offsets = np.arange(weeks, dtype=np.int64) * span
    capped = np.minimum(np.concatenate(blocks), needed) + offsets[:, None]
    at_most = np.bincount(capped.ravel(), minlength=weeks * span).reshape(weeks, span).cumsum(axis=1)
    done = trials - at_most[:, remaining - 1].T
    return {int(r): row for r, row in zip(remaining, done, strict=True)}


def _from_counts(
    done: npt.NDArray[np.int64], trials: int, start: dt.date, target: dt.date | None
) -> DeliveryForecast:
    """Dates and probability from the per-week counts of completed trials."""
    dates: list[dt.date | None] = []
    for quantile in QUANTILES:
        reached = np.flatnonzero(done >= quantile * trials)
        dates.append(_week_end(start, int(reached[0]) + 1) if reached.size else None)
    probability = None
    if target is not None:
        weeks = min(_weeks_until(start, target), done.size)
        probability = float(done[weeks - 1]) / trials if weeks > 0 else 0.0
    reason = None
    if dates[-1] is None:
        reason = f"over {1 - QUANTILES[-1]:.0%} of trials not done within {MAX_WEEKS} simulated weeks"
    return DeliveryForecast(
        p50_date=dates[0],
        p85_date=dates[1],
        probability_by_target=probability,
        on_track=None if probability is None else probability >= ON_TRACK_PROBABILITY,
        forecast_reason=reason,
    )


def _weeks_until(start: dt.date, target: dt.date) -> int:
    """How many simulated weeks end (Sunday) on or before ``target``."""
    return max(0, ((target - start).days + 1) // 7)


def _week_end(start: dt.date, week: int) -> dt.date:
    """The Sunday that ends simulated week ``week`` (1-based)."""
    return start + dt.timedelta(days=7 * week - 1)


def _done(start: dt.date, target: dt.date | None) -> DeliveryForecast:
    """Nothing remains: done at ``start``."""
    known = target is not None
    return DeliveryForecast(start, start, 1.0 if known else None, True if known else None)


def _none(reason: str) -> DeliveryForecast:
    """No forecast, with the reason."""
    return DeliveryForecast(None, None, None, None, reason)
