"""Reading template.yaml: the functions, their handlers, environment and HTTP API routes."""

from __future__ import annotations

import importlib.util
import sys
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml


class _CloudFormationLoader(yaml.SafeLoader):
    """SafeLoader that keeps intrinsic functions (``!Ref X`` → ``{"Ref": "X"}``)."""


def _intrinsic(loader: yaml.Loader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    name = "Ref" if tag_suffix == "Ref" else f"Fn::{tag_suffix}"
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
        if tag_suffix == "GetAtt" and isinstance(value, str):
            value = value.split(".", 1)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)  # type: ignore[arg-type]
    return {name: value}


_CloudFormationLoader.add_multi_constructor("!", _intrinsic)


@dataclass(frozen=True)
class Route:
    """One HttpApi event of a function."""

    function: str
    path: str
    method: str  # upper case, or ANY
    authorizer: str | None = None  # authorizer name, None when the route is open


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str  # module.attribute
    environment: dict[str, Any] = field(default_factory=dict)
    routes: list[Route] = field(default_factory=list)
    events: dict[str, Any] = field(default_factory=dict)


@dataclass
class Template:
    path: Path
    document: dict[str, Any]
    functions: dict[str, Function]
    default_authorizer: str | None
    authorizers: dict[str, dict[str, Any]]

    @property
    def routes(self) -> list[Route]:
        return [route for function in self.functions.values() for route in function.routes]


def load_template(path: str | Path = "template.yaml") -> Template:
    """Parse a SAM template into its functions and routes."""
    template_path = Path(path).resolve()
    document = yaml.load(template_path.read_text(), Loader=_CloudFormationLoader)
    resources = document.get("Resources", {})
    globals_env = document.get("Globals", {}).get("Function", {}).get("Environment", {}).get("Variables", {})

    api_auth: dict[str, Any] = {}
    for resource in resources.values():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            api_auth = resource.get("Properties", {}).get("Auth", {}) or {}
    default_authorizer = api_auth.get("DefaultAuthorizer")
    authorizers = api_auth.get("Authorizers", {}) or {}

    functions: dict[str, Function] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        environment = {**globals_env, **properties.get("Environment", {}).get("Variables", {})}
        function = Function(
            logical_id=logical_id,
            code_uri=(template_path.parent / properties["CodeUri"]).resolve(),
            handler=properties["Handler"],
            environment=environment,
            events=properties.get("Events", {}) or {},
        )
        for event in function.events.values():
            if event.get("Type") != "HttpApi":
                continue
            event_properties = event.get("Properties", {})
            auth = event_properties.get("Auth", {}) or {}
            authorizer = auth.get("Authorizer", default_authorizer)
            if authorizer == "NONE":
                authorizer = None
            function.routes.append(
                Route(
                    function=logical_id,
                    path=event_properties["Path"],
                    method=str(event_properties.get("Method", "ANY")).upper(),
                    authorizer=authorizer,
                )
            )
        functions[logical_id] = function
    return Template(template_path, document, functions, default_authorizer, authorizers)


@cache
def load_module(code_uri: Path, module_name: str) -> ModuleType:
    """Import ``module_name`` from a function's code folder under a name unique to that folder."""
    unique = f"pulse_function_{code_uri.name}_{module_name}".replace(".", "_")
    spec = importlib.util.spec_from_file_location(unique, code_uri / f"{module_name.replace('.', '/')}.py")
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {module_name} from {code_uri}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[unique] = module
    spec.loader.exec_module(module)
    return module


def load_handler(function: Function) -> Any:
    """The handler callable a function's ``Handler`` names."""
    module_name, _, attribute = function.handler.rpartition(".")
    return getattr(load_module(function.code_uri, module_name), attribute)
