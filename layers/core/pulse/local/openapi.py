"""The merged OpenAPI document of every route group in template.yaml (served by ``docs``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

from pulse.config import VERSION
from pulse.local.template import load_module, load_template

DOCS_FUNCTION = "DocsFunction"


def merged_openapi(template: str | Path = "template.yaml") -> dict[str, Any]:
    """One OpenAPI 3.1 document with the paths and schemas of every function's FastAPI app."""
    loaded = load_template(template)
    paths: dict[str, Any] = {}
    schemas: dict[str, Any] = {}
    tags: list[dict[str, str]] = []
    for logical_id, function in sorted(loaded.functions.items()):
        if logical_id == DOCS_FUNCTION or not function.routes:
            continue
        module_name = function.handler.rpartition(".")[0]
        app = getattr(load_module(function.code_uri, module_name), "app", None)
        if app is None:
            continue
        document = app.openapi()
        for path, operations in document.get("paths", {}).items():
            paths.setdefault(path, {}).update(operations)
        for name, schema in document.get("components", {}).get("schemas", {}).items():
            if name in schemas and schemas[name] != schema:
                raise ValueError(f"schema {name!r} of {logical_id} clashes with another route group's")
            schemas[name] = schema
        tags.append({"name": logical_id.removesuffix("Function").lower(), "description": app.title})
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "Pulse API",
            "version": VERSION,
            "description": "Engineering analytics: DORA metrics, pull-request flow, portfolio and "
            'executive dashboards. Every error is `{"error": {"code", "message", "request_id"}}`.',
        },
        "paths": dict(sorted(paths.items())),
        "components": {
            "schemas": dict(sorted(schemas.items())),
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}},
        },
        "security": [{"bearer": []}],
    }


def write_merged_openapi(template: str | Path, output: str | Path, check: bool = False) -> int:
    """Write (or with ``check``, verify) the merged document; return an exit code."""
    rendered = json.dumps(merged_openapi(template), indent=1, sort_keys=True) + "\n"
    target = Path(output)
    if check:
        if not target.exists() or target.read_text() != rendered:
            print(f"{target} is out of date: run `pulse openapi`", file=sys.stderr)
            return 1
        return 0
    target.write_text(rendered)
    print(f"wrote {target}", file=sys.stderr)
    return 0
