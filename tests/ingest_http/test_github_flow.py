"""A pull request's life through GitHub webhooks alone, delivered twice, read back as PR stages."""

from __future__ import annotations

import copy
from typing import Any

from pulse import dataversion, db
from tests.ingest_http.conftest import fixture

REPO = {"full_name": "acme/checkout"}
A1, M0, M7 = "a1" + "0" * 38, "m0" + "0" * 38, "m7" + "0" * 38


def _with_repo(payload: dict[str, Any]) -> dict[str, Any]:
    payload["repository"] = {**payload["repository"], **REPO}
    return payload


def push(ref: str, before: str, commits: list[tuple[str, bool, str]]) -> dict[str, Any]:
    payload = _with_repo(copy.deepcopy(fixture("push", "with-new-branch.payload.json")))
    template = payload["commits"][0]
    payload.update(ref=ref, before=before, after=commits[-1][0], created=before == "0" * 40, deleted=False)
    payload["commits"] = [
        {**template, "id": sha, "distinct": distinct, "timestamp": at, "author": {"username": "alice"}}
        for sha, distinct, at in commits
    ]
    return payload


def pull_request(action: str, **changes: Any) -> dict[str, Any]:
    payload = _with_repo(copy.deepcopy(fixture("pull_request", "opened.payload.json")))
    payload["action"] = action
    payload["pull_request"].update(
        number=7,
        user={"login": "alice"},
        created_at="2026-03-02T10:00:00Z",
        updated_at="2026-03-02T10:00:00Z",
        commits=1,
        head={"ref": "feature", "sha": A1},
        **changes,
    )
    return payload


def review() -> dict[str, Any]:
    payload = _with_repo(copy.deepcopy(fixture("pull_request_review", "submitted.payload.json")))
    payload["pull_request"]["number"] = 7
    payload["review"].update(
        id=501, user={"login": "bob"}, state="approved", submitted_at="2026-03-02T12:00:00Z"
    )
    return payload


def deployment_status() -> dict[str, Any]:
    payload = _with_repo(copy.deepcopy(fixture("deployment_status", "payload.json")))
    payload["deployment"].update(id=9001, sha=M7, created_at="2026-03-03T07:50:00Z", environment="production")
    payload["deployment_status"].update(
        state="success", created_at="2026-03-03T08:00:00Z", environment="production"
    )
    return payload


DELIVERIES = [
    ("d1", "push", push("refs/heads/feature", "0" * 40, [(A1, True, "2026-03-02T09:00:00Z")])),
    ("d2", "pull_request", pull_request("opened")),
    ("d3", "pull_request_review", review()),
    (
        "d4",
        "pull_request",
        pull_request(
            "closed",
            state="closed",
            merged=True,
            merged_at="2026-03-02T15:00:00Z",
            closed_at="2026-03-02T15:00:00Z",
            merge_commit_sha=M7,
        ),
    ),
    (
        "d5",
        "push",
        push(
            "refs/heads/main", M0, [(A1, False, "2026-03-02T09:00:00Z"), (M7, True, "2026-03-02T15:00:00Z")]
        ),
    ),
    ("d6", "deployment_status", deployment_status()),
]


def version() -> int:
    with db.connect() as connection:
        return dataversion.current(connection).version


def stages(gateway: Any, auth_headers: Any) -> dict[str, Any]:
    response = gateway.request(
        "GET",
        "/api/v1/analytics/github/pull-requests",
        query=[("start_date", "2026-03-01"), ("end_date", "2026-03-31")],
        headers=auth_headers("admin"),
    )
    assert response.status == 200, response.text
    [item] = response.json()["items"]
    return item


def test_stages_come_out_right_and_a_second_delivery_of_everything_changes_nothing(
    gateway, deliver, auth_headers
):
    first = [deliver(event, payload, delivery=delivery) for delivery, event, payload in DELIVERIES]
    after_first = version()
    item = stages(gateway, auth_headers)

    # in reverse, so that a stale "opened" would reopen the PR if redeliveries were applied
    again = [deliver(event, payload, delivery=delivery) for delivery, event, payload in reversed(DELIVERIES)]

    assert [response.status for response in first] == [200] * 6
    assert [response.json()["outcome"] for response in again] == ["duplicate"] * 6
    assert version() == after_first
    # first commit 09:00, opened 10:00, first review 12:00, merged 15:00, deployed next day 08:00
    assert item["first_commit_at"].startswith("2026-03-02T09:00:00")
    assert item["coding_hours"] == 1.0
    assert item["pickup_hours"] == 2.0
    assert item["review_hours"] == 3.0
    assert item["deploy_hours"] == 17.0
    assert item["cycle_hours"] == 23.0
    assert item["reviews"] == 1
    assert item["deployed_at"].startswith("2026-03-03T08:00:00")
    assert stages(gateway, auth_headers) == item
