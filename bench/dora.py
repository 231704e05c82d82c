"""DORA summary latency: through the handler (uncached and cached), raw SQL, EXPLAIN, growth.

Run: ``make bench-dora`` (or ``python -m bench.dora [--scale small] [--scale large] [--runs 20]``).

Each scale has its own database ``pulse_bench_<scale>`` on the configured server (``DATABASE_URL``,
else the embedded one), migrated and seeded with ``pulse seed-demo --scale <scale>`` when it
holds no repository yet (the large org takes a few minutes once), then ``VACUUM ANALYZE``d. The
databases are shared with the other analytics benchmarks (``bench.github``).

For the last 90 days (UTC, production, benchmark 2023), measured in one run:
- **handler, uncached**: ``GET /api/v1/metrics/dora/summary`` through the DoraFunction handler
  (HTTP API v2 event with an admin's authorizer context, Mangum, FastAPI, Powertools, scope
  resolution, data version, Redis GET miss and SET); the bench's keys are deleted before each
  call (the bench uses its own Redis key prefix);
- **handler, cached**: the same request answered from Redis, ``2 x --runs`` times back to back;
- **raw SQL**: the same three statements (``pulse.metrics.dora.statements``) on a connection
  from the pool, rows fetched: what the handler adds is the difference;
- org-wide and for one team (the leaf team with the most deployments in the window, so the
  largest single team without sub-teams), p50 and p90 over ``--runs`` runs after two warm-ups,
  uncached and raw SQL taking turns so that machine load hits them alike;
- org-wide, the CPU time per call of this process and of the PostgreSQL backend serving it
  (``/proc``), handler and raw SQL: on a shared machine wall time includes waiting for a CPU,
  CPU time does not;
- ``EXPLAIN (ANALYZE, BUFFERS)`` of the slowest org-wide statement, and the indexes it uses.

Budgets (issue 6, on ``large``): org-wide uncached p50 <= 150 ms, one team <= 50 ms, cached
<= 5 ms, handler <= 1.3 x raw SQL. Exit status 1 when the largest measured scale misses one.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import os
import re
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.timing import Timing

ROOT = Path(__file__).resolve().parent.parent
PATH = "/api/v1/metrics/dora/summary"
ADMIN = {"sub": "bench", "kind": "user", "role": "admin", "teams": ""}
BUDGET_ORG_MS = 150.0
BUDGET_TEAM_MS = 50.0
BUDGET_CACHED_MS = 5.0
BUDGET_OVERHEAD = 0.30


@dataclass
class ScaleResult:
    scale: str
    counts: dict[str, int]
    team: str
    rows: dict[str, dict[str, Timing]] = field(default_factory=dict)  # target -> kind -> timing
    cpu: dict[str, tuple[float, float]] = field(default_factory=dict)  # kind -> (client, server) ms
    statements: dict[str, Timing] = field(default_factory=dict)
    explain: str = ""
    explained: str = ""
    indexes: list[str] = field(default_factory=list)


def _prepare_environment() -> None:
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Pulse")
    os.environ.setdefault("LOG_LEVEL", "WARNING")
    os.environ["REDIS_KEY_PREFIX"] = "pulse-bench-dora"
    from pulse.local.services import ensure_services

    ensure_services()


def _use_database(scale: str) -> str:
    """Point this process at ``pulse_bench_<scale>``: create, migrate and seed it when needed."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    from pulse import db, migrate
    from pulse.config import get_settings, normalize_database_url
    from pulse.local.services import create_database

    server = make_url(normalize_database_url(os.environ["DATABASE_URL"]))
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    name = f"pulse_bench_{scale}"
    create_database(admin, name)
    url = server.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    engine = create_engine(url)
    with engine.connect() as connection:
        empty = connection.execute(text("SELECT NOT EXISTS (SELECT 1 FROM repositories)")).scalar()
    if empty:
        print(f"seeding {name} with pulse seed-demo --scale {scale} ...", file=sys.stderr)
        subprocess.run(
            [str(Path(sys.executable).with_name("pulse")), "seed-demo", "--scale", scale],
            check=True,
            env={**os.environ, "DATABASE_URL": url},
        )
    engine.dispose()
    # A database in service is vacuumed and analyzed; index-only scans need the visibility map.
    with create_engine(url, isolation_level="AUTOCOMMIT").connect() as connection:
        connection.execute(text("VACUUM ANALYZE"))
    os.environ["DATABASE_URL"] = url
    get_settings.cache_clear()
    db.get_engine().dispose()
    db.get_engine.cache_clear()
    return url


