"""Team scopes: who sees which teams and repositories, 403 vs 404, and the unfiltered query.

The organisation (parent → children):

    engineering ─┬─ payments ── payments-api
                 └─ search
    sales (a separate root)

Repositories: acme/checkout (payments), acme/pay-api (payments-api), acme/search (search),
acme/crm (sales), acme/orphan (no team).
"""

from __future__ import annotations

import pytest
from sqlalchemy import text

from pulse.auth.context import Caller
from pulse.auth.scope import resolve_scope
from pulse.db import connect, transaction
from pulse.errors import ApiError
from tests.auth.conftest import add_teams

REPOSITORIES = {
    "acme/checkout": "payments",
    "acme/pay-api": "payments-api",
    "acme/search": "search",
    "acme/crm": "sales",
    "acme/orphan": None,
}


@pytest.fixture
def org():
    add_teams(
        ("engineering", None),
        ("payments", "engineering"),
        ("payments-api", "payments"),
        ("search", "engineering"),
        ("sales", None),
    )
    with transaction() as connection:
        for key, team in REPOSITORIES.items():
            connection.execute(
                text(
                    "INSERT INTO repositories (key, team_id) VALUES (:k, (SELECT id FROM teams WHERE key = :t))"
                ),
                {"k": key, "t": team},
            )
        # One commit per repository: what an org-wide count would add up.
        connection.execute(
            text("INSERT INTO commits (repository_id, sha) SELECT id, 'c-' || key FROM repositories")
        )
        teams = dict(connection.execute(text("SELECT key, id FROM teams")).all())
        repositories = dict(connection.execute(text("SELECT key, id FROM repositories")).all())
    return teams, repositories


def _user(role, *teams):
    return Caller(subject="7", kind="user", role=role, teams=teams)


def _resolve(caller, teams=(), repositories=()):
    with connect() as connection:
        return resolve_scope(connection, caller, teams, repositories)


def _names(ids, by_name):
    by_id = {value: key for key, value in by_name.items()}
    return None if ids is None else sorted(by_id[i] for i in ids)


# caller → (teams seen, repositories seen) by an unfiltered query
UNFILTERED = {
    "admin": (_user("admin"), None, None),
    "executive": (_user("executive"), None, None),
    "manager of payments": (
        _user("manager", "payments"),
        ["payments", "payments-api"],
        ["acme/checkout", "acme/pay-api"],
    ),
    "member of payments-api": (_user("member", "payments-api"), ["payments-api"], ["acme/pay-api"]),
    "member of search": (_user("member", "search"), ["search"], ["acme/search"]),
    "manager of engineering": (
        _user("manager", "engineering"),
        ["engineering", "payments", "payments-api", "search"],
        ["acme/checkout", "acme/pay-api", "acme/search"],
    ),
    "member of two roots": (
        _user("member", "search", "sales"),
        ["sales", "search"],
        ["acme/crm", "acme/search"],
    ),
    "member of no team": (_user("member"), [], []),
}


@pytest.mark.parametrize("who", UNFILTERED)
def test_unfiltered_query_is_restricted_to_the_callers_teams_and_sub_teams(org, who):
    teams, repositories = org
    caller, expected_teams, expected_repositories = UNFILTERED[who]

    scope = _resolve(caller)

    assert _names(scope.team_ids, teams) == expected_teams
    assert _names(scope.repository_ids, repositories) == expected_repositories


def test_an_org_wide_count_never_includes_what_the_caller_may_not_see(org):
    # 5 commits in the org, one per repository; the manager of payments may see 2 of them.
    scope = _resolve(_user("manager", "payments"))

    with connect() as connection:
        counted = connection.execute(
            text("SELECT count(*) FROM commits WHERE repository_id = ANY(:ids)"),
            {"ids": list(scope.repository_ids)},
        ).scalar()

    assert counted == 2


# caller, team filter, repository filter → teams and repositories selected
ALLOWED = [
    (_user("manager", "payments"), ["payments-api"], [], ["payments-api"], ["acme/pay-api"]),
    (
        _user("manager", "payments"),
        ["payments"],
        [],
        ["payments", "payments-api"],
        ["acme/checkout", "acme/pay-api"],
    ),
    (_user("manager", "payments"), [], ["acme/checkout"], ["payments", "payments-api"], ["acme/checkout"]),
    # filters combine with AND: a repository outside the filtered team selects nothing
    (_user("manager", "payments"), ["payments-api"], ["acme/checkout"], ["payments-api"], []),
    (_user("admin"), ["payments"], [], ["payments", "payments-api"], ["acme/checkout", "acme/pay-api"]),
    (_user("executive"), [], ["acme/orphan"], None, ["acme/orphan"]),
    (_user("manager", "engineering"), ["search"], [], ["search"], ["acme/search"]),
]


@pytest.mark.parametrize(
    ("caller", "team_filter", "repository_filter", "expected_teams", "expected_repos"), ALLOWED
)
def test_filters_inside_the_scope(
    org, caller, team_filter, repository_filter, expected_teams, expected_repos
):
    teams, repositories = org

    scope = _resolve(caller, team_filter, repository_filter)

    assert _names(scope.team_ids, teams) == expected_teams
    assert _names(scope.repository_ids, repositories) == expected_repos


REFUSED = [
    (
        "member of payments-api asks for its parent",
        _user("member", "payments-api"),
        ["payments"],
        [],
        403,
        "team_forbidden",
    ),
    (
        "member of search asks for a sibling",
        _user("member", "search"),
        ["payments"],
        [],
        403,
        "team_forbidden",
    ),
    (
        "manager of payments asks for the root",
        _user("manager", "payments"),
        ["engineering"],
        [],
        403,
        "team_forbidden",
    ),
    (
        "member asks for another root's repository",
        _user("member", "search"),
        [],
        ["acme/crm"],
        403,
        "repository_forbidden",
    ),
    (
        "member asks for a repository without a team",
        _user("manager", "engineering"),
        [],
        ["acme/orphan"],
        403,
        "repository_forbidden",
    ),
    ("unknown team", _user("member", "search"), ["nope"], [], 404, "team_not_found"),
    ("unknown team, even for an admin", _user("admin"), ["nope"], [], 404, "team_not_found"),
    ("unknown repository", _user("member", "search"), [], ["acme/nope"], 404, "repository_not_found"),
]


@pytest.mark.parametrize(
    ("case", "caller", "team_filter", "repository_filter", "status", "code"),
    REFUSED,
    ids=[c[0] for c in REFUSED],
)
def test_filters_outside_the_scope_are_403_and_unknown_keys_404(
    org, case, caller, team_filter, repository_filter, status, code
):
    with pytest.raises(ApiError) as raised:
        _resolve(caller, team_filter, repository_filter)

    assert (raised.value.status, raised.value.code) == (status, code)


def test_a_team_named_in_a_token_but_deleted_since_grants_nothing(org):
    scope = _resolve(_user("member", "disbanded"))

    assert scope.team_ids == () and scope.repository_ids == ()
