"""GitHub webhooks: signature, delivery idempotency, and translation into ingest records.

A delivery is accepted only with ``X-Hub-Signature-256: sha256=<HMAC-SHA256 of the raw body>``
under ``GITHUB_WEBHOOK_SECRET`` (compared in constant time). It is handled once: its
``X-GitHub-Delivery`` id is claimed in ``webhook_deliveries`` in the transaction that writes its
records, so a redelivery (or the same delivery racing itself) changes nothing, and a delivery
whose write failed was never claimed and can be redelivered. Redelivering an old ``opened`` after
``closed`` therefore cannot reopen a pull request.

Translation (records then go through the import path, which makes placeholders for anything
unknown: the pull request of a review, the commit of a deployment...):

- ``push``: one ``commit`` per listed commit (``timestamp`` is ``authored_at``; ``author`` is the
  GitHub username, absent for unknown emails). Parents come from ``before`` and the order: the
  first commit's parent is ``before``, each next one's the one before it, and the head also gets
  ``before`` as a parent. This is not the true graph (a merge's second parent is not in a push),
  but it keeps what rule 2 of ``ingest-format.md`` needs: every pushed commit reaches ``before``,
  so a deployment of the head ships exactly what ``git log before..head`` lists. Parents are
  unknown (null) when ``before`` is not an ancestor: a new branch (``before`` is zeros) or a
  forced push. A commit that is not ``distinct`` (already pushed to another branch) and is
  already stored is not rewritten. Deleted refs carry no commits and are ignored.
- ``pull_request`` (opened, edited, ready_for_review, converted_to_draft, closed, reopened,
  synchronize): the whole ``pull_request`` record from the payload's current state. ``state`` is
  ``merged`` when ``merged_at`` is set; ``merge_commit_sha`` is kept only for merged PRs (for
  others GitHub's is a test merge). ``ready_at`` is the event time (``updated_at``) of
  ``ready_for_review``, null while a draft, and otherwise kept from what is stored, since a
  payload does not carry it. ``commits``: when the head commit is stored, the first
  ``pull_request.commits`` commits of its first-parent chain (a feature branch's commits), only
  if all of them are known; otherwise left out, so the stored links stay.
- ``pull_request_review`` (submitted, dismissed): a ``review``; ``pending`` reviews are ignored.
- ``deployment_status`` success → a ``success`` deployment; failure or error → ``failure``. The
  deployment id is GitHub's, the environment the status's (else the deployment's), ``sha`` the
  deployed commit, ``started_at`` the deployment's creation, ``finished_at`` the status time.
  Other states (queued, pending, in_progress, inactive) are ignored.
- ``issues`` carrying the label ``GITHUB_INCIDENT_LABEL`` (default ``incident``, compared without
  case): opened, edited, closed, reopened, labeled → an ``incident`` with id ``owner/name#number``,
  ``created_at`` the issue's, ``resolved_at`` its ``closed_at`` while closed (null when reopened),
  ``severity`` from a label ``severity:<value>`` (or ``severity/<value>``). Removing the label
  does not delete the incident (nothing in the ingest format deletes).
- ``ping`` → 200. Every other event or action → 202, ignored.

A translated record that the ingest format rejects (it should not happen with GitHub's payloads)
is skipped and named in the answer and in ``webhook_deliveries.skipped``; the rest is written.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Final, TypeGuard
from urllib.parse import parse_qs

from sqlalchemy import Connection, text

from pulse.ingest import ImportResult, load_records
from pulse.ingest.records import InvalidRecord, Record, convert

ZERO_SHA: Final = "0" * 40
SOURCE: Final = "github"
PULL_REQUEST_ACTIONS: Final = frozenset(
    {"opened", "edited", "ready_for_review", "converted_to_draft", "closed", "reopened", "synchronize"}
)
REVIEW_ACTIONS: Final = frozenset({"submitted", "dismissed"})
ISSUE_ACTIONS: Final = frozenset({"opened", "edited", "closed", "reopened", "labeled"})
DEPLOYMENT_STATES: Final = {"success": "success", "failure": "failure", "error": "failure"}
MAX_PR_COMMITS: Final = 250  # GitHub lists at most 250 commits of a pull request
SEVERITY_LABEL: Final = re.compile(r"^severity[:/](.*)$", re.IGNORECASE)


class PayloadError(ValueError):
    """The body is not a webhook payload this receiver can read."""


def sign(secret: str, body: bytes) -> str:
    """The ``X-Hub-Signature-256`` value GitHub sends for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def signature_valid(*, secret: str, body: bytes, signature: str | None) -> bool:
    """Whether ``signature`` is the HMAC-SHA256 of ``body`` under ``secret`` (constant-time)."""
    if not secret or not signature:
        return False
    return hmac.compare_digest(sign(secret, body).encode(), signature.strip().encode("utf-8", "replace"))


