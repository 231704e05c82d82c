"""``pulse import`` throughput on a realistic 1,000,000-line file, against a row-by-row baseline.

Run: ``make bench-import`` (or ``python -m bench.import_throughput [--lines 1000000]
[--sample 20000] [--target 50000] [--keep]``).

1. **The file**: a deterministic NDJSON export of an organisation (50 teams, 200 repositories,
   2,000 people and 4 bots, two years): per repository, pull requests of 1 to 8 commits
   branched from ``main`` and merged with a two-parent merge commit (85 %), closed (10 %) or
   open, 0 to 4 reviews each, bot commits, production deployments every few merges (a third
   of the repositories also deploy to staging first; 10 % list their ``commits``, the others
   give only ``sha`` so the loader walks the graph; some fail, some roll back), incidents,
   weekly quality measurements, objectives and work items linking PRs. Mostly commits, then
   reviews, pull requests and deployments, like a real org. Its generation is not timed.
2. **pulse import**: a fresh database ``pulse_bench_import`` on the configured server
   (``DATABASE_URL``, else the embedded one), migrated, then the real command
   ``pulse import FILE`` in a child process, timed by wall clock (interpreter start to exit:
   reading, validating, loading, resolving shipped commits, committing).
3. **Row by row**: a fresh database ``pulse_bench_import_rows``; every ``N/sample``-th line of
   the same file (the same mix of types) is validated by the same decoder and written with one
   ``INSERT ... ON CONFLICT`` per record and per referenced key (placeholders), in one
   transaction, as a straightforward loader would. It skips the shipped-commits resolution,
   which only flatters it. Its rate is extrapolated to the whole file.

4. **CPU**: the seconds of CPU the ``pulse import`` process used (reading, validating, COPY
   text, the shipped-commits walk) and those PostgreSQL's processes used meanwhile (the
   import's backend and the server's own: WAL writer, checkpointer; read from ``/proc``, so
   only for a server on this machine). An import cannot finish faster than its busiest side,
   nor than all of it spread over the machine's cores: the lower bound printed is
   ``max(server, client, (server + client) / cores)``, and the rate it allows.

Exit status 1 when ``pulse import`` is below ``--target`` records/s or fails.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

DATABASE = "pulse_bench_import"
BASELINE_DATABASE = "pulse_bench_import_rows"
START = dt.datetime(2024, 11, 1, tzinfo=dt.UTC)
DAYS = 730
WORDS = [
    "fix",
    "add",
    "remove",
    "refactor",
    "cache",
    "retry",
    "payment",
    "checkout",
    "invoice",
    "api",
    "client",
    "server",
    "timeout",
    "flaky",
    "test",
    "config",
    "deploy",
    "metrics",
    "logging",
    "auth",
    "token",
    "session",
    "queue",
    "worker",
    "index",
    "query",
    "migration",
    "schema",
    "docs",
]
BOTS = ("dependabot[bot]", "renovate[bot]", "github-actions[bot]", "sonarcloud[bot]")


def _ts(seconds: float) -> str:
    return (START + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Org:
    """A seeded organisation writing its records as NDJSON lines."""

    def __init__(self, seed: int) -> None:
        self.rng = random.Random(seed)
        self.teams = [f"dept-{d}" for d in range(5)] + [f"team-{t}" for t in range(45)]
        self.people = [f"dev-{p:04d}" for p in range(2000)]
        self.repositories = [f"acme/service-{r:03d}" for r in range(200)]
        self.pr_refs: list[str] = []

    def sha(self) -> str:
        return f"{self.rng.getrandbits(160):040x}"

    def words(self, n: int) -> str:
        return " ".join(self.rng.choice(WORDS) for _ in range(n))

    def header(self) -> Iterator[dict[str, Any]]:
        for index, key in enumerate(self.teams):
            parent = None if index < 5 else f"dept-{index % 5}"
            yield {"type": "team", "key": key, "name": key.replace("-", " ").title(), "parent": parent}
        for index, login in enumerate(self.people):
            yield {
                "type": "contributor",
                "login": login,
                "name": f"Developer {index}",
                "email": f"{login}@acme.test",
                "team": self.teams[5 + index % 45],
            }
        for login in BOTS:
            yield {"type": "contributor", "login": login, "is_bot": True}
        for index, key in enumerate(self.repositories):
            yield {
                "type": "repository",
                "key": key,
                "team": self.teams[5 + index % 45],
                "project": f"Project {index % 30}",
                "default_branch": "main",
            }

    def repository(self, index: int, prs: int) -> Iterator[dict[str, Any]]:
        """One repository's history: commits, PRs, reviews, deployments, incidents, quality."""
        rng = self.rng
        repo = self.repositories[index]
        team_people = [p for i, p in enumerate(self.people) if i % 45 == index % 45]
        staging = index % 3 == 0
        root = self.sha()
        yield {"type": "commit", "repository": repo, "sha": root, "author": team_people[0],
               "authored_at": _ts(0), "parents": [], "additions": 500, "deletions": 0, "message": "initial commit"}  # fmt: skip
        head, clock = root, 3600.0
        step = DAYS * 86400 / (prs + 1)
        undeployed: list[str] = []
        last_deployed = root
        deploy_every = rng.choice((1, 2, 3, 4, 6))
        merged = 0
        for number in range(1, prs + 1):
            clock += rng.expovariate(1 / step)
            author = rng.choice(team_people)
            branch_head, shas = head, []
            created = clock
            for _ in range(max(1, min(8, int(rng.lognormvariate(0.9, 0.6))))):
                sha = self.sha()
                yield {"type": "commit", "repository": repo, "sha": sha, "author": author,
                       "authored_at": _ts(created - rng.uniform(600, 86400)), "committed_at": _ts(created - 300),
                       "parents": [branch_head], "additions": int(rng.lognormvariate(3.5, 1.3)),
                       "deletions": int(rng.lognormvariate(2.5, 1.3)), "message": self.words(6)}  # fmt: skip
                branch_head = sha
                shas.append(sha)
            fate = rng.random()
            state = "merged" if fate < 0.85 else "closed" if fate < 0.95 else "open"
            merged_at = created + rng.lognormvariate(10, 1) if state == "merged" else None
            merge_sha = self.sha() if state == "merged" else None
            record: dict[str, Any] = {
                "type": "pull_request", "repository": repo, "number": number, "author": author,
                "title": self.words(5), "state": state, "draft": False, "created_at": _ts(created),
                "merged_at": _ts(merged_at) if merged_at else None,
                "closed_at": _ts(merged_at or created + 86400) if state != "open" else None,
                "merge_commit_sha": merge_sha, "base_branch": "main", "head_branch": f"feature/{number}",
                "additions": 10 * len(shas), "deletions": 3 * len(shas), "changed_files": len(shas) + 1,
                "commits": shas, "labels": ["feature"] if number % 3 else ["bug"],
            }  # fmt: skip
            yield record
            for review in range(rng.choice((0, 1, 1, 2, 2, 3, 4))):
                reviewer = rng.choice(team_people) if review < 3 else "sonarcloud[bot]"
                yield {"type": "review", "repository": repo, "pull_request": number, "id": f"{number}-{review}",
                       "reviewer": reviewer, "state": rng.choice(("approved", "commented", "changes_requested")),
                       "submitted_at": _ts(created + rng.lognormvariate(8, 1.2))}  # fmt: skip
            if state != "merged" or merged_at is None or merge_sha is None:
                continue
            yield {"type": "commit", "repository": repo, "sha": merge_sha, "author": author,
                   "authored_at": _ts(merged_at), "parents": [head, branch_head], "message": f"Merge #{number}"}  # fmt: skip
            head = merge_sha
            undeployed += [*shas, merge_sha]
            self.pr_refs.append(f"{repo}#{number}")
            merged += 1
            if merged % deploy_every:
                continue
            finished = merged_at + rng.uniform(600, 7200)
            if staging:
                yield self._deployment(repo, f"{repo}-s{number}", "staging", finished - 1800, head, None)
            failed = rng.random() < 0.05
            listed = undeployed if rng.random() < 0.1 else None
            yield self._deployment(repo, f"{repo}-p{number}", "production", finished, head, listed, failed)
            if failed:
                continue
            if rng.random() < 0.03:
                yield {"type": "incident", "id": f"INC-{repo}-{number}", "repository": repo, "severity": "sev2",
                       "title": self.words(4), "created_at": _ts(finished + 3600),
                       "resolved_at": _ts(finished + 3600 + rng.lognormvariate(8, 1)),
                       "deployment_id": f"{repo}-p{number}" if rng.random() < 0.3 else None}  # fmt: skip
                if rng.random() < 0.5:
                    yield self._deployment(repo, f"{repo}-r{number}", "production", finished + 7200,
                                           last_deployed, None, kind="rollback")  # fmt: skip
            last_deployed, undeployed = head, []
        for week in range(0, DAYS, 14):
            yield {"type": "quality", "repository": repo, "measured_at": _ts(week * 86400 + 43200),
                   "sha": head, "coverage": round(rng.uniform(0.5, 0.9), 3), "complexity": round(rng.uniform(2, 6), 2),
                   "duplication": round(rng.uniform(0, 0.1), 3), "issues": rng.randrange(50),
                   "vulnerabilities": rng.randrange(3)}  # fmt: skip

    def _deployment(
        self,
        repo: str,
        external_id: str,
        environment: str,
        finished: float,
        sha: str,
        listed: list[str] | None,
        failed: bool = False,
        kind: str = "regular",
    ) -> dict[str, Any]:
        return {
            "type": "deployment", "id": external_id, "repository": repo, "environment": environment,
            "status": "failure" if failed else "success", "started_at": _ts(finished - 600),
            "finished_at": _ts(finished), "sha": sha, "commits": listed, "kind": kind,
        }  # fmt: skip

    def planning(self, work_items: int) -> Iterator[dict[str, Any]]:
        rng = self.rng
        for index in range(500):
            yield {"type": "objective", "key": f"OBJ-{index}", "title": self.words(4),
                   "team": self.teams[5 + index % 45], "start_date": "2025-01-01", "target_date": "2026-06-30",
                   "status": rng.choice(("planned", "in_progress", "done"))}  # fmt: skip
        for index in range(work_items):
            created = rng.uniform(0, DAYS * 86400 - 30 * 86400)
            done = rng.random() < 0.7
            yield {"type": "work_item", "key": f"WI-{index}", "title": self.words(5),
                   "kind": rng.choice(("feature", "feature", "bug", "chore")), "objective": f"OBJ-{index % 500}",
                   "team": self.teams[5 + index % 45], "status": "done" if done else "in_progress",
                   "created_at": _ts(created), "started_at": _ts(created + 86400),
                   "done_at": _ts(created + 5 * 86400) if done else None, "story_points": rng.choice((1, 2, 3, 5, 8)),
                   "pull_requests": rng.sample(self.pr_refs, 2) if len(self.pr_refs) > 2 else []}  # fmt: skip


