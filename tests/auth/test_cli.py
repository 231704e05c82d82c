"""``pulse users create`` and the demo admin of ``make run``."""

from __future__ import annotations

import io

from sqlalchemy import text

from pulse.cli import main
from pulse.db import connect
from tests.auth.conftest import add_teams, login


def _run(monkeypatch, *args, stdin="a long enough password\n"):
    monkeypatch.setattr("sys.stdin", io.StringIO(stdin))
    return main(["users", "create", *args])


def _stored(email):
    with connect() as connection:
        return connection.execute(
            text(
                "SELECT u.role, array_remove(array_agg(t.key ORDER BY t.key), NULL) AS teams FROM users u "
                "LEFT JOIN user_teams ut ON ut.user_id = u.id LEFT JOIN teams t ON t.id = ut.team_id "
                "WHERE u.email = :e GROUP BY u.role"
            ),
            {"e": email},
        ).one_or_none()


def test_create_a_user_with_teams_from_stdin_then_sign_in(gateway, monkeypatch):
    add_teams(("payments", None), ("search", None))

    status = _run(
        monkeypatch, "--email", "Lead@Example.com", "--role", "manager", "--team", "payments", "--team", "search",
        "--password-stdin",
    )  # fmt: skip

    assert status == 0
    assert tuple(_stored("lead@example.com")) == ("manager", ["payments", "search"])
    # The trailing newline of stdin is not part of the password.
    assert login(gateway, "lead@example.com", "a long enough password").status == 200


def test_an_existing_email_fails_unless_if_missing(monkeypatch):
    assert _run(monkeypatch, "--email", "a@example.com", "--role", "admin", "--password-stdin") == 0

    again = _run(monkeypatch, "--email", "a@example.com", "--role", "member", "--password-stdin")
    if_missing = _run(
        monkeypatch, "--email", "a@example.com", "--role", "member", "--password-stdin", "--if-missing"
    )

    assert (again, if_missing) == (1, 0)
    assert _stored("a@example.com").role == "admin"  # untouched


def test_a_short_password_or_an_unknown_team_creates_nothing(monkeypatch, capsys):
    short = _run(
        monkeypatch, "--email", "a@example.com", "--role", "admin", "--password-stdin", stdin="short\n"
    )
    unknown_team = _run(
        monkeypatch, "--email", "b@example.com", "--role", "member", "--team", "nope", "--password-stdin"
    )

    assert (short, unknown_team) == (1, 1)
    assert _stored("a@example.com") is None and _stored("b@example.com") is None
    assert "at least 12 characters" in capsys.readouterr().err


def test_the_demo_admin_is_created_once(gateway, capsys):
    from pulse.auth.cli import DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD, ensure_demo_admin

    ensure_demo_admin()
    ensure_demo_admin()

    with connect() as connection:
        count = connection.execute(
            text("SELECT count(*) FROM users WHERE email = :e"), {"e": DEMO_ADMIN_EMAIL}
        ).scalar()
    assert count == 1
    assert DEMO_ADMIN_PASSWORD in capsys.readouterr().err
    assert login(gateway, DEMO_ADMIN_EMAIL, DEMO_ADMIN_PASSWORD).status == 200
