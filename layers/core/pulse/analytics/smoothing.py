"""Additive damped-trend exponential smoothing, ETS(A,Ad,N) (Gardner & McKenzie), in numpy.

Model (component form, Hyndman et al. 2008, "Forecasting with Exponential Smoothing"):
    level  l_t = alpha * y_t + (1 - alpha) * (l_{t-1} + phi * b_{t-1})
    trend  b_t = beta * (l_t - l_{t-1}) + (1 - beta) * phi * b_{t-1}
    y_{t+h|t} = l_t + (phi + phi^2 + ... + phi^h) * b_t
States start from the first two points (l = y_1, b = y_1 - y_0), so one-step errors exist from
the third point on and never use the value they predict. (alpha, beta, phi) minimise the sum of
squared one-step errors (SSE) over a grid, then over 5 rounds of a 3x3x3 pattern search around
the best point with halving steps; bounds alpha in [0.01, 1], beta in [0, 1], phi in
[0.80, 0.98] (Hyndman's bound, so a trend is always damped).
Intervals: sigma^2 = SSE / (number of one-step errors); the h-step variance is
    v_h = sigma^2 * (1 + sum_{j=1}^{h-1} c_j^2),  c_j = alpha * (1 + beta * phi * (1 - phi^j) / (1 - phi))
(class 1 variance of ETS(A,Ad,N); beta here is the component-form beta, i.e. beta* in the book).
80% and 95% intervals are value +- z * sqrt(v_h), z from the normal distribution.
Naive: the last value, with sigma^2 the mean squared one-step change, widening with sqrt(h).
Backtest: rolling origin, one step ahead: for each of the last max(8, n - 12) points, refit on
the points before it and forecast it. ``mase`` = mean |actual - forecast| / mean |y_t - y_{t-1}|,
both over those origins: the scale is the in-sample naive one-step MAE taken on the same points
(naive has no parameters, so its in-sample and out-of-sample errors coincide), which makes
``mase < 1`` mean exactly "beats naive on the backtest". It is null when the series does not
change over the origins (naive is perfect there). ``coverage80`` = share of origins whose actual
lies inside the 80% interval of that origin's fit (``naive_coverage80`` the same for naive).
Limits: short series give rough fits (8 origins on 12 points start from 4-point fits); the
intervals assume normal, independent errors; no seasonality.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from dataclasses import dataclass
from statistics import NormalDist
from typing import Any

import numpy as np
import numpy.typing as npt

Floats = npt.NDArray[np.float64]

MIN_POINTS = 12
MIN_ORIGINS = 8
# With more history, origins start after the first 12 points so each fit has a fair sample.
MIN_TRAINING = 12
Z80 = NormalDist().inv_cdf(0.90)
Z95 = NormalDist().inv_cdf(0.975)
BOUNDS = ((0.01, 1.0), (0.0, 1.0), (0.80, 0.98))
GRID = (
    np.linspace(0.1, 1.0, 10),
    np.linspace(0.0, 1.0, 11),
    np.linspace(0.80, 0.98, 5),
)
REFINE_ROUNDS = 5


@dataclass(frozen=True)
class Fit:
    """Fitted parameters, final states and one-step residual variance of a damped-trend model."""

    alpha: float
    beta: float
    phi: float
    level: float
    trend: float
    sigma2: float


def damped_forecast(fit: Fit, horizon: int) -> list[dict[str, float]]:
    """h = 1..horizon forecasts of a fitted model with 80% and 95% intervals."""
    # phi_h = phi + ... + phi^h, summed rather than closed-form so phi = 1 (Holt) also works.
    phi_h = np.cumsum(fit.phi ** np.arange(1, horizon + 1))
    values = fit.level + phi_h * fit.trend
    c = fit.alpha * (1 + fit.beta * phi_h)
    # v_h sums c_j^2 for j < h: a cumulative sum shifted by one step.
    variance = fit.sigma2 * (1 + np.concatenate(([0.0], np.cumsum(c**2)[:-1])))
    return _with_intervals(values, np.sqrt(variance))


def naive_forecast(values: Sequence[float], horizon: int) -> list[dict[str, float]]:
    """The last value for every step, intervals from the one-step naive residuals times sqrt(h)."""
    y = np.asarray(values, dtype=np.float64)
    if y.size < 2:
        raise ValueError("the naive forecast needs at least 2 points")
    sigma = float(np.sqrt(np.mean(np.diff(y) ** 2)))
    h = np.arange(1, horizon + 1)
    return _with_intervals(np.full(horizon, y[-1]), sigma * np.sqrt(h))


def fit_damped_trend(values: Sequence[float]) -> Fit:
    """Fit (alpha, beta, phi) on the whole series by one-step SSE; needs at least 4 points."""
    y = np.asarray(values, dtype=np.float64)
    if y.size < 4:
        raise ValueError("the damped-trend fit needs at least 4 points")
    return _final_fit(y, _fit(y, np.array([y.size]))[0])


def backtest(values: Sequence[float], parameters: tuple[float, float, float] | None = None) -> dict[str, Any]:
    """Rolling-origin one-step backtest over the last max(8, n - 12) points; needs 12 points.

    Each origin is refitted on the points before it, unless fixed ``(alpha, beta, phi)`` are given.
    """
    y = np.asarray(values, dtype=np.float64)
    if y.size < MIN_POINTS:
        raise ValueError(f"the backtest needs at least {MIN_POINTS} points")
    origins = _origins(y.size)
    params = _fit(y, origins) if parameters is None else np.tile(parameters, (origins.size, 1))
    return _backtest(y, origins, params.astype(np.float64))


def _origins(n: int) -> npt.NDArray[np.int64]:
    """Positions forecast by the backtest: the last max(8, n - 12) points."""
    return np.arange(n - max(MIN_ORIGINS, n - MIN_TRAINING), n)


def _final_fit(y: Floats, params: Floats) -> Fit:
    """States and sigma^2 of the model with ``params`` run over all of ``y``."""
    alpha, beta, phi = (float(p) for p in params)
    predictions, level, trend = _run(y, np.array([alpha]), np.array([beta]), np.array([phi]))
    errors = y[2:] - predictions[2:, 0]
    return Fit(alpha, beta, phi, float(level[0]), float(trend[0]), float(np.mean(errors**2)))


def _backtest(y: Floats, origins: npt.NDArray[np.int64], params: Floats) -> dict[str, Any]:
    """Scores of the one-step forecasts at ``origins``, origin t fitted on ``y[:t]`` (``params`` row)."""
    alpha, beta, phi = (params[:, i].copy() for i in range(3))
    predictions = _run(y, alpha, beta, phi)[0]
    errors = y[:, None] - predictions
    # Origin t was fitted on y[:t]: its sigma^2 averages its own one-step errors before t.
    squared = np.cumsum(np.nan_to_num(errors[2:] ** 2), axis=0)
    columns = np.arange(origins.size)
    sigma = np.sqrt(squared[origins - 3, columns] / (origins - 2))
    forecast_errors = errors[origins, columns]
    naive_errors = y[origins] - y[origins - 1]
    naive_sigma = np.sqrt(np.cumsum(np.diff(y) ** 2)[origins - 2] / (origins - 1))
    scale = float(np.mean(np.abs(naive_errors)))
    return {
        "mase": float(np.mean(np.abs(forecast_errors))) / scale if scale > 0 else None,
        "coverage80": float(np.mean(np.abs(forecast_errors) <= Z80 * sigma)),
        "naive_coverage80": float(np.mean(np.abs(naive_errors) <= Z80 * naive_sigma)),
        "origins": int(origins.size),
    }


def forecast_series(values: Sequence[float | None], horizon: int = 4) -> dict[str, Any]:
    """The trend forecast of spec "trends": damped trend, or naive when it does not beat naive.

    Leading nulls (before the metric had data) are dropped; a null after the first value means a
    bucket without data, and then no forecast is made (the reason says so), as for fewer than 12
    points. The damped model is served when its backtest ``mase < 1``; otherwise (including a
    null ``mase`` on a series that never changes) the naive forecast is, with ``model: "naive"``.
    """
    if horizon < 1:
        raise ValueError("horizon must be at least 1")
    first = next((i for i, v in enumerate(values) if v is not None), len(values))
    history = values[first:]
    if any(v is None for v in history):
        return {"forecast": None, "reason": "the history has buckets without data"}
    points = [float(v) for v in history if v is not None]
    if not all(np.isfinite(points)):
        raise ValueError("values must be finite")
    if len(points) < MIN_POINTS:
        return {
            "forecast": None,
            "reason": f"fewer than {MIN_POINTS} buckets of history ({len(points)})",
        }
    y = np.asarray(points)
    origins = _origins(y.size)
    # The final fit is one more prefix (the whole series) of the same joint fit.
    params = _fit(y, np.append(origins, y.size))
    scores = _backtest(y, origins, params[:-1])
    fit = _final_fit(y, params[-1])
    damped = scores["mase"] is not None and scores["mase"] < 1
    return {
        "model": "damped_trend" if damped else "naive",
        "forecast": damped_forecast(fit, horizon) if damped else naive_forecast(points, horizon),
        "parameters": {"alpha": fit.alpha, "beta": fit.beta, "phi": fit.phi} if damped else None,
        "backtest": scores,
    }


def _with_intervals(values: Floats, sd: Floats) -> list[dict[str, float]]:
    """Rows of value and 80%/95% bounds."""
    return [
        {
            "step": step,
            "value": float(v),
            "lo80": float(v - Z80 * s),
            "hi80": float(v + Z80 * s),
            "lo95": float(v - Z95 * s),
            "hi95": float(v + Z95 * s),
        }
        for step, (v, s) in enumerate(zip(values, sd, strict=True), start=1)
    ]


def _run(y: Floats, alpha: Floats, beta: Floats, phi: Floats) -> tuple[Floats, Floats, Floats]:
    """One-step predictions (rows = time, NaN before t = 2) and final states for m parameter sets."""
    predictions = np.full((y.size, alpha.size), np.nan)
    level = np.full(alpha.size, y[1])
    trend = np.full(alpha.size, y[1] - y[0])
    for t in range(2, y.size):
        predicted = level + phi * trend
        predictions[t] = predicted
        new_level = predicted + alpha * (y[t] - predicted)
        trend = beta * (new_level - level) + (1 - beta) * phi * trend
        level = new_level
    return predictions, level, trend


def _cumulative_sse(y: Floats, params: Floats) -> Floats:
    """Running SSE of one-step errors: row ``end - 3`` is the SSE on ``y[:end]``, one column per row of params."""
    predictions = _run(y, params[:, 0], params[:, 1], params[:, 2])[0]
    return np.cumsum(np.nan_to_num((y[:, None] - predictions)[2:] ** 2), axis=0)


def _fit(y: Floats, ends: npt.NDArray[np.int64]) -> Floats:
    """Best (alpha, beta, phi) for each prefix ``y[:end]``, all prefixes fitted together.

    One run over the longest prefix serves every shorter one: the recursion is causal, so the
    SSE of a prefix is a partial sum of the same errors.
    """
    y = y[: int(ends.max())]
    grid = np.array(list(itertools.product(*GRID)))
    best = grid[np.argmin(_cumulative_sse(y, grid)[ends - 3], axis=1)]
    steps = np.array([g[1] - g[0] for g in GRID])
    # The centre (0, 0, 0) comes first: argmin keeps it on ties, so a round never raises the SSE.
    moves = np.array(sorted(itertools.product((-1.0, 0.0, 1.0), repeat=3), key=lambda m: m != (0, 0, 0)))
    low, high = np.array(BOUNDS).T
    rows = np.arange(ends.size)
    for _ in range(REFINE_ROUNDS):
        steps = steps / 2
        candidates = np.clip(best[:, None, :] + moves[None, :, :] * steps, low, high)
        sse = _cumulative_sse(y, candidates.reshape(-1, 3))[ends - 3]
        # Row e holds every candidate's SSE at end e; keep the 27 columns of end e's own ones.
        own = sse.reshape(ends.size, ends.size, len(moves))[rows, rows]
        best = candidates[rows, np.argmin(own, axis=1)]
    return best
