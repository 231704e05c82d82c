"""Damped-trend exponential smoothing, naive benchmark and the honest backtest (spec "trends")."""

from __future__ import annotations

import itertools
import math

import numpy as np
import pytest

from pulse.analytics.smoothing import (
    Fit,
    backtest,
    damped_forecast,
    fit_damped_trend,
    forecast_series,
    naive_forecast,
)

Z80 = 1.2815515655446004
Z95 = 1.959963984540054


def test_a_constant_series_forecasts_the_constant_with_zero_width_intervals():
    result = forecast_series([7.5] * 16, horizon=3)

    assert [row["value"] for row in result["forecast"]] == [7.5, 7.5, 7.5]
    for row in result["forecast"]:
        assert row["hi95"] - row["lo95"] == pytest.approx(0.0, abs=1e-9)
    # Naive is perfect on it, so nothing can beat naive: mase is undefined and naive is served.
    assert result["model"] == "naive"
    assert result["backtest"]["mase"] is None


def test_an_exact_line_is_followed_up_to_the_largest_possible_damping_lag():
    # y = 3 + 2t. alpha = beta = 1 makes level = y_t and trend = 2, so every one-step error is
    # 2 * (1 - phi): the fit takes the least damping allowed, phi = 0.98, and then the h-step
    # forecast l + 2 * (phi + ... + phi^h) lags the line by 2 * (h - sum phi^i):
    # 0.04, 0.1192, 0.236816, 0.39207968 for h = 1..4 (line: 43, 45, 47, 49).
    result = forecast_series([3 + 2 * t for t in range(20)], horizon=4)

    assert result["model"] == "damped_trend"
    assert result["parameters"] == {"alpha": 1.0, "beta": 1.0, "phi": 0.98}
    expected = [43 - 0.04, 45 - 0.1192, 47 - 0.236816, 49 - 0.39207968]
    assert [row["value"] for row in result["forecast"]] == pytest.approx(expected, abs=1e-9)


def test_fit_on_an_exact_line_has_the_hand_computed_states_and_variance():
    fit = fit_damped_trend([3 + 2 * t for t in range(20)])

    # Residuals are all 2 * (1 - 0.98) = 0.04, so sigma^2 = 0.0016; level = y_19 = 41, trend = 2.
    assert (fit.alpha, fit.beta, fit.phi) == (1.0, 1.0, 0.98)
    assert fit.level == pytest.approx(41.0)
    assert fit.trend == pytest.approx(2.0)
    assert fit.sigma2 == pytest.approx(0.0016)


def test_damped_forecast_uses_the_class_1_variance_formula():
    # l = 10, b = 1, phi = 0.9: values 10 + 0.9, 10 + 1.71, 10 + 2.439.
    # c_j = alpha * (1 + beta * (phi + ... + phi^j)): c_1 = 0.5 * (1 + 0.2 * 0.9) = 0.59,
    # c_2 = 0.5 * (1 + 0.2 * 1.71) = 0.671. v_h = 4 * (1 + sum_{j<h} c_j^2): 4, 5.3924, 7.193364.
    fit = Fit(alpha=0.5, beta=0.2, phi=0.9, level=10.0, trend=1.0, sigma2=4.0)

    rows = damped_forecast(fit, 3)

    assert [row["value"] for row in rows] == pytest.approx([10.9, 11.71, 12.439])
    for row, variance in zip(rows, [4.0, 5.3924, 7.193364], strict=True):
        assert row["hi80"] - row["value"] == pytest.approx(Z80 * math.sqrt(variance))
        assert row["value"] - row["lo95"] == pytest.approx(Z95 * math.sqrt(variance))


def test_naive_forecast_widens_with_the_square_root_of_h():
    # One-step changes 2, -1, 2: sigma^2 = (4 + 1 + 4) / 3 = 3; h = 2 has sd sqrt(6).
    rows = naive_forecast([1, 3, 2, 4], 2)

    assert [row["value"] for row in rows] == [4.0, 4.0]
    assert rows[0]["hi80"] == pytest.approx(4 + Z80 * math.sqrt(3))
    assert rows[1]["lo95"] == pytest.approx(4 - Z95 * math.sqrt(6))


def test_mase_and_coverage_by_hand_on_a_zigzag():
    # Fixed alpha = 1, beta = 1, phi = 0.8: level = y_t, trend = y_t - y_{t-1}, so the one-step
    # forecast of y_t is y_{t-1} + 0.8 * (y_{t-1} - y_{t-2}). Origins: the last max(8, 12 - 12) = 8.
    #   t:        4     5     6     7     8     9    10    11
    #   y_t:     12    14    13    15    17    16    18    17
    #   model:  14.6  11.2  15.6  12.2  16.6  18.6  15.2  19.6   |error| sum 19.2
    #   naive:   13    12    14    13    15    17    16    18     |error| sum 12
    # mase = 19.2 / 12 = 1.6.
    # Coverage: the model's errors before origin t are 2.6 or 2.8 (and one 0.4), so its smallest
    # 80% half-width (t = 11, sigma^2 = 58.56 / 9) is 1.2816 * 2.551 = 3.27 > 2.8: all 8 inside.
    # Naive: sigma^2 = mean squared change before t, smallest 2.5 (t = 5, 7), half-width 2.026 >= 2.
    y = [10, 12, 11, 13, 12, 14, 13, 15, 17, 16, 18, 17]

    scores = backtest(y, parameters=(1.0, 1.0, 0.8))

    assert scores == {
        "mase": pytest.approx(1.6),
        "coverage80": 1.0,
        "naive_coverage80": 1.0,
        "origins": 8,
    }


