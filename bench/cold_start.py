"""Cold start of every function in template.yaml against a bare FastAPI + Mangum handler.

Run: ``make bench-cold-start`` (or ``python -m bench.cold_start [--runs 10] [--max-ratio 2.0]``).

For each function with an event file, and for the baseline (``bench/baseline``), a fresh Python
process imports the handler module and invokes it once with the event (``bench/child.py``);
this is repeated ``--runs`` times, interleaving the targets so machine load hits all alike, and
the median is reported with its ratio to the baseline's. Event files: ``events/<group>.json``
where ``<group>`` is the function's code folder (``functions/<group>``), else the first
``events/<group>_*.json`` in name order; functions with neither are listed as skipped.
Code and layers are laid out and compiled to bytecode as ``make sam-build`` ships them
(``bench/lambda_paths.py``), and children write no bytecode, like Lambda's read-only code.

Exit status 1 when a ratio exceeds ``--max-ratio``, when a child fails, or when a function
imports pandas at cold start without using the analytics layer (its own ``Layers`` name a
resource whose logical id contains ``Analytics``), since only trend and forecast routes may.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from collections.abc import Set
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BENCH = Path(__file__).resolve().parent
BASELINE = "baseline"
TRACE_HEADER = "Root=1-5759e988-bd862e3fe1be46a994272793;Parent=53995c3f42cd8ad8;Sampled=1"


@dataclass
class Target:
    name: str
    code_dir: Path
    handler: str
    event: Path
    environment: dict[str, str] = field(default_factory=dict)
    pandas_allowed: bool = False
    # After the code folder: the layers and the runtime's packages (bench/lambda_paths.py).
    paths: list[Path] = field(default_factory=list)
    runs: list[dict[str, Any]] = field(default_factory=list)

    def median(self, key: str) -> float:
        return statistics.median(run[key] for run in self.runs)


def event_for(group: str, events_dir: Path, groups: Set[str] = frozenset()) -> Path | None:
    """The event file of a function's code folder ``group`` (see the module docstring).

    A file named after another group is that group's (``etl_events.json`` is not ``etl``'s).
    """
    exact = events_dir / f"{group}.json"
    if exact.exists():
        return exact
    candidates = sorted(p for p in events_dir.glob(f"{group}_*.json") if p.stem not in groups)
    return candidates[0] if candidates else None


def _uses_analytics_layer(layers: list[Any]) -> bool:
    return "analytics" in json.dumps(layers).lower()


def targets_of(template: Path, events_dir: Path) -> tuple[list[Target], list[str]]:
    """The baseline and every function with an event file; and the names of those without."""
    from bench.lambda_paths import compiled_copy, lambda_paths
    from pulse.local.template import load_template

    loaded = load_template(template)
    functions = loaded.functions
    # The baseline gets what every function gets (the core layer holds FastAPI and Mangum).
    baseline_code = compiled_copy(BENCH / "baseline", BASELINE)
    baseline = Target(BASELINE, baseline_code, "app.handler", BENCH / "baseline" / "event.json")
    baseline.paths = lambda_paths(loaded)
    targets = [baseline]
    skipped = []
    groups = {function.code_uri.name for function in functions.values()}
    for logical_id, function in sorted(functions.items()):
        event = event_for(function.code_uri.name, events_dir, groups)
        if event is None:
            skipped.append(logical_id)
            continue
        targets.append(
            Target(
                logical_id,
                compiled_copy(function.code_uri, logical_id),
                function.handler,
                event,
                function.literal_environment(),
                _uses_analytics_layer(function.layers),
                lambda_paths(loaded, function),
            )
        )
    return targets, skipped


def run_once(target: Target, environment: dict[str, str]) -> dict[str, Any]:
    """One fresh process: import and first invocation of ``target``; its measurements."""
    with tempfile.NamedTemporaryFile(suffix=".json") as result:
        completed = subprocess.run(
            [
                sys.executable,
                "-S",  # no site-packages: only what Lambda would have, from PYTHONPATH
                "-P",  # nor bench/ (the script's folder)
                str(BENCH / "child.py"),
                str(target.code_dir),
                target.handler,
                str(target.event),
                result.name,
            ],
            env={
                **target.environment,
                **environment,
                "PYTHONPATH": os.pathsep.join(map(str, target.paths)),
                # Lambda's code and layers are read-only: nothing compiled is kept
                "PYTHONDONTWRITEBYTECODE": "1",
            },
            cwd=ROOT,
            capture_output=True,
            text=True,
            check=False,
        )
        if completed.returncode != 0:
            raise RuntimeError(f"{target.name} failed:\n{completed.stderr[-3000:]}")
        measured: dict[str, Any] = json.loads(Path(result.name).read_text())
        return measured


def render(
    targets: list[Target], skipped: list[str], runs: int, max_ratio: float, clock: str
) -> tuple[str, bool]:
    """The report table, and whether every target met the budget (judged on ``clock``)."""
    judged = "total_ms" if clock == "wall" else "cpu_ms"
    baseline, baseline_cpu = targets[0].median("total_ms"), targets[0].median("cpu_ms")
    lines = [
        f"Cold start = import + first invocation in a fresh process; medians of {runs} runs, ms.",
        "ratio = wall time / baseline's; cpu = the same for the process's CPU time (steadier under load).",
        f"{'target':<21} {'event':<33}{'wall':>6}{'import':>7}{'invoke':>7}{'cpu':>6}"
        f"{'ratio':>7}{'cpu':>6}  {'status':<10} imports",
    ]
    ok = True
    for target in targets:
        ratio = target.median("total_ms") / baseline
        cpu_ratio = target.median("cpu_ms") / baseline_cpu
        modules = sorted({name for run in target.runs for name in run["modules"]})
        verdict = ""
        if target.name != BASELINE and (ratio if judged == "total_ms" else cpu_ratio) > max_ratio:
            ok, verdict = False, f"  OVER {max_ratio:.1f}x"
        if "pandas" in modules and not target.pandas_allowed:
            ok, verdict = False, verdict + "  IMPORTS PANDAS"
        statuses = ",".join(sorted({str(run["status"]) for run in target.runs}))
        lines.append(
            f"{target.name:<21} {target.event.relative_to(ROOT)!s:<33}{target.median('total_ms'):>6.0f}"
            f"{target.median('import_ms'):>7.0f}{target.median('invoke_ms'):>7.0f}{target.median('cpu_ms'):>6.0f}"
            f"{ratio:>6.2f}x{cpu_ratio:>5.2f}x  {statuses:<10} {', '.join(modules) or '-'}{verdict}"
        )
    lines.append(f"pandas imported by a function at cold start: {_pandas_summary(targets)}")
    for name in skipped:
        lines.append(f"{name}: no event file, skipped")
    verdict = "met" if ok else "NOT met"
    lines.append(f"budget: every function at most {max_ratio:.1f}x the baseline ({clock} time): {verdict}")
    return "\n".join(lines), ok


def _pandas_summary(targets: list[Target]) -> str:
    names = [t.name for t in targets[1:] if any("pandas" in run["modules"] for run in t.runs)]
    return ", ".join(names) if names else "none"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--runs", type=int, default=10)
    parser.add_argument("--max-ratio", type=float, default=2.0)
    parser.add_argument(
        "--clock", choices=["wall", "cpu"], default="wall", help="which time the budget judges (default wall)"
    )
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--events", type=Path, default=ROOT / "events")
    parser.add_argument("--only", action="append", default=[], help="a function's logical id (repeatable)")
    parser.add_argument(
        "--traced",
        action="store_true",
        help="trace with X-Ray as in Lambda with Tracing: Active (to no daemon)",
    )
    args = parser.parse_args(argv)

    from pulse.local.services import ensure_services

    ensure_services()
    from pulse import migrate

    migrate.upgrade()
    from pulse.auth.cli import ensure_demo_admin

    # The login event's account: Auth is measured on a successful login (argon2id verification
    # and tokens), whatever the database held; without it, each run would verify a dummy hash and
    # the sixth would be rate-limited (429) before verifying anything.
    ensure_demo_admin()
    # Every child gets this environment (the dev services ensure_services put in it) plus its
    # function's literal template variables; tracing stays off, as Powertools does outside Lambda,
    # unless --traced: then the child looks like Lambda to Powertools and carries a trace header
    # (segments go to the default daemon address, where nothing listens).
    environment = dict(os.environ)
    if args.traced:
        environment.pop("POWERTOOLS_TRACE_DISABLED", None)
        environment["LAMBDA_TASK_ROOT"] = "/var/task"
        environment["_X_AMZN_TRACE_ID"] = TRACE_HEADER
    targets, skipped = targets_of(args.template, args.events)
    if args.only:
        targets = [targets[0], *(t for t in targets[1:] if t.name in args.only)]
    try:
        for target in targets:  # warm-up: fill the page cache, untimed
            run_once(target, environment)
        for _ in range(args.runs):
            for target in targets:
                target.runs.append(run_once(target, environment))
    except RuntimeError as error:
        print(error, file=sys.stderr)
        return 1
    report, ok = render(targets, skipped, args.runs, args.max_ratio, args.clock)
    print(report)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
