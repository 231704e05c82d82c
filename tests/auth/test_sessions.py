"""Login, brute-force limiting, refresh rotation with reuse detection, logout, and Redis down."""

from __future__ import annotations

import jwt
import pytest

from tests.auth.conftest import (
    AUDIENCE,
    ISSUER,
    PASSWORD,
    SECRET,
    add_teams,
    add_user,
    assert_envelope,
    bearer,
    dead_client,
    login,
    tokens_of,
)

ME = "/api/v1/auth/me"
REFRESH = "/api/v1/auth/refresh"


def _refresh(gateway, refresh_token):
    return gateway.request("POST", REFRESH, json_body={"refresh_token": refresh_token})


def _claims(token):
    return jwt.decode(token, SECRET, algorithms=["HS256"], audience=AUDIENCE, issuer=ISSUER)


def test_login_returns_a_bearer_pair_with_the_users_claims(gateway):
    add_teams(("payments", None))
    user = add_user("dev@example.com", "member", ("payments",))

    response = login(gateway, "  Dev@Example.com ")  # emails are trimmed and case-insensitive

    assert response.status == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert body["expires_in"] == 30 * 60  # JWT_ACCESS_TOKEN_EXPIRE_MINUTES default
    access, refresh = _claims(body["access_token"]), _claims(body["refresh_token"])
    assert access["sub"] == str(user.id) and access["role"] == "member" and access["teams"] == ["payments"]
    assert access["typ"] == "access" and refresh["typ"] == "refresh"
    assert access["fam"] == refresh["fam"] and access["jti"] != refresh["jti"]
    assert access["exp"] - access["iat"] == pytest.approx(30 * 60, abs=1)
    assert refresh["exp"] - refresh["iat"] == pytest.approx(7 * 24 * 3600, abs=1)  # default 7 days
    assert "role" not in refresh  # refresh reads role and teams afresh from the database


def test_wrong_password_and_unknown_email_get_the_same_401(gateway):
    add_user("dev@example.com", "member")

    wrong_password = login(gateway, "dev@example.com", "not the password at all")
    unknown_email = login(gateway, "nobody@example.com", PASSWORD)

    assert_envelope(wrong_password, 401, "invalid_credentials")
    assert_envelope(unknown_email, 401, "invalid_credentials")
    assert wrong_password.json()["error"]["message"] == unknown_email.json()["error"]["message"]


def test_unknown_email_costs_one_argon2id_verification_like_a_wrong_password(gateway, monkeypatch):
    # Timing on a shared machine is too noisy to assert; what makes the times equal is that both
    # paths run exactly one verification with the same argon2 parameters (see test_passwords).
    from argon2 import extract_parameters

    from pulse.auth import passwords

    add_user("dev@example.com", "member")
    verified = []
    real = passwords.hasher

    class Spy:
        def verify(self, stored_hash, password):
            verified.append(extract_parameters(stored_hash))
            return real.verify(stored_hash, password)

    monkeypatch.setattr(passwords, "hasher", Spy())

    login(gateway, "dev@example.com", "not the password at all")
    login(gateway, "nobody@example.com", "not the password at all")

    assert len(verified) == 2
    assert verified[0] == verified[1]


def test_five_failures_lock_the_account_with_429_and_retry_after(gateway):
    add_user("dev@example.com", "member")
    for attempt in range(5):
        response = login(gateway, "dev@example.com", "wrong password number", source_ip=f"10.1.0.{attempt}")
        assert_envelope(response, 401, "invalid_credentials")

    # The 6th attempt is refused before the password is checked, even the right one.
    locked = login(gateway, "dev@example.com", PASSWORD, source_ip="10.1.0.99")

    assert_envelope(locked, 429, "too_many_attempts")
    assert 0 < int(locked.headers["retry-after"]) <= 15 * 60


def test_a_success_clears_the_accounts_failures(gateway):
    add_user("dev@example.com", "member")
    for _ in range(4):
        login(gateway, "dev@example.com", "wrong password number")
    assert login(gateway, "dev@example.com").status == 200

    for _ in range(4):  # 4 more failures: 4 in the count, not 8
        login(gateway, "dev@example.com", "wrong password number")

    assert login(gateway, "dev@example.com").status == 200


def test_failures_from_one_ip_across_accounts_lock_that_ip(gateway, monkeypatch):
    from pulse.auth import limiter

    monkeypatch.setattr(limiter, "IP_LIMIT", 3)  # 20 by default; the rule is the same
    add_user("dev@example.com", "member")
    for i in range(3):
        login(gateway, f"guess{i}@example.com", "wrong password number", source_ip="10.2.0.1")

    from_that_ip = login(gateway, "dev@example.com", source_ip="10.2.0.1")
    from_elsewhere = login(gateway, "dev@example.com", source_ip="10.2.0.2")

    assert_envelope(from_that_ip, 429, "too_many_attempts")
    assert from_elsewhere.status == 200


