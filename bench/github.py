"""GitHub analytics latency through the handler, uncached, on the demo organisations.

Run: ``make bench-github`` (or ``python -m bench.github [--scale small] [--scale large] [--runs 20]
[--database NAME]``).

Each scale uses the database ``pulse_bench_<scale>`` on the configured server (``DATABASE_URL``,
else the embedded one), shared with ``bench.dora``: migrated, and seeded with ``pulse seed-demo
--scale <scale>`` when it holds no repository yet (the large org takes a few minutes once), then
``VACUUM ANALYZE``d (a database in service is vacuumed; index-only scans need it).
``--database NAME`` measures an existing database instead (no seeding).

For the last 90 days (UTC), org-wide, through the GithubFunction handler (HTTP API v2 event with
an admin's authorizer context, Mangum, FastAPI, Powertools, scope resolution, data version,
Redis GET miss and SET; the bench's Redis keys are deleted before each call), p50 and p90 over
``--runs`` runs after two warm-ups:
- ``GET /pull-requests?limit=100`` (the first page and the pooled summary);
- ``GET /repositories/{owner}/{name}/insights`` of the repository with the most merged PRs;
- ``GET /contributors`` (first page of 50);
plus the raw SQL of the PR summary (what the handler adds is the difference) and its plan.

Budgets (issue 7, on ``large``): /pull-requests p50 <= 100 ms, insights <= 300 ms,
/contributors <= 300 ms. Exit status 1 when the largest measured scale misses one.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import io
import os
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.timing import Timing

ROOT = Path(__file__).resolve().parent.parent
PREFIX = "/api/v1/analytics/github"
ADMIN = {"sub": "bench", "kind": "user", "role": "admin", "teams": ""}
BUDGETS_MS = {"pull-requests": 100.0, "insights": 300.0, "contributors": 300.0}
KEY_PREFIX = "pulse-bench-github"


@dataclass
class Result:
    name: str
    counts: dict[str, int]
    repository: str
    timings: dict[str, Timing] = field(default_factory=dict)
    summary_sql: Timing = field(default_factory=Timing)
    plan: str = ""


def _environment() -> None:
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Pulse")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["REDIS_KEY_PREFIX"] = KEY_PREFIX
    from pulse.local.services import ensure_services

    ensure_services()


def _use_database(name: str, *, seed_scale: str | None) -> None:
    """Point this process at database ``name``; migrate, seed when empty (if a scale is given)."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from pulse import db, migrate
    from pulse.config import get_settings, normalize_database_url
    from pulse.local.services import create_database

    server = make_url(normalize_database_url(os.environ["DATABASE_URL"]))
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    create_database(admin, name)
    url = server.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    engine = create_engine(url, isolation_level="AUTOCOMMIT", connect_args={"timeout": 3600})
    with engine.connect() as connection:
        empty = connection.execute(text("SELECT NOT EXISTS (SELECT 1 FROM repositories)")).scalar()
    if empty and seed_scale is not None:
        print(f"seeding {name} with pulse seed-demo --scale {seed_scale} ...", file=sys.stderr)
        subprocess.run(
            [str(Path(sys.executable).with_name("pulse")), "seed-demo", "--scale", seed_scale],
            check=True,
            env={**os.environ, "DATABASE_URL": url},
        )
    with engine.connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    engine.dispose()
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    db.get_engine().dispose()
    db.get_engine.cache_clear()


def _counts() -> dict[str, int]:
    from sqlalchemy import text

    from pulse import db

    tables = ("repositories", "contributors", "commits", "pull_requests", "reviews", "pull_request_stages")
    with db.connect() as connection:
        return {t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}


def _busiest_repository(start: dt.datetime) -> str:
    from sqlalchemy import text

    from pulse import db

    with db.connect() as connection:
        return str(
            connection.execute(
                text(
                    "SELECT r.key FROM pull_request_stages st JOIN repositories r ON r.id = st.repository_id "
                    "WHERE st.merged_at >= :start GROUP BY r.key ORDER BY count(*) DESC, r.key LIMIT 1"
                ),
                {"start": start},
            ).scalar_one()
        )


def _timed(call: Callable[[], Any], runs: int, before: Callable[[], None] | None = None) -> Timing:
    timing = Timing()
    for index in range(runs + 2):
        if before is not None:
            before()
        started = time.perf_counter()
        call()
        elapsed = (time.perf_counter() - started) * 1000
        if index >= 2:  # two warm-ups
            timing.samples.append(elapsed)
    return timing


