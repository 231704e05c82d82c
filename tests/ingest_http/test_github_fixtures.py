"""Every octokit example payload, signed, is accepted or ignored cleanly: a 2xx, never a 5xx."""

from __future__ import annotations

import json

import pytest

from tests.ingest_http.conftest import FIXTURES

PAYLOADS = sorted(path for path in FIXTURES.glob("*/*.json"))
# What each event must come to: 200 applied (records), 200 pong, or 202 ignored.
APPLIED = {
    "deployment_status/payload.json",
    "deployment_status/with-installation.payload.json",
    "pull_request/closed.payload.json",
    "pull_request/closed.with-organization.payload.json",
    "pull_request/converted_to_draft.payload.json",
    "pull_request/converted_to_draft.with-installation.payload.json",
    "pull_request/converted_to_draft.with-organization.payload.json",
    "pull_request/opened.payload.json",
    "pull_request/opened.with-null-body.json",
    "pull_request/opened.with-organization.payload.json",
    "pull_request/ready_for_review.payload.json",
    "pull_request/ready_for_review.with-installation.payload.json",
    "pull_request/ready_for_review.with-organization.payload.json",
    "pull_request/reopened.payload.json",
    "pull_request/reopened.with-organization.payload.json",
    "pull_request/synchronize.payload.json",
    "pull_request_review/dismissed.payload.json",
    "pull_request_review/submitted.payload.json",
    "pull_request_review/submitted.with-organization.payload.json",
    "push/with-new-branch.payload.json",
    "push/with-no-username-committer.payload.json",
}


def test_the_fixtures_are_there():
    assert len(PAYLOADS) >= 100


@pytest.mark.parametrize("path", PAYLOADS, ids=lambda path: f"{path.parent.name}/{path.name}")
def test_every_example_payload_gets_a_2xx(deliver, path):
    event = path.parent.name
    name = f"{event}/{path.name}"

    response = deliver(event, json.loads(path.read_text()))

    expected = 200 if name in APPLIED or event == "ping" else 202
    assert response.status == expected, response.text
    outcome = response.json()["outcome"]
    assert outcome == ("pong" if event == "ping" else "applied" if expected == 200 else "ignored")
    assert response.json()["skipped"] == []
