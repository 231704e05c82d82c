"""The import path a function has in Lambda, rebuilt locally for the cold-start bench.

In Lambda a function sees its code (``/var/task``), its layers (``/opt/python``: the core layer
from Globals plus its own ``Layers``) and the runtime's boto3 (``/var/runtime``), nothing else.
The development venv holds more (moto's ``cryptography``, test tools), and some libraries import
an optional dependency when it is there (PyJWT loads ``cryptography``, ~40 ms), so measuring
with the venv's ``site-packages`` would time modules a deployed function never loads, and would
hide an import the layer cannot satisfy.

Each layer is installed once, like ``sam build`` does, into ``.pulse/lambda-layers/`` (a folder
per layer and requirements hash, rebuilt when the requirements change): ``BuildMethod:
python3.11`` installs ``requirements.txt`` with its dependencies beside the layer's own
packages; ``makefile`` (the pandas layer) installs it without dependencies, as its Makefile does.
The layers' own packages and the functions' code are copied afresh for each bench run (under
``.pulse/lambda-layers/code/``). Everything is compiled to bytecode as ``make sam-build`` does
(``pulse.local.artifacts``), since a deployed function cannot write ``.pyc`` files either.
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path

from pulse.local.artifacts import compile_tree
from pulse.local.template import Function, Template

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".pulse" / "lambda-layers"
# What the python3.11 runtime ships beside the function (boto3 and botocore).
RUNTIME_REQUIREMENTS = "boto3\n"


def _install(name: str, requirements: str, *, no_deps: bool = False) -> Path:
    """A folder holding ``requirements`` installed with pip, built once per content."""
    # "unchecked-hash": folders installed before the bench compiled them are rebuilt
    key = f"{sys.version}\n{no_deps}\nunchecked-hash\n{requirements}"
    digest = hashlib.sha256(key.encode()).hexdigest()[:12]
    target = CACHE / f"{name}-{digest}"
    if target.is_dir():
        return target
    print(f"installing the {name} layer for the cold-start bench into {target} (once)...", file=sys.stderr)
    building = target.with_name(target.name + ".building")
    shutil.rmtree(building, ignore_errors=True)
    building.mkdir(parents=True)
    requirements_file = building / "requirements.txt"
    requirements_file.write_text(requirements)
    command = [sys.executable, "-m", "pip", "install", "--quiet", "--disable-pip-version-check"]
    command += ["--target", str(building / "python"), "-r", str(requirements_file)]
    if no_deps:
        command.append("--no-deps")
    subprocess.run(command, check=True)
    compile_tree(building / "python")
    building.rename(target)
    return target


@cache
def compiled_copy(source: Path, name: str) -> Path:
    """A copy of ``source`` (a layer's own packages, a function's code) with its bytecode,
    made once per bench run, so that it is what the source holds now."""
    target = CACHE / "code" / name
    shutil.rmtree(target, ignore_errors=True)
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("__pycache__"))
    compile_tree(target)
    return target


def _layer_paths(template: Template, logical_id: str) -> list[Path]:
    resource = template.document["Resources"][logical_id]
    content = template.layer_content(logical_id)
    build_method = (resource.get("Metadata") or {}).get("BuildMethod", "")
    requirements = (content / "requirements.txt").read_text()
    installed = _install(logical_id, requirements, no_deps=build_method == "makefile")
    # sam build's python builder also copies the layer's own packages (the core layer's pulse).
    return [installed / "python", compiled_copy(content, logical_id)]


def lambda_paths(template: Template, function: Function | None = None) -> list[Path]:
    """``sys.path`` entries after the function's code folder, in Lambda's order (without a
    function: what every function gets, the Globals layers and the runtime)."""
    paths = [path for layer in template.layer_ids(function) for path in _layer_paths(template, layer)]
    return [*paths, _install("runtime", RUNTIME_REQUIREMENTS) / "python"]
