"""``pulse seed-demo``: the small org through the real import path into the test database."""

from __future__ import annotations

import datetime as dt
import io
import json
from collections import Counter

import pytest
from sqlalchemy import text

from pulse.db import connect
from pulse.demo import cli, generate

TODAY = dt.date(2026, 3, 2)
TABLES = (
    "teams",
    "contributors",
    "repositories",
    "commits",
    "pull_requests",
    "pull_request_commits",
    "reviews",
    "deployments",
    "deployment_commits",
    "commit_first_deployments",
    "incidents",
    "quality_measurements",
    "objectives",
    "work_items",
    "work_item_pull_requests",
)


def row_counts() -> dict[str, int]:
    with connect() as connection:
        return {
            table: connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one()
            for table in TABLES
        }


def data_version() -> int:
    with connect() as connection:
        return int(connection.execute(text("SELECT version FROM data_state")).scalar_one())


def seed(**kwargs: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = cli.seed_demo(scale="small", seed=42, today=TODAY, stdout=out, stderr=err, **kwargs)  # type: ignore[arg-type]
    return code, out.getvalue(), err.getvalue()


def test_every_generated_record_passes_ingest_validation():
    from pulse.ingest import validate

    lines = [json.dumps(record) for record in generate("small", 42, TODAY)]
    records, errors = validate(lines)
    assert errors == []
    assert len(records) == len(lines)


def test_seed_demo_loads_every_table_and_if_empty_then_adds_nothing():
    generated = Counter(record["type"] for record in generate("small", 42, TODAY))

    code, out, err = seed(if_empty=True)

    assert code == 0
    rows = row_counts()
    assert all(count > 0 for count in rows.values()), rows
    # Natural keys are unique in the generated org, so each record is one row.
    assert rows["teams"] == generated["team"] == 5
    assert rows["repositories"] == generated["repository"] == 20
    assert rows["contributors"] == generated["contributor"]
    assert rows["commits"] == generated["commit"]
    assert rows["pull_requests"] == generated["pull_request"]
    assert rows["reviews"] == generated["review"]
    assert rows["deployments"] == generated["deployment"]
    assert rows["incidents"] == generated["incident"]
    assert rows["work_items"] == generated["work_item"]
    assert f"{sum(generated.values()):,} records" in out
    assert "fast teams: payments, sre" in out and "degrading teams: growth" in out
    assert "seed-demo" in err and "records" in err, "progress on stderr"
    version = data_version()
    assert version > 0
    # Deployments listing their commits (rule 1) and giving only a sha (rule 2) both ship commits.
    with connect() as connection:
        shipped = connection.execute(
            text(
                "SELECT d.listed_commits IS NOT NULL AS listed, count(DISTINCT f.commit_id)"
                " FROM commit_first_deployments f JOIN deployments d ON d.id = f.deployment_id"
                " WHERE f.environment = 'production' GROUP BY 1"
            )
        ).all()
    assert {listed for listed, count in shipped if count > 100} == {True, False}

    code, out, _ = seed(if_empty=True)

    assert code == 0
    assert "not loaded" in out
    assert row_counts() == rows
    assert data_version() == version


def test_a_failure_midway_writes_nothing(monkeypatch):
    """One transaction: a chunk that fails to load rolls back the chunks already loaded."""
    from pulse.ingest.loader import Loader

    calls = []
    real = Loader.load

    def fail_on_second(self, batch, payloads=None):
        calls.append(batch.records)
        if len(calls) == 2:
            raise RuntimeError("disk full")
        return real(self, batch, payloads)

    monkeypatch.setattr(cli, "CHUNK_SIZE", 2000)
    monkeypatch.setattr(Loader, "load", fail_on_second)

    with pytest.raises(RuntimeError, match="disk full"):
        seed()

    assert calls == [2000, 2000]
    assert all(count == 0 for count in row_counts().values())


def test_progress_line_shows_share_rate_and_counts():
    progress = cli.Progress(io.StringIO(), total=200)
    line = progress.line(Counter({"commit": 80, "pull_request": 20}))
    # 100 of 200 records: half of the 24-character bar.
    assert "[" + "#" * 12 + "-" * 12 + "]  50%" in line
    assert "100 records" in line and "commit 80 · pull_request 20" in line
    # An estimate is only an estimate: never 100% before the end, always 100% at the end.
    assert "99%" in progress.line(Counter({"commit": 250}))
    assert "100%" in progress.line(Counter({"commit": 150}), final=True)
