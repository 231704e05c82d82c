"""Loading validated records: COPY into temporary staging tables, then set-based upserts.

Per chunk, every staging table is filled by one COPY and each record type is written by a few
``INSERT ... SELECT`` / ``UPDATE ... FROM`` statements that resolve natural keys to ids by join:

- dimension tables (teams, repositories, contributors, objectives) insert new keys and update
  existing rows whose values differ, so a re-import burns no ids and locks nothing;
- fact tables (commits, pull requests, reviews, deployments, incidents, quality, work items)
  use ``INSERT ... ON CONFLICT (natural key) DO UPDATE ... WHERE (...) IS DISTINCT FROM (...)``,
  so an identical record writes nothing (the row keeps its ``xmin``); commits, PRs and reviews
  new to a table that was empty when their lines began (``batch.FreshKeys``) are inserted
  without that conflict check;
- references to unknown keys become placeholders (``INSERT ... WHERE NOT EXISTS``), after the
  records of the chunk are in, so a placeholder never overwrites a described row;
- link lists (a PR's ``commits``, a work item's ``pull_requests``) replace the stored set when
  given and leave it alone when absent.

Statements note which repositories and (repository, environment) pairs changed, and which
pull requests' stage inputs changed (``s_stage_pull_requests``): a PR's own row, its commit
links, its reviews (and the PR a moved review left), a linked commit that was described anew
(a placeholder's ``authored_at``), and its merge commit's first deployment (noted by
``pulse.ingest.shipped``). ``finish`` then checks team cycles, resolves the commits shipped by
the deployments of those pairs, refreshes the stage ends of exactly those PRs
(``pulse.metrics.pull_requests.refresh_stages``; every PR when a contributor's ``is_bot``
changed) and bumps the data version when anything changed. A webhook's import thus re-derives
one PR, not its repository's thousands.
"""

from __future__ import annotations

import contextlib
import gc
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from queue import Empty, Full, Queue
from typing import Any, Final, NamedTuple, TypeVar

from sqlalchemy import Connection

from pulse import dataversion
from pulse.ingest import shipped
from pulse.ingest.batch import STAGING, Batch, FreshKeys
from pulse.ingest.records import InvalidRecord, convert, decode

CHUNK_RECORDS: Final = 50_000
# Up to this many records a batch is a webhook's or a pipeline's: its staging tables are analyzed
# and it notes exactly what its commits change (see Loader._load and the commit steps).
SMALL_BATCH_RECORDS: Final = 1_000
SMALL_WORK_TABLE_BYTES: Final = 64 * 1024  # emptied by DELETE up to this size, else by TRUNCATE
IMPORT_LOCK: Final = 0x70756C7365  # pg_advisory_xact_lock key serializing imports ("pulse")
TEMP_BUFFERS: Final = "64MB"  # see Loader._prepare

# Work tables beyond the staging tables: resolved links, and what the import touched.
WORK_TABLES: Final = {
    "s_links": "pull_request_id bigint, commit_id bigint",
    # The ids of the PRs a chunk describes or references, and whether each was stored before it
    "s_chunk_pull_requests": "repository_id integer, number integer, id bigint, existed boolean",
    "s_work_item_links": "work_item_id bigint, pull_request_id bigint",
    "s_touched_repositories": "repository_id integer PRIMARY KEY",
    "s_graph_repositories": "repository_id integer PRIMARY KEY",
    "s_touched_pairs": 'repository_id integer, environment text COLLATE "C", PRIMARY KEY (repository_id, environment)',
    # Appended to, duplicates and all: a primary key's conflict checks cost ~1 s of a first
    # load of 142,800 PRs, a duplicate nothing (the refresh reads it with IN).
    "s_stage_pull_requests": "pull_request_id bigint",
    "s_deferred_indexes": "name text, definition text",
}
LINK_TABLES: Final = ("s_links", "s_work_item_links", "s_chunk_pull_requests")

# The tables each record type writes, derived ones included (for refreshing their statistics).
TABLES_BY_TYPE: Final = {
    "team": ("teams",),
    "repository": ("repositories",),
    "contributor": ("contributors",),
    "commit": ("commits",),
    "pull_request": ("pull_requests", "pull_request_commits", "pull_request_stages"),
    "review": ("reviews",),
    "deployment": ("deployments", "deployment_commits", "commit_first_deployments"),
    "incident": ("incidents",),
    "quality": ("quality_measurements",),
    "objective": ("objectives",),
    "work_item": ("work_items", "work_item_pull_requests"),
}
# Derived at the end of an import from the tables above, so analyzed after the others.
DERIVED_LAST: Final = frozenset({"pull_request_stages"})
# Tables whose primary key a bulk load into them empty may defer too: only ``finish`` writes
# them (shipped.resolve, refresh_stages), with a plain COPY or INSERT when nothing is derived
# yet: no upsert, no lookup by key. Maintained row by row, the keys cost ~1.2 s of a first load
# of 1,000,000 records; built at the end, ~0.35 s.
KEYS_DEFERRED: Final = ("commit_first_deployments", "deployment_commits", "pull_request_stages")
# How long a big import waits for readers of an empty table before keeping its indexes.
DEFER_LOCK_TIMEOUT: Final = "1s"
# autovacuum's default analyze threshold (50 rows + 10%), applied at once instead of up to a
# minute later: the first request after a bulk load is planned on current statistics.
ANALYZE_BASE_ROWS: Final = 50
ANALYZE_FRACTION: Final = 0.1


class IngestValidationError(ValueError):
    """Some lines (or records) break the ingest format; nothing was written."""

    def __init__(self, errors: list[str]) -> None:
        shown = "; ".join(errors[:3]) + ("; ..." if len(errors) > 3 else "")
        super().__init__(f"{len(errors)} invalid record(s): {shown}")
        self.errors = errors


@dataclass
class ImportResult:
    """What an import did."""

    accepted: int = 0  # valid records read (duplicates included)
    by_type: dict[str, int] = field(default_factory=dict)
    changed: int = 0  # rows inserted, updated or deleted; 0 when the import changed nothing
    repository_ids: list[int] = field(default_factory=list)  # repositories whose data changed
    data_version: int | None = None  # the new data version, None when nothing changed
    analyzed: list[str] = field(default_factory=list)  # tables whose statistics it refreshed
    rebuilt_indexes: list[str] = field(default_factory=list)  # dropped at the start, built at the end


