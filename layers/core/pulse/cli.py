"""The ``pulse`` command: local runtime, migrations, import, demo data and bootstrapping.

Each subcommand imports what it needs when it runs, so ``pulse --help`` stays instant.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable, Sequence

Command = Callable[[argparse.Namespace], int]


def _with_services(args: argparse.Namespace) -> None:
    """Start embedded PostgreSQL/Redis when no DATABASE_URL/REDIS_URL is configured."""
    import os

    from pulse.local.services import ensure_services

    # Bulk loads and migrations run statements far longer than a request's budget.
    if args.command != "serve":
        os.environ.setdefault("DB_SOCKET_TIMEOUT_SECONDS", "0")

    for name, url in ensure_services().items():
        print(f"embedded {name}={url}", file=sys.stderr)


def cmd_serve(args: argparse.Namespace) -> int:
    _with_services(args)
    from pulse.local.server import serve

    parameters = dict(item.split("=", 1) for item in args.parameter_overrides)
    serve(template=args.template, host=args.host, port=args.port, parameters=parameters)
    return 0


def cmd_invoke(args: argparse.Namespace) -> int:
    _with_services(args)
    from pulse.local.invoke import invoke

    return invoke(template=args.template, logical_id=args.logical_id, event_path=args.event)


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    _with_services(args)
    from pulse import migrate

    migrate.upgrade(revision=args.revision)
    print(f"database upgraded to {args.revision}", file=sys.stderr)
    return 0


def cmd_import(args: argparse.Namespace) -> int:
    _with_services(args)
    from pulse.ingest.cli import import_files

    return import_files(args.files)


def cmd_seed_demo(args: argparse.Namespace) -> int:
    _with_services(args)
    from pulse.demo.cli import seed_demo

    return seed_demo(scale=args.scale, seed=args.seed, if_empty=args.if_empty)


def cmd_users_create(args: argparse.Namespace) -> int:
    _with_services(args)
    from pulse.auth.cli import create_user

    return create_user(
        email=args.email,
        role=args.role,
        teams=args.team,
        password_stdin=args.password_stdin,
        if_missing=args.if_missing,
    )


def cmd_openapi(args: argparse.Namespace) -> int:
    from pulse.local.openapi import write_merged_openapi

    return write_merged_openapi(template=args.template, output=args.output, check=args.check)


def _key_value(text: str) -> str:
    if "=" not in text:
        raise argparse.ArgumentTypeError(f"expected KEY=VALUE, got {text!r}")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="pulse", description=__doc__)
    parser.add_argument("--template", default="template.yaml", help="SAM template (default: template.yaml)")
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="serve the API locally like API Gateway, without Docker")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=3000)
    serve.add_argument(
        "--parameter-overrides",
        nargs="*",
        default=[],
        type=_key_value,
        metavar="KEY=VALUE",
        help="template parameters, as sam deploy takes them (e.g. CorsOrigins=http://localhost:3001)",
    )
    serve.set_defaults(run=cmd_serve)

    invoke = commands.add_parser("invoke", help="invoke one function with an event, like sam local invoke")
    invoke.add_argument("logical_id", help="the function's logical id in template.yaml")
    invoke.add_argument("--event", "-e", required=True, help="path to the event JSON")
    invoke.set_defaults(run=cmd_invoke)

    database = commands.add_parser("db", help="database schema").add_subparsers(
        dest="db_command", required=True
    )
    upgrade = database.add_parser("upgrade", help="run migrations")
    upgrade.add_argument("revision", nargs="?", default="head")
    upgrade.set_defaults(run=cmd_db_upgrade)

    load = commands.add_parser("import", help="load NDJSON ingest files ('-' for stdin)")
    load.add_argument("files", nargs="+")
    load.set_defaults(run=cmd_import)

    seed = commands.add_parser("seed-demo", help="generate and load a demo organisation")
    seed.add_argument("--scale", choices=["small", "large"], default="small")
    seed.add_argument("--seed", type=int, default=42)
    seed.add_argument("--if-empty", action="store_true", help="only when the database holds no data yet")
    seed.set_defaults(run=cmd_seed_demo)

    users = commands.add_parser("users", help="user accounts").add_subparsers(
        dest="users_command", required=True
    )
    create = users.add_parser("create", help="create a user (bootstrap an admin)")
    create.add_argument("--email", required=True)
    create.add_argument("--role", required=True, choices=["admin", "executive", "manager", "member"])
    create.add_argument("--team", action="append", default=[], help="team key (repeatable)")
    create.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    create.add_argument("--if-missing", action="store_true", help="do nothing when the email exists")
    create.set_defaults(run=cmd_users_create)

    openapi = commands.add_parser("openapi", help="write the merged OpenAPI document of every function")
    openapi.add_argument("--output", default="functions/docs/openapi.json")
    openapi.add_argument("--check", action="store_true", help="fail when the file is out of date")
    openapi.set_defaults(run=cmd_openapi)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    run: Command = args.run
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
