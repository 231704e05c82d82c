"""Portfolio latency: ``/teams``, ``/alignment`` and ``/projects`` through the handler, uncached.

Run: ``make bench-portfolio`` (or ``python -m bench.portfolio [--scale small] [--scale large] [--runs 10]``).

Uses the databases of ``bench.dora`` (``pulse_bench_<scale>``, created, migrated and seeded with
``pulse seed-demo`` when empty, then ``ANALYZE``d). For the last 90 days (UTC, org-wide, an
admin), each request goes through the PortfolioFunction handler (HTTP API v2 event, Mangum,
FastAPI, scope, data version, Redis miss and SET); the bench's keys are deleted before each call
so every call computes. The pooled parts of one ``/teams`` answer are also timed on their own.

Budgets (issue 9, on ``large``): ``/teams`` uncached p50 <= 500 ms, ``/alignment`` <= 500 ms
(forecasts included). Exit status 1 when the largest measured scale misses one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import sys
import time
from collections.abc import Callable
from typing import Any

from bench.dora import ROOT, Timing, _prepare_environment, _use_database

ADMIN = {"sub": "bench", "kind": "user", "role": "admin", "teams": ""}
BUDGETS_MS = {"teams": 500.0, "alignment": 500.0}
ENDPOINTS = ("teams", "alignment", "projects")


def _timed(call: Callable[[], Any], runs: int, before: Callable[[], None] | None = None) -> Timing:
    """``runs`` timings of ``call`` after two untimed warm-ups, ``before`` run untimed each time."""
    timing = Timing()
    for index in range(runs + 2):
        if before is not None:
            before()
        started = time.perf_counter()
        call()
        if index >= 2:
            timing.samples.append((time.perf_counter() - started) * 1000)
    return timing


def measure(scale: str, runs: int) -> tuple[dict[str, int], dict[str, Timing], dict[str, Timing]]:
    """Handler timings per endpoint, and the parts of ``/teams`` (one window each)."""
    from sqlalchemy import text

    from pulse import cache, db
    from pulse.auth.scope import Scope
    from pulse.local.events import LambdaContext, http_event
    from pulse.local.template import load_handler, load_template
    from pulse.metrics import dora, portfolio

    _use_database(scale)
    with db.connect() as connection:
        counts = {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("teams", "repositories", "pull_requests", "work_items", "objectives")
        }
    params = dora.default_params(90)
    window = params.window
    handler = load_handler(load_template(ROOT / "template.yaml").functions["PortfolioFunction"])
    redis = cache.get_redis()

    def flush() -> None:
        for key in redis.scan_iter(match="pulse-bench-dora:*", count=1000):
            redis.delete(key)

    timings: dict[str, Timing] = {}
    for endpoint in ENDPOINTS:
        path = f"/api/v1/portfolio/{endpoint}"
        query = [("start_date", window.start_date.isoformat()), ("end_date", window.end_date.isoformat())]
        event = http_event("GET", path, route_key=f"GET {path}", query=query, authorizer=ADMIN)

        def invoke(event: dict[str, Any] = event) -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # Powertools prints its metrics (EMF)
                response = handler(dict(event), LambdaContext(function_name="PortfolioFunction"))
            assert response["statusCode"] == 200, response

        timings[endpoint] = _timed(invoke, runs, before=flush)

    scope = Scope(None, None)
    rollup = portfolio.team_rollup(scope)
    query = dora.query_of(params)
    parts: dict[str, Any] = {
        "dora blocks": lambda c: dora.grouped(c, grouping=rollup.grouping, scope=scope, query=query),
        "pull requests": lambda c: portfolio.pull_request_stats(
            c, rollup=rollup, scope=scope, window=window, environment="production"
        ),
        "work items": lambda c: portfolio.work_item_stats(c, rollup=rollup, scope=scope, window=window),
        "objectives due": lambda c: portfolio.objective_due_stats(
            c, rollup=rollup, scope=scope, window=window
        ),
        "coverage": lambda c: portfolio.coverage_stats(c, rollup=rollup, scope=scope, window=window),
        "objectives + forecasts": lambda c: portfolio.objectives(c, scope=scope, window=window),
    }
    part_timings: dict[str, Timing] = {}
    for name, part in parts.items():

        def call(part: Any = part) -> None:
            with db.connect() as connection:
                part(connection)

        part_timings[name] = _timed(call, max(3, runs // 2))
    flush()
    return counts, timings, part_timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", action="append", choices=["small", "large"], help="repeatable")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    _prepare_environment()
    ok = True
    scales = args.scale or ["small", "large"]
    print("# Portfolio benchmark (last 90 days, org-wide, uncached, through the handler)\n")
    for scale in scales:
        counts, timings, parts = measure(scale, args.runs)
        print(f"## {scale}\n\n" + ", ".join(f"{name} {count:,}" for name, count in counts.items()) + "\n")
        print("| request | p50 | p90 |\n|---|---|---|")
        for endpoint, timing in timings.items():
            print(f"| /{endpoint} | {timing.p50:.1f} ms | {timing.p90:.1f} ms |")
        print("\nparts of /teams (one window; the answer computes two), p50: ")
        print(", ".join(f"{name} {timing.p50:.1f} ms" for name, timing in parts.items()) + "\n")
        if scale == scales[-1]:
            for endpoint, budget in BUDGETS_MS.items():
                passed = timings[endpoint].p50 <= budget
                ok = ok and passed
                verdict = "ok" if passed else "OVER"
                print(f"- /{endpoint} p50 {timings[endpoint].p50:.1f} ms (budget {budget:.0f}) {verdict}")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
