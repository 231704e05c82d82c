"""Payloads of unexpected shape: each field of each tracked event's object nulled or replaced.

Whatever GitHub (or a proxy) sends, the receiver answers 2xx or 400 and never 5xx; what it does
write is always valid ingest data (the import path validates it).
"""

from __future__ import annotations

import copy
from typing import Any

import pytest

from pulse import db
from pulse.ingest import webhooks
from tests.ingest_http.conftest import fixture

# (event, fixture, path of the object whose fields are mutated)
CASES = [
    ("push", "with-new-branch.payload.json", ("commits", 0)),
    ("push", "with-new-branch.payload.json", ()),
    ("pull_request", "closed.payload.json", ("pull_request",)),
    ("pull_request_review", "submitted.payload.json", ("review",)),
    ("deployment_status", "payload.json", ("deployment_status",)),
    ("deployment_status", "payload.json", ("deployment",)),
    ("issues", "opened.payload.json", ("issue",)),
]
ODD_VALUES = [None, "x", True, {}]


def target(payload: dict[str, Any], path: tuple[Any, ...]) -> dict[str, Any]:
    for step in path:
        payload = payload[step]
    return payload


def mutations() -> list[tuple[str, dict[str, Any]]]:
    found = []
    for event, name, path in CASES:
        original = fixture(event, name)
        if event == "issues":
            original["issue"]["labels"] = [{"name": "incident"}]
        for field in target(original, path):
            for value in ODD_VALUES:
                payload = copy.deepcopy(original)
                target(payload, path)[field] = value
                found.append((event, payload))
    return found


@pytest.mark.parametrize("event", sorted({event for event, _, _ in CASES}))
def test_odd_payloads_are_handled_or_refused_never_crash(event):
    cases = [payload for kind, payload in mutations() if kind == event]
    outcomes = set()
    for number, payload in enumerate(cases):
        try:
            with db.transaction() as connection:
                outcome = webhooks.handle(
                    connection, delivery=f"{event}-{number}", event=event, payload=payload
                )
            outcomes.add(outcome.outcome)
        except webhooks.PayloadError:
            outcomes.add("refused")
    assert outcomes <= {"applied", "ignored", "refused"}
    assert "applied" in outcomes
