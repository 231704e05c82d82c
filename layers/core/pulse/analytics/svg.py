"""Standalone SVG charts (no scripts, fonts or external assets): a trend chart and a sparkline.

A trend chart draws the history as a line (broken where a value is null; an isolated point is a
dot), the forecast as a dashed line continuing from the last history point, the 95% and 80%
intervals as polygons behind it, a y axis with 3 to 6 round ticks, the first / middle / last
bucket labels and a title. Output depends only on the arguments (fixed number formatting, no
ids or dates), so the same data always gives the same bytes. All text is XML-escaped.
Limits: a linear y scale only; labels are not thinned beyond first / middle / last.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from xml.sax.saxutils import escape, quoteattr

HISTORY_COLOUR = "#1f4e79"
FORECAST_COLOUR = "#c05621"
BAND_COLOUR = "#dd6b20"
AXIS_COLOUR = "#718096"
FONT = "font-family='sans-serif'"

Point = tuple[float, float]


def trend_chart(
    *,
    title: str,
    labels: Sequence[str],
    history: Sequence[float | None],
    forecast: Sequence[Mapping[str, float]] = (),
    forecast_labels: Sequence[str] = (),
    width: int = 640,
    height: int = 320,
) -> str:
    """A trend chart; ``forecast`` rows carry ``value``, ``lo80``, ``hi80``, ``lo95``, ``hi95``."""
    if len(labels) != len(history):
        raise ValueError("labels and history must have the same length")
    history = _finite_or_none(history)
    _check_rows(forecast)
    left, right, top, bottom = 56, 16, 36, 40
    plot = (left, top, width - left - right, height - top - bottom)
    values = [v for v in history if v is not None] + [
        row[key] for row in forecast for key in ("value", "lo95", "hi95")
    ]
    parts = [_open(width, height, title), _text(width / 2, 22, title, size=15, anchor="middle", bold=True)]
    if not values:
        parts.append(_text(width / 2, height / 2, "no data", size=13, anchor="middle"))
        parts.append("</svg>")
        return "\n".join(parts)

    ticks = _ticks(min(values), max(values))
    count = len(history) + len(forecast)
    x = _Scale(0, max(count - 1, 1), plot[0], plot[0] + plot[2])
    y = _Scale(ticks[0], ticks[-1], plot[1] + plot[3], plot[1])
    parts.extend(_axes(plot, ticks, y))

    every = list(labels) + list(forecast_labels)[: len(forecast)]
    for i in sorted({0, (len(every) - 1) // 2, len(every) - 1} if every else set()):
        anchor = "start" if i == 0 and len(every) > 1 else "end" if i == len(every) - 1 else "middle"
        parts.append(_text(x(i), plot[1] + plot[3] + 18, every[i], size=11, anchor=anchor))

    if forecast:
        last = len(history) - 1
        anchor_point = history[last] if history and history[last] is not None else None
        for low, high, opacity in (("lo95", "hi95", 0.15), ("lo80", "hi80", 0.3)):
            upper = [(x(last + 1 + i), y(row[high])) for i, row in enumerate(forecast)]
            lower = [(x(last + 1 + i), y(row[low])) for i, row in enumerate(forecast)]
            if anchor_point is not None:
                upper.insert(0, (x(last), y(anchor_point)))
            points = upper + lower[::-1]
            parts.append(
                f"<polygon class='band{high[2:]}' points='{_points(points)}' fill='{BAND_COLOUR}' "
                f"fill-opacity='{opacity}' stroke='none'/>"
            )
        line = [(x(last + 1 + i), y(row["value"])) for i, row in enumerate(forecast)]
        if anchor_point is not None:
            line.insert(0, (x(last), y(anchor_point)))
        parts.append(
            f"<path class='forecast' d='{_path([line])}' fill='none' stroke='{FORECAST_COLOUR}' "
            "stroke-width='2' stroke-dasharray='6 4'/>"
        )
    parts.extend(_series(history, x, y, "history", HISTORY_COLOUR, width=2, dot=3))
    parts.append("</svg>")
    return "\n".join(parts)


def sparkline(
    values: Sequence[float | None],
    *,
    forecast: Sequence[Mapping[str, float]] = (),
    title: str = "",
    width: int = 120,
    height: int = 32,
) -> str:
    """A tiny line for a KPI card (no axes or labels), with the forecast's 80% band when given."""
    pad = 3
    values = _finite_or_none(values)
    _check_rows(forecast)
    known = [v for v in values if v is not None] + [
        row[key] for row in forecast for key in ("value", "lo80", "hi80")
    ]
    parts = [_open(width, height, title)]
    if known:
        low, high = min(known), max(known)
        if low == high:
            low, high = low - 1, high + 1
        count = len(values) + len(forecast)
        x = _Scale(0, max(count - 1, 1), pad, width - pad)
        y = _Scale(low, high, height - pad, pad)
        last = len(values) - 1
        if forecast:
            start = [(x(last), y(values[-1]))] if values and values[-1] is not None else []
            upper = start + [(x(last + 1 + i), y(row["hi80"])) for i, row in enumerate(forecast)]
            lower = [(x(last + 1 + i), y(row["lo80"])) for i, row in enumerate(forecast)]
            parts.append(
                f"<polygon class='band80' points='{_points(upper + lower[::-1])}' fill='{BAND_COLOUR}' "
                "fill-opacity='0.3' stroke='none'/>"
            )
            line = start + [(x(last + 1 + i), y(row["value"])) for i, row in enumerate(forecast)]
            parts.append(
                f"<path class='forecast' d='{_path([line])}' fill='none' stroke='{FORECAST_COLOUR}' "
                "stroke-width='1.5' stroke-dasharray='3 2'/>"
            )
        parts.extend(_series(values, x, y, "history", HISTORY_COLOUR, width=1.5, dot=1.5))
    parts.append("</svg>")
    return "\n".join(parts)


