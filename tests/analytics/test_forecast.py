"""Monte Carlo delivery forecast (portfolio-executive.md "Delivery forecast")."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pytest

from pulse.analytics.forecast import forecast_deliveries, forecast_delivery

MONDAY = dt.date(2024, 6, 3)


def week_end(k: int) -> dt.date:
    """Sunday ending simulated week k (week 1 starts on MONDAY)."""
    return MONDAY + dt.timedelta(days=7 * k - 1)


def test_constant_throughput_completes_in_the_exact_week():
    # 5 items every week, 50 remaining: every trial reaches 50 at the end of week 10 (Sunday 2024-08-11).
    result = forecast_delivery(
        weekly_throughput=[5] * 12, remaining=50, start=MONDAY, target=dt.date(2024, 8, 11)
    )

    assert result.p50_date == result.p85_date == dt.date(2024, 8, 11)
    assert result.probability_by_target == 1.0
    assert result.on_track is True
    assert result.forecast_reason is None


def test_a_target_one_day_before_the_completing_sunday_is_missed():
    # Week 9 ends with 45 < 50 done; week 10 ends on Sunday 08-11, after a Saturday 08-10 target.
    result = forecast_delivery(
        weekly_throughput=[5] * 12, remaining=50, start=MONDAY, target=dt.date(2024, 8, 10)
    )

    assert result.probability_by_target == 0.0
    assert result.on_track is False


def test_noisy_throughput_with_mean_five_has_p50_within_a_week_of_ten_weeks():
    # Mean weekly throughput 60 / 12 = 5, so 50 items take about 10 weeks: P50 near week 10's Sunday.
    history = [2, 8, 5, 3, 7, 5, 4, 6, 5, 5, 1, 9]

    result = forecast_delivery(weekly_throughput=history, remaining=50, start=MONDAY, target=None, seed=11)

    assert result.p50_date is not None
    assert abs((result.p50_date - week_end(10)).days) <= 7


def test_hand_computed_geometric_case():
    # Each week draws 3 with probability 2/6 = 1/3, else 0; R = 3 is done in the first week that
    # draws a 3, so P(done by week k) = 1 - (2/3)^k: 0.333, 0.556, 0.704, 0.802, 0.868 for k = 1..5.
    # P50: first k with >= 0.5 is 2; P85: first k with >= 0.85 is 5.
    history = [0, 0, 3, 0, 0, 3]

    by_week_4 = forecast_delivery(weekly_throughput=history, remaining=3, start=MONDAY, target=week_end(4))
    by_week_2 = forecast_delivery(weekly_throughput=history, remaining=3, start=MONDAY, target=week_end(2))

    assert by_week_4.p50_date == week_end(2) == dt.date(2024, 6, 16)
    assert by_week_4.p85_date == week_end(5) == dt.date(2024, 7, 7)
    # 10,000 trials: standard error sqrt(0.8 * 0.2 / 10000) = 0.004; allow 4 of them.
    assert by_week_4.probability_by_target == pytest.approx(1 - (2 / 3) ** 4, abs=0.016)
    assert by_week_4.on_track is True
    assert by_week_2.probability_by_target == pytest.approx(1 - (2 / 3) ** 2, abs=0.02)
    assert by_week_2.on_track is False


def test_a_mid_week_target_counts_only_weeks_ended_by_it():
    # Target Saturday of week 4: only weeks 1..3 have ended, so P = 1 - (2/3)^3 = 0.704.
    result = forecast_delivery(
        weekly_throughput=[0, 0, 3, 0, 0, 3],
        remaining=3,
        start=MONDAY,
        target=week_end(4) - dt.timedelta(days=1),
    )

    assert result.probability_by_target == pytest.approx(1 - (2 / 3) ** 3, abs=0.02)


def test_reproducible_for_a_seed_and_different_for_another():
    args = {"weekly_throughput": [2, 8, 5, 3, 7, 5, 4, 6, 5, 5, 1, 9], "remaining": 40, "start": MONDAY}
    target = week_end(8)

    first = forecast_delivery(**args, target=target, seed=42)
    again = forecast_delivery(**args, target=target, seed=42)
    other = forecast_delivery(**args, target=target, seed=43)

    assert first == again
    assert first.probability_by_target != other.probability_by_target


def test_p50_is_never_after_p85():
    history = [0, 4, 1, 7, 0, 2, 9, 3, 0, 5, 1, 2]
    results = forecast_deliveries(
        weekly_throughput=history, objectives=[(r, None) for r in (1, 5, 17, 60, 250)], start=MONDAY
    )

    for result in results:
        assert result.p50_date is not None and result.p85_date is not None
        assert result.p50_date <= result.p85_date


def test_nothing_remaining_is_done_at_the_start_with_probability_one():
    result = forecast_delivery(
        weekly_throughput=[1, 2, 0, 3, 1, 2], remaining=0, start=MONDAY, target=week_end(1)
    )

    assert result.p50_date == result.p85_date == MONDAY
    assert result.probability_by_target == 1.0
    assert result.on_track is True


def test_nothing_remaining_wins_over_thin_history():
    result = forecast_delivery(weekly_throughput=[], remaining=0, start=MONDAY, target=week_end(1))

    assert result.probability_by_target == 1.0 and result.forecast_reason is None


def test_five_weeks_of_history_gives_nulls_with_a_reason():
    result = forecast_delivery(
        weekly_throughput=[3, 4, 5, 6, 7], remaining=10, start=MONDAY, target=week_end(4)
    )

    assert (result.p50_date, result.p85_date, result.probability_by_target, result.on_track) == (None,) * 4
    assert result.forecast_reason == "fewer than 6 weeks of throughput history (5)"


def test_zero_throughput_in_every_week_gives_nulls_with_a_reason():
    result = forecast_delivery(weekly_throughput=[0] * 12, remaining=10, start=MONDAY, target=week_end(4))

    assert result.as_dict() == {
        "p50_date": None,
        "p85_date": None,
        "probability_by_target": None,
        "on_track": None,
        "forecast_reason": "no work item was done in the last 12 weeks",
    }


def test_only_the_last_twelve_weeks_count():
    # Eight old weeks of 100 would finish 50 items in one week; the last 12 weeks (5 each) take 10.
    result = forecast_delivery(
        weekly_throughput=[100] * 8 + [5] * 12, remaining=50, start=MONDAY, target=None
    )

    assert result.p50_date == week_end(10)


def test_without_a_target_date_dates_are_forecast_but_not_the_probability():
    result = forecast_delivery(weekly_throughput=[5] * 12, remaining=10, start=MONDAY, target=None)

    assert result.p50_date == week_end(2)
    assert result.probability_by_target is None and result.on_track is None


def test_a_target_before_the_first_week_ends_has_probability_zero():
    result = forecast_delivery(weekly_throughput=[5] * 12, remaining=1, start=MONDAY, target=MONDAY)

    assert result.probability_by_target == 0.0


def test_work_beyond_the_simulated_horizon_is_null_with_a_reason():
    # One item in 12 weeks: 1,000 items need about 12,000 weeks, far beyond the 520 simulated.
    result = forecast_delivery(
        weekly_throughput=[0] * 11 + [1], remaining=1000, start=MONDAY, target=week_end(52)
    )

    assert result.p50_date is None and result.p85_date is None
    assert result.probability_by_target == 0.0
    assert result.forecast_reason == "over 15% of trials not done within 520 simulated weeks"


def test_a_batch_gives_each_objective_what_it_gets_alone():
    history = [2, 8, 5, 3, 7, 5, 4, 6, 5, 5, 1, 9]
    objectives = [(12, week_end(3)), (0, week_end(1)), (200, week_end(30)), (45, None), (12, week_end(2))]

    batch = forecast_deliveries(weekly_throughput=history, objectives=objectives, start=MONDAY, seed=5)
    alone = [
        forecast_delivery(weekly_throughput=history, remaining=r, start=MONDAY, target=t, seed=5)
        for r, t in objectives
    ]

    assert batch == alone


def test_as_dict_has_iso_dates():
    result = forecast_delivery(
        weekly_throughput=[5] * 12, remaining=50, start=MONDAY, target=dt.date(2024, 8, 11)
    )

    assert result.as_dict() == {
        "p50_date": "2024-08-11",
        "p85_date": "2024-08-11",
        "probability_by_target": 1.0,
        "on_track": True,
        "forecast_reason": None,
    }


@pytest.mark.parametrize(
    "kwargs",
    [
        {"start": MONDAY + dt.timedelta(days=1)},
        {"remaining": -1},
        {"weekly_throughput": [1, 2, 3, -1, 2, 2]},
        {"trials": 0},
    ],
)
def test_bad_arguments_raise(kwargs):
    args = {
        "weekly_throughput": [1, 2, 3, 1, 2, 2],
        "remaining": 5,
        "start": MONDAY,
        "target": None,
        **kwargs,
    }

    with pytest.raises(ValueError):
        forecast_delivery(**args)


def test_done_counts_are_the_trials_at_or_past_each_count_in_each_week():
    from pulse.analytics.forecast import BLOCK_WEEKS, _done_counts

    history = np.array([3, 5, 8], dtype=np.int64)
    # One block of weeks is enough here (5.3 items a week, 90 needed), so the paths are exactly
    # these draws; the rule, counted the slow way: trials whose running total reached R.
    paths = np.cumsum(np.random.default_rng(7).choice(history, size=(BLOCK_WEEKS, 500)), axis=0)
    remaining = np.array([1, 10, 40, 90], dtype=np.int64)

    done = _done_counts(history, remaining=remaining, min_weeks=0, trials=500, seed=7)

    for r in remaining:
        assert done[int(r)].tolist() == [int((week >= r).sum()) for week in paths]
