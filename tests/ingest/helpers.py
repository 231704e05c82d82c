"""Short builders for ingest records and readers of what the loader stored."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import text

from pulse import dataversion, db
from pulse.ingest import ImportResult, import_lines

REPO = "acme/app"


def ts(day: int, hour: int = 0) -> str:
    """An instant in March 2026, UTC."""
    return f"2026-03-{day:02d}T{hour:02d}:00:00Z"


def ndjson(*records: dict[str, Any]) -> list[str]:
    return [json.dumps(record) for record in records]


def load(*records: dict[str, Any]) -> ImportResult:
    """Import records as NDJSON lines in one transaction."""
    with db.transaction() as connection:
        return import_lines(connection, ndjson(*records))


def commit(
    sha: str, day: int = 1, *, parents: list[str] | None = None, repo: str = REPO, **fields: Any
) -> dict[str, Any]:
    record = {"type": "commit", "repository": repo, "sha": sha, "authored_at": ts(day), **fields}
    if parents is not None:
        record["parents"] = parents
    return record


def deployment(
    external_id: str,
    day: int,
    *,
    sha: str | None = None,
    commits: list[str] | None = None,
    status: str = "success",
    environment: str = "production",
    repo: str = REPO,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "deployment",
        "id": external_id,
        "repository": repo,
        "environment": environment,
        "status": status,
        "finished_at": ts(day),
    }
    if sha is not None:
        record["sha"] = sha
    if commits is not None:
        record["commits"] = commits
    return record


def rows(sql: str, **params: Any) -> list[tuple[Any, ...]]:
    with db.connect() as connection:
        return [tuple(row) for row in connection.execute(text(sql), params)]


def count(table: str) -> int:
    return int(rows(f"SELECT count(*) FROM {table}")[0][0])


def version() -> int:
    with db.connect() as connection:
        return dataversion.current(connection).version


def shipped(environment: str = "production") -> dict[str, set[str]]:
    """What each deployment of ``environment`` ships: {deployment id: {sha}}."""
    result: dict[str, set[str]] = {}
    for external_id, sha in rows(
        "SELECT d.external_id, c.sha FROM deployments d JOIN deployment_commits dc ON dc.deployment_id = d.id "
        "JOIN commits c ON c.id = dc.commit_id WHERE d.environment = :environment",
        environment=environment,
    ):
        result.setdefault(external_id, set()).add(sha)
    return result


def first_deployments(environment: str = "production") -> dict[str, str]:
    """Each commit's first deployment to ``environment``: {sha: deployment id}."""
    return dict(
        rows(
            "SELECT c.sha, d.external_id FROM commit_first_deployments f JOIN commits c ON c.id = f.commit_id "
            "JOIN deployments d ON d.id = f.deployment_id WHERE f.environment = :environment",
            environment=environment,
        )
    )
