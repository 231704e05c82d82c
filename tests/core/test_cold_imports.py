"""What a cold start imports: nothing a request does not need (see bench/cold_start.py)."""

from __future__ import annotations

import ast
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pulse.observability import tracing_enabled

ROOT = Path(__file__).resolve().parents[2]
HEAVY = ("pandas", "numpy", "boto3", "aws_xray_sdk.core", "alembic", "argon2")

PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
import app
print(json.dumps([name for name in json.loads(sys.argv[2]) if name in sys.modules]))
"""


@pytest.mark.parametrize("group", ["health", "docs"])
def test_function_import_loads_no_heavy_module(group):
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LAMBDA_", "POWERTOOLS_TRACE"))}
    completed = subprocess.run(
        [sys.executable, "-c", PROBE, str(ROOT / "functions" / group), json.dumps(HEAVY)],
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    )

    assert json.loads(completed.stdout.splitlines()[-1]) == []


@pytest.mark.parametrize(
    ("environ", "enabled"),
    [
        ({"LAMBDA_TASK_ROOT": "/var/task"}, True),
        ({"LAMBDA_TASK_ROOT": "/var/task", "POWERTOOLS_TRACE_DISABLED": "true"}, False),
        ({"LAMBDA_TASK_ROOT": "/var/task", "AWS_SAM_LOCAL": "true"}, False),
        ({}, False),
    ],
)
def test_tracing_is_on_in_lambda_only(environ, enabled):
    assert tracing_enabled(environ) is enabled


TRACED_PROBE = """
import json, sys
from pulse import observability
patched = lambda: sorted(m.split(".")[2] for m in sys.modules if m.startswith("aws_xray_sdk.ext.") and m.endswith(".patch"))
at_start = patched()
observability.aws_client("s3", region_name="us-east-1")
print(json.dumps([at_start, patched()]))
"""


def test_in_lambda_xray_patches_what_requests_use_and_botocore_with_the_first_aws_client():
    # Powertools' default would patch every supported library installed (SQLAlchemy and botocore
    # included: 141-185 ms of cold start); pg8000 and httplib are what request paths call.
    probe = subprocess.run(
        [sys.executable, "-c", TRACED_PROBE],
        env={
            **{name: value for name, value in os.environ.items() if name != "POWERTOOLS_TRACE_DISABLED"},
            "LAMBDA_TASK_ROOT": "/var/task",
            "AWS_DEFAULT_REGION": "us-east-1",
        },
        capture_output=True,
        text=True,
        check=True,
    )
    at_start, after_client = json.loads(probe.stdout.strip().splitlines()[-1])

    assert at_start == ["httplib", "pg8000"]
    assert after_client == ["botocore", "httplib", "pg8000"]


FUNCTIONS = sorted(path.parent.name for path in (ROOT / "functions").glob("*/app.py"))


def _statements(group: str) -> list[ast.stmt]:
    module = ast.parse((ROOT / "functions" / group / "app.py").read_text())
    return [
        node
        for node in module.body
        if not (isinstance(node, ast.Expr) and isinstance(node.value, ast.Constant))  # the docstring
        and not (isinstance(node, ast.ImportFrom) and node.module == "__future__")
    ]


@pytest.mark.parametrize("group", FUNCTIONS)
def test_function_initialises_between_coldstart_and_settle(group):
    """The collector is paused before a function's first import and resumed after its last line."""
    statements = _statements(group)

    assert ast.unparse(statements[0]) == "import pulse.coldstart"
    assert ast.unparse(statements[-1]) == "pulse.coldstart.settle()"


GC_PROBE = """
import gc, json, sys
import pulse.coldstart
paused = not gc.isenabled()
pulse.coldstart.settle()
print(json.dumps({"paused": paused, "enabled": gc.isenabled(), "frozen": gc.get_freeze_count()}))
"""


def test_coldstart_pauses_the_collector_until_settle():
    completed = subprocess.run(
        [sys.executable, "-c", GC_PROBE], capture_output=True, text=True, check=True, env=dict(os.environ)
    )
    state = json.loads(completed.stdout.splitlines()[-1])

    assert state["paused"] is True
    assert state["enabled"] is True
    # What the import allocated is frozen: later collections never scan it again.
    assert state["frozen"] > 1000


@pytest.fixture
def bench_cache(monkeypatch, tmp_path):
    """The bench's layer folders under ``tmp_path``; pip installs recorded, not run."""
    from bench import lambda_paths

    installed = []

    def install(name, requirements, *, no_deps=False):
        installed.append((name, no_deps))
        return tmp_path / name

    monkeypatch.setattr(lambda_paths, "_install", install)
    monkeypatch.setattr(lambda_paths, "CACHE", tmp_path)
    lambda_paths.compiled_copy.cache_clear()
    yield installed
    lambda_paths.compiled_copy.cache_clear()


def test_the_bench_gives_each_function_its_layers_and_the_runtime(bench_cache, tmp_path):
    # Lambda's path: the Globals layer, the function's own layers, then the runtime's boto3.
    from bench import lambda_paths
    from pulse.local.template import load_template

    template = load_template(ROOT / "template.yaml")

    paths = lambda_paths.lambda_paths(template, template.functions["ExecutiveFunction"])

    assert paths == [
        tmp_path / "CoreLayer" / "python",
        tmp_path / "code" / "CoreLayer",
        tmp_path / "AnalyticsLayer" / "python",
        tmp_path / "code" / "AnalyticsLayer",
        tmp_path / "PandasLayer" / "python",
        tmp_path / "code" / "PandasLayer",
        tmp_path / "runtime" / "python",
    ]
    # The pandas layer's Makefile installs without dependencies (numpy is the analytics layer's).
    assert bench_cache == [
        ("CoreLayer", False),
        ("AnalyticsLayer", False),
        ("PandasLayer", True),
        ("runtime", False),
    ]


def test_the_bench_baseline_gets_the_globals_layers_and_the_runtime(bench_cache, tmp_path):
    from bench import lambda_paths
    from pulse.local.template import load_template

    paths = lambda_paths.lambda_paths(load_template(ROOT / "template.yaml"))

    assert paths == [
        tmp_path / "CoreLayer" / "python",
        tmp_path / "code" / "CoreLayer",
        tmp_path / "runtime" / "python",
    ]


def test_the_bench_runs_our_code_from_bytecode_as_the_build_ships_it(bench_cache, tmp_path):
    # make sam-build compiles the artifacts (pulse.local.artifacts); a bench that compiled our
    # modules at every cold start measured 25-39 ms more per function than Lambda would spend.
    from bench import lambda_paths

    code = lambda_paths.compiled_copy(ROOT / "functions" / "health", "HealthFunction")
    layer = lambda_paths.compiled_copy(ROOT / "layers" / "core", "CoreLayer")

    tag = sys.implementation.cache_tag
    assert (code / "__pycache__" / f"app.{tag}.pyc").is_file()
    assert (layer / "pulse" / "metrics" / "__pycache__" / f"dora.{tag}.pyc").is_file()
    assert (layer / "pulse" / "metrics" / "dora.py").read_bytes() == (
        ROOT / "layers" / "core" / "pulse" / "metrics" / "dora.py"
    ).read_bytes()