def generate(path: Path, lines: int, seed: int) -> Counter[str]:
    """Write ``lines`` NDJSON lines to ``path``; return the count by type."""
    org = _Org(seed)
    counts: Counter[str] = Counter()
    work_items = lines // 70
    # About 6.8 lines per pull request once the org header and planning records are set aside.
    prs = max(1, int((lines - 2_300 - 500 - work_items - 200 * 53) / 6.8 / 200))
    encode = json.JSONEncoder(separators=(",", ":")).encode
    with path.open("w") as out:

        def records() -> Iterator[dict[str, Any]]:
            yield from org.header()
            for index in range(200):
                yield from org.repository(index, prs)
            yield from org.planning(work_items)
            hour = 0
            while True:  # top up to exactly `lines` with hourly quality measurements after the history
                hour += 1
                for repo in org.repositories:
                    yield {"type": "quality", "repository": repo, "measured_at": _ts(DAYS * 86400 + hour * 3600),
                           "coverage": 0.7}  # fmt: skip

        for written, record in enumerate(records()):
            if written == lines:
                break
            out.write(encode(record) + "\n")
            counts[record["type"]] += 1
    return counts


def _server_url() -> Any:
    from sqlalchemy.engine import make_url

    from pulse.config import normalize_database_url
    from pulse.local.services import ensure_services

    ensure_services()
    return make_url(normalize_database_url(os.environ["DATABASE_URL"]))