def _touching(sql: str, *columns: str) -> str:
    """Wrap a data-modifying statement ``... RETURNING <columns>``: note what it touched, count rows.

    ``columns`` are RETURNING expressions (``id AS pull_request_id``); a returned
    ``repository_id`` (and ``environment``) is noted as touched, a ``pull_request_id`` for the
    stage refresh; ``graph`` (with ``repository_id``) notes the repositories as changed in their
    commit graph, and for the stage refresh all PRs of those where it updated a stored row (a
    row it inserts is new: no PR links it yet; only an inserted row version has ``xmax`` 0);
    ``mapped`` (with ``repository_id`` and ``id AS pull_request_id``) adds the PRs it inserted
    to the chunk's ``s_chunk_pull_requests``.
    """
    notes = []
    if "pull_request_id" in {column.split(" AS ")[-1] for column in columns}:
        notes.append(f"t0 AS ({NOTE_STAGES} SELECT DISTINCT pull_request_id FROM changed)")
    if "repository_id" in columns:
        notes.append(
            "t1 AS (INSERT INTO s_touched_repositories SELECT DISTINCT repository_id FROM changed "
            "ON CONFLICT DO NOTHING)"
        )
    if "environment" in columns:
        notes.append(
            "t3 AS (INSERT INTO s_touched_pairs SELECT DISTINCT repository_id, environment FROM changed "
            "ON CONFLICT DO NOTHING)"
        )
    if "graph" in columns:
        notes.append(
            "t4 AS (INSERT INTO s_graph_repositories SELECT DISTINCT repository_id FROM changed "
            f"{ON_CONFLICT}), t5 AS ({NOTE_STAGES} SELECT p.id FROM pull_requests p "
            "WHERE p.repository_id IN (SELECT repository_id FROM changed WHERE NOT inserted))"
        )
    if "mapped" in columns:
        notes.append(
            "t6 AS (INSERT INTO s_chunk_pull_requests "
            "SELECT repository_id, number, pull_request_id, false FROM changed WHERE inserted)"
        )
    returning = [column for column in columns if column not in ("graph", "mapped")]
    if "mapped" in columns:
        returning.append("number")
    if {"graph", "mapped"} & set(columns):
        returning.append("xmax = 0 AS inserted")
    return (
        f"WITH changed AS ({sql} RETURNING {', '.join(returning)}), {', '.join(notes)} "
        "SELECT count(*) FROM changed"
    )


def _upsert(table: str, key: str, columns: str, select: str) -> str:
    """``INSERT ... ON CONFLICT (key) DO UPDATE`` that writes only rows whose values differ."""
    names = [name.strip() for name in columns.split(",")]
    keys = {name.strip() for name in key.split(",")}
    values = [name for name in names if name not in keys]
    assignments = ", ".join(f"{name} = excluded.{name}" for name in values)
    old = ", ".join(f"{table}.{name}" for name in values)
    new = ", ".join(f"excluded.{name}" for name in values)
    return (
        f"INSERT INTO {table} ({columns}) {select} ON CONFLICT ({key}) DO UPDATE SET {assignments} "
        f"WHERE ({old}) IS DISTINCT FROM ({new})"
    )


def _insert_missing(table: str, columns: str, select: str, exists: str) -> str:
    """Insert the rows of ``select`` whose key is not there yet (placeholders, new dimension rows)."""
    return f"INSERT INTO {table} ({columns}) {select} WHERE NOT EXISTS ({exists}) ON CONFLICT DO NOTHING"


REPO = "JOIN repositories r ON r.key = s.repository"
NOTE_STAGES = "INSERT INTO s_stage_pull_requests"
ON_CONFLICT = "ON CONFLICT DO NOTHING"
COMMIT_KEY = "repository_id, sha"
COMMIT_COLUMNS = (
    "repository_id, sha, author_id, authored_at, committed_at, parents, additions, deletions, message"
)
COMMITS_SELECT = (
    "SELECT r.id, s.sha, a.id, s.authored_at, s.committed_at, s.parents, s.additions, s.deletions, "
    f"s.message FROM s_commits s {REPO} LEFT JOIN contributors a ON a.login = s.author"
)
PR_COLUMNS = (
    "repository_id, number, author_id, title, state, draft, created_at, ready_at, merged_at, closed_at, "
    "merge_commit_sha, base_branch, head_branch, additions, deletions, changed_files, labels"
)
PR_SELECT = (
    "SELECT r.id, s.number, a.id, s.title, s.state, s.draft, s.created_at, s.ready_at, s.merged_at, "
    "s.closed_at, s.merge_commit_sha, s.base_branch, s.head_branch, s.additions, s.deletions, "
    f"s.changed_files, s.labels FROM s_pull_requests s {REPO} LEFT JOIN contributors a ON a.login = s.author"
)
REVIEW_COLUMNS = "repository_id, external_id, pull_request_id, reviewer_id, state, submitted_at"
REVIEW_SELECT = (
    f"SELECT r.id, s.id, p.id, c.id, s.state, s.submitted_at FROM s_reviews s {REPO} "
    "JOIN s_chunk_pull_requests p ON p.repository_id = r.id AND p.number = s.pull_request "
    "JOIN contributors c ON c.login = s.reviewer"
)


class Step(NamedTuple):
    """A statement run when its staging table (one of them) has rows; ``writes``: it changes
    stored data."""

    table: str | tuple[str, ...]
    sql: str
    writes: bool = True
    # "bots": counts contributors whose is_bot changes; "small" / "big": only for batches of at
    # most / more than SMALL_BATCH_RECORDS
    note: str = ""
    # A probe for what a write is about to move away from: skipped when this table held no rows
    # at the import's first big chunk, as every row it has since then, this import wrote and
    # noted (Loader._load)
    unless_empty: str = ""
    # "fresh" / "stale": only when the batch has rows of its table flagged fresh / not fresh
    rows: str = ""

    def runs_on(self, batch: Batch, payloads: dict[str, bytes]) -> bool:
        tables = (self.table,) if isinstance(self.table, str) else self.table
        if not any(table in payloads for table in tables):
            return False
        if self.rows:
            fresh, stale = batch.fresh_rows[tables[0]]
            return bool(fresh if self.rows == "fresh" else stale)
        return True


