"""Settings from the environment, DATABASE_URL over the parts, and secrets from Secrets Manager / SSM (moto)."""

from __future__ import annotations

import json
from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws
from sqlalchemy.engine import make_url

from pulse.config import Settings, load_settings, normalize_database_url

# The variables these tests set or that conftest sets and would mask what a test checks.
VARIABLES = (
    "DATABASE_URL",
    "POSTGRES_HOST",
    "POSTGRES_PORT",
    "POSTGRES_USER",
    "POSTGRES_PASSWORD",
    "POSTGRES_DATABASE",
    "JWT_SECRET_KEY",
    "CORS_ORIGINS",
)


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in VARIABLES:
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def aws() -> Iterator[None]:
    """Moto's AWS, and Powertools' parameter cache emptied around it."""
    parameters.clear_caches()
    with mock_aws():
        yield
    parameters.clear_caches()


def test_database_url_is_built_from_the_parts(monkeypatch):
    monkeypatch.setenv("POSTGRES_HOST", "db.internal")
    monkeypatch.setenv("POSTGRES_PORT", "6543")
    monkeypatch.setenv("POSTGRES_USER", "pulse")
    monkeypatch.setenv("POSTGRES_PASSWORD", "p@ss word")
    monkeypatch.setenv("POSTGRES_DATABASE", "analytics")

    url = make_url(Settings().database_url)

    assert (url.drivername, url.host, url.port, url.database) == (
        "postgresql+pg8000",
        "db.internal",
        6543,
        "analytics",
    )
    assert (url.username, url.password) == ("pulse", "p@ss word")  # escaped in the URL, intact here


def test_database_url_overrides_the_parts(monkeypatch):
    monkeypatch.setenv("POSTGRES_HOST", "ignored.internal")
    monkeypatch.setenv("DATABASE_URL", "postgres://app:secret@primary.internal:5432/pulse")

    assert Settings().database_url == "postgresql+pg8000://app:secret@primary.internal:5432/pulse"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("postgresql://u@h/d", "postgresql+pg8000://u@h/d"),
        ("postgresql+psycopg2://u@h/d", "postgresql+pg8000://u@h/d"),
        ("postgresql+pg8000://u@h/d", "postgresql+pg8000://u@h/d"),
    ],
)
def test_database_urls_are_pinned_to_pg8000(given, expected):
    assert normalize_database_url(given) == expected


@pytest.mark.parametrize(
    ("value", "origins"),
    [
        ("http://a.example, http://b.example", ["http://a.example", "http://b.example"]),
        ('["http://a.example"]', ["http://a.example"]),
    ],
)
def test_cors_origins_are_comma_separated_or_json(monkeypatch, value, origins):
    monkeypatch.setenv("CORS_ORIGINS", value)

    assert origins == Settings().CORS_ORIGINS


def test_jwt_secret_from_a_plain_secrets_manager_secret(aws, monkeypatch):
    arn = boto3.client("secretsmanager").create_secret(Name="pulse/jwt", SecretString="plain-signing-key")[
        "ARN"
    ]
    monkeypatch.setenv("JWT_SECRET_KEY_SECRET_ARN", arn)

    assert load_settings().JWT_SECRET_KEY == "plain-signing-key"


def test_jwt_secret_from_a_json_secret_under_its_name(aws, monkeypatch):
    secret = json.dumps({"JWT_SECRET_KEY": "json-signing-key", "other": "x"})
    arn = boto3.client("secretsmanager").create_secret(Name="pulse/app", SecretString=secret)["ARN"]
    monkeypatch.setenv("JWT_SECRET_KEY_SECRET_ARN", arn)

    assert load_settings().JWT_SECRET_KEY == "json-signing-key"


def test_database_password_from_an_rds_managed_secret(aws, monkeypatch):
    # RDS-managed secrets are JSON with "username" and "password".
    secret = json.dumps({"username": "pulse", "password": "rds-generated"})
    arn = boto3.client("secretsmanager").create_secret(Name="rds/pulse", SecretString=secret)["ARN"]
    monkeypatch.setenv("POSTGRES_PASSWORD_SECRET_ARN", arn)
    monkeypatch.setenv("POSTGRES_HOST", "proxy.internal")

    settings = load_settings()

    assert settings.POSTGRES_PASSWORD == "rds-generated"
    assert settings.database_url == "postgresql+pg8000://postgres:rds-generated@proxy.internal:5432/pulse"


def test_database_password_from_an_ssm_secure_string(aws, monkeypatch):
    boto3.client("ssm").put_parameter(Name="/pulse/db-password", Value="from-ssm", Type="SecureString")
    monkeypatch.setenv("POSTGRES_PASSWORD_SSM_PARAMETER", "/pulse/db-password")

    assert load_settings().POSTGRES_PASSWORD == "from-ssm"


def test_secrets_are_cached_for_their_max_age(aws, monkeypatch):
    client = boto3.client("secretsmanager")
    arn = client.create_secret(Name="pulse/rotating", SecretString="first")["ARN"]
    monkeypatch.setenv("JWT_SECRET_KEY_SECRET_ARN", arn)

    assert load_settings().JWT_SECRET_KEY == "first"
    client.put_secret_value(SecretId=arn, SecretString="second")
    assert load_settings().JWT_SECRET_KEY == "first"  # within SECRETS_MAX_AGE_SECONDS

    parameters.clear_caches()  # what expiry does after SECRETS_MAX_AGE_SECONDS
    assert load_settings().JWT_SECRET_KEY == "second"


def test_without_secret_references_nothing_is_fetched(monkeypatch):
    monkeypatch.setenv("JWT_SECRET_KEY", "from-the-environment")

    # No moto here: a call to AWS would fail for want of credentials and endpoint.
    assert load_settings().JWT_SECRET_KEY == "from-the-environment"
