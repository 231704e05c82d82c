"""A batch of validated records turned into COPY text for the staging tables.

One ``Batch`` holds a chunk of an import: per record type, the rows for its staging table keyed
by natural key (a later record with the same key replaces an earlier one, so the last wins and
the set-based upsert never sees a key twice), plus the keys that records of the chunk
reference, from which the loader creates placeholders. Key fields are validated identifiers
(``records.py``: no whitespace or backslash), so only free text needs COPY escaping.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Callable, Iterable
from typing import Any, Final

import msgspec

from pulse.ingest.records import (
    RECORD_TYPES,
    Commit,
    Contributor,
    Deployment,
    Incident,
    Objective,
    PullRequest,
    Quality,
    Record,
    Repository,
    Review,
    Team,
    WorkItem,
)

NULL: Final = "\\N"
_ESCAPES: Final = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def text(value: str | None) -> str:
    """A COPY text field."""
    if value is None:
        return NULL
    if "\\" in value or "\t" in value or "\n" in value or "\r" in value:
        return value.translate(_ESCAPES)
    return value


# RFC 3339 text of a datetime: msgspec's encoder writes it in ~0.1 us, datetime.isoformat() of
# an aware datetime takes ~1 us (its UTC offset is formatted in Python-level steps), which was
# 1.5 s of decoding 1,000,000 records (1,711,625 timestamps).
_encode: Final = msgspec.json.Encoder().encode


def _timestamp(value: dt.datetime) -> str:
    return _encode(value)[1:-1].decode()


def _ts(value: dt.datetime | None) -> str:
    return NULL if value is None else _timestamp(value)


def _date(value: dt.date | None) -> str:
    return NULL if value is None else value.isoformat()


def _num(value: float | None) -> str:
    return NULL if value is None else repr(value)


def _bool(value: bool | None) -> str:
    return NULL if value is None else ("t" if value else "f")


def _id(value: str | int | None) -> str:
    return NULL if value is None else text(str(value))


def _keys(values: list[str] | None) -> str:
    """A text[] of validated identifiers (quoted, so that a sha like NULL stays a string)."""
    if values is None:
        return NULL
    return '{"' + '","'.join(values) + '"}' if values else "{}"


def _texts(values: list[str] | None) -> str:
    """A text[] of free text."""
    if values is None:
        return NULL
    quoted = ('"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"' for value in values)
    return text("{" + ",".join(quoted) + "}")


# Staging tables: (name, columns). The loader creates them; COPY rows follow this order.
STAGING: Final[dict[str, str]] = {
    "s_teams": 'key text COLLATE "C", name text, parent text COLLATE "C"',
    "s_repositories": 'key text COLLATE "C", team text COLLATE "C", project text, default_branch text',
    "s_contributors": 'login text COLLATE "C", name text, email text, team text COLLATE "C", is_bot boolean',
    "s_commits": (
        'repository text COLLATE "C", sha text COLLATE "C", author text COLLATE "C", '
        "authored_at timestamptz, committed_at timestamptz, parents text[], additions integer, "
        "deletions integer, message text, fresh boolean"
    ),
    "s_pull_requests": (
        'repository text COLLATE "C", number integer, author text COLLATE "C", title text, state text, '
        "draft boolean, created_at timestamptz, ready_at timestamptz, merged_at timestamptz, "
        'closed_at timestamptz, merge_commit_sha text COLLATE "C", base_branch text, head_branch text, '
        "additions integer, deletions integer, changed_files integer, labels text[], has_commits boolean, "
        "fresh boolean"
    ),
    "s_pull_request_commits": 'repository text COLLATE "C", number integer, sha text COLLATE "C"',
    "s_reviews": (
        'repository text COLLATE "C", pull_request integer, id text COLLATE "C", reviewer text COLLATE "C", '
        "state text, submitted_at timestamptz, fresh boolean"
    ),
    "s_deployments": (
        'id text COLLATE "C", repository text COLLATE "C", environment text COLLATE "C", status text, '
        'started_at timestamptz, finished_at timestamptz, sha text COLLATE "C", commits text[], kind text'
    ),
    "s_incidents": (
        'id text COLLATE "C", repository text COLLATE "C", title text, severity text, '
        'created_at timestamptz, resolved_at timestamptz, deployment_id text COLLATE "C"'
    ),
    "s_quality": (
        'repository text COLLATE "C", measured_at timestamptz, sha text COLLATE "C", coverage float8, '
        "complexity float8, duplication float8, issues integer, vulnerabilities integer"
    ),
    "s_objectives": (
        'key text COLLATE "C", title text, team text COLLATE "C", start_date date, target_date date, status text'
    ),
    "s_work_items": (
        'key text COLLATE "C", title text, type text, objective text COLLATE "C", team text COLLATE "C", '
        "status text, created_at timestamptz, started_at timestamptz, done_at timestamptz, "
        "story_points numeric, has_pull_requests boolean"
    ),
    "s_work_item_pull_requests": 'key text COLLATE "C", repository text COLLATE "C", number integer',
    "s_team_refs": 'key text COLLATE "C"',
    "s_repository_refs": 'key text COLLATE "C"',
    "s_contributor_refs": 'login text COLLATE "C"',
    "s_objective_refs": 'key text COLLATE "C"',
    "s_commit_refs": 'repository text COLLATE "C", sha text COLLATE "C"',
    "s_pull_request_refs": 'repository text COLLATE "C", number integer',
}


# Staging tables whose rows carry a ``fresh`` flag, and the tables they fill.
FRESH_TABLES: Final = {"s_commits": "commits", "s_pull_requests": "pull_requests", "s_reviews": "reviews"}


class FreshKeys:
    """The keys a stream of batches has written, for the tables of ``FRESH_TABLES`` that were
    empty when the stream began (``tables``: staging names).

    A row whose key the stream has not written before (as a record or as a placeholder for a
    reference) is then new to its table: the loader inserts it without the conflict check of an
    upsert, ~30% of the cost of writing a new commit, review or PR. Keys are kept as their
    hashes (~50 bytes each): a collision only sends a new row through the upsert.
    """

    def __init__(self, tables: Iterable[str]) -> None:
        self.seen: dict[str, set[int]] = {table: set() for table in tables}


class Batch:
    """Validated records of one chunk, as staging rows and referenced keys."""

    def __init__(self, where: str = "line", fresh: FreshKeys | None = None) -> None:
        self.where = where  # how error messages name a record's position: "line", "f.ndjson: line"
        self.fresh = fresh
        # Per staging table of FRESH_TABLES: (rows flagged fresh, rows not), known once
        # payloads() ran; the loader runs the insert and the upsert only for rows they have.
        self.fresh_rows: dict[str, tuple[int, int]] = {}
        self.records = 0
        self.by_type: Counter[str] = Counter()
        self.teams: dict[str, str] = {}
        self.team_lines: dict[str, str] = {}  # team key -> "line N", for cycle errors
        self.repositories: dict[str, str] = {}
        self.contributors: dict[str, str] = {}
        self.commits: dict[tuple[str, str], str] = {}
        self.pull_requests: dict[tuple[str, int], str] = {}
        self.pull_request_commits: dict[tuple[str, int], list[str]] = {}
        self.reviews: dict[tuple[str, str], str] = {}
        self.deployments: dict[str, str] = {}
        self.incidents: dict[str, str] = {}
        self.quality: dict[tuple[str, dt.datetime], str] = {}
        self.objectives: dict[str, str] = {}
        self.work_items: dict[str, str] = {}
        self.work_item_pull_requests: dict[str, list[tuple[str, int]]] = {}
        self.team_refs: set[str] = set()
        self.repository_refs: set[str] = set()
        self.contributor_refs: set[str] = set()
        self.objective_refs: set[str] = set()
        self.commit_refs: set[tuple[str, str]] = set()
        self.pull_request_refs: set[tuple[str, int]] = set()

    def counts(self) -> Batch:
        """What the loader reads besides the COPY text (records, by type, team lines), without
        the rows: what a decoding process sends back with each chunk's payloads."""
        counts = Batch(self.where)
        counts.records = self.records
        counts.by_type = self.by_type
        counts.team_lines = self.team_lines
        counts.fresh_rows = self.fresh_rows
        return counts

    def add(self, record: Record, line: int = 0) -> None:
        """Add one validated record (``line`` is its line number, for later error messages)."""
        kind = type(record)
        _ADD[kind](self, record, line)
        self.by_type[_NAMES[kind]] += 1
        self.records += 1

    def _team(self, r: Team, line: int) -> None:
        self.teams[r.key] = f"{r.key}\t{text(r.name)}\t{r.parent or NULL}\n"
        self.team_lines[r.key] = f"{self.where} {line}"
        self.team_refs.add(r.key)
        if r.parent is not None:
            self.team_refs.add(r.parent)

    def _repository(self, r: Repository, line: int) -> None:
        self.repositories[r.key] = f"{r.key}\t{r.team or NULL}\t{text(r.project)}\t{text(r.default_branch)}\n"
        if r.team is not None:
            self.team_refs.add(r.team)

    def _contributor(self, r: Contributor, line: int) -> None:
        self.contributors[r.login] = (
            f"{r.login}\t{text(r.name)}\t{text(r.email)}\t{r.team or NULL}\t{'t' if r.is_bot else 'f'}\n"
        )
        if r.team is not None:
            self.team_refs.add(r.team)

    def _commit(self, r: Commit, line: int) -> None:
        repository = r.repository
        author = r.author
        parents = r.parents
        self.commits[(repository, r.sha)] = (
            f"{repository}\t{r.sha}\t{author or NULL}\t{_timestamp(r.authored_at)}\t{_ts(r.committed_at)}\t"
            f"{_keys(parents)}\t{_num(r.additions)}\t{_num(r.deletions)}\t{text(r.message)}"
        )
        self.repository_refs.add(repository)
        if author is not None:
            self.contributor_refs.add(author)
        if parents:
            refs = self.commit_refs
            for parent in parents:
                refs.add((repository, parent))

    def _pull_request(self, r: PullRequest, line: int) -> None:
        repository = r.repository
        key = (repository, r.number)
        self.pull_requests[key] = (
            f"{repository}\t{r.number}\t{r.author or NULL}\t{text(r.title)}\t{r.state}\t{_bool(r.draft)}\t"
            f"{_timestamp(r.created_at)}\t{_ts(r.ready_at)}\t{_ts(r.merged_at)}\t{_ts(r.closed_at)}\t"
            f"{r.merge_commit_sha or NULL}\t{text(r.base_branch)}\t{text(r.head_branch)}\t"
            f"{_num(r.additions)}\t{_num(r.deletions)}\t{_num(r.changed_files)}\t{_texts(r.labels)}\t"
            f"{'f' if r.commits is None else 't'}"
        )
        self.repository_refs.add(repository)
        if r.author is not None:
            self.contributor_refs.add(r.author)
        if r.commits is not None:
            self.pull_request_commits[key] = r.commits
            refs = self.commit_refs
            for sha in r.commits:
                refs.add((repository, sha))
        else:
            self.pull_request_commits.pop(key, None)

    def _review(self, r: Review, line: int) -> None:
        external_id = str(r.id)
        self.reviews[(r.repository, external_id)] = (
            f"{r.repository}\t{r.pull_request}\t{text(external_id)}\t{r.reviewer}\t{r.state}\t"
            f"{_timestamp(r.submitted_at)}"
        )
        self.repository_refs.add(r.repository)
        self.contributor_refs.add(r.reviewer)
        self.pull_request_refs.add((r.repository, r.pull_request))

    def _deployment(self, r: Deployment, line: int) -> None:
        external_id = str(r.id)
        repository = r.repository
        self.deployments[external_id] = (
            f"{text(external_id)}\t{repository}\t{text(r.environment)}\t{r.status}\t{_ts(r.started_at)}\t"
            f"{_timestamp(r.finished_at)}\t{r.sha or NULL}\t{_keys(r.commits)}\t{r.kind or 'regular'}\n"
        )
        self.repository_refs.add(repository)
        refs = self.commit_refs
        if r.sha is not None:
            refs.add((repository, r.sha))
        for sha in r.commits or ():
            refs.add((repository, sha))

    def _incident(self, r: Incident, line: int) -> None:
        external_id = str(r.id)
        self.incidents[external_id] = (
            f"{text(external_id)}\t{r.repository}\t{text(r.title)}\t{text(r.severity)}\t"
            f"{_timestamp(r.created_at)}\t{_ts(r.resolved_at)}\t{_id(r.deployment_id)}\n"
        )
        self.repository_refs.add(r.repository)

    def _quality(self, r: Quality, line: int) -> None:
        self.quality[(r.repository, r.measured_at)] = (
            f"{r.repository}\t{_timestamp(r.measured_at)}\t{r.sha or NULL}\t{_num(r.coverage)}\t"
            f"{_num(r.complexity)}\t{_num(r.duplication)}\t{_num(r.issues)}\t{_num(r.vulnerabilities)}\n"
        )
        self.repository_refs.add(r.repository)

    def _objective(self, r: Objective, line: int) -> None:
        self.objectives[r.key] = (
            f"{r.key}\t{text(r.title)}\t{r.team or NULL}\t{_date(r.start_date)}\t{_date(r.target_date)}\t"
            f"{r.status or NULL}\n"
        )
        if r.team is not None:
            self.team_refs.add(r.team)

    def _work_item(self, r: WorkItem, line: int) -> None:
        self.work_items[r.key] = (
            f"{r.key}\t{text(r.title)}\t{r.kind or NULL}\t{r.objective or NULL}\t{r.team or NULL}\t{r.status}\t"
            f"{_timestamp(r.created_at)}\t{_ts(r.started_at)}\t{_ts(r.done_at)}\t{_num(r.story_points)}\t"
            f"{'f' if r.pull_requests is None else 't'}\n"
        )
        if r.team is not None:
            self.team_refs.add(r.team)
        if r.objective is not None:
            self.objective_refs.add(r.objective)
        if r.pull_requests is not None:
            links = []
            for ref in r.pull_requests:
                repository, _, number = ref.rpartition("#")
                links.append((repository, int(number)))
                self.repository_refs.add(repository)
                self.pull_request_refs.add((repository, int(number)))
            self.work_item_pull_requests[r.key] = links
        else:
            self.work_item_pull_requests.pop(r.key, None)

    def _flagged(self, table: str, rows: dict[Any, str], refs: Iterable[Any]) -> list[str]:
        """``rows`` (keyed by natural key) with their ``fresh`` column; notes the keys of the rows
        and of the references (placeholders) as written."""
        seen = self.fresh.seen.get(table) if self.fresh is not None else None
        if seen is None:
            self.fresh_rows[table] = (0, len(rows))
            return [f"{row}\tf\n" for row in rows.values()]
        hashes = list(map(hash, rows))
        new = [key not in seen for key in hashes]
        fresh = sum(new)
        self.fresh_rows[table] = (fresh, len(rows) - fresh)
        seen.update(hashes)
        seen.update(map(hash, refs))
        return [f"{row}\t{'t' if is_new else 'f'}\n" for row, is_new in zip(rows.values(), new, strict=True)]

    def payloads(self) -> dict[str, bytes]:
        """COPY text per staging table (only non-empty ones), in dependency order."""
        commit_refs = self.commit_refs.difference(self.commits)
        pull_request_refs = self.pull_request_refs.difference(self.pull_requests)
        parts: dict[str, Any] = {
            "s_team_refs": (f"{key}\n" for key in self.team_refs),
            "s_teams": self.teams.values(),
            "s_repository_refs": (f"{key}\n" for key in self.repository_refs.difference(self.repositories)),
            "s_repositories": self.repositories.values(),
            "s_contributor_refs": (f"{key}\n" for key in self.contributor_refs.difference(self.contributors)),
            "s_contributors": self.contributors.values(),
            "s_objective_refs": (f"{key}\n" for key in self.objective_refs.difference(self.objectives)),
            "s_objectives": self.objectives.values(),
            "s_commits": self._flagged("s_commits", self.commits, self.commit_refs),
            "s_commit_refs": (f"{repository}\t{sha}\n" for repository, sha in commit_refs),
            "s_pull_requests": self._flagged("s_pull_requests", self.pull_requests, self.pull_request_refs),
            "s_pull_request_refs": (f"{repository}\t{number}\n" for repository, number in pull_request_refs),
            "s_pull_request_commits": (
                f"{repository}\t{number}\t{sha}\n"
                for (repository, number), shas in self.pull_request_commits.items()
                for sha in dict.fromkeys(shas)
            ),
            "s_reviews": self._flagged("s_reviews", self.reviews, ()),
            "s_deployments": self.deployments.values(),
            "s_incidents": self.incidents.values(),
            "s_quality": self.quality.values(),
            "s_work_items": self.work_items.values(),
            "s_work_item_pull_requests": (
                f"{key}\t{repository}\t{number}\n"
                for key, links in self.work_item_pull_requests.items()
                for repository, number in dict.fromkeys(links)
            ),
        }
        result = {}
        for name, rows in parts.items():
            data = "".join(rows)
            if data:
                result[name] = data.encode()
        return result


_NAMES: Final[dict[type, str]] = {cls: cls.__struct_config__.tag for cls in RECORD_TYPES.values()}  # type: ignore[misc]
_ADD: Final[dict[type, Callable[[Batch, Any, int], None]]] = {
    Team: Batch._team,
    Repository: Batch._repository,
    Contributor: Batch._contributor,
    Commit: Batch._commit,
    PullRequest: Batch._pull_request,
    Review: Batch._review,
    Deployment: Batch._deployment,
    Incident: Batch._incident,
    Quality: Batch._quality,
    Objective: Batch._objective,
    WorkItem: Batch._work_item,
}
