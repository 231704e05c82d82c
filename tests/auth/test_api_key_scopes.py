"""API key scopes and role checks, through the real authorizer in front of a test-only function.

``tests/auth/scoped`` has one route per check: ``require_scope("ingest")``,
``require_scope("etl")``, ``UserDep`` (analytics) and ``require_roles("admin", "executive")``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from pulse.local.gateway import Gateway
from tests.auth.conftest import add_teams, add_user, assert_envelope, bearer, craft, tokens_of

ROUTES = {
    "ingest": ("POST", "/api/v1/scoped/ingest"),
    "etl": ("POST", "/api/v1/scoped/etl-report"),
    "analytics": ("GET", "/api/v1/scoped/analytics"),
    "executive": ("GET", "/api/v1/scoped/executive"),
}
# caller → the routes it may use (every other route is a 403)
MATRIX = {
    "key:ingest": {"ingest"},
    "key:etl": {"etl"},
    "key:ingest+etl": {"ingest", "etl"},
    "admin": {"ingest", "etl", "analytics", "executive"},
    "executive": {"analytics", "executive"},
    "manager": {"analytics"},
    "member": {"analytics"},
}


@pytest.fixture(scope="module")
def scoped():
    return Gateway(Path(__file__).parent / "scoped" / "template.yaml")


@pytest.fixture
def credentials(gateway):
    add_teams(("payments", None))
    admin = add_user("admin@example.com", "admin")
    admin_access = tokens_of(gateway, admin)["access_token"]
    found = {"admin": admin_access}
    for role in ("executive", "manager", "member"):
        found[role] = craft({"sub": "42", "role": role, "teams": ["payments"]})
    for scopes in (["ingest"], ["etl"], ["ingest", "etl"]):
        response = gateway.request(
            "POST",
            "/api/v1/auth/api-keys",
            headers=bearer(admin_access),
            json_body={"name": "k", "scopes": scopes},
        )
        found["key:" + "+".join(scopes)] = response.json()["key"]
    return found


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("caller", MATRIX)
def test_scope_and_role_matrix(scoped, credentials, caller, route):
    method, path = ROUTES[route]

    response = scoped.request(method, path, headers=bearer(credentials[caller]))

    if route in MATRIX[caller]:
        assert response.status == 200, response.text
    else:
        assert_envelope(response, 403, "forbidden")


def test_a_key_is_identified_by_its_id_and_carries_no_teams(scoped, credentials):
    key = credentials["key:ingest"]

    body = scoped.request("POST", "/api/v1/scoped/ingest", headers=bearer(key)).json()

    assert body == {"subject": key.split("_")[1], "kind": "api_key"}


def test_a_users_teams_reach_the_function(scoped, credentials):
    body = scoped.request("GET", "/api/v1/scoped/analytics", headers=bearer(credentials["member"])).json()

    assert body == {"subject": "42", "teams": ["payments"]}