def measure(name: str, runs: int, *, seed_scale: str | None) -> Result:
    """Every figure for one database (see the module docstring)."""
    from sqlalchemy import text

    from pulse import cache, db
    from pulse.auth.scope import Scope
    from pulse.local.events import LambdaContext, http_event
    from pulse.local.template import load_handler, load_template
    from pulse.metrics import pull_requests
    from pulse.metrics.common import make_window
    from pulse.metrics.series import window_params

    _use_database(name, seed_scale=seed_scale)
    window = make_window(None, None, "UTC")
    repository = _busiest_repository(window.start)
    result = Result(name, _counts(), repository)
    handler = load_handler(load_template(ROOT / "template.yaml").functions["GithubFunction"])
    redis = cache.get_redis()

    def flush() -> None:
        for key in redis.scan_iter(match=f"{KEY_PREFIX}:*", count=1000):
            redis.delete(key)

    dates = [("start_date", window.start_date.isoformat()), ("end_date", window.end_date.isoformat())]
    requests = {
        "pull-requests": (f"{PREFIX}/pull-requests", [*dates, ("limit", "100")]),
        "insights": (f"{PREFIX}/repositories/{repository}/insights", dates),
        "contributors": (f"{PREFIX}/contributors", dates),
    }
    owner, _, repo = repository.partition("/")
    for label, (path, query) in requests.items():
        insights = label == "insights"
        route = f"{PREFIX}/repositories/{{owner}}/{{name}}/insights" if insights else path
        event = http_event(
            "GET",
            path,
            route_key=f"GET {route}",
            path_parameters={"owner": owner, "name": repo} if insights else None,
            query=query,
            authorizer=ADMIN,
        )

        def invoke(event: dict[str, Any] = event) -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # Powertools prints its metrics (EMF)
                response = handler(dict(event), LambdaContext(function_name="GithubFunction"))
            assert response["statusCode"] == 200, response

        result.timings[label] = _timed(invoke, runs, before=flush)

    condition, params = pull_requests._condition(Scope(None, None), None)
    summary = f"SELECT count(*), {pull_requests.MEDIANS_SQL} FROM ({pull_requests.stages_sql(condition)}) s"
    bind = {**window_params(window), **params}
    with db.connect() as connection:
        result.summary_sql = _timed(lambda: connection.execute(text(summary), bind).all(), runs)
        plan = connection.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {summary}"), bind)
        result.plan = "\n".join(row[0] for row in plan)
    flush()
    return result


def report(results: list[Result]) -> tuple[str, bool]:
    lines = ["# GitHub analytics benchmark (last 90 days, org-wide, uncached, through the handler)", ""]
    for result in results:
        counts = ", ".join(f"{table} {count:,}" for table, count in result.counts.items())
        lines += [f"## {result.name}", "", counts, f"insights of `{result.repository}` (most merged PRs)", ""]
        lines += ["| request | p50 | p90 | budget (large) |", "|---|---|---|---|"]
        for label, timing in result.timings.items():
            lines.append(
                f"| {label} | {timing.p50:.1f} ms | {timing.p90:.1f} ms | {BUDGETS_MS[label]:.0f} ms |"
            )
        lines += [
            "",
            f"PR summary, raw SQL: p50 {result.summary_sql.p50:.1f} ms",
            "",
            "```",
            result.plan,
            "```",
            "",
        ]
    final = results[-1]
    ok = True
    lines.append(f"budgets on `{final.name}`:")
    for label, budget in BUDGETS_MS.items():
        value = final.timings[label].p50
        ok = ok and value <= budget
        lines.append(
            f"- {label} p50 {value:.1f} ms (budget {budget:.0f} ms) {'ok' if value <= budget else 'OVER'}"
        )
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", action="append", choices=["small", "large"], help="repeatable")
    parser.add_argument("--database", help="measure this existing database instead of a demo org")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    _environment()
    if args.database:
        results = [measure(args.database, args.runs, seed_scale=None)]
    else:
        results = [
            measure(f"pulse_bench_{scale}", args.runs, seed_scale=scale)
            for scale in args.scale or ["small", "large"]
        ]
    text, ok = report(results)
    print(text)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
