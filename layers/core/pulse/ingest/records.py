"""The ingest format (``ingest-format.md``) as typed records, and the strict decoding of a line.

Each record type is a ``msgspec`` struct: decoding a line checks JSON syntax, the ``type``,
required fields, field types, enumerations, ranges and timestamps (with an offset) in C, which
is what lets ``pulse import`` validate a million lines in seconds. Identifier formats and rules
that span fields are checked in ``__post_init__`` (a regex per field inside msgspec would cost
more than all the rest). Unknown extra fields are ignored.

Beyond the spec's wording, these rules are enforced (the spec's "and the like"):
- identifiers: a repository is ``owner/name`` (more ``/`` segments allowed, no whitespace or
  backslash); team keys are slugs; shas are letters, digits, ``.``, ``_`` or ``-``; logins,
  environments, objective and work item keys have no whitespace or backslash; other required
  strings are non-empty. Record ids (``review``, ``deployment``, ``incident``) may be strings
  or integers.
- counts (``additions``, ``deletions``, ``changed_files``, ``issues``, ``vulnerabilities``) are
  integers from 0 to 2^31-1; a pull request ``number`` is at least 1; ``story_points`` and
  ``complexity`` are non-negative numbers; ``coverage`` and ``duplication`` are within 0..1.
- timestamps are RFC 3339 (ISO-8601 with ``Z`` or ``±hh:mm``); dates are ``YYYY-MM-DD``.
- order within a record: nothing ends before it starts (``resolved_at``/``created_at``,
  ``finished_at``/``started_at``, pull request ``ready_at``/``merged_at``/``closed_at`` after
  ``created_at``, work item ``started_at``/``done_at`` after ``created_at`` and ``done_at``
  after ``started_at``, objective ``target_date`` after ``start_date``); a pull request is
  ``merged`` exactly when it has ``merged_at``; a ``done`` work item has ``done_at``; a team is
  not its own parent.
- a work item's feature/bug/chore is read from ``kind``: the spec names it ``type``, but a JSON
  object has one ``type`` and the record type has it.
- strings may not contain NUL (``\\u0000``), which PostgreSQL cannot store.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Annotated, Any, Final, Literal

import msgspec
from msgspec import Meta, Struct

INT32_MAX: Final = 2**31 - 1


class _Identifier:
    """Checks one kind of identifier; keys that repeat on most lines are checked once.

    Done in Python after decoding because a regex per field inside msgspec costs more than the
    whole rest of the decoding; ``fast`` accepts the common shape without a regex.
    """

    def __init__(self, pattern: str, help: str, *, cache: bool = True, fast: Any = None) -> None:
        self.match = re.compile(pattern).match
        self.help = help
        self.seen: set[str] | None = set() if cache else None
        self.fast = fast

    def __call__(self, value: str | None, field: str) -> None:
        if value is None or (self.seen is not None and value in self.seen):
            return
        if not ((self.fast is not None and self.fast(value)) or self.match(value)):
            raise ValueError(f'"{field}": {self.help}')
        if self.seen is not None and len(self.seen) < 100_000:
            self.seen.add(value)

    def each(self, values: list[str] | None, field: str) -> None:
        for index, value in enumerate(values or ()):
            self(value, f"{field}[{index}]")


check_repository = _Identifier(
    r"[^\s\\/]+(?:/[^\s\\/]+)+\Z", "must look like owner/name (no whitespace or backslash)"
)
check_team = _Identifier(
    r"[A-Za-z0-9][A-Za-z0-9._-]*\Z",
    "must be a slug (letters, digits, '.', '_' or '-', starting with a letter or digit)",
)
check_sha = _Identifier(
    r"[\w.-]+\Z", "must be a commit sha (letters, digits, '.', '_' or '-')", cache=False, fast=str.isalnum
)
check_name = _Identifier(r"[^\s\\]+\Z", "must be non-empty without whitespace or backslash")
check_pull_request_ref = _Identifier(
    r"[^\s\\/]+(?:/[^\s\\/]+)+#[1-9][0-9]{0,9}\Z", "must look like owner/name#number"
)

Timestamp = Annotated[dt.datetime, Meta(tz=True)]
Text = Annotated[str, Meta(min_length=1)]
RecordId = Annotated[str, Meta(min_length=1)] | int
Count = Annotated[int, Meta(ge=0, le=INT32_MAX)]
Fraction = Annotated[float, Meta(ge=0, le=1)]
NonNegative = Annotated[float, Meta(ge=0)]
PullRequestNumber = Annotated[int, Meta(ge=1, le=INT32_MAX)]

PR_STATES: Final = ("open", "closed", "merged")
REVIEW_STATES: Final = ("approved", "changes_requested", "commented", "dismissed")
DEPLOYMENT_STATUSES: Final = ("success", "failure", "cancelled")
DEPLOYMENT_KINDS: Final = ("regular", "rollback", "hotfix")
OBJECTIVE_STATUSES: Final = ("planned", "in_progress", "done", "dropped")
WORK_ITEM_TYPES: Final = ("feature", "bug", "chore")
WORK_ITEM_STATUSES: Final = ("todo", "in_progress", "done")


def _not_before(later: Any, earlier: Any, later_name: str, earlier_name: str) -> None:
    if later is not None and earlier is not None and later < earlier:
        raise ValueError(f'"{later_name}" is before "{earlier_name}"')


# gc=False: records hold only strings, numbers and lists of strings, never cycles.
class Team(Struct, tag_field="type", tag="team", gc=False):
    key: str
    name: Text
    parent: str | None = None

    def __post_init__(self) -> None:
        check_team(self.key, "key")
        check_team(self.parent, "parent")
        if self.parent == self.key:
            raise ValueError("a team cannot be its own parent")


class Repository(Struct, tag_field="type", tag="repository", gc=False):
    key: str
    team: str | None = None
    project: str | None = None
    default_branch: str | None = None

    def __post_init__(self) -> None:
        check_repository(self.key, "key")
        check_team(self.team, "team")


class Contributor(Struct, tag_field="type", tag="contributor", gc=False):
    login: str
    name: str | None = None
    email: str | None = None
    team: str | None = None
    is_bot: bool | None = None

    def __post_init__(self) -> None:
        check_name(self.login, "login")
        check_team(self.team, "team")


class Commit(Struct, tag_field="type", tag="commit", gc=False):
    repository: str
    sha: str
    authored_at: Timestamp
    author: str | None = None
    committed_at: Timestamp | None = None
    parents: list[str] | None = None
    additions: Count | None = None
    deletions: Count | None = None
    message: str | None = None

    def __post_init__(self) -> None:
        check_repository(self.repository, "repository")
        check_sha(self.sha, "sha")
        check_name(self.author, "author")
        check_sha.each(self.parents, "parents")


class PullRequest(Struct, tag_field="type", tag="pull_request", gc=False):
    repository: str
    number: PullRequestNumber
    state: Literal["open", "closed", "merged"]
    created_at: Timestamp
    author: str | None = None
    title: str | None = None
    draft: bool | None = None
    ready_at: Timestamp | None = None
    merged_at: Timestamp | None = None
    closed_at: Timestamp | None = None
    merge_commit_sha: str | None = None
    base_branch: str | None = None
    head_branch: str | None = None
    additions: Count | None = None
    deletions: Count | None = None
    changed_files: Count | None = None
    commits: list[str] | None = None
    labels: list[str] | None = None

    def __post_init__(self) -> None:
        check_repository(self.repository, "repository")
        check_name(self.author, "author")
        check_sha(self.merge_commit_sha, "merge_commit_sha")
        check_sha.each(self.commits, "commits")
        _not_before(self.ready_at, self.created_at, "ready_at", "created_at")
        _not_before(self.merged_at, self.created_at, "merged_at", "created_at")
        _not_before(self.closed_at, self.created_at, "closed_at", "created_at")
        if self.state == "merged" and self.merged_at is None:
            raise ValueError('a "merged" pull request needs "merged_at"')
        if self.merged_at is not None and self.state != "merged":
            raise ValueError(f'"merged_at" is set but "state" is "{self.state}", not "merged"')


class Review(Struct, tag_field="type", tag="review", gc=False):
    repository: str
    pull_request: PullRequestNumber
    id: RecordId
    reviewer: str
    state: Literal["approved", "changes_requested", "commented", "dismissed"]
    submitted_at: Timestamp

    def __post_init__(self) -> None:
        check_repository(self.repository, "repository")
        check_name(self.reviewer, "reviewer")


class Deployment(Struct, tag_field="type", tag="deployment", gc=False):
    id: RecordId
    repository: str
    environment: str
    status: Literal["success", "failure", "cancelled"]
    finished_at: Timestamp
    started_at: Timestamp | None = None
    sha: str | None = None
    commits: list[str] | None = None
    kind: Literal["regular", "rollback", "hotfix"] | None = None

    def __post_init__(self) -> None:
        check_repository(self.repository, "repository")
        check_name(self.environment, "environment")
        check_sha(self.sha, "sha")
        check_sha.each(self.commits, "commits")
        _not_before(self.finished_at, self.started_at, "finished_at", "started_at")


class Incident(Struct, tag_field="type", tag="incident", gc=False):
    id: RecordId
    repository: str
    created_at: Timestamp
    title: str | None = None
    severity: str | None = None
    resolved_at: Timestamp | None = None
    deployment_id: RecordId | None = None

    def __post_init__(self) -> None:
        check_repository(self.repository, "repository")
        _not_before(self.resolved_at, self.created_at, "resolved_at", "created_at")


class Quality(Struct, tag_field="type", tag="quality", gc=False):
    repository: str
    measured_at: Timestamp
    sha: str | None = None
    coverage: Fraction | None = None
    complexity: NonNegative | None = None
    duplication: Fraction | None = None
    issues: Count | None = None
    vulnerabilities: Count | None = None

    def __post_init__(self) -> None:
        check_repository(self.repository, "repository")
        check_sha(self.sha, "sha")


class Objective(Struct, tag_field="type", tag="objective", gc=False):
    key: str
    title: Text
    team: str | None = None
    start_date: dt.date | None = None
    target_date: dt.date | None = None
    status: Literal["planned", "in_progress", "done", "dropped"] | None = None

    def __post_init__(self) -> None:
        check_name(self.key, "key")
        check_team(self.team, "team")
        _not_before(self.target_date, self.start_date, "target_date", "start_date")


class WorkItem(Struct, tag_field="type", tag="work_item", gc=False):
    key: str
    title: Text
    status: Literal["todo", "in_progress", "done"]
    created_at: Timestamp
    # The spec calls this field ``type``, which the record's own ``type`` already takes.
    kind: Literal["feature", "bug", "chore"] | None = None
    objective: str | None = None
    team: str | None = None
    started_at: Timestamp | None = None
    done_at: Timestamp | None = None
    story_points: NonNegative | None = None
    pull_requests: list[str] | None = None

    def __post_init__(self) -> None:
        check_name(self.key, "key")
        check_name(self.objective, "objective")
        check_team(self.team, "team")
        check_pull_request_ref.each(self.pull_requests, "pull_requests")
        for ref in self.pull_requests or ():
            if int(ref.rpartition("#")[2]) > INT32_MAX:
                raise ValueError(f'"pull_requests": pull request number too large in "{ref}"')
        _not_before(self.started_at, self.created_at, "started_at", "created_at")
        _not_before(self.done_at, self.created_at, "done_at", "created_at")
        _not_before(self.done_at, self.started_at, "done_at", "started_at")
        if self.status == "done" and self.done_at is None:
            raise ValueError('a "done" work item needs "done_at"')


Record = (
    Team
    | Repository
    | Contributor
    | Commit
    | PullRequest
    | Review
    | Deployment
    | Incident
    | Quality
    | Objective
    | WorkItem
)
RECORD_TYPES: Final[dict[str, type[Struct]]] = {
    cls.__struct_config__.tag: cls  # type: ignore[misc]
    for cls in (
        Team,
        Repository,
        Contributor,
        Commit,
        PullRequest,
        Review,
        Deployment,
        Incident,
        Quality,
        Objective,
        WorkItem,
    )
}
TYPE_NAMES: Final = tuple(RECORD_TYPES)

_ENUMS: Final[dict[str, dict[str, tuple[str, ...]]]] = {
    "state": {"pull_request": PR_STATES, "review": REVIEW_STATES},
    "status": {
        "deployment": DEPLOYMENT_STATUSES,
        "objective": OBJECTIVE_STATUSES,
        "work_item": WORK_ITEM_STATUSES,
    },
    "kind": {"deployment": DEPLOYMENT_KINDS, "work_item": WORK_ITEM_TYPES},
}

_decoder = msgspec.json.Decoder(Record)


class InvalidRecord(ValueError):
    """A record that breaks the ingest format; the message is the reason."""


def decode(line: str | bytes) -> Record:
    """Decode and validate one NDJSON line; raises ``InvalidRecord`` with a readable reason."""
    try:
        record: Record = _decoder.decode(line)
    except msgspec.ValidationError as error:
        raise InvalidRecord(_reason(str(error), _type_of(line))) from None
    except msgspec.DecodeError as error:
        raise InvalidRecord(f"not valid JSON ({_json_problem(line, str(error))})") from None
    if (b"\\u0000" in line) if isinstance(line, bytes) else ("\\u0000" in line):
        check_no_nul(record)
    return record


def convert(record: Any) -> Record:
    """Validate a record given as a dict (or already a record struct)."""
    if isinstance(record, Struct) and type(record).__name__ in _STRUCT_NAMES:
        return record  # type: ignore[return-value]
    try:
        result: Record = msgspec.convert(record, Record)
    except msgspec.ValidationError as error:
        kind = record.get("type") if isinstance(record, dict) else None
        raise InvalidRecord(_reason(str(error), kind if isinstance(kind, str) else None)) from None
    check_no_nul(result)
    return result


_STRUCT_NAMES: Final = {cls.__name__ for cls in RECORD_TYPES.values()}


def type_name(record: Record) -> str:
    """The record's ``type`` value."""
    tag: str = record.__struct_config__.tag  # type: ignore[assignment]
    return tag