def _counts() -> dict[str, int]:
    from sqlalchemy import text

    from pulse import db

    tables = ("teams", "repositories", "commits", "deployments", "commit_first_deployments", "incidents")
    with db.connect() as connection:
        return {t: int(connection.execute(text(f"SELECT count(*) FROM {t}")).scalar_one()) for t in tables}


def _largest_leaf_team(start: Any) -> str:
    from sqlalchemy import text

    from pulse import db

    with db.connect() as connection:
        return str(
            connection.execute(
                text(
                    """
                    SELECT t.key FROM teams t
                    JOIN repositories r ON r.team_id = t.id
                    JOIN deployments d ON d.repository_id = r.id
                    WHERE d.status = 'success' AND d.environment = 'production' AND d.finished_at >= :start
                      AND NOT EXISTS (SELECT 1 FROM teams c WHERE c.parent_id = t.id)
                    GROUP BY t.key ORDER BY count(*) DESC, t.key LIMIT 1
                    """
                ),
                {"start": start},
            ).scalar_one()
        )


def _clock(call: Callable[[], Any]) -> float:
    started = time.perf_counter()
    call()
    return (time.perf_counter() - started) * 1000


def _backend_cpu_ms(pid: int) -> float:
    """CPU time (user + system) a PostgreSQL backend has used so far, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) * 1000 / os.sysconf("SC_CLK_TCK")


def _cpu_per_call(
    call: Callable[[], Any], runs: int, before: Callable[[], None], pid: int
) -> tuple[float, float]:
    """Mean CPU milliseconds per call of this process and of the PostgreSQL backend serving it."""
    client = 0.0
    server = _backend_cpu_ms(pid)
    for _ in range(runs):
        before()
        started = time.process_time()
        call()
        client += time.process_time() - started
    return client * 1000 / runs, (_backend_cpu_ms(pid) - server) / runs


def _interleaved(runs: int, flush: Callable[[], None], **calls: Callable[[], Any]) -> dict[str, Timing]:
    """Time each call ``runs`` times after two warm-ups, taking turns so machine load hits all alike.

    ``flush`` runs (untimed) before the ``uncached`` call.
    """
    timings = {name: Timing() for name in calls}
    for index in range(runs + 2):
        for name, call in calls.items():
            if name == "uncached":
                flush()
            elapsed = _clock(call)
            if index >= 2:
                timings[name].samples.append(elapsed)
    return timings


def measure(scale: str, runs: int) -> ScaleResult:
    """Every figure of one scale (see the module docstring)."""
    from sqlalchemy import text

    from pulse import cache, db
    from pulse.auth.context import Caller
    from pulse.auth.scope import resolve_scope
    from pulse.local.events import LambdaContext, http_event
    from pulse.local.template import load_handler, load_template
    from pulse.metrics import dora

    _use_database(scale)
    params_org = dora.default_params(90)
    window = params_org.window
    team = _largest_leaf_team(window.start)
    result = ScaleResult(scale, _counts(), team)

    handler = load_handler(load_template(ROOT / "template.yaml").functions["DoraFunction"])
    redis = cache.get_redis()

    def flush() -> None:
        for key in redis.scan_iter(match="pulse-bench-dora:*", count=1000):
            redis.delete(key)

    for target, filters in (("org", []), ("team", [("team", team)])):
        query = [("start_date", window.start_date.isoformat()), ("end_date", window.end_date.isoformat())]
        event = http_event("GET", PATH, route_key=f"GET {PATH}", query=[*query, *filters], authorizer=ADMIN)

        def invoke(event: dict[str, Any] = event) -> None:
            with contextlib.redirect_stdout(io.StringIO()):  # Powertools prints its metrics (EMF)
                response = handler(dict(event), LambdaContext(function_name="DoraFunction"))
            assert response["statusCode"] == 200, response

        caller = Caller(subject="bench", kind="user", role="admin")
        with db.connect() as connection:
            scope = resolve_scope(connection, caller, [team] if filters else [], [])
        built = dora.statements(dora.ScopeGroups(), scope, dora.query_of(params_org))

        def raw(built: list[dora.Statement] = built) -> None:
            with db.connect() as connection:
                for _, sql, bind in built:
                    connection.execute(text(sql), bind).all()

        result.rows[target] = {
            **_interleaved(runs, flush, uncached=invoke, raw=raw),
            # Back to back, as a dashboard's requests come: interleaved with heavy queries, each of
            # its two database round trips would also measure the scheduler waking PostgreSQL up.
            "cached": _interleaved(runs * 2, lambda: None, cached=invoke)["cached"],
        }
        if target == "org":
            # Wall time on a shared machine includes waiting for a CPU; CPU time does not.
            with db.connect() as connection:
                pid = int(connection.execute(text("SELECT pg_backend_pid()")).scalar_one())
            result.cpu["uncached"] = _cpu_per_call(invoke, runs, flush, pid)
            result.cpu["raw"] = _cpu_per_call(raw, runs, lambda: None, pid)
            for name, sql, bind in built:
                with db.connect() as connection:
                    result.statements[name] = _interleaved(
                        runs, flush, statement=lambda c=connection, s=sql, b=bind: c.execute(text(s), b).all()
                    )["statement"]
            slowest = max(built, key=lambda item: result.statements[item[0]].p50)
            with db.connect() as connection:
                plan = connection.execute(text(f"EXPLAIN (ANALYZE, BUFFERS) {slowest[1]}"), slowest[2])
                result.explain = "\n".join(row[0] for row in plan)
            result.explained = slowest[0]
            result.indexes = sorted(set(re.findall(r"(?:using|on) (ix_\w+|pk_\w+|uq_\w+)", result.explain)))
    flush()
    return result


def _report(results: list[ScaleResult]) -> tuple[str, bool]:
    load = ", ".join(f"{value:.1f}" for value in os.getloadavg())
    lines = [
        f"# DORA summary benchmark (last 90 days, production; load average {load} on {os.cpu_count()} CPUs)",
        "",
    ]
    ok = True
    for result in results:
        counts = ", ".join(f"{name} {count:,}" for name, count in result.counts.items())
        lines += [f"## {result.scale}", "", counts, f"one team: `{result.team}` (largest leaf team)", ""]
        lines += ["| request | handler uncached p50 / p90 | cached p50 / p90 | raw SQL p50 | handler / raw |"]
        lines += ["|---|---|---|---|---|"]
        for target, timing in result.rows.items():
            uncached, cached, raw = timing["uncached"], timing["cached"], timing["raw"]
            lines.append(
                f"| {target} | {uncached.p50:.1f} / {uncached.p90:.1f} ms | {cached.p50:.2f} / {cached.p90:.2f} ms "
                f"| {raw.p50:.1f} ms | {uncached.p50 / raw.p50:.2f} |"
            )
        if result.cpu:
            client, server = result.cpu["uncached"]
            raw_client, raw_server = result.cpu["raw"]
            lines += [
                "",
                f"CPU per org-wide call (this process + its PostgreSQL backend): handler uncached "
                f"{client:.1f} + {server:.1f} = {client + server:.1f} ms; raw SQL {raw_client:.1f} + "
                f"{raw_server:.1f} = {raw_client + raw_server:.1f} ms",
            ]
        lines += [
            "",
            "statements (org-wide, p50): "
            + ", ".join(f"{name} {timing.p50:.1f} ms" for name, timing in result.statements.items()),
        ]
        lines += [
            "",
            f"slowest statement: `{result.explained}`; indexes used: "
            + (", ".join(f"`{index}`" for index in result.indexes) or "none"),
            "",
            "```",
            result.explain,
            "```",
            "",
        ]
    if len(results) > 1:
        first, last = results[0], results[-1]
        growth = last.rows["org"]["uncached"].p50 / first.rows["org"]["uncached"].p50
        data = last.counts["deployments"] / max(1, first.counts["deployments"])
        lines.append(
            f"growth {first.scale} -> {last.scale}: org-wide uncached p50 x{growth:.1f} "
            f"for x{data:.0f} deployments"
        )
    final = results[-1]
    checks = [
        ("org-wide uncached p50", final.rows["org"]["uncached"].p50, BUDGET_ORG_MS),
        ("one team uncached p50", final.rows["team"]["uncached"].p50, BUDGET_TEAM_MS),
        ("cached p50 (org)", final.rows["org"]["cached"].p50, BUDGET_CACHED_MS),
        (
            "handler overhead over raw SQL (org)",
            final.rows["org"]["uncached"].p50 / final.rows["org"]["raw"].p50 - 1,
            BUDGET_OVERHEAD,
        ),
    ]
    lines += ["", f"budgets on `{final.scale}`:"]
    for name, value, budget in checks:
        passed = value <= budget
        ok = ok and passed
        lines.append(f"- {name}: {value:.2f} (budget {budget:.2f}) {'ok' if passed else 'OVER'}")
    return "\n".join(lines), ok


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--scale", action="append", choices=["small", "large"], help="repeatable")
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args(argv)
    _prepare_environment()
    results = [measure(scale, args.runs) for scale in args.scale or ["small", "large"]]
    report, ok = _report(results)
    print(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
