"""``make run``: embedded services, migrations, demo data once, the demo admin, then serve."""

from __future__ import annotations

import argparse
import sys

from pulse.local.services import ensure_services


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=3000)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--template", default="template.yaml")
    args = parser.parse_args(argv)

    for name, url in ensure_services().items():
        print(f"embedded {name}: {url}", file=sys.stderr)

    from pulse import migrate

    migrate.upgrade()

    from pulse.demo.cli import seed_demo

    # Once: a database that already holds repositories (an earlier run, real data) is left alone.
    seed_demo(scale="small", seed=42, if_empty=True, stdout=sys.stderr)

    from pulse.auth.cli import ensure_demo_admin

    ensure_demo_admin()

    from pulse.local.server import serve

    print(f"Pulse is serving http://{args.host}:{args.port} (API docs at /docs)", file=sys.stderr)
    serve(template=args.template, host=args.host, port=args.port)
    return 0


if __name__ == "__main__":
    sys.exit(main())
