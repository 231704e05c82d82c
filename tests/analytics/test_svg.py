"""Standalone SVG trend chart and sparkline."""

from __future__ import annotations

import math
import xml.etree.ElementTree as ET

import pytest

from pulse.analytics.svg import sparkline, trend_chart

NS = {"svg": "http://www.w3.org/2000/svg"}
FORECAST = [
    {"value": 31.0, "lo80": 28.0, "hi80": 34.0, "lo95": 26.0, "hi95": 36.0},
    {"value": 32.0, "lo80": 27.0, "hi80": 37.0, "lo95": 24.0, "hi95": 40.0},
]


def parse(svg: str) -> ET.Element:
    root = ET.fromstring(svg)
    assert root.tag == "{http://www.w3.org/2000/svg}svg"
    return root


def chart(**overrides):
    args = {
        "title": "Deployments per week",
        "labels": ["W1", "W2", "W3", "W4", "W5"],
        "history": [10.0, 20.0, 15.0, 25.0, 30.0],
        "forecast": FORECAST,
        "forecast_labels": ["W6", "W7"],
        **overrides,
    }
    return trend_chart(**args)


def points(element: ET.Element) -> list[tuple[float, float]]:
    return [tuple(float(c) for c in pair.split(",")) for pair in element.attrib["points"].split()]


def test_trend_chart_is_well_formed_with_history_forecast_and_both_bands():
    root = parse(chart())

    assert len(root.findall("svg:path[@class='history']", NS)) == 1
    assert len(root.findall("svg:path[@class='forecast']", NS)) == 1
    band95, band80 = root.findall("svg:polygon", NS)
    assert (band95.attrib["class"], band80.attrib["class"]) == ("band95", "band80")
    # Anchored at the last history point, then 2 upper and 2 lower corners.
    assert len(points(band95)) == len(points(band80)) == 5


def test_the_95_band_encloses_the_80_band():
    root = parse(chart())
    band95, band80 = (points(p) for p in root.findall("svg:polygon", NS))

    # Pixel y grows downwards: the 95% upper edge is above (smaller y) the 80% one, the lower below.
    for (x95, y95), (x80, y80) in zip(band95[1:3], band80[1:3], strict=True):
        assert x95 == x80 and y95 < y80
    for (x95, y95), (x80, y80) in zip(band95[3:], band80[3:], strict=True):
        assert x95 == x80 and y95 > y80


def test_every_coordinate_lies_inside_the_view_box():
    root = parse(chart(width=400, height=200))

    for polygon in root.findall("svg:polygon", NS):
        for x, y in points(polygon):
            assert 0 <= x <= 400 and 0 <= y <= 200


def test_y_axis_has_round_ticks_covering_the_data():
    # Data 10..40 (hi95 = 40): span 30, raw step 30 / 4 = 7.5, next round step 10: 10, 20, 30, 40.
    root = parse(chart())

    labels = [t.text for t in root.findall("svg:text", NS) if t.attrib["text-anchor"] == "end"]
    assert labels[:4] == ["10", "20", "30", "40"]


def test_title_and_labels_are_escaped():
    svg = chart(title="Lead time <p50> & 'more'", labels=["<a>", "b", "c", "d", "e&f"])
    root = parse(svg)

    assert root.find("svg:title", NS).text == "Lead time <p50> & 'more'"
    assert root.attrib["aria-label"] == "Lead time <p50> & 'more'"
    texts = [t.text for t in root.findall("svg:text", NS)]
    assert "<a>" in texts and "Lead time <p50> & 'more'" in texts
    assert "<p50>" not in svg


def test_nulls_break_the_line_and_isolated_points_become_dots():
    # Runs: [1], [3, 4], [6] (NaN counts as null): one two-point segment and two dots.
    root = parse(chart(labels=list("abcdef"), history=[1.0, None, 3.0, 4.0, math.nan, 6.0], forecast=()))

    (history,) = root.findall("svg:path[@class='history']", NS)
    assert history.attrib["d"].count("M") == 1
    assert len(root.findall("svg:circle[@class='history']", NS)) == 2


def test_a_single_point_and_an_empty_history_still_render():
    single = parse(chart(labels=["W1"], history=[5.0], forecast=()))
    empty = parse(chart(labels=[], history=[], forecast=()))

    assert len(single.findall("svg:circle", NS)) == 1
    assert single.findall("svg:path[@class='history']", NS) == []
    assert "no data" in [t.text for t in empty.findall("svg:text", NS)]


def test_a_forecast_after_a_null_last_value_is_not_anchored():
    root = parse(chart(history=[10.0, 20.0, 15.0, 25.0, None]))

    band95 = root.find("svg:polygon", NS)
    assert len(points(band95)) == 4


def test_output_is_deterministic():
    assert chart() == chart()
    assert sparkline([1.0, 2.0, None, 3.0], forecast=FORECAST) == sparkline(
        [1.0, 2.0, None, 3.0], forecast=FORECAST
    )


def test_sparkline_is_well_formed_with_line_and_band_and_no_text():
    root = parse(sparkline([3.0, 4.0, 2.0, 5.0], forecast=FORECAST, title="Cycle time"))

    assert root.attrib["width"] == "120" and root.attrib["height"] == "32"
    assert root.findall("svg:path[@class='history']", NS)
    assert root.findall("svg:path[@class='forecast']", NS)
    assert [p.attrib["class"] for p in root.findall("svg:polygon", NS)] == ["band80"]
    assert root.findall("svg:text", NS) == []


@pytest.mark.parametrize("values", [[], [None, None], [7.0], [7.0, 7.0, 7.0]])
def test_sparkline_handles_empty_null_and_flat_series(values):
    parse(sparkline(values))


def test_bad_input_raises():
    with pytest.raises(ValueError):
        chart(labels=["W1"])
    with pytest.raises(ValueError):
        chart(forecast=[{**FORECAST[0], "hi95": math.inf}])
