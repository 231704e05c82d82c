"""Reading template.yaml: functions, handlers, environment, HTTP API routes, authorizers and CORS.

Only what the local runtime needs is read. Intrinsic functions are resolved where they can be
without AWS: ``Ref`` to a parameter (its default or an override), ``Fn::Split``, ``Fn::Join``,
``Fn::Sub`` over parameters; anything else (``Fn::If``, ``Fn::GetAtt`` of real resources,
pseudo parameters) stays unresolved and is treated as absent.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import yaml

DEFAULT_ROUTE = "$default"
# API Gateway's default authorizer result TTL when the template sets none (AuthorizerResultTtlInSeconds).
DEFAULT_AUTHORIZER_TTL_SECONDS = 300


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


class Unresolved:
    """A value that needs AWS (or a condition) to be known."""

    def __repr__(self) -> str:
        return "<unresolved>"


UNRESOLVED = Unresolved()


def resolve(value: Any, parameters: Mapping[str, Any]) -> Any:
    """Resolve the intrinsics that need no AWS; others become ``UNRESOLVED``."""
    if isinstance(value, list):
        return [resolve(item, parameters) for item in value]
    if not isinstance(value, dict):
        return value
    if len(value) != 1:
        return {key: resolve(item, parameters) for key, item in value.items()}
    (name, argument), *_ = value.items()
    if name == "Ref":
        return parameters.get(argument, UNRESOLVED)
    if name == "Fn::Split":
        separator, source = argument[0], resolve(argument[1], parameters)
        return source.split(separator) if isinstance(source, str) else UNRESOLVED
    if name == "Fn::Join":
        separator, items = argument[0], resolve(argument[1], parameters)
        if isinstance(items, list) and all(isinstance(item, str) for item in items):
            return separator.join(items)
        return UNRESOLVED
    if name == "Fn::Sub" and isinstance(argument, str):
        names = re.findall(r"\$\{([^}!]+)\}", argument)
        if all(isinstance(parameters.get(n), str) for n in names):
            return re.sub(r"\$\{([^}!]+)\}", lambda m: str(parameters[m.group(1)]), argument)
        return UNRESOLVED
    if name.startswith("Fn::") or name == "Condition":
        return UNRESOLVED
    return {name: resolve(argument, parameters)}


@dataclass(frozen=True)
class Route:
    """One HttpApi event of a function."""

    function: str
    path: str  # "/a/{id}", "/a/{proxy+}" or "$default"
    method: str  # upper case, or ANY
    authorizer: str | None = None  # authorizer name, None when the route is open

    @property
    def route_key(self) -> str:
        return DEFAULT_ROUTE if self.path == DEFAULT_ROUTE else f"{self.method} {self.path}"


@dataclass(frozen=True)
class Authorizer:
    """A Lambda REQUEST authorizer of the HTTP API (SAM ``Auth.Authorizers.<name>``)."""

    name: str
    function: str | None  # logical id of the authorizer function
    identity_sources: tuple[str, ...] = ()  # "$request.header.Authorization", "$request.querystring.x"
    ttl_seconds: int = 0
    payload_version: str = "2.0"
    simple_responses: bool = False
    jwt: bool = False  # a JWT authorizer (API Gateway validates tokens itself): not emulated


@dataclass(frozen=True)
class Cors:
    """The HttpApi ``CorsConfiguration``: API Gateway answers preflights and sets these headers."""

    allow_origins: tuple[str, ...] = ()
    allow_headers: tuple[str, ...] = ()
    allow_methods: tuple[str, ...] = ()
    expose_headers: tuple[str, ...] = ()
    allow_credentials: bool = False
    max_age: int | None = None


@dataclass
class Function:
    logical_id: str
    code_uri: Path
    handler: str  # module.attribute
    environment: dict[str, Any] = field(default_factory=dict)  # as written, intrinsics unresolved
    routes: list[Route] = field(default_factory=list)
    events: dict[str, Any] = field(default_factory=dict)
    memory_size: int = 128
    timeout: float = 3.0
    layers: list[Any] = field(default_factory=list)  # the function's own Layers (not Globals)

    def literal_environment(self) -> dict[str, str]:
        """The variables whose values are written in the template, not computed (``!Ref`` ...).

        Parameter defaults describe a deployment (RDS Proxy host, IAM auth), not this machine.
        """
        return {
            name: str(value).lower() if isinstance(value, bool) else str(value)
            for name, value in self.environment.items()
            if isinstance(value, str | int | float | bool)
        }


@dataclass
class Template:
    path: Path
    document: dict[str, Any]
    functions: dict[str, Function]
    default_authorizer: str | None
    authorizers: dict[str, Authorizer]
    cors: Cors | None = None
    parameters: dict[str, Any] = field(default_factory=dict)

    @property
    def routes(self) -> list[Route]:
        return [route for function in self.functions.values() for route in function.routes]

    def layer_ids(self, function: Function | None = None) -> list[str]:
        """Logical ids of the layers a function gets, in order: Globals', then its own
        (without a function: Globals' alone). Only ``!Ref`` to a layer of this template."""
        globals_layers = self.document.get("Globals", {}).get("Function", {}).get("Layers") or []
        ids = []
        for layer in [*globals_layers, *(function.layers if function else [])]:
            if not (isinstance(layer, dict) and "Ref" in layer):
                raise ValueError(f"layer {layer!r} is not a !Ref to a layer of this template")
            ids.append(str(layer["Ref"]))
        return ids

    def layer_content(self, logical_id: str) -> Path:
        """A layer's ``ContentUri`` folder."""
        properties = self.document["Resources"][logical_id]["Properties"]
        return (self.path.parent / properties["ContentUri"]).resolve()


def _parameter_values(document: Mapping[str, Any], overrides: Mapping[str, str]) -> dict[str, Any]:
    values: dict[str, Any] = {"AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
    for name, spec in (document.get("Parameters") or {}).items():
        raw = overrides.get(name, spec.get("Default"))
        if raw is None:
            continue
        if spec.get("Type") == "CommaDelimitedList":
            values[name] = [] if raw == "" else [part.strip() for part in str(raw).split(",")]
        else:
            values[name] = str(raw)
    return values


def _function_arn_target(value: Any) -> str | None:
    """The logical id an authorizer's ``FunctionArn`` points at (``!GetAtt X.Arn`` or ``!Sub ${X.Arn}``)."""
    if isinstance(value, dict):
        if "Fn::GetAtt" in value:
            return str(value["Fn::GetAtt"][0])
        if "Fn::Sub" in value and isinstance(value["Fn::Sub"], str):
            found = re.fullmatch(r"\$\{([A-Za-z0-9]+)\.Arn\}", value["Fn::Sub"])
            return found.group(1) if found else None
    return None


def _authorizer(name: str, spec: Mapping[str, Any]) -> Authorizer:
    identity = spec.get("Identity") or {}
    sources = [f"$request.header.{header}" for header in identity.get("Headers") or []]
    sources += [f"$request.querystring.{query}" for query in identity.get("QueryStrings") or []]
    explicit = spec.get("IdentitySource") or []
    sources += [explicit] if isinstance(explicit, str) else [str(source) for source in explicit]
    ttl = identity.get("ReauthorizeEvery", spec.get("AuthorizerResultTtlInSeconds"))
    if ttl is None:
        # Without identity sources there is nothing to key a cache by, so nothing is cached.
        ttl = DEFAULT_AUTHORIZER_TTL_SECONDS if sources else 0
    return Authorizer(
        name=name,
        function=_function_arn_target(spec.get("FunctionArn")),
        identity_sources=tuple(sources),
        ttl_seconds=int(ttl),
        payload_version=str(spec.get("AuthorizerPayloadFormatVersion", "2.0")),
        simple_responses=bool(spec.get("EnableSimpleResponses", False)),
        jwt="JwtConfiguration" in spec,
    )


def _cors(value: Any) -> Cors | None:
    if value is True:
        return Cors(allow_origins=("*",), allow_headers=("*",), allow_methods=("*",))
    if not isinstance(value, dict):
        return None

    def strings(key: str) -> tuple[str, ...]:
        items = value.get(key) or []
        items = items if isinstance(items, list) else [items]
        return tuple(str(item) for item in items if isinstance(item, str))

    max_age = value.get("MaxAge")
    return Cors(
        allow_origins=strings("AllowOrigins"),
        allow_headers=strings("AllowHeaders"),
        allow_methods=strings("AllowMethods"),
        expose_headers=strings("ExposeHeaders"),
        allow_credentials=value.get("AllowCredentials") is True,
        max_age=int(max_age) if isinstance(max_age, int | str) and str(max_age).isdigit() else None,
    )


def load_template(
    path: str | Path = "template.yaml", parameters: Mapping[str, str] | None = None
) -> Template:
    """Parse a SAM template into its functions, routes, authorizers and CORS configuration."""
    template_path = Path(path).resolve()
    document = yaml.load(template_path.read_text(), Loader=_CloudFormationLoader)
    values = _parameter_values(document, parameters or {})
    resources = document.get("Resources", {})
    globals_function = document.get("Globals", {}).get("Function", {}) or {}
    globals_env = (globals_function.get("Environment") or {}).get("Variables") or {}

    api_auth: dict[str, Any] = {}
    cors: Cors | None = None
    for resource in resources.values():
        if resource.get("Type") == "AWS::Serverless::HttpApi":
            api_properties = resource.get("Properties", {}) or {}
            api_auth = api_properties.get("Auth", {}) or {}
            cors = _cors(resolve(api_properties.get("CorsConfiguration"), values))
    default_authorizer = api_auth.get("DefaultAuthorizer")
    authorizers = {
        # FunctionArn stays unresolved: it names a function of this template (!GetAtt X.Arn).
        name: _authorizer(name, {**resolve(spec, values), "FunctionArn": spec.get("FunctionArn")})
        for name, spec in (api_auth.get("Authorizers") or {}).items()
    }

    functions: dict[str, Function] = {}
    for logical_id, resource in resources.items():
        if resource.get("Type") != "AWS::Serverless::Function":
            continue
        properties = resource.get("Properties", {})
        environment = {**globals_env, **(properties.get("Environment") or {}).get("Variables", {})}
        function = Function(
            logical_id=logical_id,
            code_uri=(template_path.parent / properties["CodeUri"]).resolve(),
            handler=properties["Handler"],
            environment=environment,
            events=properties.get("Events", {}) or {},
            memory_size=int(properties.get("MemorySize", globals_function.get("MemorySize", 128))),
            timeout=float(properties.get("Timeout", globals_function.get("Timeout", 3))),
            layers=list(properties.get("Layers") or []),
        )
        for event in function.events.values():
            if event.get("Type") != "HttpApi":
                continue
            event_properties = event.get("Properties", {}) or {}
            auth = event_properties.get("Auth", {}) or {}
            authorizer = auth.get("Authorizer", default_authorizer)
            if authorizer == "NONE":
                authorizer = None
            # An HttpApi event without Path and Method is the API's $default route.
            route_path = str(event_properties.get("Path", DEFAULT_ROUTE))
            method = str(event_properties.get("Method", "ANY")).upper()
            function.routes.append(Route(logical_id, route_path, method, authorizer))
        functions[logical_id] = function
    return Template(template_path, document, functions, default_authorizer, authorizers, cors, values)


@cache
def load_module(code_uri: Path, module_name: str) -> ModuleType:
    """Import ``module_name`` from a function's code folder under a name unique to that folder."""
    folder = hashlib.sha1(str(code_uri).encode()).hexdigest()[:8]
    unique = f"pulse_function_{code_uri.name}_{folder}_{module_name}".replace(".", "_")
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