def parse_payload(body: bytes, content_type: str | None) -> dict[str, Any]:
    """The payload of a delivery sent as ``application/json`` or as a form with ``payload=``."""
    media_type = (content_type or "application/json").split(";")[0].strip().lower()
    text: str | bytes = body
    if media_type == "application/x-www-form-urlencoded":
        values = parse_qs(body.decode("utf-8", "replace")).get("payload")
        if not values:
            raise PayloadError("the form has no 'payload' field")
        text = values[0]
    try:
        document = json.loads(text)
    except ValueError as error:  # UnicodeDecodeError included
        raise PayloadError(f"the payload is not JSON: {error}") from None
    if not isinstance(document, dict):
        raise PayloadError("the payload is not a JSON object")
    return document


def _is_int(value: Any) -> TypeGuard[int]:
    return isinstance(value, int) and not isinstance(value, bool)


def _get(document: Any, *path: str) -> Any:
    """``document[path[0]][path[1]]...``, None where anything along the way is missing."""
    for name in path:
        if not isinstance(document, Mapping):
            return None
        document = document.get(name)
    return document


@dataclass
class Translation:
    """The records of one delivery, or why it is ignored."""

    records: list[dict[str, Any]] = field(default_factory=list)
    ignored: str | None = None


def translate(
    connection: Connection, *, event: str, payload: Mapping[str, Any], incident_label: str = "incident"
) -> Translation:
    """The ingest records a GitHub event stands for (reads stored state where a payload lacks it)."""
    action = payload.get("action")
    repository = _get(payload, "repository", "full_name")
    if event == "ping":
        return Translation()
    if not isinstance(repository, str):
        return Translation(ignored=f"{event}: the payload names no repository")
    if event == "push":
        return _push(connection, repository, payload)
    if event == "pull_request":
        if action not in PULL_REQUEST_ACTIONS:
            return Translation(ignored=f"pull_request action '{action}' is not tracked")
        return _pull_request(connection, repository, payload)
    if event == "pull_request_review":
        if action not in REVIEW_ACTIONS:
            return Translation(ignored=f"pull_request_review action '{action}' is not tracked")
        return _review(repository, payload)
    if event == "deployment_status":
        return _deployment_status(repository, payload)
    if event == "issues":
        if action not in ISSUE_ACTIONS:
            return Translation(ignored=f"issues action '{action}' is not tracked")
        return _issue(repository, payload, incident_label)
    return Translation(ignored=f"event '{event}' is not tracked")


def _push(connection: Connection, repository: str, payload: Mapping[str, Any]) -> Translation:
    commits = [c for c in payload.get("commits") or () if isinstance(c, Mapping) and c.get("id")]
    if payload.get("deleted") or not commits:
        return Translation(ignored="push without commits (a deleted ref or a tag)")
    before = payload.get("before")
    ancestor = (
        before if isinstance(before, str) and before != ZERO_SHA and not payload.get("forced") else None
    )
    repeated = [str(c["id"]) for c in commits if c.get("distinct") is False]
    stored = _stored_commits(connection, repository, repeated) if repeated else set()
    records = []
    previous = ancestor
    for position, item in enumerate(commits):
        sha = str(item["id"])
        parents = None if previous is None else [previous]
        if (
            ancestor is not None
            and position == len(commits) - 1
            and parents is not None
            and ancestor not in parents
        ):
            parents.append(ancestor)
        if not (item.get("distinct") is False and sha in stored):
            records.append(
                {
                    "type": "commit",
                    "repository": repository,
                    "sha": sha,
                    "author": _get(item, "author", "username"),
                    "authored_at": item.get("timestamp"),
                    "parents": parents,
                    "message": item.get("message"),
                }
            )
        previous = sha
    if not records:
        return Translation(ignored="every pushed commit is already stored")
    return Translation(records)


