"""Password hashing parameters, the dummy hash, the length policy and upgrading old hashes."""

from __future__ import annotations

import pytest
from argon2 import PasswordHasher, Type, extract_parameters
from sqlalchemy import text

from pulse.db import connect, transaction
from tests.auth.conftest import PASSWORD, PRODUCTION_DUMMY_HASH, PRODUCTION_HASHER, add_user, login


def test_production_hashes_are_argon2id_with_owasp_costs():
    parameters = extract_parameters(PRODUCTION_HASHER.hash("x" * 12))

    # OWASP's recommended minimum for argon2id: 19 MiB (19,456 KiB), 2 passes, 1 lane.
    assert (parameters.type, parameters.time_cost, parameters.memory_cost, parameters.parallelism) == (
        Type.ID,
        2,
        19456,
        1,
    )


def test_the_dummy_hash_costs_what_a_real_one_costs():
    # An unknown email verifies against it: with other parameters its time would tell.
    assert extract_parameters(PRODUCTION_DUMMY_HASH) == extract_parameters(PRODUCTION_HASHER.hash("x" * 12))


@pytest.mark.parametrize(("password", "accepted"), [("a" * 11, False), ("a" * 12, True), ("a" * 1025, False)])
def test_length_policy(password, accepted):
    from pulse.auth.passwords import hash_password
    from pulse.errors import ApiError

    if accepted:
        assert hash_password(password).startswith("$argon2id$")
    else:
        with pytest.raises(ApiError) as raised:
            hash_password(password)
        assert (raised.value.status, raised.value.code) == (422, "weak_password")


def test_login_upgrades_a_hash_made_with_older_parameters(gateway):
    user = add_user("dev@example.com", "member")
    older = PasswordHasher(time_cost=1, memory_cost=512, parallelism=1).hash(PASSWORD)
    with transaction() as connection:
        connection.execute(
            text("UPDATE users SET password_hash = :h WHERE id = :id"), {"h": older, "id": user.id}
        )

    assert login(gateway, user.email).status == 200

    with connect() as connection:
        stored = connection.execute(
            text("SELECT password_hash FROM users WHERE id = :id"), {"id": user.id}
        ).scalar()
    assert extract_parameters(stored).memory_cost == 1024  # the (test) hasher's current parameters
    assert login(gateway, user.email).status == 200
