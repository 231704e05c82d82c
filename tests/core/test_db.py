"""The engine: pool settings for Lambda behind RDS Proxy, and RDS IAM tokens injected at connect."""

from __future__ import annotations

import ssl
from typing import Any

import boto3
import pytest
from sqlalchemy import event

from pulse import db
from pulse.config import get_settings


class Captured(Exception):
    """Stops a connect after its parameters were seen."""


def _capture_connects(engine: Any) -> list[dict[str, Any]]:
    seen: list[dict[str, Any]] = []

    # Listeners run in the order they were added, so this one sees what db's listener injected.
    @event.listens_for(engine, "do_connect")
    def _capture(dialect: Any, conn_rec: Any, cargs: Any, cparams: dict[str, Any]) -> None:
        seen.append(dict(cparams))
        raise Captured

    return seen


def _iam_settings() -> Any:
    return get_settings().model_copy(
        update={
            "DATABASE_URL": "postgresql+pg8000://pulse@proxy.example:5432/pulse",
            "DB_IAM_AUTH": True,
            "AWS_REGION": "eu-west-1",
        }
    )


def test_a_fresh_iam_token_is_the_password_of_every_connect_over_tls(monkeypatch):
    tokens: list[str] = []
    real_client = boto3.client

    def counting_client(*args: Any, **kwargs: Any) -> Any:
        client = real_client(*args, **kwargs)
        generate = client.generate_db_auth_token

        def generate_and_record(**parameters: Any) -> str:
            token: str = generate(**parameters)
            tokens.append(token)
            return token

        client.generate_db_auth_token = generate_and_record
        return client

    monkeypatch.setattr(boto3, "client", counting_client)
    engine = db.build_engine(_iam_settings())
    seen = _capture_connects(engine)

    for _ in range(2):
        with pytest.raises(Captured):
            engine.connect()

    assert len(tokens) == 2  # one per connect, never reused
    for params, token in zip(seen, tokens, strict=True):
        # A real RDS auth token: a presigned rds-db connect URL for this host, port and user.
        assert params["password"] == token
        assert token.startswith("proxy.example:5432/?Action=connect&DBUser=pulse&")
        assert "X-Amz-Signature=" in token and "eu-west-1" in token
        context = params["ssl_context"]
        assert isinstance(context, ssl.SSLContext)
        assert context.verify_mode == ssl.CERT_REQUIRED and context.check_hostname


def test_without_iam_the_url_password_is_used_and_no_tls_is_forced():
    settings = get_settings().model_copy(
        update={"DATABASE_URL": "postgresql+pg8000://pulse:plain@db.example:5432/pulse", "DB_IAM_AUTH": False}
    )
    engine = db.build_engine(settings)
    seen = _capture_connects(engine)

    with pytest.raises(Captured):
        engine.connect()

    assert seen[0]["password"] == "plain"
    assert "ssl_context" not in seen[0]


def test_pool_fits_one_request_at_a_time_and_survives_a_frozen_container():
    engine = db.build_engine(get_settings().model_copy(update={"DB_POOL_SIZE": 1}))
    pool: Any = engine.pool

    assert pool.size() == 1
    assert pool._max_overflow == 0
    assert pool._pre_ping is True
    assert pool._recycle == 300


def test_no_tls_is_offered_over_a_unix_socket():
    settings = get_settings().model_copy(
        update={"DATABASE_URL": "postgresql+pg8000://postgres@/pulse?unix_sock=/tmp/.s.PGSQL.5432"}
    )
    engine = db.build_engine(settings)
    seen = _capture_connects(engine)

    with pytest.raises(Captured):
        engine.connect()

    assert seen[0]["ssl_context"] is False
    assert seen[0]["unix_sock"] == "/tmp/.s.PGSQL.5432"
