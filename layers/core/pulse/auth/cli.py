"""``pulse users create``: bootstrap accounts (the first admin) from a terminal or a script."""

from __future__ import annotations

import getpass
import sys
from collections.abc import Sequence

from pulse import db
from pulse.auth import users
from pulse.auth.schemas import normalize_email
from pulse.errors import ApiError


def _read_password(password_stdin: bool) -> str | None:
    if password_stdin:
        # One line; the newline a pipe or heredoc adds is not part of the password.
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        first = getpass.getpass("Password: ")
        if getpass.getpass("Repeat password: ") != first:
            print("passwords differ", file=sys.stderr)
            return None
        return first
    print("no terminal: pass the password on stdin with --password-stdin", file=sys.stderr)
    return None


def create_user(
    email: str,
    role: str,
    teams: Sequence[str],
    password_stdin: bool,
    if_missing: bool,
    password: str | None = None,
) -> int:
    """Create a user; exit status 0 on success (or when present with ``if_missing``), else 1."""
    try:
        email = normalize_email(email)
    except ValueError:
        print(f"not an email address: {email}", file=sys.stderr)
        return 1
    with db.connect() as connection:
        present = users.exists(connection, email=email)
    if present:
        if if_missing:
            print(f"user {email} already exists", file=sys.stderr)
            return 0
        print(f"user {email} already exists", file=sys.stderr)
        return 1
    if password is None:
        password = _read_password(password_stdin)
        if password is None:
            return 1
    try:
        with db.transaction() as connection:
            user = users.create(connection, email=email, password=password, role=role, team_keys=teams)
    except ApiError as error:
        print(error.message, file=sys.stderr)
        return 1
    print(f"created {user.role} {user.email} (id {user.id})", file=sys.stderr)
    return 0


DEMO_ADMIN_EMAIL = "admin@pulse.local"
# Local demo only (`make run` against the embedded database); printed in the terminal.
DEMO_ADMIN_PASSWORD = "pulse-demo-admin"


def ensure_demo_admin() -> None:
    """Create the demo admin when missing and print how to sign in (``make run``)."""
    status = create_user(
        email=DEMO_ADMIN_EMAIL,
        role="admin",
        teams=(),
        password_stdin=False,
        if_missing=True,
        password=DEMO_ADMIN_PASSWORD,
    )
    if status == 0:
        print(
            f"demo admin: {DEMO_ADMIN_EMAIL} / {DEMO_ADMIN_PASSWORD} "
            "(POST /api/v1/auth/login; unchanged unless you changed it)",
            file=sys.stderr,
        )
