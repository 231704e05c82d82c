"""Each GitHub event type becomes the right ingest records (delivered through the real handler)."""

from __future__ import annotations

import copy
import datetime as dt
from typing import Any

import pytest

from tests.ingest_http.conftest import fixture, rows

REPO = "Codertocat/Hello-World"
BEFORE = "b" * 40
C1, C2, C3 = "c1" + "1" * 38, "c2" + "2" * 38, "c3" + "3" * 38


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text.replace("Z", "+00:00"))


def push(commits: list[tuple[str, bool]], *, before: str = BEFORE, forced: bool = False) -> dict[str, Any]:
    """A push of ``(sha, distinct)`` commits, oldest first, shaped like GitHub's."""
    payload = copy.deepcopy(fixture("push", "with-new-branch.payload.json"))
    template = payload["commits"][0]
    payload.update(
        before=before, after=commits[-1][0], created=before == "0" * 40, deleted=False, forced=forced
    )
    payload["commits"] = [
        {
            **template,
            "id": sha,
            "distinct": distinct,
            "message": f"change {n}",
            "timestamp": f"2026-03-02T0{n}:00:00+02:00",
        }
        for n, (sha, distinct) in enumerate(commits, 1)
    ]
    return payload


def commits() -> dict[str, dict[str, Any]]:
    found = rows("SELECT sha, parents, authored_at, message, author_id FROM commits ORDER BY sha")
    return {row.pop("sha"): row for row in found}


def test_push_commits_chain_to_before_and_the_head_reaches_it(deliver):
    response = deliver("push", push([(C1, True), (C2, True), (C3, True)]))

    assert response.status == 200, response.text
    assert response.json()["by_type"] == {"commit": 3}
    stored = commits()
    assert stored[C1]["parents"] == [BEFORE]
    assert stored[C2]["parents"] == [C1]
    assert stored[C3]["parents"] == [C2, BEFORE]
    # 01:00 at +02:00 is 23:00 UTC the day before
    assert stored[C1]["authored_at"] == utc("2026-03-01T23:00:00Z")
    assert stored[C1]["message"] == "change 1"
    assert rows("SELECT login FROM contributors") == [{"login": "Codertocat"}]
    # `before` is a placeholder commit: known by sha only
    assert stored[BEFORE]["authored_at"] is None


def test_a_new_branch_or_a_forced_push_leaves_the_first_parents_unknown(deliver):
    deliver("push", push([(C1, True)], before="0" * 40))
    deliver("push", push([(C2, True), (C3, True)], forced=True))

    stored = commits()
    assert stored[C1]["parents"] is None
    assert stored[C2]["parents"] is None
    assert stored[C3]["parents"] == [C2]
    assert BEFORE not in stored


def test_a_repeated_commit_already_stored_is_not_rewritten(deliver):
    deliver("push", push([(C1, True)], before="a" * 40))

    deliver("push", push([(C1, False), (C2, True)]))

    stored = commits()
    assert stored[C1]["parents"] == ["a" * 40]
    assert stored[C2]["parents"] == [C1, BEFORE]


def test_a_deleted_ref_is_ignored(deliver):
    response = deliver("push", fixture("push", "payload.json"))

    assert response.status == 202
    assert rows("SELECT sha FROM commits") == []


def pr_event(action: str, **changes: Any) -> dict[str, Any]:
    name = "closed.payload.json" if action == "closed" else "opened.payload.json"
    payload = copy.deepcopy(fixture("pull_request", name))
    payload["action"] = action
    payload["pull_request"].update(changes)
    return payload


def stored_pr() -> dict[str, Any]:
    [row] = rows(
        "SELECT number, state, draft, title, created_at, ready_at, merged_at, closed_at, merge_commit_sha, "
        "base_branch, head_branch, additions, deletions, changed_files, labels, "
        "(SELECT login FROM contributors c WHERE c.id = p.author_id) AS author FROM pull_requests p"
    )
    return row