def test_the_limiter_fails_open_when_redis_is_down(gateway, dead_redis):
    add_user("dev@example.com", "member")
    for _ in range(6):
        login(gateway, "dev@example.com", "wrong password number")

    # No counters could be kept: the right password still signs in (the refresh token will not work).
    assert login(gateway, "dev@example.com").status == 200


def test_refresh_rotates_the_pair_and_keeps_the_family(gateway):
    user = add_user("dev@example.com", "member")
    first = tokens_of(gateway, user)

    response = _refresh(gateway, first["refresh_token"])

    assert response.status == 200
    second = response.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert _claims(second["access_token"])["fam"] == _claims(first["access_token"])["fam"]
    assert gateway.request("GET", ME, headers=bearer(second["access_token"])).status == 200
    assert _refresh(gateway, second["refresh_token"]).status == 200  # the new one works once too


def test_refresh_picks_up_a_changed_role(gateway):
    user = add_user("dev@example.com", "member")
    pair = tokens_of(gateway, user)
    from sqlalchemy import text

    from pulse.db import transaction

    with transaction() as connection:  # changed directly, so no revocation: refresh must reread
        connection.execute(text("UPDATE users SET role = 'manager' WHERE id = :id"), {"id": user.id})

    refreshed = _refresh(gateway, pair["refresh_token"]).json()

    assert _claims(refreshed["access_token"])["role"] == "manager"


def test_reusing_a_refresh_token_revokes_the_whole_family(gateway):
    user = add_user("dev@example.com", "member")
    stolen = tokens_of(gateway, user)
    legitimate = _refresh(gateway, stolen["refresh_token"]).json()

    replay = _refresh(gateway, stolen["refresh_token"])

    assert_envelope(replay, 401, "token_revoked")
    # Every token of the family is dead now: the rotated refresh token and both access tokens.
    assert_envelope(_refresh(gateway, legitimate["refresh_token"]), 401, "token_revoked")
    assert_envelope(
        gateway.request("GET", ME, headers=bearer(legitimate["access_token"])), 401, "token_revoked"
    )
    assert_envelope(gateway.request("GET", ME, headers=bearer(stolen["access_token"])), 401, "token_revoked")
    # Another session of the same user is untouched.
    other = tokens_of(gateway, user)
    assert gateway.request("GET", ME, headers=bearer(other["access_token"])).status == 200


def test_an_access_token_is_not_a_refresh_token(gateway):
    user = add_user("dev@example.com", "member")
    pair = tokens_of(gateway, user)

    assert_envelope(_refresh(gateway, pair["access_token"]), 401, "invalid_token")


def test_refresh_for_a_deleted_user_is_401(gateway):
    user = add_user("dev@example.com", "member")
    pair = tokens_of(gateway, user)
    from sqlalchemy import text

    from pulse.db import transaction

    with transaction() as connection:
        connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user.id})

    assert_envelope(_refresh(gateway, pair["refresh_token"]), 401, "invalid_token")


def test_logout_revokes_the_access_token_and_its_refresh_token(gateway):
    user = add_user("dev@example.com", "member")
    pair = tokens_of(gateway, user)

    response = gateway.request("POST", "/api/v1/auth/logout", headers=bearer(pair["access_token"]))

    assert response.status == 204
    assert_envelope(gateway.request("GET", ME, headers=bearer(pair["access_token"])), 401, "token_revoked")
    assert_envelope(_refresh(gateway, pair["refresh_token"]), 401, "token_revoked")


def test_refresh_fails_closed_with_503_when_redis_is_down(gateway, dead_redis):
    user = add_user("dev@example.com", "member")
    pair = tokens_of(gateway, user)

    response = _refresh(gateway, pair["refresh_token"])

    assert_envelope(response, 503, "auth_store_unavailable")
    assert response.headers["retry-after"] == "5"


def test_logout_fails_closed_with_503_when_redis_is_down(gateway, monkeypatch):
    user = add_user("dev@example.com", "member")
    pair = tokens_of(gateway, user)
    from pulse import cache

    monkeypatch.setattr(cache, "get_redis", dead_client)

    response = gateway.request("POST", "/api/v1/auth/logout", headers=bearer(pair["access_token"]))

    assert_envelope(response, 503, "auth_store_unavailable")


def test_access_tokens_still_work_when_redis_is_down(gateway, monkeypatch):
    user = add_user("dev@example.com", "member")
    pair = tokens_of(gateway, user)
    from pulse import cache

    monkeypatch.setattr(cache, "get_redis", dead_client)

    assert gateway.request("GET", ME, headers=bearer(pair["access_token"])).status == 200


def test_a_refresh_token_issued_while_redis_was_down_is_refused_later(gateway, monkeypatch):
    user = add_user("dev@example.com", "member")
    from pulse import cache

    with monkeypatch.context() as patch:
        patch.setattr(cache, "get_redis", dead_client)
        pair = tokens_of(gateway, user)
    cache.breaker.reset()

    assert_envelope(_refresh(gateway, pair["refresh_token"]), 401, "token_revoked")
