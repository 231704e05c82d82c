"""One cold start in the fresh process running this file: import a handler, invoke it once.

Usage: ``python bench/child.py CODE_DIR MODULE.ATTRIBUTE EVENT.json RESULT.json``. The code folder
goes first on ``sys.path`` as Lambda's task root does. The clock starts after the interpreter and
the event are ready, so what is timed is the function's own cost; the result (timings, status,
which heavy modules got imported) is written to RESULT.json, leaving stdout to the handler's logs.
"""

from __future__ import annotations

import importlib
import json
import sys
import time
from pathlib import Path
from typing import Any

WATCHED = ("pandas", "numpy", "boto3", "aws_xray_sdk.core", "alembic", "argon2")


class Context:
    """The Lambda context attributes handlers and Powertools read."""

    function_name = "cold-start"
    function_version = "$LATEST"
    memory_limit_in_mb = 1024
    aws_request_id = "00000000-0000-0000-0000-000000000000"
    invoked_function_arn = "arn:aws:lambda:us-east-1:123456789012:function:cold-start"
    log_group_name = "/aws/lambda/cold-start"
    log_stream_name = "cold-start"

    def get_remaining_time_in_millis(self) -> int:
        return 29_000


def main() -> None:
    code_dir, handler_name, event_path, result_path = sys.argv[1:5]
    event = json.loads(Path(event_path).read_text())
    module_name, _, attribute = handler_name.rpartition(".")
    sys.path.insert(0, code_dir)
    started, started_cpu = time.perf_counter(), time.process_time()
    handler = getattr(importlib.import_module(module_name), attribute)
    imported = time.perf_counter()
    try:
        response: Any = handler(event, Context())
        status = response.get("statusCode") if isinstance(response, dict) else None
    except Exception as error:
        # A function error still completes the cold start (Lambda reports it the same way).
        status = f"raised {type(error).__name__}"
    finished, finished_cpu = time.perf_counter(), time.process_time()
    result = {
        "import_ms": (imported - started) * 1000,
        "invoke_ms": (finished - imported) * 1000,
        "total_ms": (finished - started) * 1000,
        "cpu_ms": (finished_cpu - started_cpu) * 1000,
        "status": status,
        "modules": [name for name in WATCHED if name in sys.modules],
    }
    Path(result_path).write_text(json.dumps(result))


if __name__ == "__main__":
    main()
