"""API keys for machines (ingest clients, the ETL service): ``pulse_{id}_{secret}``.

The public ``id`` finds the row; only SHA-256 of the 32-byte random secret is stored. A fast hash
is enough here, unlike for passwords: the secret has 256 bits of entropy, so there is nothing to
guess. A key opens only the routes of its scopes (``require_scope``); it reads no analytics.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from pulse.auth import revocation
from pulse.auth.schemas import ApiKeyCreated, ApiKeyOut
from pulse.errors import ApiError

PREFIX = "pulse_"
SCOPES = ("ingest", "etl")


@dataclass(frozen=True)
class VerifiedKey:
    id: str
    name: str
    scopes: tuple[str, ...]


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode()).hexdigest()


def looks_like_key(credential: str) -> bool:
    """Whether a bearer credential is an API key rather than a JWT."""
    return credential.startswith(PREFIX)


def create(
    connection: Connection, *, name: str, scopes: Sequence[str], created_by: int | None
) -> ApiKeyCreated:
    """Create a key; the returned ``key`` is the only time the secret is seen."""
    key_id = secrets.token_hex(8)
    secret = secrets.token_urlsafe(32)
    row = connection.execute(
        text(
            "INSERT INTO api_keys (id, name, key_hash, scopes, created_by) "
            "VALUES (:id, :name, :hash, :scopes, :created_by) RETURNING created_at"
        ),
        {
            "id": key_id,
            "name": name,
            "hash": _digest(secret),
            "scopes": sorted(set(scopes)),
            "created_by": created_by,
        },
    ).one()
    return ApiKeyCreated(
        id=key_id,
        name=name,
        scopes=sorted(set(scopes)),  # type: ignore[arg-type]  # validated by ApiKeyCreate
        created_at=row.created_at,
        created_by=created_by,
        key=f"{PREFIX}{key_id}_{secret}",
    )


def list_all(connection: Connection) -> list[ApiKeyOut]:
    """Every key without its secret, newest first."""
    rows = connection.execute(
        text("SELECT id, name, scopes, created_at, created_by FROM api_keys ORDER BY created_at DESC, id")
    ).all()
    return [ApiKeyOut(**row._asdict()) for row in rows]


def delete(connection: Connection, *, key_id: str) -> None:
    """Delete a key and stop it at once; 404 when unknown."""
    deleted = connection.execute(
        text("DELETE FROM api_keys WHERE id = :id RETURNING id"), {"id": key_id}
    ).scalar()
    if deleted is None:
        raise ApiError(404, "api_key_not_found", f"No API key '{key_id}'.")
    revocation.revoke_api_key(key_id)


def verify(connection: Connection, *, credential: str) -> VerifiedKey | None:
    """The key ``credential`` presents, or None when it is malformed, unknown or wrong."""
    if not looks_like_key(credential):
        return None
    key_id, separator, secret = credential[len(PREFIX) :].partition("_")
    if not separator or not key_id or not secret or len(key_id) > 64:
        return None
    row = connection.execute(
        text("SELECT id, name, key_hash, scopes FROM api_keys WHERE id = :id"), {"id": key_id}
    ).one_or_none()
    if row is None or not hmac.compare_digest(row.key_hash, _digest(secret)):
        return None
    return VerifiedKey(row.id, row.name, tuple(row.scopes))
