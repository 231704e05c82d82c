"""Ingest records for the GitHub analytics tests: short builders and a loader through ingest."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pulse.auth.scope import Scope
from pulse.metrics.common import Window

REPO = "acme/checkout"
EVERYTHING = Scope(None, None)
MARCH = Window(dt.date(2026, 3, 1), dt.date(2026, 3, 31))


def at(day: int, hour: int = 0, minute: int = 0, second: int = 0, month: int = 3) -> str:
    """An instant in 2026 (UTC); 2 March 2026 is a Monday."""
    return dt.datetime(2026, month, day, hour, minute, second, tzinfo=dt.UTC).isoformat()


def scope_of(*repositories: str) -> Scope:
    """What an admin filtering on ``repositories`` may read."""
    from pulse import db
    from pulse.auth.context import Caller
    from pulse.auth.scope import resolve_scope

    with db.connect() as connection:
        return resolve_scope(connection, Caller(subject="1", kind="user", role="admin"), (), repositories)


def load(records: list[dict[str, Any]]) -> None:
    """Import records through the real ingest path (which also derives the PR stages)."""
    from pulse import db
    from pulse.ingest import load_records

    with db.transaction() as connection:
        load_records(connection, records)


def org(
    *, repositories: tuple[str, ...] = (REPO,), bots: tuple[str, ...] = ("ci-bot",)
) -> list[dict[str, Any]]:
    """Two teams owning one repository each (the first two), the usual people and a bot."""
    records: list[dict[str, Any]] = [
        {"type": "team", "key": "payments", "name": "Payments"},
        {"type": "team", "key": "search", "name": "Search"},
    ]
    for index, key in enumerate(repositories):
        records.append(
            {
                "type": "repository",
                "key": key,
                "team": "payments" if index == 0 else "search",
                "default_branch": "main",
            }
        )
    for login in ("alice", "bob", "carol", "dave"):
        records.append({"type": "contributor", "login": login, "name": login.title()})
    for login in bots:
        records.append({"type": "contributor", "login": login, "is_bot": True})
    return records


def commit(sha: str, authored_at: str, *, author: str = "alice", repo: str = REPO) -> dict[str, Any]:
    return {"type": "commit", "repository": repo, "sha": sha, "author": author, "authored_at": authored_at}


def pull_request(
    number: int,
    *,
    created_at: str,
    merged_at: str | None = None,
    author: str | None = "alice",
    commits: tuple[str, ...] = (),
    repo: str = REPO,
    **fields: Any,
) -> dict[str, Any]:
    record: dict[str, Any] = {
        "type": "pull_request",
        "repository": repo,
        "number": number,
        "state": "merged" if merged_at else "open",
        "created_at": created_at,
        "merged_at": merged_at,
        "merge_commit_sha": f"m{number}" if merged_at else None,
        "commits": list(commits),
        **fields,
    }
    if author is not None:
        record["author"] = author
    return record


def review(
    review_id: str,
    number: int,
    reviewer: str,
    submitted_at: str,
    *,
    state: str = "approved",
    repo: str = REPO,
) -> dict[str, Any]:
    return {
        "type": "review",
        "repository": repo,
        "pull_request": number,
        "id": review_id,
        "reviewer": reviewer,
        "state": state,
        "submitted_at": submitted_at,
    }


def deployment(
    deployment_id: str,
    finished_at: str,
    *,
    commits: tuple[str, ...],
    environment: str = "production",
    status: str = "success",
    repo: str = REPO,
) -> dict[str, Any]:
    return {
        "type": "deployment",
        "id": deployment_id,
        "repository": repo,
        "environment": environment,
        "status": status,
        "finished_at": finished_at,
        "commits": list(commits),
    }