def _stored_commits(connection: Connection, repository: str, shas: list[str]) -> set[str]:
    rows = connection.execute(
        text(
            "SELECT c.sha FROM commits c JOIN repositories r ON r.id = c.repository_id "
            "WHERE r.key = :repository AND c.sha = ANY(:shas) AND c.authored_at IS NOT NULL"
        ),
        {"repository": repository, "shas": shas},
    )
    return {row.sha for row in rows}


def _pull_request(connection: Connection, repository: str, payload: Mapping[str, Any]) -> Translation:
    pr = payload.get("pull_request")
    number = _get(pr, "number")
    if not isinstance(pr, Mapping) or not _is_int(number):
        return Translation(ignored="pull_request: the payload has no pull request number")
    merged_at = pr.get("merged_at")
    state = "merged" if merged_at else ("closed" if pr.get("state") == "closed" else "open")
    draft = bool(pr.get("draft"))
    stored = connection.execute(
        text(
            "SELECT r.id AS repository_id, p.ready_at FROM repositories r "
            "LEFT JOIN pull_requests p ON p.repository_id = r.id AND p.number = :number WHERE r.key = :repository"
        ),
        {"repository": repository, "number": number},
    ).one_or_none()
    if draft:
        ready_at = None
    elif payload.get("action") == "ready_for_review":
        ready_at = pr.get("updated_at")
    else:
        ready_at = stored.ready_at.isoformat() if stored is not None and stored.ready_at is not None else None
    record: dict[str, Any] = {
        "type": "pull_request",
        "repository": repository,
        "number": number,
        "author": _get(pr, "user", "login"),
        "title": pr.get("title"),
        "state": state,
        "draft": draft,
        "created_at": pr.get("created_at"),
        "ready_at": ready_at,
        "merged_at": merged_at,
        "closed_at": pr.get("closed_at") if state != "open" else None,
        "merge_commit_sha": pr.get("merge_commit_sha") if state == "merged" else None,
        "base_branch": _get(pr, "base", "ref"),
        "head_branch": _get(pr, "head", "ref"),
        "additions": pr.get("additions"),
        "deletions": pr.get("deletions"),
        "changed_files": pr.get("changed_files"),
        "labels": [
            label["name"]
            for label in pr.get("labels") or ()
            if isinstance(label, Mapping) and label.get("name")
        ],
    }
    head, count = _get(pr, "head", "sha"), pr.get("commits")
    if stored is not None and isinstance(head, str) and _is_int(count) and 0 < count <= MAX_PR_COMMITS:
        chain = _first_parent_chain(connection, stored.repository_id, head, count)
        if len(chain) == count:
            record["commits"] = chain
    return Translation([record])


def _first_parent_chain(connection: Connection, repository_id: int, head: str, length: int) -> list[str]:
    """Up to ``length`` described commits from ``head`` along first parents (head first)."""
    rows = connection.execute(
        text(
            """
            WITH RECURSIVE chain(sha, parent, depth) AS (
                SELECT c.sha, c.parents[1], 1 FROM commits c
                WHERE c.repository_id = :repository_id AND c.sha = :head AND c.authored_at IS NOT NULL
                UNION ALL
                SELECT c.sha, c.parents[1], chain.depth + 1 FROM chain
                JOIN commits c ON c.repository_id = :repository_id AND c.sha = chain.parent
                WHERE chain.depth < :length AND c.authored_at IS NOT NULL
            )
            SELECT sha FROM chain ORDER BY depth
            """
        ),
        {"repository_id": repository_id, "head": head, "length": length},
    )
    return [row.sha for row in rows]


def _review(repository: str, payload: Mapping[str, Any]) -> Translation:
    review = payload.get("review")
    state = str(_get(review, "state") or "").lower()
    if state == "pending" or not _get(review, "submitted_at"):
        return Translation(ignored="a pending review (not submitted)")
    return Translation(
        [
            {
                "type": "review",
                "repository": repository,
                "pull_request": _get(payload, "pull_request", "number"),
                "id": _get(review, "id"),
                "reviewer": _get(review, "user", "login"),
                "state": state,
                "submitted_at": _get(review, "submitted_at"),
            }
        ]
    )


def _deployment_status(repository: str, payload: Mapping[str, Any]) -> Translation:
    status = payload.get("deployment_status")
    deployment = payload.get("deployment")
    state = _get(status, "state")
    if state not in DEPLOYMENT_STATES:
        return Translation(ignored=f"deployment_status '{state}' is not final")
    return Translation(
        [
            {
                "type": "deployment",
                "id": _get(deployment, "id"),
                "repository": repository,
                "environment": _get(status, "environment") or _get(deployment, "environment"),
                "status": DEPLOYMENT_STATES[state],
                "started_at": _get(deployment, "created_at"),
                "finished_at": _get(status, "created_at"),
                "sha": _get(deployment, "sha"),
            }
        ]
    )