def _finite_or_none(values: Sequence[float | None]) -> list[float | None]:
    """NaN and infinities are drawn like nulls: as gaps."""
    return [v if v is not None and math.isfinite(v) else None for v in values]


def _check_rows(rows: Sequence[Mapping[str, float]]) -> None:
    """Forecast rows need finite values and bounds."""
    for row in rows:
        if not all(math.isfinite(row[key]) for key in ("value", "lo80", "hi80", "lo95", "hi95")):
            raise ValueError("forecast rows need finite value, lo80, hi80, lo95 and hi95")


def _open(width: int, height: int, title: str) -> str:
    """The root element with its accessible title."""
    return (
        f"<svg xmlns='http://www.w3.org/2000/svg' width='{width}' height='{height}' "
        f"viewBox='0 0 {width} {height}' role='img' aria-label={quoteattr(title)}>"
        f"<title>{escape(title)}</title>"
    )


def _series(
    values: Sequence[float | None], x: _Scale, y: _Scale, css: str, colour: str, *, width: float, dot: float
) -> list[str]:
    """A line broken at nulls; a point with no neighbour is drawn as a dot."""
    runs: list[list[Point]] = [[]]
    for i, v in enumerate(values):
        if v is None:
            runs.append([])
        else:
            runs[-1].append((x(i), y(v)))
    lines = [run for run in runs if len(run) > 1]
    out = []
    if lines:
        out.append(
            f"<path class='{css}' d='{_path(lines)}' fill='none' stroke='{colour}' "
            f"stroke-width='{width}' stroke-linejoin='round'/>"
        )
    out.extend(
        f"<circle class='{css}' cx='{_n(run[0][0])}' cy='{_n(run[0][1])}' r='{dot}' fill='{colour}'/>"
        for run in runs
        if len(run) == 1
    )
    return out


def _axes(plot: tuple[float, float, float, float], ticks: list[float], y: _Scale) -> list[str]:
    """Gridlines with y labels, and the two axis lines."""
    left, top, width, height = plot
    step = ticks[1] - ticks[0]
    out = []
    for tick in ticks:
        out.append(
            f"<line x1='{_n(left)}' y1='{_n(y(tick))}' x2='{_n(left + width)}' y2='{_n(y(tick))}' "
            "stroke='#e2e8f0' stroke-width='1'/>"
        )
        out.append(_text(left - 6, y(tick) + 4, _label(tick, step), size=11, anchor="end"))
    out.append(
        f"<path class='axis' d='M{_n(left)},{_n(top)}V{_n(top + height)}H{_n(left + width)}' "
        f"fill='none' stroke='{AXIS_COLOUR}' stroke-width='1'/>"
    )
    return out


def _ticks(low: float, high: float) -> list[float]:
    """Round tick values (steps of 1, 2, 2.5 or 5 times a power of ten) covering [low, high]."""
    if low == high:
        margin = abs(low) * 0.1 or 1.0
        low, high = low - margin, high + margin
    raw = (high - low) / 4
    magnitude = 10 ** math.floor(math.log10(raw))
    step = next(m * magnitude for m in (1, 2, 2.5, 5, 10) if m * magnitude >= raw)
    first = math.floor(low / step)
    last = math.ceil(high / step)
    return [k * step for k in range(first, last + 1)]


def _label(value: float, step: float) -> str:
    """A tick label with as many decimals as the step needs."""
    decimals = 0
    while decimals < 6 and abs(step * 10**decimals - round(step * 10**decimals)) > 1e-9:
        decimals += 1
    text = f"{value:,.{decimals}f}"
    return "0" if text.strip("-0.,") == "" else text


class _Scale:
    """A linear map from data to pixels."""

    def __init__(self, d0: float, d1: float, p0: float, p1: float) -> None:
        self.d0, self.p0 = d0, p0
        self.k = (p1 - p0) / (d1 - d0) if d1 != d0 else 0.0

    def __call__(self, value: float) -> float:
        return self.p0 + (value - self.d0) * self.k


def _text(x: float, y: float, text: str, *, size: int, anchor: str, bold: bool = False) -> str:
    weight = " font-weight='bold'" if bold else ""
    return (
        f"<text x='{_n(x)}' y='{_n(y)}' {FONT} font-size='{size}' text-anchor='{anchor}' "
        f"fill='#2d3748'{weight}>{escape(text)}</text>"
    )


def _path(lines: Sequence[Sequence[Point]]) -> str:
    return " ".join("M" + " L".join(f"{_n(px)},{_n(py)}" for px, py in line) for line in lines)


def _points(points: Sequence[Point]) -> str:
    return " ".join(f"{_n(px)},{_n(py)}" for px, py in points)


def _n(value: float) -> str:
    """A coordinate with 2 decimals, trailing zeros dropped (stable text for equal input)."""
    text = f"{value:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text