def _written(
    staging: str, table: str, key: str, columns: str, select: str, *touched: str, note: str = ""
) -> list[Step]:
    """The steps writing the rows of ``staging`` (read by ``select`` as ``s``): a plain INSERT
    of those flagged fresh (new to the table, ``batch.FreshKeys``), which skips the upsert's
    conflict check, and an upsert of the others; both ``_touching`` the ``touched`` columns."""
    insert = f"INSERT INTO {table} ({columns}) {select} WHERE s.fresh"
    upsert = _upsert(table, key, columns, f"{select} WHERE NOT s.fresh")
    return [
        Step(staging, _touching(insert, *touched), note=note, rows="fresh"),
        Step(staging, _touching(upsert, *touched), note=note, rows="stale"),
    ]


# Order matters: keys referenced later exist first.
STATEMENTS: Final[list[Step]] = [
    # teams: every key mentioned becomes a row first, so parents resolve within one chunk
    Step(
        "s_team_refs",
        _insert_missing(
            "teams", "key", "SELECT s.key FROM s_team_refs s", "SELECT 1 FROM teams t WHERE t.key = s.key"
        ),
    ),
    Step(
        "s_teams",
        "UPDATE teams t SET name = s.name, parent_id = p.id FROM s_teams s LEFT JOIN teams p ON p.key = s.parent "
        "WHERE t.key = s.key AND (t.name, t.parent_id) IS DISTINCT FROM (s.name, p.id)",
    ),
    Step(
        "s_repositories",
        _insert_missing(
            "repositories",
            "key, team_id, project, default_branch",
            "SELECT s.key, t.id, s.project, s.default_branch FROM s_repositories s LEFT JOIN teams t ON t.key = s.team",
            "SELECT 1 FROM repositories r WHERE r.key = s.key",
        ),
    ),
    Step(
        "s_repositories",
        "UPDATE repositories r SET team_id = t.id, project = s.project, default_branch = s.default_branch "
        "FROM s_repositories s LEFT JOIN teams t ON t.key = s.team WHERE r.key = s.key "
        "AND (r.team_id, r.project, r.default_branch) IS DISTINCT FROM (t.id, s.project, s.default_branch)",
    ),
    Step(
        "s_repository_refs",
        _insert_missing(
            "repositories",
            "key",
            "SELECT s.key FROM s_repository_refs s",
            "SELECT 1 FROM repositories r WHERE r.key = s.key",
        ),
    ),
    Step(
        "s_contributors",
        _insert_missing(
            "contributors",
            "login, name, email, team_id, is_bot",
            "SELECT s.login, s.name, s.email, t.id, s.is_bot FROM s_contributors s LEFT JOIN teams t ON t.key = s.team",
            "SELECT 1 FROM contributors c WHERE c.login = s.login",
        ),
    ),
    # A contributor turning into a bot (or back) changes the review stages of every PR they reviewed.
    Step(
        "s_contributors",
        "SELECT count(*) FROM contributors c JOIN s_contributors s ON s.login = c.login "
        "WHERE c.is_bot IS DISTINCT FROM s.is_bot",
        writes=False,
        note="bots",
    ),
    Step(
        "s_contributors",
        "UPDATE contributors c SET name = s.name, email = s.email, team_id = t.id, is_bot = s.is_bot "
        "FROM s_contributors s LEFT JOIN teams t ON t.key = s.team WHERE c.login = s.login "
        "AND (c.name, c.email, c.team_id, c.is_bot) IS DISTINCT FROM (s.name, s.email, t.id, s.is_bot)",
    ),
    Step(
        "s_contributor_refs",
        _insert_missing(
            "contributors",
            "login",
            "SELECT s.login FROM s_contributor_refs s",
            "SELECT 1 FROM contributors c WHERE c.login = s.login",
        ),
    ),
    Step(
        "s_objectives",
        _insert_missing(
            "objectives",
            "key, title, team_id, start_date, target_date, status",
            "SELECT s.key, s.title, t.id, s.start_date, s.target_date, s.status "
            "FROM s_objectives s LEFT JOIN teams t ON t.key = s.team",
            "SELECT 1 FROM objectives o WHERE o.key = s.key",
        ),
    ),
    Step(
        "s_objectives",
        "UPDATE objectives o SET title = s.title, team_id = t.id, start_date = s.start_date, "
        "target_date = s.target_date, status = s.status "
        "FROM s_objectives s LEFT JOIN teams t ON t.key = s.team WHERE o.key = s.key "
        "AND (o.title, o.team_id, o.start_date, o.target_date, o.status) "
        "IS DISTINCT FROM (s.title, t.id, s.start_date, s.target_date, s.status)",
    ),
    Step(
        "s_objective_refs",
        _insert_missing(
            "objectives",
            "key",
            "SELECT s.key FROM s_objective_refs s",
            "SELECT 1 FROM objectives o WHERE o.key = s.key",
        ),
    ),
    # Small batches (a webhook's) note precisely what a commit changes, before writing it:
    # - which commits deployments ship changes only when a stored commit's parents do: every sha
    #   a stored record mentions (a parent, a deployment's sha or list) is stored, as a
    #   placeholder at least, so a commit new to the database is unreachable from stored
    #   deployments (a push re-derives nothing);
    # - a PR's first_commit_at reads its commits' authored_at: the PRs linking a stored commit
    #   whose authored_at changes (a placeholder described); a new commit is linked to none.
    Step(
        "s_commits",
        "INSERT INTO s_graph_repositories SELECT DISTINCT r.id FROM s_commits s "
        f"{REPO} JOIN commits c ON c.repository_id = r.id AND c.sha = s.sha "
        f"WHERE c.parents IS DISTINCT FROM s.parents {ON_CONFLICT}",
        writes=False,
        note="small",
    ),
    Step(
        "s_commits",
        f"{NOTE_STAGES} SELECT DISTINCT l.pull_request_id FROM (SELECT c.id, c.repository_id FROM s_commits s "
        f"{REPO} JOIN commits c ON c.repository_id = r.id AND c.sha = s.sha "
        "WHERE c.authored_at IS DISTINCT FROM s.authored_at) d "
        "JOIN pull_requests p ON p.repository_id = d.repository_id "
        "JOIN pull_request_commits l ON l.pull_request_id = p.id AND l.commit_id = d.id",
        writes=False,
        note="small",
    ),
    *_written(
        "s_commits", "commits", COMMIT_KEY, COMMIT_COLUMNS, COMMITS_SELECT, "repository_id", note="small"
    ),
    # A big chunk's probes would cost more than they save (~1 s per 50,000 records): every
    # repository whose commits it changed is re-derived for shipped commits, and for PR stages
    # every repository where it updated a stored commit.
    *_written(
        "s_commits",
        "commits",
        COMMIT_KEY,
        COMMIT_COLUMNS,
        COMMITS_SELECT,
        "repository_id",
        "graph",
        note="big",
    ),
    Step(
        "s_commit_refs",
        _insert_missing(
            "commits",
            "repository_id, sha",
            f"SELECT r.id, s.sha FROM s_commit_refs s {REPO}",
            "SELECT 1 FROM commits c WHERE c.repository_id = r.id AND c.sha = s.sha",
        ),
    ),
    # The stored PRs among those the chunk describes or references: with the ones the next two
    # statements insert, the chunk's PR ids, so later steps join them rather than all PRs.
    Step(
        ("s_pull_requests", "s_pull_request_refs"),
        "INSERT INTO s_chunk_pull_requests SELECT r.id, s.number, p.id, true FROM "
        "(SELECT repository, number FROM s_pull_requests UNION ALL SELECT repository, number "
        f"FROM s_pull_request_refs) s {REPO} JOIN pull_requests p ON p.repository_id = r.id AND p.number = s.number",
        writes=False,
    ),
    *_written(
        "s_pull_requests",
        "pull_requests",
        "repository_id, number",
        PR_COLUMNS,
        PR_SELECT,
        "repository_id",
        "id AS pull_request_id",
        "mapped",
    ),
    Step(
        "s_pull_request_refs",
        _touching(
            _insert_missing(
                "pull_requests",
                "repository_id, number",
                f"SELECT r.id, s.number FROM s_pull_request_refs s {REPO}",
                "SELECT 1 FROM pull_requests p WHERE p.repository_id = r.id AND p.number = s.number",
            ),
            "repository_id",
            "id AS pull_request_id",
            "mapped",
        ),
    ),
    Step(
        "s_pull_request_commits",
        # one row per link: a batch lists each (PR, sha) once and a chunk's PR ids once
        "INSERT INTO s_links SELECT p.id, c.id FROM s_pull_request_commits s "
        f"{REPO} JOIN s_chunk_pull_requests p ON p.repository_id = r.id AND p.number = s.number "
        "JOIN commits c ON c.repository_id = r.id AND c.sha = s.sha",
        writes=False,
    ),
    # Filled by the two statements above; the link diff below is planned on their real sizes.
    Step("s_pull_request_commits", "ANALYZE s_links, s_chunk_pull_requests", writes=False, note="small"),
    # Only PRs that existed before this chunk can have links to drop or links already stored.
    Step(
        "s_pull_requests",
        "WITH changed AS (DELETE FROM pull_request_commits l USING s_pull_requests s "
        f"{REPO} JOIN s_chunk_pull_requests p ON p.repository_id = r.id AND p.number = s.number AND p.existed "
        "WHERE s.has_commits AND l.pull_request_id = p.id AND NOT EXISTS "
        "(SELECT 1 FROM s_links n WHERE n.pull_request_id = l.pull_request_id AND n.commit_id = l.commit_id) "
        "RETURNING l.pull_request_id, p.repository_id), "
        "t AS (INSERT INTO s_touched_repositories SELECT DISTINCT repository_id FROM changed ON CONFLICT DO NOTHING), "
        f"t0 AS ({NOTE_STAGES} SELECT DISTINCT pull_request_id FROM changed) "
        "SELECT count(*) FROM changed",
    ),
    # The links of PRs new in this chunk: the PR's own upsert noted it and its repository.
    Step(
        "s_pull_request_commits",
        "INSERT INTO pull_request_commits (pull_request_id, commit_id) "
        "SELECT n.pull_request_id, n.commit_id FROM s_links n "
        "JOIN s_chunk_pull_requests p ON p.id = n.pull_request_id AND NOT p.existed",
    ),
    Step(
        "s_pull_request_commits",
        "WITH changed AS (INSERT INTO pull_request_commits (pull_request_id, commit_id) "
        "SELECT n.pull_request_id, n.commit_id FROM s_links n "
        "JOIN s_chunk_pull_requests p ON p.id = n.pull_request_id AND p.existed WHERE NOT EXISTS "
        "(SELECT 1 FROM pull_request_commits l WHERE l.pull_request_id = n.pull_request_id "
        "AND l.commit_id = n.commit_id) "
        "RETURNING pull_request_id), t AS (INSERT INTO s_touched_repositories SELECT DISTINCT p.repository_id "
        "FROM changed JOIN pull_requests p ON p.id = changed.pull_request_id ON CONFLICT DO NOTHING), "
        f"t0 AS ({NOTE_STAGES} SELECT DISTINCT pull_request_id FROM changed) "
        "SELECT count(*) FROM changed",
    ),
    # A review moving to another PR changes the stages of the one it leaves.
    Step(
        "s_reviews",
        f"{NOTE_STAGES} SELECT DISTINCT v.pull_request_id FROM s_reviews s {REPO} "
        "JOIN reviews v ON v.repository_id = r.id AND v.external_id = s.id",
        writes=False,
        unless_empty="reviews",
    ),
    *_written(
        "s_reviews",
        "reviews",
        "repository_id, external_id",
        REVIEW_COLUMNS,
        REVIEW_SELECT,
        "repository_id",
        "pull_request_id",
    ),
    # A deployment moving to another repository or environment changes what the old pair ships.
    Step(
        "s_deployments",
        "INSERT INTO s_touched_pairs SELECT DISTINCT d.repository_id, d.environment FROM s_deployments s "
        f"JOIN deployments d ON d.external_id = s.id {REPO} "
        "WHERE (d.repository_id, d.environment) IS DISTINCT FROM (r.id, s.environment) ON CONFLICT DO NOTHING",
        writes=False,
        unless_empty="deployments",
    ),
    Step(
        "s_deployments",
        _touching(
            _upsert(
                "deployments",
                "external_id",
                "external_id, repository_id, environment, status, started_at, finished_at, sha, listed_commits, kind",
                "SELECT s.id, r.id, s.environment, s.status, s.started_at, s.finished_at, s.sha, s.commits, s.kind "
                f"FROM s_deployments s {REPO}",
            ),
            "repository_id",
            "environment",
        ),
    ),
    Step(
        "s_incidents",
        _touching(
            _upsert(
                "incidents",
                "external_id",
                "external_id, repository_id, title, severity, created_at, resolved_at, deployment_external_id",
                "SELECT s.id, r.id, s.title, s.severity, s.created_at, s.resolved_at, s.deployment_id "
                f"FROM s_incidents s {REPO}",
            ),
            "repository_id",
        ),
    ),
    Step(
        "s_quality",
        _touching(
            _upsert(
                "quality_measurements",
                "repository_id, measured_at",
                "repository_id, measured_at, sha, coverage, complexity, duplication, issues, vulnerabilities",
                "SELECT r.id, s.measured_at, s.sha, s.coverage, s.complexity, s.duplication, s.issues, "
                f"s.vulnerabilities FROM s_quality s {REPO}",
            ),
            "repository_id",
        ),
    ),
    Step(
        "s_work_items",
        _upsert(
            "work_items",
            "key",
            "key, title, type, objective_id, team_id, status, created_at, started_at, done_at, story_points",
            "SELECT s.key, s.title, s.type, o.id, t.id, s.status, s.created_at, s.started_at, s.done_at, "
            "s.story_points FROM s_work_items s LEFT JOIN objectives o ON o.key = s.objective "
            "LEFT JOIN teams t ON t.key = s.team",
        ),
    ),
    Step(
        "s_work_item_pull_requests",
        "INSERT INTO s_work_item_links SELECT DISTINCT w.id, p.id FROM s_work_item_pull_requests s "
        f"JOIN work_items w ON w.key = s.key {REPO} "
        "JOIN pull_requests p ON p.repository_id = r.id AND p.number = s.number",
        writes=False,
    ),
    Step(
        "s_work_items",
        "DELETE FROM work_item_pull_requests l USING s_work_items s JOIN work_items w ON w.key = s.key "
        "WHERE s.has_pull_requests AND l.work_item_id = w.id AND NOT EXISTS (SELECT 1 FROM s_work_item_links n "
        "WHERE n.work_item_id = l.work_item_id AND n.pull_request_id = l.pull_request_id)",
    ),
    Step(
        "s_work_item_pull_requests",
        "INSERT INTO work_item_pull_requests (work_item_id, pull_request_id) SELECT n.work_item_id, n.pull_request_id "
        "FROM s_work_item_links n WHERE NOT EXISTS (SELECT 1 FROM work_item_pull_requests l "
        "WHERE l.work_item_id = n.work_item_id AND l.pull_request_id = n.pull_request_id) ON CONFLICT DO NOTHING",
    ),
]
# Tables whose emptiness at a big import's first chunk saves work: every row they get is then
# this import's, so the probes for rows moving away (Step.unless_empty) find nothing, and every
# PR is noted for the stage refresh (which then refreshes them all without reading the notes).
WRITTEN_ONLY_HERE_PROBED: Final = frozenset(
    {*(step.unless_empty for step in STATEMENTS), "pull_requests"} - {""}
)


