"""User accounts: create, list, update, delete, and the lookup login needs.

Changing a user's role, teams or password, or deleting them, revokes every token issued to them
so far (their claims are stale): they sign in again, or refresh to get current claims.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from pulse.auth import revocation
from pulse.auth.passwords import hash_password
from pulse.auth.schemas import UserOut, UserUpdate
from pulse.errors import ApiError

_USER_COLUMNS = "id, email, role, created_at"


@dataclass(frozen=True)
class Credentials:
    """What login needs about an account."""

    id: int
    password_hash: str
    role: str


def _team_ids(connection: Connection, team_keys: Sequence[str]) -> list[int]:
    """Ids of ``team_keys``; 422 naming the unknown ones."""
    keys = sorted(set(team_keys))
    if not keys:
        return []
    rows = connection.execute(text("SELECT key, id FROM teams WHERE key = ANY(:keys)"), {"keys": keys})
    found: dict[str, int] = {row.key: row.id for row in rows}
    unknown = [key for key in keys if key not in found]
    if unknown:
        raise ApiError(422, "unknown_team", f"Unknown team(s): {', '.join(unknown)}.")
    return [found[key] for key in keys]


def teams_of(connection: Connection, user_ids: Sequence[int]) -> dict[int, list[str]]:
    """Team keys of each user, sorted."""
    teams: dict[int, list[str]] = {user_id: [] for user_id in user_ids}
    rows = connection.execute(
        text(
            "SELECT ut.user_id, t.key FROM user_teams ut JOIN teams t ON t.id = ut.team_id "
            "WHERE ut.user_id = ANY(:ids) ORDER BY t.key"
        ),
        {"ids": list(user_ids)},
    )
    for user_id, key in rows:
        teams[user_id].append(key)
    return teams


def _set_teams(connection: Connection, user_id: int, team_ids: list[int]) -> None:
    connection.execute(text("DELETE FROM user_teams WHERE user_id = :id"), {"id": user_id})
    if team_ids:
        connection.execute(
            text("INSERT INTO user_teams (user_id, team_id) SELECT :id, unnest(CAST(:teams AS integer[]))"),
            {"id": user_id, "teams": team_ids},
        )


def get(connection: Connection, *, user_id: int) -> UserOut | None:
    """One user, or None."""
    row = connection.execute(
        text(f"SELECT {_USER_COLUMNS} FROM users WHERE id = :id"), {"id": user_id}
    ).one_or_none()
    if row is None:
        return None
    return UserOut(**row._asdict(), teams=teams_of(connection, [row.id])[row.id])


def list_all(connection: Connection) -> list[UserOut]:
    """Every user, by email."""
    rows = connection.execute(text(f"SELECT {_USER_COLUMNS} FROM users ORDER BY email")).all()
    teams = teams_of(connection, [row.id for row in rows])
    return [UserOut(**row._asdict(), teams=teams[row.id]) for row in rows]


def exists(connection: Connection, *, email: str) -> bool:
    """Whether an account uses ``email`` (already normalized)."""
    return (
        connection.execute(text("SELECT 1 FROM users WHERE email = :email"), {"email": email}).first()
        is not None
    )


def create(
    connection: Connection, *, email: str, password: str, role: str, team_keys: Sequence[str] = ()
) -> UserOut:
    """Create a user (email normalized by the caller); 409 when the email is taken."""
    team_ids = _team_ids(connection, team_keys)
    password_hash = hash_password(password)
    user_id = connection.execute(
        text(
            "INSERT INTO users (email, password_hash, role) VALUES (:email, :hash, :role) "
            "ON CONFLICT (email) DO NOTHING RETURNING id"
        ),
        {"email": email, "hash": password_hash, "role": role},
    ).scalar()
    if user_id is None:
        raise ApiError(409, "email_taken", "A user with this email already exists.")
    _set_teams(connection, user_id, team_ids)
    user = get(connection, user_id=user_id)
    assert user is not None
    return user


def _keep_an_admin(connection: Connection, user_id: int) -> None:
    """409 when ``user_id`` is the last admin: nobody could manage users or keys any more."""
    admins = (
        connection.execute(text("SELECT id FROM users WHERE role = 'admin' ORDER BY id FOR UPDATE"))
        .scalars()
        .all()
    )
    if admins == [user_id]:
        raise ApiError(409, "last_admin", "The last admin cannot be removed or demoted.")


def update(connection: Connection, *, user_id: int, changes: UserUpdate) -> UserOut:
    """Apply the given fields; 404 unknown user, 409 email taken or last admin demoted."""
    current = get(connection, user_id=user_id)
    if current is None:
        raise ApiError(404, "user_not_found", f"No user {user_id}.")
    if changes.role is not None and changes.role != "admin" and current.role == "admin":
        _keep_an_admin(connection, user_id)
    if changes.email is not None and changes.email != current.email:
        if exists(connection, email=changes.email):
            raise ApiError(409, "email_taken", "A user with this email already exists.")
        connection.execute(
            text("UPDATE users SET email = :email WHERE id = :id"), {"email": changes.email, "id": user_id}
        )
    stale = False
    if changes.password is not None:
        connection.execute(
            text("UPDATE users SET password_hash = :hash WHERE id = :id"),
            {"hash": hash_password(changes.password), "id": user_id},
        )
        stale = True
    if changes.role is not None and changes.role != current.role:
        connection.execute(
            text("UPDATE users SET role = :role WHERE id = :id"), {"role": changes.role, "id": user_id}
        )
        stale = True
    if changes.teams is not None and sorted(set(changes.teams)) != current.teams:
        _set_teams(connection, user_id, _team_ids(connection, changes.teams))
        stale = True
    connection.execute(text("UPDATE users SET updated_at = now() WHERE id = :id"), {"id": user_id})
    if stale:
        revocation.revoke_user(user_id)
    updated = get(connection, user_id=user_id)
    assert updated is not None
    return updated


def delete(connection: Connection, *, user_id: int) -> None:
    """Delete a user and revoke their tokens; 404 unknown, 409 for the last admin."""
    role = connection.execute(text("SELECT role FROM users WHERE id = :id"), {"id": user_id}).scalar()
    if role is None:
        raise ApiError(404, "user_not_found", f"No user {user_id}.")
    if role == "admin":
        _keep_an_admin(connection, user_id)
    connection.execute(text("DELETE FROM users WHERE id = :id"), {"id": user_id})
    revocation.revoke_user(user_id)


def credentials(connection: Connection, *, email: str) -> Credentials | None:
    """The password hash and role of the account with ``email``, or None."""
    row = connection.execute(
        text("SELECT id, password_hash, role FROM users WHERE email = :email"), {"email": email}
    ).one_or_none()
    return None if row is None else Credentials(row.id, row.password_hash, row.role)


def set_password_hash(connection: Connection, *, user_id: int, password_hash: str) -> None:
    """Store a rehashed password (parameters upgraded at login)."""
    connection.execute(
        text("UPDATE users SET password_hash = :hash WHERE id = :id"), {"hash": password_hash, "id": user_id}
    )