def test_an_opened_pull_request(deliver):
    response = deliver("pull_request", fixture("pull_request", "opened.payload.json"))

    assert response.status == 200, response.text
    assert stored_pr() == {
        "number": 2,
        "state": "open",
        "draft": False,
        "title": "Update the README with new information.",
        "created_at": utc("2019-05-15T15:20:33Z"),
        "ready_at": None,
        "merged_at": None,
        "closed_at": None,
        "merge_commit_sha": None,
        "base_branch": "master",
        "head_branch": "changes",
        "additions": 1,
        "deletions": 1,
        "changed_files": 1,
        "labels": ["bug"],
        "author": "Codertocat",
    }


def test_closed_without_merge_keeps_no_merge_commit(deliver):
    deliver("pull_request", fixture("pull_request", "closed.payload.json"))

    pr = stored_pr()
    assert (pr["state"], pr["closed_at"], pr["merge_commit_sha"]) == (
        "closed",
        utc("2019-05-15T15:21:18Z"),
        None,
    )


def test_closed_with_merge_is_merged(deliver):
    deliver(
        "pull_request",
        pr_event("closed", merged=True, merged_at="2019-05-15T15:21:18Z", merge_commit_sha="m" * 40),
    )

    pr = stored_pr()
    assert (pr["state"], pr["merged_at"], pr["merge_commit_sha"]) == (
        "merged",
        utc("2019-05-15T15:21:18Z"),
        "m" * 40,
    )


def test_reopened_clears_closed_at(deliver):
    deliver("pull_request", fixture("pull_request", "closed.payload.json"))
    deliver("pull_request", fixture("pull_request", "reopened.payload.json"))

    assert (stored_pr()["state"], stored_pr()["closed_at"]) == ("open", None)


def test_ready_at_is_when_the_draft_became_ready_and_later_events_keep_it(deliver):
    deliver("pull_request", pr_event("opened", draft=True))
    draft = stored_pr()
    deliver("pull_request", pr_event("ready_for_review", updated_at="2019-05-15T16:00:00Z"))
    deliver("pull_request", pr_event("edited", title="Better title", updated_at="2019-05-15T17:00:00Z"))

    assert (draft["draft"], draft["ready_at"]) == (True, None)
    pr = stored_pr()
    assert (pr["draft"], pr["ready_at"], pr["title"]) == (False, utc("2019-05-15T16:00:00Z"), "Better title")

    deliver("pull_request", fixture("pull_request", "converted_to_draft.payload.json"))

    assert (stored_pr()["draft"], stored_pr()["ready_at"]) == (True, None)


def test_the_pull_requests_commits_are_the_head_and_its_first_parents(deliver):
    deliver("push", push([(C1, True), (C2, True), (C3, True)]))

    deliver("pull_request", pr_event("synchronize", commits=2, head={"ref": "changes", "sha": C3}))

    linked = rows(
        "SELECT c.sha FROM pull_request_commits l JOIN commits c ON c.id = l.commit_id ORDER BY c.sha"
    )
    assert [row["sha"] for row in linked] == [C2, C3]


def test_pull_request_commits_are_left_alone_when_the_head_is_not_known(deliver):
    deliver("push", push([(C1, True)]))

    deliver("pull_request", pr_event("synchronize", commits=2, head={"ref": "changes", "sha": C1}))

    # C1's only parent (BEFORE) is a placeholder: the chain is one commit short, so no links
    assert rows("SELECT pull_request_id FROM pull_request_commits") == []


@pytest.mark.parametrize(
    ("name", "state"), [("submitted.payload.json", "commented"), ("dismissed.payload.json", "dismissed")]
)
def test_a_review_makes_its_pull_request_a_placeholder(deliver, name, state):
    response = deliver("pull_request_review", fixture("pull_request_review", name))

    assert response.status == 200, response.text
    assert rows(
        "SELECT r.external_id, r.state, r.submitted_at, c.login, p.number, p.created_at FROM reviews r "
        "JOIN contributors c ON c.id = r.reviewer_id JOIN pull_requests p ON p.id = r.pull_request_id"
    ) == [
        {
            "external_id": "237895671",
            "state": state,
            "submitted_at": utc("2019-05-15T15:20:38Z"),
            "login": "Codertocat",
            "number": 2,
            "created_at": None,
        }
    ]