@contextmanager
def _no_socket_timeout(cursor: Any) -> Iterator[None]:
    """Lift the socket timeout while bulk statements run.

    ``pulse.db`` gives connections a 5 s pg8000 timeout, which applies to every read and is sized
    for API queries; a COPY or an upsert of a big chunk can take longer.
    """
    sock = getattr(cursor._c, "_usock", None)
    previous = sock.gettimeout() if sock is not None else None
    if sock is not None:
        sock.settimeout(None)
    try:
        yield
    finally:
        if sock is not None:
            sock.settimeout(previous)


def dbapi_cursor(connection: Connection) -> Any:
    """A pg8000 cursor on the connection's transaction (COPY needs the driver's cursor)."""
    return connection.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


class Loader:
    """Writes batches into the caller's transaction; ``finish`` derives and bumps the version."""

    def __init__(self, connection: Connection) -> None:
        self.connection = connection
        self.cursor = dbapi_cursor(connection)
        self.accepted = 0
        self.by_type: Counter[str] = Counter()
        self.changed = 0
        self.team_lines: dict[str, str] = {}
        self.bots_changed = False
        self._filled: set[str] = set()  # per-chunk tables the previous chunk wrote
        self._prepared = False
        self._deferred = False  # some tables were considered: finish rebuilds what was dropped
        self._considered: set[str] = set()  # tables whose indexes were kept or dropped already
        self._written_only_here: set[str] | None = None  # tables empty at the first big chunk

    def _prepare(self) -> None:
        # One import at a time: derived data (shipped commits) is recomputed from what this
        # transaction sees, so a concurrent import's rows would be missed by both.
        # The work tables live as long as the connection: a small import (a webhook's) would
        # otherwise spend most of its time creating and dropping some 30 tables, and ON COMMIT
        # DELETE ROWS would rebuild each one's TOAST index at every commit (measured: a webhook
        # 4-5x slower either way). What an earlier import left is emptied here instead: DELETE
        # while a table is small (no file swap at commit), TRUNCATE once it is not, which also
        # bounds the dead rows of these never-vacuumed tables. Sorting a big import's commits by
        # repository (shipped.py) should not spill to disk: work_mem. A chunk's staging tables
        # outgrow the default 8 MB of buffers for temporary tables, so they went through the OS
        # at every chunk: temp_buffers (1,000,000 records ~0.9 s faster, 4 A/B pairs); it sizes
        # a session's pool once, at its first temporary table, so a pooled connection that used
        # one before keeps its pool. All in one round trip.
        tables = {**STAGING, **WORK_TABLES, **shipped.WORK}
        creates = " ".join(
            f"CREATE TEMP TABLE IF NOT EXISTS {name} ({columns});" for name, columns in tables.items()
        )
        names = ", ".join(f"'{name}'" for name in tables)
        self.cursor.execute(
            f"""
            DO $prepare$
            DECLARE
                used record;
                messages text := current_setting('client_min_messages');
            BEGIN
                BEGIN
                    SET LOCAL temp_buffers = '{TEMP_BUFFERS}';
                EXCEPTION WHEN invalid_parameter_value THEN
                    NULL;  -- this session's pool was sized already
                END;
                PERFORM pg_advisory_xact_lock({IMPORT_LOCK});
                IF (SELECT count(*) FROM pg_class
                    WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r' AND relname IN ({names}))
                   < {len(tables)} THEN
                    SET LOCAL client_min_messages = warning;  -- no "already exists" notices
                    {creates}
                    PERFORM set_config('client_min_messages', messages, true);
                END IF;
                FOR used IN
                    SELECT relname, pg_relation_size(oid) AS bytes FROM pg_class
                    WHERE relnamespace = pg_my_temp_schema() AND relkind = 'r' AND relname IN ({names})
                      AND pg_relation_size(oid) > 0
                LOOP
                    EXECUTE format(
                        CASE WHEN used.bytes > {SMALL_WORK_TABLE_BYTES} THEN 'TRUNCATE %I' ELSE 'DELETE FROM %I' END,
                        used.relname
                    );
                END LOOP;
                SET LOCAL work_mem = '128MB';
            END
            $prepare$
            """
        )
        self._prepared = True

    def load(self, batch: Batch, payloads: dict[str, bytes] | None = None) -> None:
        """Write one batch (``payloads``: its COPY text, when already built)."""
        with _no_socket_timeout(self.cursor):
            self._load(batch, payloads)

    def _load(self, batch: Batch, payloads: dict[str, bytes] | None) -> None:
        if not self._prepared:
            self._prepare()
        payloads = batch.payloads() if payloads is None else payloads
        cursor = self.cursor
        small = batch.records <= SMALL_BATCH_RECORDS
        if not small:
            if self._written_only_here is None:
                self._written_only_here = self.empty_tables(WRITTEN_ONLY_HERE_PROBED)
            self._defer_indexes({table for kind in batch.by_type for table in TABLES_BY_TYPE.get(kind, ())})
        if self._filled:
            # Only what the last chunk used: each truncated table is a file swap.
            cursor.execute(f"TRUNCATE {', '.join(sorted(self._filled))}")
        self._filled = {*payloads, *LINK_TABLES}
        for name, data in payloads.items():
            cursor.execute(f"COPY {name} FROM STDIN", stream=[data])
        # Temporary tables get no statistics unless asked. A big chunk's are estimated from its
        # pages; a small one's would be guessed at ~1,000 rows, and a webhook's two rows
        # hash-joined against a whole table instead of probing its index. ANALYZE costs ~5 ms
        # per 1,000 rows sampled, so only small batches get it.
        if small:
            cursor.execute(f"ANALYZE {', '.join(payloads)}")
        for step in STATEMENTS:
            if not step.runs_on(batch, payloads) or step.note == ("big" if small else "small"):
                continue
            if self._written_only_here and step.unless_empty in self._written_only_here:
                continue
            cursor.execute(step.sql)
            count = (
                cursor.fetchone()[0] if step.sql.startswith(("WITH", "SELECT")) else max(cursor.rowcount, 0)
            )
            if step.writes:
                self.changed += count
            elif step.note == "bots" and count:
                self.bots_changed = True
        self.accepted += batch.records
        self.by_type.update(batch.by_type)
        self.team_lines.update(batch.team_lines)

    def empty_tables(self, tables: Iterable[str]) -> set[str]:
        """Which of ``tables`` hold no rows (imports are serialized by the advisory lock, taken
        here if not yet: from now on, only this import writes them)."""
        if not self._prepared:
            self._prepare()
        names = sorted(tables)
        self.cursor.execute(f"SELECT {', '.join(f'EXISTS (SELECT 1 FROM {table})' for table in names)}")
        return {table for table, has_rows in zip(names, self.cursor.fetchone(), strict=True) if not has_rows}

    def _defer_indexes(self, tables: set[str]) -> None:
        """Drop the secondary indexes of ``tables`` (those a big chunk writes, derived ones
        included) that are still empty when the import first writes them.

        The first load of an organisation fills empty tables; maintaining their secondary
        indexes row by row cost ~4 s of a 1,000,000-record import, building them once at the
        end ~1.5 s (pg_restore loads data before indexes for the same reason). Unique and
        primary-key indexes stay, as the upserts need them, except the primary keys of
        ``KEYS_DEFERRED``. The definitions are kept in ``s_deferred_indexes`` and ``finish``
        rebuilds them; a failed import rolls the drops back with everything else. Dropping an
        index locks its table until commit, so a table somebody is reading (the lock is not
        granted within DEFER_LOCK_TIMEOUT) keeps its indexes, and a table with rows is never
        touched.
        """
        new = sorted(tables - self._considered)
        if not new:
            return
        self._considered.update(new)
        targets = ", ".join(f"'{table}'" for table in new)
        keyed = ", ".join(f"'{table}'" for table in KEYS_DEFERRED)
        self.cursor.execute(
            f"""
            DO $defer$
            DECLARE
                target text;
                has_rows boolean;
                names text[];
                definitions text[];
                keys text[];
                key_definitions text[];
                waited text := current_setting('lock_timeout');
            BEGIN
                FOREACH target IN ARRAY ARRAY[{targets}] LOOP
                    -- Imports are serialized by the advisory lock: nothing fills the table meanwhile.
                    EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I)', target) INTO has_rows;
                    CONTINUE WHEN has_rows;
                    SELECT array_agg(c.relname ORDER BY c.relname),
                           array_agg(pg_get_indexdef(i.indexrelid) ORDER BY c.relname)
                    INTO names, definitions
                    FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid
                    WHERE i.indrelid = format('public.%I', target)::regclass
                      AND NOT i.indisunique AND NOT i.indisprimary
                      AND NOT EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = i.indexrelid);
                    SELECT array_agg(k.conname ORDER BY k.conname),
                           array_agg(format('ALTER TABLE public.%I ADD CONSTRAINT %I %s',
                                            target, k.conname, pg_get_constraintdef(k.oid)) ORDER BY k.conname)
                    INTO keys, key_definitions
                    FROM pg_constraint k
                    WHERE k.conrelid = format('public.%I', target)::regclass AND k.contype = 'p'
                      AND target = ANY(ARRAY[{keyed}]::text[]);
                    CONTINUE WHEN names IS NULL AND keys IS NULL;  -- nothing to defer: do not lock it
                    BEGIN
                        PERFORM set_config('lock_timeout', '{DEFER_LOCK_TIMEOUT}', true);
                        EXECUTE format('LOCK TABLE %I IN ACCESS EXCLUSIVE MODE', target);
                    EXCEPTION WHEN lock_not_available THEN
                        CONTINUE;
                    END;
                    INSERT INTO s_deferred_indexes SELECT * FROM unnest(names, definitions);
                    INSERT INTO s_deferred_indexes SELECT * FROM unnest(keys, key_definitions);
                    FOR k IN 1 .. coalesce(array_length(names, 1), 0) LOOP
                        EXECUTE format('DROP INDEX public.%I', names[k]);
                    END LOOP;
                    FOR k IN 1 .. coalesce(array_length(keys, 1), 0) LOOP
                        EXECUTE format('ALTER TABLE public.%I DROP CONSTRAINT %I', target, keys[k]);
                    END LOOP;
                END LOOP;
                PERFORM set_config('lock_timeout', waited, true);
            END
            $defer$
            """
        )
        self._deferred = True  # finish reads s_deferred_indexes

    def _rebuild_indexes(self) -> list[str]:
        """Create what ``_defer_indexes`` dropped, with memory enough to sort in one pass."""
        self.cursor.execute("SELECT name, definition FROM s_deferred_indexes ORDER BY name")
        deferred = self.cursor.fetchall()
        if deferred:
            self.cursor.execute("SET LOCAL maintenance_work_mem = '256MB'")
        for _, definition in deferred:
            self.cursor.execute(definition)
        self._deferred = False
        return [name for name, _ in deferred]

    def finish(self) -> ImportResult:
        """Check team cycles, resolve shipped commits, bump the data version if anything changed."""
        with _no_socket_timeout(self.cursor):
            return self._finish()

    def _finish(self) -> ImportResult:
        result = ImportResult(accepted=self.accepted, by_type=dict(self.by_type))
        if not self._prepared:
            return result
        if self.team_lines:
            _check_team_cycles(self.cursor, self.team_lines)
        self.changed += shipped.resolve(self.cursor)
        self.cursor.execute(
            "SELECT repository_id FROM s_touched_repositories UNION SELECT repository_id FROM s_graph_repositories "
            "ORDER BY 1"
        )
        result.repository_ids = [row[0] for row in self.cursor.fetchall()]
        from pulse.metrics.pull_requests import refresh_stages

        # The stage refresh joins whole tables: planned on their statistics rather than on
        # guesses (a first load's refresh of 142,800 PRs: 3.3 s without, ~2.3 s with).
        if self.changed:
            result.analyzed = self._refresh_statistics(derived=False)
        # PR stage ends (pull_request_stages) are derived from what changed here: every PR when
        # a contributor's is_bot changed or when every PR is this import's (WRITTEN_ONLY_HERE_PROBED).
        if self.bots_changed or "pull_requests" in (self._written_only_here or ()):
            self.changed += refresh_stages(self.connection)
        else:
            self.cursor.execute("SELECT EXISTS (SELECT 1 FROM s_stage_pull_requests)")
            if self.cursor.fetchone()[0]:
                self.cursor.execute("ANALYZE s_stage_pull_requests")  # its size steers the plan
                self.changed += refresh_stages(
                    self.connection, only="SELECT pull_request_id FROM s_stage_pull_requests"
                )
        result.changed = self.changed
        if self._deferred:
            result.rebuilt_indexes = self._rebuild_indexes()
        if self.changed:
            result.analyzed = sorted([*result.analyzed, *self._refresh_statistics(derived=True)])
            result.data_version = dataversion.bump(self.connection).version
        return result

    def _refresh_statistics(self, *, derived: bool) -> list[str]:
        """ANALYZE the tables this import grew past autovacuum's threshold (records per type stand
        for the rows each of its tables received), those of ``DERIVED_LAST`` or the others;
        return their names."""
        if self.accepted < ANALYZE_BASE_ROWS:
            return []  # no table can pass the threshold (a webhook's import)
        received = {
            table: count
            for kind, count in self.by_type.items()
            for table in TABLES_BY_TYPE.get(kind, ())
            if (table in DERIVED_LAST) == derived
        }
        if not received:
            return []
        self.cursor.execute(
            "SELECT relname, reltuples FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = 'public'::regnamespace AND relname = ANY(%s)",
            (list(received),),
        )
        stale = [
            table
            for table, rows in self.cursor.fetchall()
            if received[table] >= ANALYZE_BASE_ROWS + ANALYZE_FRACTION * max(rows, 0)
        ]
        if stale:
            self.cursor.execute(f"ANALYZE {', '.join(sorted(stale))}")
        return sorted(stale)