def test_mase_by_hand_on_a_line():
    # y = 2t with the same fixed model: forecast y_{t-1} + 0.8 * 2, error 0.4; naive error 2.
    scores = backtest([2 * t for t in range(12)], parameters=(1.0, 1.0, 0.8))

    assert scores["mase"] == pytest.approx(0.4 / 2)


def test_origins_are_the_last_n_minus_12_points_when_that_is_more_than_8():
    assert backtest(list(range(30)))["origins"] == 18
    assert backtest(list(range(12)))["origins"] == 8


def test_level_shifts_fall_back_to_naive():
    # Naive is exact except at the shifts; a smoothed level (alpha < 1) lags after each shift and
    # a trend (beta > 0) overshoots it, so the best the model does is alpha = 1, beta = 0 from a
    # flat start, which is naive itself: a tie, mase = 1, and a tie does not beat naive.
    y = [0, 0, 0, 5, 5, 5, 5, 2, 2, 2, 8, 8, 8, 8, 3, 3]

    result = forecast_series(y, horizon=2)

    assert result["model"] == "naive"
    assert result["backtest"]["mase"] == pytest.approx(1.0)
    assert [row["value"] for row in result["forecast"]] == [3.0, 3.0]
    assert result["parameters"] is None


def test_white_noise_steps_a_random_walk_mostly_fall_back_to_naive():
    # On a random walk naive is the optimal forecast; a fitted trend model can only tie it in
    # expectation and loses on estimation noise. Seeds 0..29, 30 points each.
    models = [
        forecast_series(list(10 + np.cumsum(np.random.default_rng(seed).normal(size=30))))["model"]
        for seed in range(30)
    ]

    assert models.count("naive") >= 0.6 * len(models)


def test_short_white_noise_mostly_falls_back_to_naive():
    # 12 points: the backtest's fits use 4 to 11 points, too few for three parameters on noise.
    models = [
        forecast_series(list(10 + np.random.default_rng(seed).normal(size=12)))["model"] for seed in range(30)
    ]

    assert models.count("naive") >= 0.6 * len(models)


def test_long_white_noise_is_forecast_near_its_mean_and_beats_naive():
    # With 52 points the model learns a small alpha and forecasts near the mean 10, with half
    # naive's error variance (naive's one-step error is the difference of two noise draws).
    results = [forecast_series(list(10 + np.random.default_rng(seed).normal(size=52))) for seed in range(20)]

    damped = [r for r in results if r["model"] == "damped_trend"]
    assert len(damped) >= 0.8 * len(results)
    assert np.median([abs(r["forecast"][0]["value"] - 10) for r in damped]) <= 0.5


@pytest.mark.parametrize(
    "values",
    [
        [10 + 0.5 * t + n for t, n in enumerate(np.random.default_rng(3).normal(size=30))],
        list(10 + np.cumsum(np.random.default_rng(4).normal(size=30))),
    ],
    ids=["trend_with_noise", "random_walk"],
)
def test_intervals_widen_with_h_and_95_contains_80(values):
    rows = forecast_series(values, horizon=6)["forecast"]

    widths80 = [row["hi80"] - row["lo80"] for row in rows]
    assert all(a < b for a, b in itertools.pairwise(widths80))
    for row in rows:
        assert row["lo95"] < row["lo80"] < row["value"] < row["hi80"] < row["hi95"]


def test_fewer_than_12_points_gives_no_forecast_with_the_reason():
    assert forecast_series([1.0] * 11) == {
        "forecast": None,
        "reason": "fewer than 12 buckets of history (11)",
    }


def test_leading_nulls_are_dropped_before_counting():
    assert forecast_series([None, None, *[1.0] * 11])["forecast"] is None
    assert forecast_series([None, None, *[float(t) for t in range(12)]])["forecast"] is not None


def test_a_null_inside_the_history_gives_no_forecast_with_the_reason():
    values: list[float | None] = [float(t) for t in range(14)]
    values[6] = None

    assert forecast_series(values) == {"forecast": None, "reason": "the history has buckets without data"}


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        forecast_series([1.0] * 12, horizon=0)
    with pytest.raises(ValueError):
        forecast_series([1.0] * 11 + [math.nan])
    with pytest.raises(ValueError):
        fit_damped_trend([1.0, 2.0, 3.0])
