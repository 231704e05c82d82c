"""Reading SAM templates: routes, the authorizer block, CORS, parameters and environment."""

from __future__ import annotations

from pathlib import Path

import pytest

from pulse.local.gateway import Gateway
from pulse.local.template import Authorizer, Route, load_template

SAMPLE = Path(__file__).parent / "sample"


def test_routes_take_the_default_authorizer_unless_they_say_none():
    template = load_template(SAMPLE / "template.yaml")
    routes = {route.route_key: route for route in template.routes}

    assert routes["GET /private/{id}"] == Route("EchoFunction", "/private/{id}", "GET", "TokenAuthorizer")
    assert routes["GET /echo/{item}"].authorizer is None
    assert routes["ANY /items/{proxy+}"].method == "ANY"
    assert template.functions["WorkerFunction"].routes == []  # an SQS function has no routes


def test_the_authorizer_block_as_sam_writes_it():
    template = load_template(SAMPLE / "template.yaml")

    assert template.default_authorizer == "TokenAuthorizer"
    assert template.authorizers == {
        "TokenAuthorizer": Authorizer(
            name="TokenAuthorizer",
            function="AuthorizerFunction",
            identity_sources=("$request.header.Authorization",),
            ttl_seconds=300,
            payload_version="2.0",
            simple_responses=True,
        )
    }


def test_cors_origins_resolve_from_parameters_and_overrides():
    default = load_template(SAMPLE / "template.yaml")
    overridden = load_template(SAMPLE / "template.yaml", parameters={"Origins": "http://localhost:5173"})

    assert default.cors is not None and overridden.cors is not None
    assert default.cors.allow_origins == ("http://app.example", "http://admin.example")
    assert overridden.cors.allow_origins == ("http://localhost:5173",)
    assert default.cors.allow_credentials is True and default.cors.max_age == 600


def test_function_settings_merge_globals():
    template = load_template(SAMPLE / "template.yaml")
    echo, worker = template.functions["EchoFunction"], template.functions["WorkerFunction"]

    assert (echo.memory_size, echo.timeout) == (512, 10.0)
    assert (worker.memory_size, worker.timeout) == (256, 60.0)
    # A value computed by an intrinsic (!Ref Stage) describes a deployment, not this machine.
    assert worker.literal_environment() == {"SAMPLE_LITERAL": "from-template"}


def _write(tmp_path: Path, auth: str) -> Path:
    path = tmp_path / "template.yaml"
    path.write_text(
        f"""
Resources:
  Api:
    Type: AWS::Serverless::HttpApi
    Properties:
      Auth:
{auth}
  Fn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {SAMPLE / "echo"}
      Handler: app.handler
      Events:
        Get:
          Type: HttpApi
          Properties: {{Path: /x, Method: get}}
  AuthFn:
    Type: AWS::Serverless::Function
    Properties:
      CodeUri: {SAMPLE / "authorizer"}
      Handler: app.handler
"""
    )
    return path


def test_ttl_defaults_to_300_with_identity_sources_and_0_without(tmp_path):
    with_identity = _write(
        tmp_path,
        """        DefaultAuthorizer: A
        Authorizers:
          A:
            FunctionArn: !Sub ${AuthFn.Arn}
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true
            Identity: {Headers: [Authorization], QueryStrings: [token]}""",
    )
    template = load_template(with_identity)
    authorizer = template.authorizers["A"]

    assert authorizer.function == "AuthFn"
    assert authorizer.identity_sources == ("$request.header.Authorization", "$request.querystring.token")
    assert authorizer.ttl_seconds == 300
    assert template.routes == [Route("Fn", "/x", "GET", "A")]

    without_identity = _write(
        tmp_path,
        """        Authorizers:
          A:
            FunctionArn: !GetAtt AuthFn.Arn
            AuthorizerPayloadFormatVersion: "2.0"
            EnableSimpleResponses: true""",
    )
    assert load_template(without_identity).authorizers["A"].ttl_seconds == 0


@pytest.mark.parametrize(
    ("auth", "complaint"),
    [
        ("        DefaultAuthorizer: Missing", "lacks"),
        (
            """        DefaultAuthorizer: J
        Authorizers:
          J:
            JwtConfiguration: {issuer: https://issuer.example, audience: [pulse]}
            IdentitySource: $request.header.Authorization""",
            "JWT",
        ),
        (
            """        DefaultAuthorizer: A
        Authorizers:
          A:
            FunctionArn: !GetAtt AuthFn.Arn
            AuthorizerPayloadFormatVersion: "2.0\"""",
            "simple responses",
        ),
    ],
)
def test_an_authorizer_the_gateway_cannot_emulate_fails_at_start(tmp_path, auth, complaint):
    with pytest.raises(ValueError, match=complaint):
        Gateway(_write(tmp_path, auth))