def _issue(repository: str, payload: Mapping[str, Any], incident_label: str) -> Translation:
    issue = payload.get("issue")
    labels = [
        str(label["name"])
        for label in _get(issue, "labels") or ()
        if isinstance(label, Mapping) and label.get("name")
    ]
    wanted = incident_label.strip().lower()
    if not any(label.lower() == wanted for label in labels):
        return Translation(ignored=f"the issue is not labelled '{incident_label}'")
    severity = next((found[1].strip() for label in labels if (found := SEVERITY_LABEL.match(label))), None)
    closed = _get(issue, "state") == "closed"
    return Translation(
        [
            {
                "type": "incident",
                "id": f"{repository}#{_get(issue, 'number')}",
                "repository": repository,
                "title": _get(issue, "title"),
                "severity": severity or None,
                "created_at": _get(issue, "created_at"),
                "resolved_at": _get(issue, "closed_at") if closed else None,
            }
        ]
    )


def _validated(records: list[dict[str, Any]]) -> tuple[list[Record], list[str]]:
    """Records the ingest format accepts, and the reasons of those it does not."""
    valid, skipped = [], []
    for record in records:
        try:
            valid.append(convert({name: value for name, value in record.items() if value is not None}))
        except InvalidRecord as error:
            skipped.append(f"{record['type']}: {error}")
    return valid, skipped


@dataclass
class Outcome:
    """What handling a delivery did (``status``: the HTTP status to answer with)."""

    delivery: str
    event: str
    action: str | None
    outcome: str  # applied, ignored, pong (a ping) or duplicate
    status: int
    reason: str | None = None
    records: int = 0
    by_type: dict[str, int] = field(default_factory=dict)
    changed: bool = False
    skipped: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        return {
            "delivery": self.delivery,
            "event": self.event,
            "action": self.action,
            "outcome": self.outcome,
            "reason": self.reason,
            "records": self.records,
            "by_type": self.by_type,
            "changed": self.changed,
            "skipped": self.skipped,
        }


def handle(
    connection: Connection,
    *,
    delivery: str,
    event: str,
    payload: Mapping[str, Any],
    incident_label: str = "incident",
) -> Outcome:
    """Handle one verified delivery in the caller's transaction, once per ``delivery`` id."""
    action = payload.get("action") if isinstance(payload.get("action"), str) else None
    claimed = connection.execute(
        text(
            "INSERT INTO webhook_deliveries (source, delivery_id, event, action, outcome) "
            "VALUES (:source, :delivery, :event, :action, 'applied') ON CONFLICT DO NOTHING RETURNING 1"
        ),
        {"source": SOURCE, "delivery": delivery, "event": event, "action": action},
    ).first()
    if claimed is None:
        return Outcome(delivery, event, action, "duplicate", 200, reason="this delivery was already handled")
    try:
        translation = translate(connection, event=event, payload=payload, incident_label=incident_label)
    except (AttributeError, KeyError, TypeError, ValueError) as error:
        raise PayloadError(
            f"a {event} payload of an unexpected shape ({type(error).__name__}: {error})"
        ) from None
    records, skipped = _validated(translation.records)
    result = load_records(connection, records) if records else ImportResult()
    ignored = translation.ignored or (None if records or event == "ping" else "nothing valid to record")
    outcome = Outcome(
        delivery,
        event,
        action,
        "ignored" if ignored else "pong" if event == "ping" else "applied",
        202 if ignored else 200,
        reason=ignored,
        records=result.accepted,
        by_type=result.by_type,
        changed=result.changed > 0,
        skipped=skipped,
    )
    connection.execute(
        text(
            "UPDATE webhook_deliveries SET outcome = :outcome, records = :records, changed = :changed, "
            "skipped = CAST(:skipped AS jsonb) WHERE source = :source AND delivery_id = :delivery"
        ),
        {
            "outcome": outcome.outcome,
            "records": result.accepted,
            "changed": result.changed,
            "skipped": json.dumps(skipped),
            "source": SOURCE,
            "delivery": delivery,
        },
    )
    return outcome
