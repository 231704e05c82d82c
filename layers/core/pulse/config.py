"""Configuration: one settings class read from the environment.

In AWS, secrets are not put in environment variables. A secret-bearing setting ``X`` can instead
name where to find it: ``X_SECRET_ARN`` (Secrets Manager; a JSON secret may hold the value under
the key ``X`` or as the whole string) or ``X_SSM_PARAMETER`` (SSM Parameter Store, decrypted).
Values are fetched through Powertools parameters, cached for ``SECRETS_MAX_AGE_SECONDS``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Mapping
from functools import lru_cache
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

VERSION = "0.1.0"

# Settings that may come from Secrets Manager / SSM instead of the environment.
SECRET_FIELDS = (
    "POSTGRES_PASSWORD",
    "JWT_SECRET_KEY",
    "GITHUB_WEBHOOK_SECRET",
    "DATABASE_URL",
    "ETL_SERVICE_TOKEN",
)


class Settings(BaseSettings):
    """Every setting Pulse reads; names are the environment variables."""

    model_config = SettingsConfigDict(case_sensitive=True, extra="ignore")

    ENVIRONMENT: str = "local"
    API_V1_PREFIX: str = "/api/v1"
    # NoDecode: the environment gives a comma-separated string, which pydantic-settings would
    # otherwise try to parse as JSON and reject.
    CORS_ORIGINS: Annotated[list[str], NoDecode] = Field(default_factory=lambda: ["http://localhost:5173"])

    POSTGRES_HOST: str = "127.0.0.1"
    POSTGRES_PORT: int = 5432
    POSTGRES_USER: str = "postgres"
    POSTGRES_PASSWORD: str = ""
    POSTGRES_DATABASE: str = "pulse"
    DATABASE_URL: str | None = None
    # RDS Proxy IAM authentication: a fresh token replaces the password at each connect.
    DB_IAM_AUTH: bool = False
    DB_POOL_SIZE: int = 1
    # pg8000 applies its timeout to every socket read, not just the connect: it bounds each
    # statement. 25 s keeps a stuck query below Lambda's 29 s so the caller gets an error
    # envelope; 0 (what the pulse CLI uses for bulk loads) means no limit.
    DB_SOCKET_TIMEOUT_SECONDS: float = 25.0
    AWS_REGION: str = "us-east-1"

    REDIS_URL: str = "redis://127.0.0.1:6379/0"
    REDIS_KEY_PREFIX: str = "pulse"
    REDIS_TIMEOUT_SECONDS: float = 0.1
    CACHE_TTL_SECONDS: int = 3600

    JWT_SECRET_KEY: str = "change-me-local-only-secret-key-0123456789"
    JWT_ALGORITHM: str = "HS256"
    JWT_ACCESS_TOKEN_EXPIRE_MINUTES: int = 30
    JWT_REFRESH_TOKEN_EXPIRE_MINUTES: int = 60 * 24 * 7
    JWT_ISSUER: str = "pulse"
    JWT_AUDIENCE: str = "pulse-api"

    ETL_SERVICE_URL: str = "http://127.0.0.1:8100"
    # ETL coordination (pulse.etl): how jobs reach the ETL service and how progress reaches browsers.
    ETL_TRANSPORT: Literal["http", "sqs"] = "http"
    ETL_SERVICE_TOKEN: str = ""  # bearer token Pulse presents to the ETL service (http transport)
    ETL_JOBS_QUEUE_URL: str = ""
    ETL_DISPATCH_TIMEOUT_SECONDS: float = 3.0
    ETL_DISPATCH_RETRIES: int = 2
    ETL_DISPATCH_BACKOFF_SECONDS: float = 0.2
    WEBSOCKET_ENDPOINT: str = ""  # https://{api-id}.execute-api.{region}.amazonaws.com/{stage}
    GITHUB_WEBHOOK_SECRET: str = ""
    # Ingest over HTTP (pulse.ingest.webhooks, pulse.ingest.uploads).
    GITHUB_INCIDENT_LABEL: str = "incident"  # issues with this label are incidents
    INGEST_UPLOAD_BUCKET: str = ""  # bulk uploads land here (template.yaml IngestUploadBucket)
    INGEST_UPLOAD_URL_EXPIRES_SECONDS: int = 3600
    INCIDENT_ATTRIBUTION_WINDOW_HOURS: int = 168
    # Executive risk findings (pulse.metrics.executive): portfolio-executive.md's default thresholds.
    RISK_SLOWDOWN_INCREASE: float = 0.25  # median PR cycle time this period >= previous * (1 + this)
    RISK_SLOWDOWN_MIN_PRS: int = 10  # PRs with a cycle time, in each period
    RISK_CHANGE_FAILURE_RATE: float = 0.15  # change failure rate above this (and above previous)
    RISK_PICKUP_HOURS: float = 24.0  # median pickup time above this
    RISK_WAITING_SHARE: float = 0.20  # or more than this share of open PRs waiting for a first review
    RISK_WAITING_HOURS: float = 48.0  # ... for over this long
    RISK_CONCENTRATION_SHARE: float = 0.5  # one contributor's share of a repository's commits
    RISK_CONCENTRATION_MIN_COMMITS: int = 20
    RISK_OBJECTIVE_PROBABILITY: float = 0.5  # probability_by_target below this
    RISK_COVERAGE_DROP_POINTS: float = 5.0  # coverage fell by this many percentage points or more
    RISK_STALE_DAYS: int = 30  # PRs open longer than this
    RISK_SURGE_P_VALUE: float = 0.05  # one-sided Poisson rate test
    RISK_SURGE_MIN_INCIDENTS: int = 3

    SECRETS_MAX_AGE_SECONDS: int = 300

    @field_validator("CORS_ORIGINS", mode="before")
    @classmethod
    def _split_origins(cls, value: Any) -> Any:
        if isinstance(value, str):
            if value.lstrip().startswith("["):
                return json.loads(value)
            return [origin.strip() for origin in value.split(",") if origin.strip()]
        return value

    @property
    def database_url(self) -> str:
        """SQLAlchemy URL: ``DATABASE_URL`` when set, else built from the ``POSTGRES_*`` parts."""
        if self.DATABASE_URL:
            return normalize_database_url(self.DATABASE_URL)
        from sqlalchemy.engine import URL

        return URL.create(
            "postgresql+pg8000",
            username=self.POSTGRES_USER,
            password=self.POSTGRES_PASSWORD or None,
            host=self.POSTGRES_HOST,
            port=self.POSTGRES_PORT,
            database=self.POSTGRES_DATABASE,
        ).render_as_string(hide_password=False)


def normalize_database_url(url: str) -> str:
    """Accept ``postgres://`` and ``postgresql://`` URLs and pin the pg8000 driver."""
    for prefix in ("postgres://", "postgresql://", "postgresql+psycopg2://", "postgresql+psycopg://"):
        if url.startswith(prefix):
            return "postgresql+pg8000://" + url[len(prefix) :]
    return url


