"""Executive dashboards latency: cards (uncached and cached), risks, trends and cold starts.

Run: ``make bench-executive`` (or ``python -m bench.executive [--scale small] [--scale large] [--runs 10]``).

Uses the databases of ``bench.dora`` (``pulse_bench_<scale>``, created, migrated and seeded with
``pulse seed-demo`` when empty). For the last 90 days (UTC, org-wide, an admin), each request goes
through the ExecutiveFunction handler (HTTP API v2 event, Mangum, FastAPI, scope, data version,
Redis); "uncached" deletes the bench's keys before each call, "cached" serves a stored answer.
The cold starts are fresh processes (``bench/child.py``) importing the handler and answering one
request against the same database: the cards (pandas not imported) and a trend (pandas imported).

Budgets (issue 10, on the largest scale measured): cold start <= 800 ms, cards uncached p50
<= 800 ms, cached p50 <= 5 ms, risks uncached p50 <= 1000 ms. Exit status 1 when one is missed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

from bench.dora import ROOT, Timing, _prepare_environment, _use_database
from bench.portfolio import _timed

ADMIN = {"sub": "bench", "kind": "user", "role": "admin", "teams": ""}
PATH = "/api/v1/dashboards/executive"
BUDGETS_MS = {
    "cold start /executive": 800.0,
    "cold start /trends": 800.0,
    "/executive uncached": 800.0,
    "/executive cached": 5.0,
    "/risks uncached": 1000.0,
}


def _event(path: str, query: list[tuple[str, str]]) -> dict[str, Any]:
    from pulse.local.events import http_event

    return http_event("GET", path, route_key=f"GET {path}", query=query, authorizer=ADMIN)


def cold_starts(query: list[tuple[str, str]], runs: int) -> dict[str, Timing]:
    """Fresh-process cold starts of the cards and of a trend (wall ms, import + first answer)."""
    from pulse.local.template import load_template

    function = load_template(ROOT / "template.yaml").functions["ExecutiveFunction"]
    timings: dict[str, Timing] = {}
    for name, path, extra in (
        ("cold start /executive", PATH, []),
        ("cold start /trends", f"{PATH}/trends", [("metric", "lead_time")]),
    ):
        timing = Timing()
        with tempfile.TemporaryDirectory() as folder:
            event = Path(folder) / "event.json"
            event.write_text(json.dumps(_event(path, [*query, *extra])))
            for _ in range(runs):
                result = Path(folder) / "result.json"
                subprocess.run(
                    [sys.executable, str(ROOT / "bench" / "child.py"), str(function.code_uri),
                     function.handler, str(event), str(result)],
                    env={**os.environ, **function.literal_environment()},
                    cwd=ROOT, capture_output=True, check=True,
                )  # fmt: skip
                measured = json.loads(result.read_text())
                assert measured["status"] == 200, measured
                timing.samples.append(measured["total_ms"])
        timings[name] = timing
    return timings


def measure(scale: str, runs: int) -> tuple[dict[str, int], dict[str, Timing]]:
    """Handler timings of each request, and the cold starts."""
    from sqlalchemy import text

    from pulse import cache, db
    from pulse.local.events import LambdaContext
    from pulse.local.template import load_handler, load_template
    from pulse.metrics import dora

    _use_database(scale)
    with db.connect() as connection:
        counts = {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in ("teams", "repositories", "pull_requests", "commits", "work_items", "objectives")
        }
    window = dora.default_params(90).window
    query = [("start_date", window.start_date.isoformat()), ("end_date", window.end_date.isoformat())]
    handler = load_handler(load_template(ROOT / "template.yaml").functions["ExecutiveFunction"])
    redis = cache.get_redis()

    def flush() -> None:
        for key in redis.scan_iter(match="pulse-bench-dora:executive*", count=1000):
            redis.delete(key)

    def invoker(path: str, extra: list[tuple[str, str]]) -> Any:
        event = _event(path, [*query, *extra])

        def invoke() -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # Powertools prints its metrics (EMF)
                response = handler(dict(event), LambdaContext(function_name="ExecutiveFunction"))
            assert response["statusCode"] == 200, response

        return invoke

    timings = {
        "/executive uncached": _timed(invoker(PATH, []), runs, before=flush),
        "/executive cached": _timed(invoker(PATH, []), runs),
        "/risks uncached": _timed(invoker(f"{PATH}/risks", []), runs, before=flush),
        "/trends uncached (lead_time)": _timed(
            invoker(f"{PATH}/trends", [("metric", "lead_time")]), runs, before=flush
        ),
        "/report uncached": _timed(invoker(f"{PATH}/report", []), max(3, runs // 3), before=flush),
    }
    flush()
    timings.update(cold_starts(query, max(3, runs // 2)))
    flush()
    return counts, timings


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", action="append", choices=["small", "large"], help="repeatable")
    parser.add_argument("--runs", type=int, default=10)
    args = parser.parse_args(argv)
    _prepare_environment()
    ok = True
    scales = args.scale or ["small", "large"]
    print("# Executive benchmark (last 90 days, org-wide, through the handler)\n")
    for scale in scales:
        counts, timings = measure(scale, args.runs)
        print(f"## {scale}\n\n" + ", ".join(f"{name} {count:,}" for name, count in counts.items()) + "\n")
        print("| request | p50 | p90 | runs |\n|---|---|---|---|")
        for name, timing in timings.items():
            print(f"| {name} | {timing.p50:.1f} ms | {timing.p90:.1f} ms | {len(timing.samples)} |")
        print()
        if scale == scales[-1]:
            for name, budget in BUDGETS_MS.items():
                passed = statistics.median(timings[name].samples) <= budget
                ok = ok and passed
                print(
                    f"- {name} p50 {timings[name].p50:.1f} ms (budget {budget:.0f}) {'ok' if passed else 'OVER'}"
                )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
