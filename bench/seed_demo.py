"""``pulse seed-demo --scale large`` into a fresh database: total time against generation alone.

Run: ``make bench-seed-large`` (or ``python -m bench.seed_demo [--scale large] [--seed 42] [--keep]``).

1. **Generation only**: iterate ``pulse.demo.generate`` in this process, counting records; no
   database.
2. **Total**: a fresh database ``pulse_bench_seed`` (dropped first, and afterwards unless
   ``--keep``) on the configured server (``DATABASE_URL``, else the embedded one), migrated, then
   the real command ``pulse seed-demo --scale large`` in a child process, timed by wall clock. Its
   summary splits the time spent in the generator from the time spent in
   ``pulse.ingest.load_records``.
3. Row counts of the loaded tables, checked against the issue's floor (1,000,000 commits,
   250,000 pull requests, 100,000 deployments for ``large``).

Exit status 1 when the total exceeds ``--budget`` seconds (default 180) or a floor is missed.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

DATABASE = "pulse_bench_seed"
FLOORS = {"large": {"commits": 1_000_000, "pull_requests": 250_000, "deployments": 100_000}}
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


def _fresh_database() -> tuple[str, str]:
    """Drop and recreate the bench database, migrate it; return (admin URL, database URL)."""
    from sqlalchemy.engine import make_url

    from pulse import migrate
    from pulse.config import normalize_database_url
    from pulse.local.services import create_database, ensure_services

    ensure_services()
    server = make_url(normalize_database_url(os.environ["DATABASE_URL"]))
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    _drop(admin)
    create_database(admin, DATABASE)
    url = server.set(database=DATABASE).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return admin, url


def _drop(admin: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
    engine.dispose()


def _row_counts(url: str) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        counts = {
            table: int(connection.execute(text(f'SELECT count(*) FROM "{table}"')).scalar_one())
            for table in TABLES
        }
    engine.dispose()
    return counts


def generation_only(scale: str, seed: int, today: dt.date) -> tuple[float, Counter[str]]:
    """Seconds to generate every record of ``scale``, and the records by type."""
    from pulse.demo import generate

    counts: Counter[str] = Counter()
    started = time.perf_counter()
    for record in generate(scale, seed, today):  # type: ignore[arg-type]
        counts[record["type"]] += 1
    return time.perf_counter() - started, counts


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--scale", choices=["small", "large"], default="large")
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--budget", type=float, default=180.0, help="seconds allowed for the total")
    parser.add_argument("--keep", action="store_true", help=f"keep the {DATABASE} database afterwards")
    args = parser.parse_args(argv)
    today = dt.datetime.now(dt.UTC).date()

    print(f"generation only: pulse.demo.generate({args.scale!r}, seed={args.seed}) ...", file=sys.stderr)
    generation_seconds, generated = generation_only(args.scale, args.seed, today)
    records = sum(generated.values())
    print(f"generation only: {records:,} records in {generation_seconds:.1f} s", file=sys.stderr)

    admin, url = _fresh_database()
    command = [
        str(Path(sys.executable).with_name("pulse")),
        "seed-demo",
        "--scale",
        args.scale,
        "--seed",
        str(args.seed),
    ]
    print(f"total: {' '.join(command[-5:])} into a fresh database {DATABASE} ...", file=sys.stderr)
    started = time.perf_counter()
    child = subprocess.run(
        command, env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.PIPE, text=True
    )
    total_seconds = time.perf_counter() - started
    print(child.stdout, end="")
    if child.returncode != 0:
        print(f"pulse seed-demo failed with exit status {child.returncode}", file=sys.stderr)
        return 1
    rows = _row_counts(url)
    if not args.keep:
        _drop(admin)

    print(f"\n{args.scale} demo org, seed {args.seed}, ending {today}: {records:,} records")
    print("  " + " · ".join(f"{name} {count:,}" for name, count in generated.most_common()))
    print(
        f"  generation only         {generation_seconds:7.1f} s  {records / generation_seconds:>10,.0f} records/s"
    )
    print(f"  pulse seed-demo (total) {total_seconds:7.1f} s  {records / total_seconds:>10,.0f} records/s")
    print(f"  budget                  {args.budget:7.1f} s")
    print("  rows: " + " · ".join(f"{table} {count:,}" for table, count in rows.items()))
    failures = (
        [f"total {total_seconds:.1f} s > budget {args.budget:.0f} s"] if total_seconds > args.budget else []
    )
    for table, floor in FLOORS.get(args.scale, {}).items():
        if rows[table] < floor:
            failures.append(f"{table}: {rows[table]:,} < {floor:,}")
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