def _resolve_secret(name: str, env: Mapping[str, str]) -> str | None:
    """The value of secret setting ``name`` from Secrets Manager or SSM, if configured."""
    arn, parameter = env.get(f"{name}_SECRET_ARN"), env.get(f"{name}_SSM_PARAMETER")
    if not arn and not parameter:
        return None
    # Imported only when needed: it brings boto3, about 90 ms of cold start.
    from aws_lambda_powertools.utilities import parameters

    from pulse.observability import trace_aws_calls

    trace_aws_calls()

    max_age = int(env.get("SECRETS_MAX_AGE_SECONDS", "300"))
    if arn:
        text = str(parameters.get_secret(arn, max_age=max_age))
        try:
            document = json.loads(text)
        except ValueError:
            return text
        if isinstance(document, dict):
            value = document.get(name, document.get("password") if name == "POSTGRES_PASSWORD" else None)
            return None if value is None else str(value)
        return text
    if parameter:
        return str(parameters.get_parameter(parameter, decrypt=True, max_age=max_age))
    return None


def load_settings() -> Settings:
    """Read settings from the environment, resolving secrets kept in Secrets Manager / SSM."""
    overrides = {}
    for name in SECRET_FIELDS:
        value = _resolve_secret(name, os.environ)
        if value is not None:
            overrides[name] = value
    return Settings(**overrides)  # type: ignore[arg-type]  # pydantic coerces the strings


@lru_cache(maxsize=1)
def get_settings() -> Settings:
    """The settings of this container, read once."""
    return load_settings()
