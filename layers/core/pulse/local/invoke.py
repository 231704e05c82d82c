"""``pulse invoke <LogicalId> --event file.json``: what ``sam local invoke`` does, without Docker.

Any function of the template (HTTP, schedule, SQS ...) is called in-process with the event and a
Lambda context (its memory size and timeout from the template). The function's environment
variables whose values are literal in the template are set when the environment lacks them
(those made of ``!Ref`` and the like are not: locally ``DATABASE_URL`` / ``REDIS_URL`` rule).

stdout carries only the result, as JSON; the function's own output (logs, metrics) goes to
stderr. Exit codes: 0 success, 1 the handler raised (its error printed as Lambda reports it:
``errorMessage``, ``errorType``, ``stackTrace``), 2 unknown function or unreadable event.
"""

from __future__ import annotations

import contextlib
import json
import os
import sys
import traceback
from pathlib import Path
from typing import Any, TextIO

from pulse.local.events import LambdaContext
from pulse.local.template import load_handler, load_template


def _read_event(event_path: str) -> Any:
    if event_path == "-":
        return json.load(sys.stdin)
    return json.loads(Path(event_path).read_text())


def invoke(*, template: str | Path, logical_id: str, event_path: str, output: TextIO | None = None) -> int:
    """Invoke one function with the event in ``event_path`` ('-' for stdin); print its result."""
    out = output or sys.stdout
    loaded = load_template(template)
    function = loaded.functions.get(logical_id)
    if function is None:
        known = ", ".join(sorted(loaded.functions)) or "none"
        print(
            f"pulse invoke: no function {logical_id!r} in {loaded.path} (functions: {known})", file=sys.stderr
        )
        return 2
    try:
        event = _read_event(event_path)
    except (OSError, ValueError) as error:
        print(f"pulse invoke: cannot read the event {event_path!r}: {error}", file=sys.stderr)
        return 2
    for name, value in function.literal_environment().items():
        os.environ.setdefault(name, value)
    context = LambdaContext(
        function_name=logical_id, memory_limit_in_mb=function.memory_size, timeout_seconds=function.timeout
    )
    # Logs and metrics a handler prints must not mix with the result, as with sam local invoke;
    # the module is loaded inside too, so loggers created at import write to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        try:
            result = load_handler(function)(event, context)
        except Exception as error:
            failure = {
                "errorMessage": str(error),
                "errorType": type(error).__name__,
                "stackTrace": traceback.format_tb(error.__traceback__),
            }
            print(json.dumps(failure), file=out)
            return 1
    print(json.dumps(result, default=str), file=out)
    return 0
