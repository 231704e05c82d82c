"""Ingest over HTTP: batch throughput and GitHub webhook latency through the real handler.

Run: ``make bench-ingest-http`` (or ``python -m bench.ingest_http [--batches 4]
[--batch-bytes 5000000] [--deliveries 300] [--keep]``).

A fresh database ``pulse_bench_ingest_http`` on the configured server (``DATABASE_URL``, else the
embedded one), migrated; dropped at the end unless ``--keep``. Requests go through
``pulse.local.gateway`` over ``template.yaml``: routing, the Lambda authorizer (an ``ingest`` API
key), the HTTP API v2 event, Powertools, Mangum, FastAPI, the import path and the commit.

1. **Batches**: the realistic organisation of ``bench.import_throughput`` (commits, PRs with
   merge commits, reviews, deployments, incidents, quality, planning) as NDJSON, cut on line
   boundaries into ``--batches`` consecutive batches of ``--batch-bytes`` (the first begins with
   the teams, people and repositories), each POSTed to ``/api/v1/ingest/batch``. Per batch:
   records, seconds (request in to response out), records/s, and the size of the Lambda event
   it makes (the body JSON-escaped inside the event) against the 6 MiB synchronous limit.
2. **Webhooks**: then, into that organisation (its repositories already hold history), signed
   GitHub deliveries with fresh delivery ids, the life of one PR after another: a push of two
   commits, ``pull_request`` opened, ``pull_request_review`` submitted, ``pull_request`` closed
   (merged), a push of the merge commit, ``deployment_status`` success. Each is timed through
   the gateway (this route has no authorizer: event, signature check, handler, commit); p50 and
   p90 after ``--warmup`` untimed deliveries. After each, an empty transaction is timed too: a
   gauge of what the machine's load does to a database round trip at that moment.

Targets (issue 5): every batch >= 10,000 records/s; webhook p50 < 20 ms. Exit status 1 when one
is missed. The machine's other load moves both; the table gives the load average.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DATABASE = "pulse_bench_ingest_http"
SECRET = "bench-webhook-secret"
LAMBDA_EVENT_BYTES = 6 * 1024 * 1024
TARGET_RECORDS_PER_SECOND = 10_000
TARGET_WEBHOOK_P50_MS = 20.0
FIXTURES = ROOT.parent / "shared" / "fixtures" / "github-webhooks"


def _server_url() -> Any:
    from sqlalchemy.engine import make_url

    from pulse.config import normalize_database_url
    from pulse.local.services import ensure_services

    ensure_services()
    return make_url(normalize_database_url(os.environ["DATABASE_URL"]))


def _admin_url() -> str:
    url: str = _server_url().set(database="postgres").render_as_string(hide_password=False)
    return url


def _drop(name: str) -> None:
    from sqlalchemy import create_engine, text

    engine = create_engine(_admin_url(), isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def fresh_database() -> str:
    """Drop, create and migrate the bench database; point this process at it."""
    from pulse import migrate
    from pulse.local.services import create_database

    server = _server_url()
    _drop(DATABASE)
    create_database(_admin_url(), DATABASE)
    url: str = server.set(database=DATABASE).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def batches(count: int, size: int, workdir: Path) -> list[bytes]:
    """``count`` consecutive NDJSON batches of about ``size`` bytes of a realistic organisation."""
    from bench.import_throughput import generate

    path = workdir / "org.ndjson"
    # ~250 bytes a line; generate a little more than needed.
    generate(path, lines=int(count * size / 200) + 10_000, seed=11)
    result: list[bytes] = []
    with path.open("rb") as handle:
        current: list[bytes] = []
        filled = 0
        for line in handle:
            if filled + len(line) > size:
                result.append(b"".join(current))
                if len(result) == count:
                    break
                current, filled = [], 0
            current.append(line)
            filled += len(line)
    path.unlink()
    return result


def event_bytes(body: bytes, headers: dict[str, str]) -> int:
    """The size of the Lambda event API Gateway would send for this request."""
    from pulse.local.events import http_event

    event = http_event("POST", "/api/v1/ingest/batch", headers=list(headers.items()), body=body)
    event["requestContext"]["authorizer"] = {"lambda": {"sub": "k", "kind": "api_key", "scopes": "ingest"}}
    return len(json.dumps(event).encode())


def _fixture(event: str, name: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((FIXTURES / event / name).read_text())
    return document


def deliveries(count: int) -> list[tuple[str, dict[str, Any]]]:
    """Signed-delivery material: ``(event, payload)`` for PR after PR, six events each."""
    push_template = _fixture("push", "with-new-branch.payload.json")
    pr_template = _fixture("pull_request", "opened.payload.json")
    review_template = _fixture("pull_request_review", "submitted.payload.json")
    status_template = _fixture("deployment_status", "payload.json")
    result: list[tuple[str, dict[str, Any]]] = []
    number = 100_000
    while len(result) < count:
        number += 1
        repository = {**pr_template["repository"], "full_name": f"acme/service-{number % 200:03d}"}
        day = 1 + number % 28
        sha = [f"{number:08x}{n:032x}" for n in range(4)]  # c1, c2, base, merge

        def at(hour: int, day: int = day) -> str:
            return f"2026-02-{day:02d}T{hour:02d}:00:00Z"

        def push(ref: str, before: str, commits: list[tuple[str, bool, str]], repo: Any = repository) -> Any:
            payload = copy.deepcopy(push_template)
            payload.update(repository=repo, ref=ref, before=before, after=commits[-1][0], created=False)
            payload["commits"] = [
                {
                    **payload["commits"][0],
                    "id": c,
                    "distinct": d,
                    "timestamp": t,
                    "author": {"username": "dev-0001"},
                }
                for c, d, t in commits
            ]
            return payload

        def pull_request(
            action: str, repo: Any = repository, n: int = number, head: str = sha[1], **changes: Any
        ) -> Any:
            payload = copy.deepcopy(pr_template)
            payload.update(action=action, repository=repo, number=n)
            payload["pull_request"].update(
                number=n,
                user={"login": "dev-0001"},
                created_at=at(10),
                updated_at=at(10),
                commits=2,
                head={"ref": f"feature/{n}", "sha": head},
                **changes,
            )
            return payload

        review = copy.deepcopy(review_template)
        review.update(repository=repository)
        review["pull_request"]["number"] = number
        review["review"].update(id=number, user={"login": "dev-0002"}, state="approved", submitted_at=at(12))
        status = copy.deepcopy(status_template)
        status.update(repository=repository)
        status["deployment"].update(id=number, sha=sha[3], created_at=at(16), environment="production")
        status["deployment_status"].update(state="success", created_at=at(17))
        result += [
            (
                "push",
                push(f"refs/heads/feature/{number}", sha[2], [(sha[0], True, at(8)), (sha[1], True, at(9))]),
            ),
            ("pull_request", pull_request("opened")),
            ("pull_request_review", review),
            (
                "pull_request",
                pull_request(
                    "closed",
                    state="closed",
                    merged=True,
                    merged_at=at(15),
                    closed_at=at(15),
                    merge_commit_sha=sha[3],
                ),
            ),
            (
                "push",
                push(
                    "refs/heads/main",
                    sha[2],
                    [(sha[0], False, at(8)), (sha[1], False, at(9)), (sha[3], True, at(15))],
                ),
            ),
            ("deployment_status", status),
        ]
    return result[:count]


def round_trip() -> float:
    """Milliseconds of an empty transaction: how slow the machine's load makes the database now."""
    from sqlalchemy import text

    from pulse import db

    started = time.perf_counter()
    with db.transaction() as connection:
        connection.execute(text("SELECT 1"))
    return (time.perf_counter() - started) * 1000


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batches", type=int, default=4)
    parser.add_argument("--batch-bytes", type=int, default=5_000_000)
    parser.add_argument("--deliveries", type=int, default=300)
    parser.add_argument("--warmup", type=int, default=24)
    parser.add_argument("--keep", action="store_true", help="keep the database")
    args = parser.parse_args(argv)

    os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "Pulse")
    os.environ.setdefault("POWERTOOLS_TRACE_DISABLED", "true")
    os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"
    os.environ["LOG_LEVEL"] = "WARNING"
    os.environ["REDIS_KEY_PREFIX"] = f"pulse-bench-ingest-http-{uuid.uuid4().hex[:8]}"
    os.environ["GITHUB_WEBHOOK_SECRET"] = SECRET
    print(f"fresh database {DATABASE} ...", file=sys.stderr)
    url = fresh_database()
    os.environ["DATABASE_URL"] = url

    from pulse import db
    from pulse.config import get_settings

    get_settings.cache_clear()
    db.get_engine.cache_clear()
    from pulse.auth import apikeys
    from pulse.ingest.webhooks import sign
    from pulse.local.gateway import Gateway

    gateway = Gateway(ROOT / "template.yaml")
    with db.transaction() as connection:
        key = apikeys.create(connection, name="bench", scopes=("ingest",), created_by=None).key
    headers = {"authorization": f"Bearer {key}", "content-type": "application/x-ndjson"}

    workdir = Path(tempfile.mkdtemp(prefix="pulse-bench-ingest-http-"))
    print(f"generating {args.batches} batches of {args.batch_bytes:,} bytes ...", file=sys.stderr)
    bodies = batches(args.batches, args.batch_bytes, workdir)
    workdir.rmdir()
    failures: list[str] = []
    print("\nPOST /api/v1/ingest/batch (api key, through the gateway and the handler)")
    print(f"{'batch':>5} {'bytes':>11} {'event bytes':>12} {'records':>8} {'seconds':>8} {'records/s':>10}")
    total_records, total_seconds = 0, 0.0
    for number, body in enumerate(bodies, 1):
        started = time.perf_counter()
        response = gateway.request("POST", "/api/v1/ingest/batch", headers=headers, body=body)
        seconds = time.perf_counter() - started
        if response.status != 200:
            print(f"batch {number} failed: {response.status} {response.text[:500]}", file=sys.stderr)
            return 1
        records = response.json()["accepted"]
        size = event_bytes(body, headers)
        rate = records / seconds
        total_records, total_seconds = total_records + records, total_seconds + seconds
        fits = "" if size <= LAMBDA_EVENT_BYTES else "  (over 6 MiB: API Gateway would refuse it)"
        print(f"{number:>5} {len(body):>11,} {size:>12,} {records:>8,} {seconds:>8.2f} {rate:>10,.0f}{fits}")
        if rate < TARGET_RECORDS_PER_SECOND:
            failures.append(f"batch {number}: {rate:,.0f} records/s < {TARGET_RECORDS_PER_SECOND:,}")
    print(
        f"{'all':>5} {'':>11} {'':>12} {total_records:>8,} {total_seconds:>8.2f} {total_records / total_seconds:>10,.0f}"
    )

    print("delivering webhooks ...", file=sys.stderr)
    print(
        f"\nPOST /api/v1/webhooks/github ({args.deliveries} signed deliveries after {args.warmup} warm-ups)"
    )
    samples: dict[str, list[float]] = {}
    gauge: list[float] = []
    every: list[float] = []
    for index, (event, payload) in enumerate(deliveries(args.warmup + args.deliveries)):
        body = json.dumps(payload).encode()
        request_headers = {
            "content-type": "application/json",
            "x-github-event": event,
            "x-github-delivery": str(uuid.uuid4()),
            "x-hub-signature-256": sign(SECRET, body),
        }
        started = time.perf_counter()
        response = gateway.request("POST", "/api/v1/webhooks/github", headers=request_headers, body=body)
        elapsed = (time.perf_counter() - started) * 1000
        if response.status not in (200, 202):
            print(f"delivery failed: {response.status} {response.text[:500]}", file=sys.stderr)
            return 1
        if index >= args.warmup:
            kind = f"{event}.{payload.get('action') or ''}".rstrip(".")
            samples.setdefault(kind, []).append(elapsed)
            every.append(elapsed)
            gauge.append(round_trip())
    print(f"{'event':<28} {'n':>4} {'p50 ms':>8} {'p90 ms':>8}")
    for kind, values in sorted(samples.items()):
        print(
            f"{kind:<28} {len(values):>4} {statistics.median(values):>8.1f} {percentile(values, 0.9):>8.1f}"
        )
    p50 = statistics.median(every)
    print(f"{'all':<28} {len(every):>4} {p50:>8.1f} {percentile(every, 0.9):>8.1f}")
    print(
        f"{'(gauge: BEGIN; SELECT 1; COMMIT)':<28} {len(gauge):>4} {statistics.median(gauge):>8.2f} "
        f"{percentile(gauge, 0.9):>8.2f}"
    )
    if p50 >= TARGET_WEBHOOK_P50_MS:
        failures.append(f"webhook p50 {p50:.1f} ms >= {TARGET_WEBHOOK_P50_MS} ms")

    print(f"\nload average {' '.join(f'{value:.1f}' for value in os.getloadavg())} ({os.cpu_count()} CPUs)")
    db.get_engine().dispose()
    if not args.keep:
        print(f"dropping {DATABASE} ...", file=sys.stderr)
        _drop(DATABASE)
    for failure in failures:
        print(f"FAIL {failure}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
