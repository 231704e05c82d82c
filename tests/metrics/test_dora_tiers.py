"""The DORA tier tables of metrics.md, at and around every threshold, for 2023 and 2021."""

from __future__ import annotations

import pytest

from pulse.metrics.tiers import (
    change_failure_rate_tier,
    deployment_frequency_tier,
    lead_time_tier,
    time_to_restore_tier,
)

# Lead time: elite < 24 h, high < 168 h, medium < 720 h (2023); < 1 h, < 168 h, < 4320 h (2021).
LEAD_TIME_CASES = [
    ("2023", 0.0, "elite"),
    ("2023", 23.99, "elite"),
    ("2023", 24.0, "high"),
    ("2023", 167.99, "high"),
    ("2023", 168.0, "medium"),
    ("2023", 719.99, "medium"),
    ("2023", 720.0, "low"),
    ("2021", 0.99, "elite"),
    ("2021", 1.0, "high"),
    ("2021", 167.99, "high"),
    ("2021", 168.0, "medium"),
    ("2021", 4319.99, "medium"),
    ("2021", 4320.0, "low"),
]


@pytest.mark.parametrize(("benchmark", "hours", "tier"), LEAD_TIME_CASES)
def test_lead_time_thresholds_are_strict(benchmark, hours, tier):
    assert lead_time_tier(hours, benchmark=benchmark) == tier


# Time to restore, both tables: elite < 1 h, high < 24 h, medium < 168 h.
RESTORE_CASES = [
    (0.99, "elite"),
    (1.0, "high"),
    (23.99, "high"),
    (24.0, "medium"),
    (167.99, "medium"),
    (168.0, "low"),
]


@pytest.mark.parametrize("benchmark", ["2023", "2021"])
@pytest.mark.parametrize(("hours", "tier"), RESTORE_CASES)
def test_time_to_restore_is_the_same_table_in_both_years(benchmark, hours, tier):
    assert time_to_restore_tier(hours, benchmark=benchmark) == tier


# Change failure rate: elite <= 5 %, high <= 10 %, medium <= 15 % (2023); 15, 20, 30 % (2021).
# Rates are built as counts over deployments, as the metric computes them.
CFR_CASES = [
    ("2023", 0, 20, "elite"),
    ("2023", 1, 20, "elite"),  # exactly 5 %
    ("2023", 51, 1000, "high"),  # 5.1 %
    ("2023", 1, 10, "high"),  # exactly 10 %
    ("2023", 101, 1000, "medium"),
    ("2023", 3, 20, "medium"),  # exactly 15 %
    ("2023", 151, 1000, "low"),
    ("2021", 3, 20, "elite"),  # exactly 15 %
    ("2021", 151, 1000, "high"),
    ("2021", 1, 5, "high"),  # exactly 20 %
    ("2021", 201, 1000, "medium"),
    ("2021", 3, 10, "medium"),  # exactly 30 %
    ("2021", 301, 1000, "low"),
]


@pytest.mark.parametrize(("benchmark", "failed", "deployments", "tier"), CFR_CASES)
def test_change_failure_rate_thresholds_are_inclusive(benchmark, failed, deployments, tier):
    assert change_failure_rate_tier(failed / deployments, benchmark=benchmark) == tier


def frequency(benchmark, week, month=0.0, six_months=0.0, deployments=1):
    return deployment_frequency_tier(
        deployments=deployments,
        median_days_per_week=week,
        median_days_per_month=month,
        median_days_per_six_months=six_months,
        benchmark=benchmark,
    )


def test_deployment_frequency_2023():
    # elite: median days/week >= 5; high: >= 1; medium: median days/month >= 1; low otherwise.
    assert frequency("2023", week=5.0, month=20.0) == "elite"
    assert frequency("2023", week=4.5, month=20.0) == "high"
    assert frequency("2023", week=1.0, month=4.0) == "high"
    assert frequency("2023", week=0.5, month=2.0) == "medium"
    assert frequency("2023", week=0.0, month=1.0) == "medium"
    assert frequency("2023", week=0.0, month=0.5, six_months=3.0) == "low"


def test_deployment_frequency_2021():
    # elite: days/week >= 5; high: days/month >= 1; medium: days per six months >= 1; low otherwise.
    assert frequency("2021", week=5.0, month=20.0) == "elite"
    assert frequency("2021", week=4.5, month=20.0) == "high"
    assert frequency("2021", week=0.0, month=1.0) == "high"
    assert frequency("2021", week=0.0, month=0.5, six_months=1.0) == "medium"
    assert frequency("2021", week=0.0, month=0.0, six_months=0.5) == "low"


def test_a_metric_without_data_has_no_tier():
    assert lead_time_tier(None) is None
    assert time_to_restore_tier(None) is None
    assert change_failure_rate_tier(None) is None
    # No deployment in the window: no data, not "low".
    assert frequency("2023", week=0.0, month=0.0, deployments=0) is None
    assert frequency("2021", week=0.0, month=0.0, deployments=0) is None