def _check_team_cycles(cursor: Any, team_lines: dict[str, str]) -> None:
    """Reject parents that make a cycle (teams include their sub-teams, so a cycle has no root)."""
    cursor.execute("SELECT t.key, p.key FROM teams t JOIN teams p ON p.id = t.parent_id")
    parent_of = dict(cursor.fetchall())
    errors = []
    for key, where in team_lines.items():
        path = [key]
        current = parent_of.get(key)
        while current is not None and current != key and current not in path:
            path.append(current)
            current = parent_of.get(current)
        if current == key:
            cycle = " → ".join([*path, key])
            errors.append(f'{where}: team: "parent" makes a cycle ({cycle})')
    if errors:
        raise IngestValidationError(errors)


T = TypeVar("T")


def prefetch(items: Iterable[T], depth: int = 1) -> Iterator[T]:
    """Iterate ``items`` in a background thread, ``depth`` items ahead.

    Parsing and encoding the next chunk (Python) then overlaps with PostgreSQL writing the
    current one, while the GIL is released waiting on the socket.
    """
    queue: Queue[tuple[str, Any]] = Queue(maxsize=depth)
    stop = threading.Event()

    def produce() -> None:
        try:
            for item in items:
                while not stop.is_set():
                    try:
                        queue.put(("item", item), timeout=0.1)
                        break
                    except Full:
                        continue
                if stop.is_set():
                    return
            queue.put(("done", None))
        except BaseException as error:  # handed to the consumer
            queue.put(("error", error))

    thread = threading.Thread(target=produce, name="pulse-ingest-prefetch", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = queue.get()
            if kind == "done":
                return
            if kind == "error":
                raise value
            yield value
    finally:
        stop.set()
        while thread.is_alive():
            with contextlib.suppress(Empty):
                queue.get(timeout=0.1)
        thread.join()


Progress = Callable[[int], None]


def line_batches(
    lines: Iterable[str | bytes],
    errors: list[str],
    *,
    label: str = "",
    chunk: int = CHUNK_RECORDS,
    progress: Progress | None = None,
    fresh: FreshKeys | None = None,
) -> Iterator[tuple[Batch, dict[str, bytes]]]:
    """Decode lines into batches with their COPY payloads; bad lines go to ``errors``.

    Once a line is bad nothing more is encoded (it will not be written), but every remaining
    line is still checked so that all bad lines are reported.
    """
    prefix = f"{label}: " if label else ""
    batch = Batch(f"{prefix}line", fresh)
    number = 0
    for number, line in enumerate(lines, 1):
        if not line or line.isspace():
            continue
        try:
            record = decode(line)
        except InvalidRecord as error:
            errors.append(f"{prefix}line {number}: {error}")
            continue
        if errors:
            continue
        batch.add(record, number)
        if batch.records >= chunk:
            yield batch, batch.payloads()
            if progress is not None:
                progress(number)
            batch = Batch(f"{prefix}line", fresh)
    if batch.records and not errors:
        yield batch, batch.payloads()
    if progress is not None and (batch.records or errors):
        progress(number)


def forked_line_batches(
    lines: Iterable[str | bytes],
    errors: list[str],
    *,
    label: str = "",
    chunk: int = CHUNK_RECORDS,
    progress: Progress | None = None,
    fresh: FreshKeys | None = None,
) -> Iterator[tuple[Batch, dict[str, bytes]]]:
    """``line_batches`` run in a forked child process, one chunk ahead of the caller.

    In a thread (``prefetch``), decoding competes for the GIL with the thread talking to
    PostgreSQL, which then waits to take each reply while the server idles: 1,000,000 lines
    loaded in 17.5 s with the decoding thread, in 12.8 s with everything decoded beforehand,
    the server busy 11.7 s and 12.5 s of them. A child has its own interpreter. It reads the
    same ``lines`` (a file or stdin, inherited by ``fork``) and sends each chunk's COPY text
    with the few counts the loader reads; its sends block until this side receives them, so
    at most one chunk waits. Bad lines and progress come through the same pipe, in order.
    """
    import multiprocessing  # the CLI's path only: not at a function's cold start

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    before = len(errors)

    def report(number: int) -> None:
        sender.send(("progress", number))

    def decode_lines() -> None:
        receiver.close()
        # This process only decodes, and reference counting frees what it allocates: the cyclic
        # collector found nothing in 13 full collections per 1,000,000 lines and took 1.2 s of 7.8.
        gc.disable()
        try:
            for batch, payloads in line_batches(
                lines, errors, label=label, chunk=chunk, progress=report if progress else None, fresh=fresh
            ):
                sender.send(("chunk", (batch.counts(), payloads)))
            sender.send(("done", errors[before:]))
        except BaseException as error:  # handed to the parent
            try:
                sender.send(("error", error))
            except Exception:  # it does not pickle
                sender.send(("error", RuntimeError(f"decoding failed: {error!r}")))

    child = context.Process(target=decode_lines, name="pulse-ingest-decode", daemon=True)
    child.start()
    sender.close()
    try:
        while True:
            try:
                kind, value = receiver.recv()
            except EOFError:
                child.join(timeout=5)  # its exit code, once it is reaped
                raise RuntimeError(f"the decoding process ended early (exit code {child.exitcode})") from None
            if kind == "chunk":
                yield value
            elif kind == "progress" and progress is not None:
                progress(value)
            elif kind == "done":
                errors.extend(value)
                return
            elif kind == "error":
                raise value
    finally:
        receiver.close()
        if child.is_alive():  # the caller stopped early: the child is blocked sending
            child.terminate()
        child.join()


def record_batches(
    records: Iterable[Any], errors: list[str], *, chunk: int = CHUNK_RECORDS
) -> Iterator[tuple[Batch, dict[str, bytes]]]:
    """Validate records given as dicts (or record structs) into batches; bad ones go to ``errors``."""
    batch = Batch("record")
    for number, item in enumerate(records, 1):
        try:
            record = convert(item)
        except InvalidRecord as error:
            errors.append(f"record {number}: {error}")
            continue
        if errors:
            continue
        batch.add(record, number)
        if batch.records >= chunk:
            yield batch, batch.payloads()
            batch = Batch("record")
    if batch.records and not errors:
        yield batch, batch.payloads()