def as_dict(record: Record) -> dict[str, Any]:
    """The record as a JSON-like dict (``type`` first, timestamps as RFC 3339 strings)."""
    result: dict[str, Any] = msgspec.to_builtins(record)
    return result


def check_no_nul(record: Record) -> None:
    """Reject NUL characters, which PostgreSQL text cannot hold."""
    for field in record.__struct_fields__:
        value = getattr(record, field)
        values = value if isinstance(value, list) else (value,)
        if any(isinstance(item, str) and "\x00" in item for item in values):
            raise InvalidRecord(f'{type_name(record)}: "{field}" contains a NUL character (\\u0000)')


def _type_of(line: str | bytes) -> str | None:
    """The ``type`` of a line that is JSON, for error messages."""
    try:
        document: Any = json.loads(line)
    except ValueError:
        return None
    kind = document.get("type") if isinstance(document, dict) else None
    return kind if isinstance(kind, str) and kind in RECORD_TYPES else None


_AT = re.compile(r"^(?P<message>.*?)(?: - at `\$(?P<path>[^`]*)`)?$", re.S)


def _reason(message: str, kind: str | None) -> str:
    """Turn a msgspec validation message into ``type: "field": what is wrong``."""
    match = _AT.match(message)
    assert match is not None
    text, path = match["message"], (match["path"] or "").lstrip(".")
    field = path.split("[")[0].split(".")[0]
    if path == "type" or (not path and "missing required field `type`" in text):
        if text.startswith("Invalid value"):
            value = text.split("'", 1)[1].rsplit("'", 1)[0]
            return f'unknown type "{value}" (expected one of {", ".join(TYPE_NAMES)})'
        if text.startswith("Object missing"):
            return 'missing "type"'
        return '"type" must be a string'
    if not path and text.startswith("Expected `object`"):
        return f"a record must be a JSON object, got {text.rsplit('`', 2)[-2]}"
    prefix = f"{kind}: " if kind else ""
    if text.startswith("Object missing required field"):
        name = text.split("`")[1]
        return f'{prefix}missing required field "{name}"'
    where = f'"{path}": ' if path else ""
    if text.startswith("Expected `datetime` with a timezone"):
        return f"{prefix}{where}timestamp has no UTC offset (add Z or ±hh:mm)"
    if "RFC3339 encoded datetime" in text:
        return f"{prefix}{where}not an ISO-8601 timestamp with offset (e.g. 2026-03-02T09:00:00Z)"
    if "RFC3339 encoded date" in text:
        return f"{prefix}{where}not an ISO-8601 date (YYYY-MM-DD)"
    if text.startswith("Invalid enum value"):
        value = text.split("'", 1)[1].rsplit("'", 1)[0]
        allowed = _ENUMS.get(field, {}).get(kind or "", ())
        return f'{prefix}{where}"{value}" is not one of {", ".join(allowed)}'
    if text.endswith(">= 0") or text.endswith(">= 0.0"):
        return f"{prefix}{where}must not be negative"
    if text.startswith("Expected") and "`" in text:
        expected = text.split("`")[1].replace(" | null", "")
        got = f", got {text.rsplit('got `', 1)[1].rstrip('`')}" if "got `" in text else ""
        bounds = text.split("`", 2)[2].strip() if "got `" not in text else ""
        return f"{prefix}{where}expected {expected}{(' ' + bounds) if bounds else ''}{got}"
    return f"{prefix}{where}{text}"


def _json_problem(line: str | bytes, message: str) -> str:
    text = message.removeprefix("JSON is malformed: ")
    raw = line if isinstance(line, str) else line.decode("utf-8", "replace")
    if text == "Input data was truncated" and not raw.rstrip().endswith("}"):
        return "truncated"
    if text == "Input data was truncated" or "surrogate" in text:
        return (
            "invalid \\u escape: unpaired UTF-16 surrogate" if re.search(r"\\u[dD][89a-fA-F]", raw) else text
        )
    return text
