"""DORA performance tiers: the 2023 and 2021 benchmark tables of metrics.md.

| metric | elite | high | medium | low |
|---|---|---|---|---|
| deployment frequency (2023) | median deployment days/week >= 5 | >= 1 | median days/month >= 1 | otherwise |
| lead time (2023) | < 24 h | < 168 h | < 720 h | otherwise |
| change failure rate (2023) | <= 5% | <= 10% | <= 15% | otherwise |
| time to restore (both) | < 1 h | < 24 h | < 168 h | otherwise |
| deployment frequency (2021) | days/week >= 5 | days/month >= 1 | days per six months >= 1 | otherwise |
| lead time (2021) | < 1 h | < 168 h | < 4320 h | otherwise |
| change failure rate (2021) | <= 15% | <= 20% | <= 30% | otherwise |

A metric with no data has tier ``None``. Every "days per period" figure is the median over the
periods that overlap the window (``pulse.metrics.dora`` computes them), so a tier reads a
typical period, not a total.
"""

from __future__ import annotations

from typing import Literal

Tier = Literal["elite", "high", "medium", "low"]
Benchmark = Literal["2023", "2021"]
BENCHMARKS: tuple[Benchmark, ...] = ("2023", "2021")

# Upper bounds (exclusive) of elite, high and medium, in hours.
LEAD_TIME_HOURS: dict[str, tuple[float, float, float]] = {"2023": (24, 168, 720), "2021": (1, 168, 4320)}
TIME_TO_RESTORE_HOURS: tuple[float, float, float] = (1, 24, 168)
# Upper bounds (inclusive) of elite, high and medium, as fractions.
CHANGE_FAILURE_RATE: dict[str, tuple[float, float, float]] = {
    "2023": (0.05, 0.10, 0.15),
    "2021": (0.15, 0.20, 0.30),
}


def _below(value: float, bounds: tuple[float, float, float]) -> Tier:
    elite, high, medium = bounds
    if value < elite:
        return "elite"
    if value < high:
        return "high"
    if value < medium:
        return "medium"
    return "low"


def _at_most(value: float, bounds: tuple[float, float, float]) -> Tier:
    elite, high, medium = bounds
    if value <= elite:
        return "elite"
    if value <= high:
        return "high"
    if value <= medium:
        return "medium"
    return "low"


def lead_time_tier(median_hours: float | None, *, benchmark: Benchmark = "2023") -> Tier | None:
    """Tier of the median lead time for changes."""
    return None if median_hours is None else _below(median_hours, LEAD_TIME_HOURS[benchmark])


def time_to_restore_tier(median_hours: float | None, *, benchmark: Benchmark = "2023") -> Tier | None:
    """Tier of the median time to restore (the same table in 2023 and 2021)."""
    return None if median_hours is None else _below(median_hours, TIME_TO_RESTORE_HOURS)


def change_failure_rate_tier(rate: float | None, *, benchmark: Benchmark = "2023") -> Tier | None:
    """Tier of the change failure rate (a fraction, not a percentage)."""
    return None if rate is None else _at_most(rate, CHANGE_FAILURE_RATE[benchmark])


def deployment_frequency_tier(
    *,
    deployments: int,
    median_days_per_week: float,
    median_days_per_month: float,
    median_days_per_six_months: float,
    benchmark: Benchmark = "2023",
) -> Tier | None:
    """Tier of the deployment frequency from the medians of deployment days per period.

    With no deployment in the window the metric has no data, so the tier is ``None`` (not "low").
    """
    if deployments == 0:
        return None
    if median_days_per_week >= 5:
        return "elite"
    if benchmark == "2023":
        if median_days_per_week >= 1:
            return "high"
        return "medium" if median_days_per_month >= 1 else "low"
    if median_days_per_month >= 1:
        return "high"
    return "medium" if median_days_per_six_months >= 1 else "low"
