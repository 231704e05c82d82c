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
"""

from __future__ import annotations

import hashlib
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from pulse.local.template import Function, Template

ROOT = Path(__file__).resolve().parent.parent
CACHE = ROOT / ".pulse" / "lambda-layers"
# What the python3.11 runtime ships beside the function (boto3 and botocore).
RUNTIME_REQUIREMENTS = "boto3\n"


def _install(name: str, requirements: str, *, no_deps: bool = False) -> Path:
    """A folder holding ``requirements`` installed with pip, built once per content."""
    digest = hashlib.sha256(f"{sys.version}\n{no_deps}\n{requirements}".encode()).hexdigest()[:12]
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
    building.rename(target)
    return target


def _layer_ids(template: Template, function: Function | None) -> list[str]:
    """Logical ids of the layers a function gets: Globals' and its own (``!Ref`` only)."""
    globals_layers = template.document.get("Globals", {}).get("Function", {}).get("Layers") or []
    ids = []
    for layer in [*globals_layers, *(function.layers if function else [])]:
        if not (isinstance(layer, dict) and "Ref" in layer):
            raise ValueError(f"layer {layer!r} is not a !Ref to a layer of this template")
        ids.append(str(layer["Ref"]))
    return ids


def _layer_paths(template: Template, logical_id: str) -> list[Path]:
    resource: dict[str, Any] = template.document["Resources"][logical_id]
    content = (template.path.parent / resource["Properties"]["ContentUri"]).resolve()
    build_method = (resource.get("Metadata") or {}).get("BuildMethod", "")
    requirements = (content / "requirements.txt").read_text()
    installed = _install(logical_id, requirements, no_deps=build_method == "makefile")
    # sam build's python builder also copies the layer's own packages (the core layer's pulse).
    return [installed / "python", content]


def lambda_paths(template: Template, function: Function | None = None) -> list[Path]:
    """``sys.path`` entries after the function's code folder, in Lambda's order (without a
    function: what every function gets, the Globals layers and the runtime)."""
    paths = [path for layer in _layer_ids(template, function) for path in _layer_paths(template, layer)]
    return [*paths, _install("runtime", RUNTIME_REQUIREMENTS) / "python"]
