"""Team scopes: which teams and repositories a caller may see, and what a filter selects.

Rules (issue "Authentication and authorization", metrics.md "Common"):
- admins and executives see every team; managers and members see their teams and all their
  descendants, and the repositories owned by those teams;
- a ``team`` filter selects that team and its sub-teams; a ``repository`` filter selects that
  repository; filters combine with AND;
- a key the caller may not see is a 403, an unknown key a 404;
- an unfiltered query is restricted to the caller's scope, so an org-wide figure never includes
  data the caller may not see.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import Connection, text

from pulse.auth.caller import Caller
from pulse.errors import ApiError

_SUBTREE = text(
    """
    WITH RECURSIVE subtree(id) AS (
        SELECT id FROM teams WHERE key = ANY(:keys)
        UNION
        SELECT t.id FROM teams t JOIN subtree s ON t.parent_id = s.id
    )
    SELECT id FROM subtree
    """
)


@dataclass(frozen=True)
class Scope:
    """What a query may read. ``None`` means unrestricted on that axis."""

    team_ids: tuple[int, ...] | None
    repository_ids: tuple[int, ...] | None
    team_keys: tuple[str, ...] = ()
    repository_keys: tuple[str, ...] = ()

    @property
    def restricted(self) -> bool:
        return self.repository_ids is not None


def team_subtree(connection: Connection, keys: Sequence[str]) -> set[int]:
    """Ids of the teams ``keys`` and all their descendants."""
    if not keys:
        return set()
    return {row.id for row in connection.execute(_SUBTREE, {"keys": list(keys)})}


def resolve_scope(
    connection: Connection,
    caller: Caller,
    team_keys: Sequence[str] = (),
    repository_keys: Sequence[str] = (),
) -> Scope:
    """The teams and repositories a query by ``caller`` with these filters may read."""
    visible = None if caller.sees_everything else team_subtree(connection, caller.teams)

    team_ids: set[int] | None = visible
    if team_keys:
        known: dict[str, int] = dict(
            connection.execute(
                text("SELECT key, id FROM teams WHERE key = ANY(:keys)"), {"keys": list(team_keys)}
            )
            .tuples()
            .all()
        )
        for key in team_keys:
            if key not in known:
                raise ApiError(404, "team_not_found", f"Unknown team '{key}'.")
            if visible is not None and known[key] not in visible:
                raise ApiError(403, "team_forbidden", f"You may not see team '{key}'.")
        team_ids = team_subtree(connection, team_keys)

    repository_filter: set[int] | None = None
    if repository_keys:
        rows = connection.execute(
            text("SELECT key, id, team_id FROM repositories WHERE key = ANY(:keys)"),
            {"keys": list(repository_keys)},
        ).all()
        known_repositories = {row.key: row for row in rows}
        for key in repository_keys:
            row = known_repositories.get(key)
            if row is None:
                raise ApiError(404, "repository_not_found", f"Unknown repository '{key}'.")
            if visible is not None and row.team_id not in visible:
                raise ApiError(403, "repository_forbidden", f"You may not see repository '{key}'.")
        repository_filter = {row.id for row in rows}

    if team_ids is None and repository_filter is None:
        return Scope(None, None, tuple(team_keys), tuple(repository_keys))

    repository_ids: set[int]
    if team_ids is None:
        repository_ids = set(repository_filter or ())
    else:
        owned = {
            row.id
            for row in connection.execute(
                text("SELECT id FROM repositories WHERE team_id = ANY(:ids)"), {"ids": sorted(team_ids)}
            )
        }
        repository_ids = owned if repository_filter is None else owned & repository_filter
    return Scope(
        tuple(sorted(team_ids)) if team_ids is not None else None,
        tuple(sorted(repository_ids)),
        tuple(team_keys),
        tuple(repository_keys),
    )
