"""Code quality: latest values, change over the window and the per-interval series, by hand."""

from __future__ import annotations

import datetime as dt

from pulse import db
from pulse.metrics import quality
from pulse.metrics.common import Window
from tests.metrics.github_records import EVERYTHING, at, load, org


def _measure(repo: str, measured_at: str, **values) -> dict:
    return {"type": "quality", "repository": repo, "measured_at": measured_at, **values}


def test_latest_change_and_series_per_field():
    load(
        [
            *org(repositories=("acme/checkout", "acme/search")),
            _measure("acme/checkout", at(20, month=2), coverage=0.9),  # before the window
            _measure("acme/checkout", at(2, 10), coverage=0.8, complexity=2.0, issues=10),
            _measure("acme/checkout", at(9, 10), coverage=0.75),
            _measure("acme/checkout", at(20, 10), coverage=0.7, issues=14, vulnerabilities=1),
            _measure("acme/search", at(1, month=2), coverage=0.5),  # nothing in the window
        ]
    )
    window = Window(dt.date(2026, 3, 2), dt.date(2026, 3, 22))

    with db.connect() as connection:
        items = quality.code_quality(connection, window=window, scope=EVERYTHING, interval="week")

    assert [item["repository"] for item in items] == ["acme/checkout"]
    item = items[0]
    assert item["measurements"] == 3
    assert item["measured_at"] == "2026-03-20T10:00:00+00:00"
    assert item["latest"] == {
        "coverage": 0.7,
        "complexity": 2.0,
        "duplication": None,
        "issues": 14,
        "vulnerabilities": 1,
    }
    # each field against its own first value in the window (February's 0.9 is outside it)
    assert item["change"] == {
        "coverage": -0.1,
        "complexity": 0.0,
        "duplication": None,
        "issues": 4,
        "vulnerabilities": 0,
    }
    assert [(point["period_start"], point["coverage"], point["issues"]) for point in item["series"]] == [
        ("2026-03-02", 0.8, 10),
        ("2026-03-09", 0.75, None),
        ("2026-03-16", 0.7, 14),
    ]