def _fresh_database(name: str) -> str:
    """Drop and recreate database ``name``, migrate it; return its URL."""
    from pulse import migrate
    from pulse.local.services import create_database

    server = _server_url()
    admin = server.set(database="postgres").render_as_string(hide_password=False)
    _drop(name)
    create_database(admin, name)
    url: str = server.set(database=name).render_as_string(hide_password=False)
    migrate.upgrade(url)
    return url


def _drop(name: str) -> None:
    from sqlalchemy import create_engine, text

    admin = _server_url().set(database="postgres").render_as_string(hide_password=False)
    engine = create_engine(admin, isolation_level="AUTOCOMMIT")
    with engine.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    engine.dispose()


def _postmaster_pid(url: str) -> int | None:
    """The server's main process, when it runs on this machine (else None)."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        backend = connection.execute(text("SELECT pg_backend_pid()")).scalar_one()
    engine.dispose()
    try:
        status = Path(f"/proc/{backend}/status").read_text()
    except OSError:
        return None  # another machine's process
    if not status.startswith("Name:\tpostgres"):
        return None  # a process of this machine that happens to have the remote backend's pid
    return int(next(line.split()[1] for line in status.splitlines() if line.startswith("PPid:")))


def _cpu_seconds(pid: int) -> float:
    """CPU time of a process and its children, the exited ones included (they are its reaped
    children: a backend's time lands in the postmaster's when the backend exits)."""
    ticks = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for process in Path("/proc").iterdir():
        if not process.name.isdigit():
            continue
        try:
            fields = (process / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue  # exited meanwhile
        own, parent = int(process.name), int(fields[1])
        if own == pid or parent == pid:
            # utime, stime, cutime, cstime (stat fields 14-17)
            total += sum(int(value) for value in fields[11:15]) / ticks
    return total


def _settled_cpu_seconds(pid: int) -> float:
    """``_cpu_seconds`` once two readings 0.1 s apart agree. Read just after the import's backend
    exits, the postmaster's own line can come before the backend is reaped and the backend's
    after, when it is gone: its time is then in neither (seen: 2.1 s for an import of ~13 s)."""
    reading = _cpu_seconds(pid)
    for _ in range(50):
        time.sleep(0.1)
        previous, reading = reading, _cpu_seconds(pid)
        if abs(reading - previous) < 0.05:
            break
    return reading


def _children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def _row_counts(url: str, tables: tuple[str, ...]) -> dict[str, int]:
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    with engine.connect() as connection:
        counts = {
            table: int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar_one())
            for table in tables
        }
    engine.dispose()
    return counts


# The row-by-row loader: one statement per record and per referenced key.
_ENSURE = {
    "team": "INSERT INTO teams (key) VALUES (:key) ON CONFLICT DO NOTHING",
    "repository": "INSERT INTO repositories (key) VALUES (:key) ON CONFLICT DO NOTHING",
    "contributor": "INSERT INTO contributors (login) VALUES (:key) ON CONFLICT DO NOTHING",
    "objective": "INSERT INTO objectives (key) VALUES (:key) ON CONFLICT DO NOTHING",
    "commit": "INSERT INTO commits (repository_id, sha) VALUES ((SELECT id FROM repositories WHERE key = :repo), :key) "
    "ON CONFLICT DO NOTHING",
    "pull_request": "INSERT INTO pull_requests (repository_id, number) VALUES "
    "((SELECT id FROM repositories WHERE key = :repo), :key) ON CONFLICT DO NOTHING",
}
_REPO = "(SELECT id FROM repositories WHERE key = :repository)"
_UPSERT = {
    "team": "INSERT INTO teams (key, name, parent_id) VALUES (:key, :name, (SELECT id FROM teams WHERE key = :parent)) "
    "ON CONFLICT (key) DO UPDATE SET name = excluded.name, parent_id = excluded.parent_id",
    "repository": "INSERT INTO repositories (key, team_id, project, default_branch) VALUES "
    "(:key, (SELECT id FROM teams WHERE key = :team), :project, :default_branch) ON CONFLICT (key) DO UPDATE SET "
    "team_id = excluded.team_id, project = excluded.project, default_branch = excluded.default_branch",
    "contributor": "INSERT INTO contributors (login, name, email, team_id, is_bot) VALUES "
    "(:login, :name, :email, (SELECT id FROM teams WHERE key = :team), coalesce(:is_bot, false)) "
    "ON CONFLICT (login) DO UPDATE SET name = excluded.name, email = excluded.email, team_id = excluded.team_id, "
    "is_bot = excluded.is_bot",
    "commit": "INSERT INTO commits (repository_id, sha, author_id, authored_at, committed_at, parents, additions, "
    f"deletions, message) VALUES ({_REPO}, :sha, (SELECT id FROM contributors WHERE login = :author), :authored_at, "
    ":committed_at, :parents, :additions, :deletions, :message) ON CONFLICT (repository_id, sha) DO UPDATE SET "
    "author_id = excluded.author_id, authored_at = excluded.authored_at, committed_at = excluded.committed_at, "
    "parents = excluded.parents, additions = excluded.additions, deletions = excluded.deletions, "
    "message = excluded.message",
    "pull_request": "INSERT INTO pull_requests (repository_id, number, author_id, title, state, draft, created_at, "
    "ready_at, merged_at, closed_at, merge_commit_sha, base_branch, head_branch, additions, deletions, changed_files, "
    f"labels) VALUES ({_REPO}, :number, (SELECT id FROM contributors WHERE login = :author), :title, :state, :draft, "
    ":created_at, :ready_at, :merged_at, :closed_at, :merge_commit_sha, :base_branch, :head_branch, :additions, "
    ":deletions, :changed_files, :labels) ON CONFLICT (repository_id, number) DO UPDATE SET "
    "author_id = excluded.author_id, title = excluded.title, state = excluded.state, draft = excluded.draft, "
    "created_at = excluded.created_at, ready_at = excluded.ready_at, merged_at = excluded.merged_at, "
    "closed_at = excluded.closed_at, merge_commit_sha = excluded.merge_commit_sha, base_branch = excluded.base_branch, "
    "head_branch = excluded.head_branch, additions = excluded.additions, deletions = excluded.deletions, "
    "changed_files = excluded.changed_files, labels = excluded.labels",
    "review": "INSERT INTO reviews (repository_id, external_id, pull_request_id, reviewer_id, state, submitted_at) "
    f"VALUES ({_REPO}, :id, (SELECT id FROM pull_requests WHERE repository_id = {_REPO} AND number = :pull_request), "
    "(SELECT id FROM contributors WHERE login = :reviewer), :state, :submitted_at) "
    "ON CONFLICT (repository_id, external_id) DO UPDATE SET pull_request_id = excluded.pull_request_id, "
    "reviewer_id = excluded.reviewer_id, state = excluded.state, submitted_at = excluded.submitted_at",
    "deployment": "INSERT INTO deployments (external_id, repository_id, environment, status, started_at, finished_at, "
    f"sha, listed_commits, kind) VALUES (:id, {_REPO}, :environment, :status, :started_at, :finished_at, :sha, "
    ":commits, coalesce(:kind, 'regular')) ON CONFLICT (external_id) DO UPDATE SET "
    "repository_id = excluded.repository_id, environment = excluded.environment, status = excluded.status, "
    "started_at = excluded.started_at, finished_at = excluded.finished_at, sha = excluded.sha, "
    "listed_commits = excluded.listed_commits, kind = excluded.kind",
    "incident": "INSERT INTO incidents (external_id, repository_id, title, severity, created_at, resolved_at, "
    f"deployment_external_id) VALUES (:id, {_REPO}, :title, :severity, :created_at, :resolved_at, :deployment_id) "
    "ON CONFLICT (external_id) DO UPDATE SET repository_id = excluded.repository_id, title = excluded.title, "
    "severity = excluded.severity, created_at = excluded.created_at, resolved_at = excluded.resolved_at, "
    "deployment_external_id = excluded.deployment_external_id",
    "quality": "INSERT INTO quality_measurements (repository_id, measured_at, sha, coverage, complexity, duplication, "
    f"issues, vulnerabilities) VALUES ({_REPO}, :measured_at, :sha, :coverage, :complexity, :duplication, :issues, "
    ":vulnerabilities) ON CONFLICT (repository_id, measured_at) DO UPDATE SET sha = excluded.sha, "
    "coverage = excluded.coverage, complexity = excluded.complexity, duplication = excluded.duplication, "
    "issues = excluded.issues, vulnerabilities = excluded.vulnerabilities",
    "objective": "INSERT INTO objectives (key, title, team_id, start_date, target_date, status) VALUES "
    "(:key, :title, (SELECT id FROM teams WHERE key = :team), :start_date, :target_date, :status) "
    "ON CONFLICT (key) DO UPDATE SET title = excluded.title, team_id = excluded.team_id, "
    "start_date = excluded.start_date, target_date = excluded.target_date, status = excluded.status",
    "work_item": "INSERT INTO work_items (key, title, type, objective_id, team_id, status, created_at, started_at, "
    "done_at, story_points) VALUES (:key, :title, :kind, (SELECT id FROM objectives WHERE key = :objective), "
    "(SELECT id FROM teams WHERE key = :team), :status, :created_at, :started_at, :done_at, :story_points) "
    "ON CONFLICT (key) DO UPDATE SET title = excluded.title, type = excluded.type, "
    "objective_id = excluded.objective_id, team_id = excluded.team_id, status = excluded.status, "
    "created_at = excluded.created_at, started_at = excluded.started_at, done_at = excluded.done_at, "
    "story_points = excluded.story_points",
}
_LINK = {
    "pull_request": "INSERT INTO pull_request_commits (pull_request_id, commit_id) SELECT p.id, c.id FROM repositories r "
    "JOIN pull_requests p ON p.repository_id = r.id AND p.number = :number "
    "JOIN commits c ON c.repository_id = r.id AND c.sha = :key WHERE r.key = :repo ON CONFLICT DO NOTHING",
    "work_item": "INSERT INTO work_item_pull_requests (work_item_id, pull_request_id) SELECT w.id, p.id "
    "FROM work_items w, repositories r JOIN pull_requests p ON p.repository_id = r.id AND p.number = :number "
    "WHERE w.key = :item AND r.key = :repo ON CONFLICT DO NOTHING",
}


def _references(record: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    """(kind, params) of every key a record references, parents first."""
    kind, repo = record["type"], record.get("repository")
    for field in ("team", "parent"):
        if record.get(field):
            yield "team", {"key": record[field]}
    if repo:
        yield "repository", {"key": repo}
    for field in ("author", "reviewer"):
        if record.get(field):
            yield "contributor", {"key": record[field]}
    if kind == "commit":
        for sha in record.get("parents") or ():
            yield "commit", {"key": sha, "repo": repo}
    if kind == "pull_request":
        for sha in record.get("commits") or ():
            yield "commit", {"key": sha, "repo": repo}
    if kind == "deployment":
        for sha in [record.get("sha"), *(record.get("commits") or ())]:
            if sha:
                yield "commit", {"key": sha, "repo": repo}
    if kind == "review":
        yield "pull_request", {"key": record["pull_request"], "repo": repo}
    if kind == "work_item":
        if record.get("objective"):
            yield "objective", {"key": record["objective"]}
        for ref in record.get("pull_requests") or ():
            ref_repo, _, number = ref.rpartition("#")
            yield "repository", {"key": ref_repo}
            yield "pull_request", {"key": int(number), "repo": ref_repo}


def row_by_row(url: str, lines: list[bytes]) -> float:
    """Load ``lines`` one statement at a time in one transaction; seconds taken."""
    from sqlalchemy import create_engine, text

    from pulse.ingest.records import as_dict, decode

    ensure = {kind: text(sql) for kind, sql in _ENSURE.items()}
    upsert = {kind: text(sql) for kind, sql in _UPSERT.items()}
    link = {kind: text(sql) for kind, sql in _LINK.items()}
    engine = create_engine(url)
    started = time.perf_counter()
    with engine.begin() as connection:
        for line in lines:
            record = as_dict(decode(line))
            for kind, params in _references(record):
                connection.execute(ensure[kind], params)
            params = {**record, "id": str(record["id"])} if "id" in record else record
            connection.execute(upsert[record["type"]], params)
            if record["type"] == "pull_request":
                for sha in record.get("commits") or ():
                    connection.execute(
                        link["pull_request"],
                        {"repo": record["repository"], "number": record["number"], "key": sha},
                    )
            if record["type"] == "work_item":
                for ref in record.get("pull_requests") or ():
                    repo, _, number = ref.rpartition("#")
                    connection.execute(
                        link["work_item"], {"item": record["key"], "repo": repo, "number": int(number)}
                    )
    seconds = time.perf_counter() - started
    engine.dispose()
    return seconds


TABLES = (
    "commits",
    "pull_requests",
    "pull_request_commits",
    "reviews",
    "deployments",
    "deployment_commits",
    "commit_first_deployments",
    "incidents",
    "quality_measurements",
    "work_items",
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--lines", type=int, default=1_000_000)
    parser.add_argument("--sample", type=int, default=20_000, help="lines loaded row by row")
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--target", type=float, default=50_000, help="records/s pulse import must reach")
    parser.add_argument("--keep", action="store_true", help="keep the file and the databases")
    args = parser.parse_args(argv)

    workdir = Path(tempfile.mkdtemp(prefix="pulse-bench-import-"))
    path = workdir / "org.ndjson"
    print(f"generating {args.lines:,} lines into {path} ...", file=sys.stderr)
    started = time.perf_counter()
    counts = generate(path, args.lines, args.seed)
    # The file's generation is not timed, and neither is the kernel writing it out: left
    # pending, that writeback competes with the import's WAL flushes for the disk.
    os.sync()
    print(
        f"generated in {time.perf_counter() - started:.1f} s ({path.stat().st_size / 1e6:,.0f} MB)",
        file=sys.stderr,
    )

    url = _fresh_database(DATABASE)
    command = [str(Path(sys.executable).with_name("pulse")), "import", str(path)]
    print(f"pulse import {path.name} into a fresh database {DATABASE} ...", file=sys.stderr)
    postmaster = _postmaster_pid(url)
    server_before = _cpu_seconds(postmaster) if postmaster else 0.0
    client_before = _children_cpu_seconds()
    started = time.perf_counter()
    child = subprocess.run(
        command, env={**os.environ, "DATABASE_URL": url}, stdout=subprocess.PIPE, text=True
    )
    seconds = time.perf_counter() - started
    client_cpu = _children_cpu_seconds() - client_before
    server_cpu = _settled_cpu_seconds(postmaster) - server_before if postmaster else None
    print(child.stdout, end="")
    if child.returncode != 0:
        print(f"pulse import failed with exit status {child.returncode}", file=sys.stderr)
        return 1
    rows = _row_counts(url, TABLES)

    with path.open("rb") as handle:
        every = max(1, args.lines // args.sample)
        sample = [line for number, line in enumerate(handle) if number % every == 0][: args.sample]
    baseline_url = _fresh_database(BASELINE_DATABASE)
    print(f"row by row: {len(sample):,} sampled lines into {BASELINE_DATABASE} ...", file=sys.stderr)
    baseline_seconds = row_by_row(baseline_url, sample)
    if not args.keep:
        _drop(DATABASE)
        _drop(BASELINE_DATABASE)
        path.unlink()
        workdir.rmdir()

    rate = args.lines / seconds
    baseline_rate = len(sample) / baseline_seconds
    print(
        f"\n{args.lines:,} lines: " + " · ".join(f"{kind} {count:,}" for kind, count in counts.most_common())
    )
    print(f"  pulse import (COPY + set-based upserts)  {seconds:8.1f} s  {rate:>10,.0f} records/s")
    print(
        f"  row by row ({len(sample):,} sampled)         {baseline_seconds:8.1f} s  {baseline_rate:>10,.0f} records/s"
        f"  (the whole file: ~{args.lines / baseline_rate / 60:,.0f} min)"
    )
    print(f"  speed-up {rate / baseline_rate:,.0f}x; target {args.target:,.0f} records/s")
    if server_cpu is not None:
        cores = os.cpu_count() or 1
        floor = max(server_cpu, client_cpu, (server_cpu + client_cpu) / cores)
        print(
            f"  CPU: pulse import {client_cpu:.1f} s, PostgreSQL {server_cpu:.1f} s; on {cores} cores no "
            f"schedule beats {floor:.1f} s ({args.lines / floor:,.0f} records/s)"
        )
    print("  rows: " + " · ".join(f"{table} {count:,}" for table, count in rows.items()))
    if rate < args.target:
        print(f"FAIL {rate:,.0f} records/s < target {args.target:,.0f}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
