"""Users and API keys: the role × endpoint matrix, and what each admin route does."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from pulse.db import connect
from tests.auth.conftest import PASSWORD, add_teams, add_user, assert_envelope, bearer, login, tokens_of

ADMIN_ROUTES = [
    ("GET", "/api/v1/auth/users", None),
    ("POST", "/api/v1/auth/users", {"email": "new@example.com", "password": PASSWORD, "role": "member"}),
    ("PATCH", "/api/v1/auth/users/{target}", {"role": "manager"}),
    ("DELETE", "/api/v1/auth/users/{target}", None),
    ("POST", "/api/v1/auth/api-keys", {"name": "ci", "scopes": ["ingest"]}),
    ("GET", "/api/v1/auth/api-keys", None),
    ("DELETE", "/api/v1/auth/api-keys/{key}", None),
]
SELF_ROUTES = [("GET", "/api/v1/auth/me", None), ("POST", "/api/v1/auth/logout", None)]
# What an admin gets from each route (the targets exist).
ADMIN_STATUS = {"GET": 200, "POST": 201, "PATCH": 200, "DELETE": 204}


def _api_key(gateway, admin_access, scopes=("ingest",)):
    response = gateway.request(
        "POST",
        "/api/v1/auth/api-keys",
        headers=bearer(admin_access),
        json_body={"name": "key", "scopes": list(scopes)},
    )
    assert response.status == 201, response.text
    return response.json()


@pytest.fixture
def people(gateway):
    """One user per role, the target of user routes, and an existing API key."""
    add_teams(("payments", None))
    callers = {
        role: add_user(f"{role}@example.com", role, ("payments",))
        for role in ("admin", "executive", "manager", "member")
    }
    tokens = {role: tokens_of(gateway, user)["access_token"] for role, user in callers.items()}
    target = add_user("target@example.com", "member")
    key = _api_key(gateway, tokens["admin"], scopes=("ingest", "etl"))
    tokens["api_key"] = key["key"]
    return tokens, target, key


@pytest.mark.parametrize("caller", ["executive", "manager", "member", "api_key"])
@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_only_admins_reach_user_and_key_management(gateway, people, caller, method, path, body):
    tokens, target, key = people

    response = gateway.request(
        method, path.format(target=target.id, key=key["id"]), headers=bearer(tokens[caller]), json_body=body
    )

    assert_envelope(response, 403, "forbidden")


@pytest.mark.parametrize(("method", "path", "body"), ADMIN_ROUTES)
def test_admins_reach_user_and_key_management(gateway, people, method, path, body):
    tokens, target, key = people

    response = gateway.request(
        method, path.format(target=target.id, key=key["id"]), headers=bearer(tokens["admin"]), json_body=body
    )

    assert response.status == ADMIN_STATUS[method], response.text


@pytest.mark.parametrize("caller", ["admin", "executive", "manager", "member"])
@pytest.mark.parametrize(("method", "path", "body"), SELF_ROUTES)
def test_every_user_reaches_me_and_logout(gateway, people, caller, method, path, body):
    tokens, _, _ = people

    response = gateway.request(method, path, headers=bearer(tokens[caller]))

    assert response.status in (200, 204)


@pytest.mark.parametrize(("method", "path", "body"), SELF_ROUTES)
def test_api_keys_have_no_session(gateway, people, method, path, body):
    tokens, _, _ = people

    assert_envelope(gateway.request(method, path, headers=bearer(tokens["api_key"])), 403, "forbidden")


def _admin(gateway):
    return tokens_of(gateway, add_user("admin@example.com", "admin"))["access_token"]


def test_create_user_with_teams_then_they_sign_in(gateway):
    add_teams(("platform", None), ("payments", "platform"))
    admin = _admin(gateway)

    created = gateway.request(
        "POST",
        "/api/v1/auth/users",
        headers=bearer(admin),
        json_body={
            "email": "Lead@Example.com",
            "password": "twelve chars",
            "role": "manager",
            "teams": ["payments"],
        },
    )

    assert created.status == 201
    assert created.json()["email"] == "lead@example.com" and created.json()["teams"] == ["payments"]
    assert login(gateway, "lead@example.com", "twelve chars").status == 200
    with connect() as connection:
        stored = connection.execute(
            text("SELECT password_hash FROM users WHERE email = 'lead@example.com'")
        ).scalar()
    assert stored.startswith("$argon2id$") and "twelve chars" not in stored


@pytest.mark.parametrize(
    ("body", "status", "code"),
    [
        ({"email": "admin@example.com", "password": PASSWORD, "role": "member"}, 409, "email_taken"),
        ({"email": "ADMIN@example.com ", "password": PASSWORD, "role": "member"}, 409, "email_taken"),
        ({"email": "new@example.com", "password": "eleven char", "role": "member"}, 422, "weak_password"),
        ({"email": "new@example.com", "password": PASSWORD, "role": "root"}, 422, "validation_error"),
        ({"email": "not-an-email", "password": PASSWORD, "role": "member"}, 422, "validation_error"),
        (
            {"email": "new@example.com", "password": PASSWORD, "role": "member", "teams": ["nope"]},
            422,
            "unknown_team",
        ),
        (
            {"email": "new@example.com", "password": PASSWORD, "role": "member", "extra": 1},
            422,
            "validation_error",
        ),
    ],
)
def test_create_user_rejects(gateway, body, status, code):
    admin = _admin(gateway)

    response = gateway.request("POST", "/api/v1/auth/users", headers=bearer(admin), json_body=body)

    assert_envelope(response, status, code)


def test_list_users_shows_roles_and_teams_but_no_hashes(gateway):
    add_teams(("payments", None), ("search", None))
    admin = _admin(gateway)
    add_user("member@example.com", "member", ("search", "payments"))

    items = gateway.request("GET", "/api/v1/auth/users", headers=bearer(admin)).json()["items"]

    assert [(u["email"], u["role"], u["teams"]) for u in items] == [
        ("admin@example.com", "admin", []),
        ("member@example.com", "member", ["payments", "search"]),
    ]
    assert all("password_hash" not in u for u in items)


def test_changing_a_role_signs_the_user_out_and_refresh_gets_the_new_role(gateway):
    admin = _admin(gateway)
    user = add_user("dev@example.com", "member")
    pair = tokens_of(gateway, user)

    changed = gateway.request(
        "PATCH", f"/api/v1/auth/users/{user.id}", headers=bearer(admin), json_body={"role": "manager"}
    )

    assert changed.status == 200 and changed.json()["role"] == "manager"
    assert_envelope(
        gateway.request("GET", "/api/v1/auth/me", headers=bearer(pair["access_token"])), 401, "token_revoked"
    )
    # A session started after the change works, with the new role.
    fresh = tokens_of(gateway, user)["access_token"]
    assert gateway.request("GET", "/api/v1/auth/me", headers=bearer(fresh)).json()["role"] == "manager"


def test_changing_a_password(gateway):
    admin = _admin(gateway)
    user = add_user("dev@example.com", "member")

    response = gateway.request(
        "PATCH",
        f"/api/v1/auth/users/{user.id}",
        headers=bearer(admin),
        json_body={"password": "a brand new secret"},
    )

    assert response.status == 200
    assert login(gateway, "dev@example.com", PASSWORD).status == 401
    assert login(gateway, "dev@example.com", "a brand new secret").status == 200


def test_update_and_delete_unknown_user_are_404(gateway):
    admin = _admin(gateway)

    patch = gateway.request(
        "PATCH", "/api/v1/auth/users/999999", headers=bearer(admin), json_body={"role": "member"}
    )
    delete = gateway.request("DELETE", "/api/v1/auth/users/999999", headers=bearer(admin))

    assert_envelope(patch, 404, "user_not_found")
    assert_envelope(delete, 404, "user_not_found")


def test_deleting_a_user_revokes_their_tokens(gateway):
    admin = _admin(gateway)
    user = add_user("dev@example.com", "member")
    pair = tokens_of(gateway, user)
    assert gateway.request("GET", "/api/v1/auth/me", headers=bearer(pair["access_token"])).status == 200

    assert gateway.request("DELETE", f"/api/v1/auth/users/{user.id}", headers=bearer(admin)).status == 204

    assert_envelope(
        gateway.request("GET", "/api/v1/auth/me", headers=bearer(pair["access_token"])), 401, "token_revoked"
    )
    assert login(gateway, "dev@example.com").status == 401


def test_the_last_admin_cannot_be_deleted_or_demoted(gateway):
    user = add_user("admin@example.com", "admin")
    admin = tokens_of(gateway, user)["access_token"]

    demote = gateway.request(
        "PATCH", f"/api/v1/auth/users/{user.id}", headers=bearer(admin), json_body={"role": "member"}
    )
    delete = gateway.request("DELETE", f"/api/v1/auth/users/{user.id}", headers=bearer(admin))

    assert_envelope(demote, 409, "last_admin")
    assert_envelope(delete, 409, "last_admin")


def test_api_key_is_shown_once_and_stored_hashed(gateway):
    admin = _admin(gateway)

    created = _api_key(gateway, admin, scopes=("etl",))
    listed = gateway.request("GET", "/api/v1/auth/api-keys", headers=bearer(admin)).json()["items"]

    assert created["key"].startswith(f"pulse_{created['id']}_")
    assert [(k["id"], k["name"], k["scopes"]) for k in listed] == [(created["id"], "key", ["etl"])]
    assert "key" not in listed[0]
    with connect() as connection:
        stored = connection.execute(text("SELECT key_hash FROM api_keys")).scalar()
    secret = created["key"].split("_", 2)[2]
    assert secret not in stored and len(stored) == 64  # a SHA-256 hex digest


@pytest.mark.parametrize("scopes", [[], ["admin"], ["ingest", "ingest", "etl"]])
def test_api_key_scopes_must_be_ingest_or_etl(gateway, scopes):
    admin = _admin(gateway)

    response = gateway.request(
        "POST", "/api/v1/auth/api-keys", headers=bearer(admin), json_body={"name": "k", "scopes": scopes}
    )

    assert_envelope(response, 422, "validation_error")


def test_deleting_an_api_key_stops_it_at_once(gateway):
    admin = _admin(gateway)
    key = _api_key(gateway, admin)["key"]
    # The key is accepted (403 only because keys cannot read /me); the authorizer has cached "allow".
    assert_envelope(gateway.request("GET", "/api/v1/auth/me", headers=bearer(key)), 403, "forbidden")

    key_id = key.split("_")[1]
    assert gateway.request("DELETE", f"/api/v1/auth/api-keys/{key_id}", headers=bearer(admin)).status == 204

    assert_envelope(gateway.request("GET", "/api/v1/auth/me", headers=bearer(key)), 401, "token_revoked")
    assert_envelope(
        gateway.request("DELETE", f"/api/v1/auth/api-keys/{key_id}", headers=bearer(admin)),
        404,
        "api_key_not_found",
    )


def test_api_key_with_a_wrong_secret_is_401(gateway):
    admin = _admin(gateway)
    key = _api_key(gateway, admin)["key"]
    wrong = key[:-4] + ("AAAA" if not key.endswith("AAAA") else "BBBB")

    assert_envelope(gateway.request("GET", "/api/v1/auth/me", headers=bearer(wrong)), 401, "invalid_token")
