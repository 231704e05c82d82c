"""Handlers that are not FastAPI apps (an SQS consumer, a $default catch-all, one that raises)."""

from __future__ import annotations

import json
import os
from typing import Any


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Report every SQS record whose body is not JSON as a batch item failure."""
    print("worker log line")  # a function's own output must not reach pulse invoke's stdout
    failures = []
    for record in event["Records"]:
        try:
            json.loads(record["body"])
        except ValueError:
            failures.append({"itemIdentifier": record["messageId"]})
    return {
        "batchItemFailures": failures,
        "function": context.function_name,
        "memory": context.memory_limit_in_mb,
        "environment": {name: os.environ.get(name) for name in ("SAMPLE_LITERAL", "SAMPLE_REF")},
    }


def fallback(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """A result without statusCode: API Gateway sends it as a 200 JSON body."""
    return {"routeKey": event["routeKey"], "path": event["rawPath"]}


def explode(event: dict[str, Any], context: Any) -> dict[str, Any]:
    """Always raises."""
    raise RuntimeError("the handler broke")