def test_a_pending_review_is_ignored(deliver):
    payload = copy.deepcopy(fixture("pull_request_review", "submitted.payload.json"))
    payload["review"].update(state="pending", submitted_at=None)

    assert deliver("pull_request_review", payload).status == 202
    assert rows("SELECT id FROM reviews") == []


def test_a_successful_deployment_status_is_a_deployment_shipping_its_sha(deliver):
    response = deliver("deployment_status", fixture("deployment_status", "payload.json"))

    assert response.status == 200, response.text
    assert rows("SELECT external_id, environment, status, started_at, finished_at, sha FROM deployments") == [
        {
            "external_id": "145988746",
            "environment": "production",
            "status": "success",
            "started_at": utc("2019-05-15T15:20:53Z"),
            "finished_at": utc("2019-05-15T15:20:55Z"),
            "sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e",
        }
    ]
    assert rows("SELECT c.sha FROM deployment_commits dc JOIN commits c ON c.id = dc.commit_id") == [
        {"sha": "f95f852bd8fca8fcc58a9a2d6c842781e32a215e"}
    ]


@pytest.mark.parametrize(("state", "status"), [("failure", "failure"), ("error", "failure")])
def test_failed_deployment_statuses_are_failed_deployments(deliver, state, status):
    payload = copy.deepcopy(fixture("deployment_status", "payload.json"))
    payload["deployment_status"]["state"] = state

    deliver("deployment_status", payload)

    assert rows("SELECT status FROM deployments") == [{"status": status}]


def test_an_unfinished_deployment_status_is_ignored(deliver):
    response = deliver("deployment_status", fixture("deployment_status", "gh-pages.payload.json"))

    assert (response.status, response.json()["reason"]) == (
        202,
        "deployment_status 'in_progress' is not final",
    )
    assert rows("SELECT id FROM deployments") == []


def issue_event(action: str, labels: list[str], **changes: Any) -> dict[str, Any]:
    payload = copy.deepcopy(fixture("issues", "opened.payload.json"))
    payload["action"] = action
    payload["issue"]["labels"] = [{"name": name} for name in labels]
    payload["issue"].update(changes)
    return payload


def incidents() -> list[dict[str, Any]]:
    return rows("SELECT external_id, title, severity, created_at, resolved_at FROM incidents")


def test_an_incident_issue_is_created_resolved_and_reopened(deliver):
    deliver("issues", issue_event("opened", ["Incident", "severity:high"]))
    opened = incidents()
    deliver("issues", issue_event("closed", ["Incident"], state="closed", closed_at="2019-05-15T17:20:18Z"))
    closed = incidents()
    deliver("issues", issue_event("reopened", ["Incident"], state="open", closed_at="2019-05-15T17:20:18Z"))

    assert opened == [
        {
            "external_id": "Codertocat/Hello-World#1",
            "title": "Spelling error in the README file",
            "severity": "high",
            "created_at": utc("2019-05-15T15:20:18Z"),
            "resolved_at": None,
        }
    ]
    assert closed[0]["resolved_at"] == utc("2019-05-15T17:20:18Z")
    assert incidents()[0]["resolved_at"] is None


def test_an_issue_becomes_an_incident_when_labelled(deliver):
    first = deliver("issues", issue_event("opened", ["bug"]))
    labelled = deliver("issues", issue_event("labeled", ["bug", "incident"]))

    assert (first.status, first.json()["reason"]) == (202, "the issue is not labelled 'incident'")
    assert labelled.status == 200
    assert [row["external_id"] for row in incidents()] == ["Codertocat/Hello-World#1"]


def test_the_incident_label_is_configurable(deliver, monkeypatch):
    from pulse.config import get_settings

    monkeypatch.setattr(get_settings(), "GITHUB_INCIDENT_LABEL", "outage")

    assert deliver("issues", issue_event("opened", ["incident"])).status == 202
    assert deliver("issues", issue_event("opened", ["outage"])).status == 200
    assert len(incidents()) == 1
