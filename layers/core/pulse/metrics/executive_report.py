"""The executive report as one self-contained HTML page, and one trend as a standalone SVG.

The page has no scripts, fonts, stylesheets or images from elsewhere: styles are inline in a
``<style>`` element and charts are inline SVG from ``pulse.analytics.svg`` (plain Python, no
plotting library). Every text that comes from data is HTML-escaped.
"""

from __future__ import annotations

import html
from collections.abc import Mapping, Sequence
from typing import Any

from pulse.analytics import svg

STYLE = """
body{font-family:sans-serif;margin:24px;color:#1a202c;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
.meta{color:#4a5568;font-size:13px}
.cards{display:grid;grid-template-columns:repeat(auto-fill,minmax(190px,1fr));gap:12px}
.card{border:1px solid #e2e8f0;border-radius:6px;padding:10px 12px}
.card .label{font-size:12px;color:#4a5568}.card .value{font-size:22px;font-weight:bold}
.card .change{font-size:12px}.good{color:#276749}.bad{color:#c53030}.same{color:#4a5568}
.tier{font-size:11px;border-radius:3px;padding:1px 5px;background:#edf2f7;margin-left:4px}
.trends{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:12px}
.trend{border:1px solid #e2e8f0;border-radius:6px;padding:8px 10px;font-size:12px}
.risks{list-style:none;padding:0}.risks li{border-left:4px solid #a0aec0;padding:6px 10px;margin:6px 0}
.risks li.high{border-color:#c53030}.risks li.medium{border-color:#dd6b20}.risks li.low{border-color:#d69e2e}
.severity{font-size:11px;text-transform:uppercase;font-weight:bold;margin-right:6px}
"""


def format_value(value: Any, unit: str) -> str:
    """A card or trend value for people: ratios as percentages, hours and rates with one decimal."""
    if value is None:
        return "no data"
    if unit == "ratio":
        return f"{value:.0%}"
    if unit == "hours":
        return f"{value:.1f} h"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.1f}"


def _change(card: Mapping[str, Any]) -> str:
    change, better = card["change"], card["better"]
    css = "same" if better is None else "good" if better else "bad"
    if change is None:
        text = "no comparison" if card["previous"] is None or card["value"] is None else "vs 0 before"
        if card["previous"] is not None and card["value"] == card["previous"]:
            text = "unchanged"
    else:
        text = f"{change:+.0%} vs previous ({format_value(card['previous'], card['unit'])})"
    return f"<div class='change {css}'>{html.escape(text)}</div>"


def _card(key: str, card: Mapping[str, Any]) -> str:
    tier = card.get("tier")
    badge = f"<span class='tier'>{html.escape(tier)}</span>" if tier else ""
    return (
        f"<div class='card' id='card-{html.escape(key)}'>"
        f"<div class='label'>{html.escape(card['label'])}{badge}</div>"
        f"<div class='value'>{html.escape(format_value(card['value'], card['unit']))}</div>"
        f"{_change(card)}<div class='meta'>n = {card['n']}</div></div>"
    )


def _trend(trend: Mapping[str, Any]) -> str:
    history = [entry["value"] for entry in trend["history"]]
    forecast = trend["forecast"] or ()
    chart = svg.sparkline(history, forecast=forecast, title=trend["label"], width=240, height=56)
    if trend["forecast"] is None:
        note = f"no forecast: {trend['reason']}"
    else:
        backtest = trend["backtest"] or {}
        mase = backtest.get("mase")
        note = (
            f"{trend['model']} forecast, next {trend['interval']}: "
            f"{format_value(trend['forecast'][0]['value'], trend['unit'])}"
            + (f" (backtest MASE {mase:.2f})" if mase is not None else "")
        )
    return (
        f"<div class='trend' id='trend-{html.escape(trend['metric'])}'>"
        f"<div>{html.escape(trend['label'])}</div>{chart}<div class='meta'>{html.escape(note)}</div></div>"
    )


def _risk(item: Mapping[str, Any]) -> str:
    subject = item["subject"]
    return (
        f"<li class='{html.escape(item['severity'])}'><span class='severity'>{html.escape(item['severity'])}</span>"
        f"<b>{html.escape(item['kind'].replace('_', ' '))}</b> · {html.escape(subject['type'])} "
        f"{html.escape(subject['key'])}<div>{html.escape(item['explanation'])}</div></li>"
    )


def report_html(
    *, cards: Mapping[str, Any], trends: Sequence[Mapping[str, Any]], risks: Mapping[str, Any]
) -> str:
    """The whole page from the three answers (cards, one trend per metric, risks)."""
    meta = cards["meta"]
    filters = meta["filters"]
    scope = ", ".join(
        f"{name} {', '.join(values) if isinstance(values, list) else values}"
        for name, values in (("team", filters["team"]), ("project", filters.get("project")))
        if values
    )
    items = risks["items"]
    risk_list = (
        "<ul class='risks'>" + "".join(_risk(item) for item in items) + "</ul>"
        if items
        else "<p class='meta'>No risk findings.</p>"
    )
    return (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        "<title>Pulse executive report</title>"
        f"<style>{STYLE}</style></head><body>"
        "<h1>Engineering delivery: executive report</h1>"
        f"<div class='meta'>{html.escape(meta['start_date'])} to {html.escape(meta['end_date'])}"
        f" ({html.escape(meta['tz'])}){html.escape(' · ' + scope if scope else '')}"
        f" · generated {html.escape(meta['generated_at'])}</div>"
        "<h2>Key figures</h2><div class='cards'>"
        + "".join(_card(key, card) for key, card in cards["cards"].items())
        + "</div><h2>Trends and forecasts</h2><div class='trends'>"
        + "".join(_trend(trend) for trend in trends)
        + f"</div><h2>Risks ({len(items)})</h2>{risk_list}</body></html>"
    )


def trend_svg(trend: Mapping[str, Any]) -> str:
    """One trend as a standalone SVG chart: history, forecast and its 80% / 95% bands."""
    forecast = trend["forecast"] or ()
    title = f"{trend['label']} per {trend['interval']}"
    if trend["model"]:
        title += f" ({trend['model'].replace('_', ' ')} forecast)"
    return svg.trend_chart(
        title=title,
        labels=[entry["period_start"] for entry in trend["history"]],
        history=[entry["value"] for entry in trend["history"]],
        forecast=forecast,
        forecast_labels=[row["period_start"] for row in forecast],
    )
