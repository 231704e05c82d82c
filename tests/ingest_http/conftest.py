"""Ingest-over-HTTP helpers: API keys, signed GitHub deliveries, the fixture payloads."""

from __future__ import annotations

import json
import uuid
from typing import Any

import pytest

from pulse import db
from pulse.ingest.webhooks import sign
from tests.conftest import ROOT

FIXTURES = ROOT.parent / "shared" / "fixtures" / "github-webhooks"
SECRET = "test-webhook-secret"  # tests/conftest.py sets GITHUB_WEBHOOK_SECRET to this
GITHUB = "/api/v1/webhooks/github"


def key_headers(*scopes: str) -> dict[str, str]:
    """Bearer headers with a new API key of ``scopes``, created through the auth layer."""
    from pulse.auth import apikeys

    with db.transaction() as connection:
        created = apikeys.create(connection, name="ci", scopes=scopes, created_by=None)
    return {"authorization": f"Bearer {created.key}"}


def fixture(event: str, name: str) -> dict[str, Any]:
    """A payload from the shared octokit examples."""
    document: dict[str, Any] = json.loads((FIXTURES / event / name).read_text())
    return document


def signed_headers(
    body: bytes, event: str, delivery: str | None = None, secret: str = SECRET
) -> dict[str, str]:
    return {
        "content-type": "application/json",
        "x-github-event": event,
        "x-github-delivery": delivery or str(uuid.uuid4()),
        "x-hub-signature-256": sign(secret, body),
    }


@pytest.fixture
def deliver(gateway: Any) -> Any:
    """``deliver(event, payload, delivery=None)``: a correctly signed GitHub delivery."""

    def send(event: str, payload: dict[str, Any], delivery: str | None = None) -> Any:
        body = json.dumps(payload).encode()
        return gateway.request("POST", GITHUB, headers=signed_headers(body, event, delivery), body=body)

    return send


def rows(sql: str, **params: Any) -> list[dict[str, Any]]:
    from sqlalchemy import text

    with db.connect() as connection:
        return [row._asdict() for row in connection.execute(text(sql), params)]
