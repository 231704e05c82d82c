"""Through a real ``pulse serve`` HTTP server: sign in, use the token, and the 401s."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from sqlalchemy import text

from pulse.db import transaction
from tests.auth.conftest import PASSWORD, PRODUCTION_HASHER, add_user, bearer, craft
from tests.conftest import ROOT


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@pytest.fixture(scope="module")
def served() -> Iterator[str]:
    """``pulse serve`` on a free port, on this session's database and Redis prefix."""
    port = _free_port()
    pulse = Path(sys.executable).with_name("pulse")
    process = subprocess.Popen(
        [str(pulse), "--template", str(ROOT / "template.yaml"), "serve", "--port", str(port)],
        env=os.environ.copy(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                if httpx.get(f"{base}/api/v1/health", timeout=1).status_code in (200, 503):
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline or process.poll() is not None:
                pytest.fail("pulse serve did not start")
            time.sleep(0.1)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_sign_in_and_call_me_over_http(served):
    # The server verifies with the production argon2 costs, so store a hash made with them.
    user = add_user("dev@example.com", "member")
    with transaction() as connection:
        connection.execute(
            text("UPDATE users SET password_hash = :h WHERE id = :id"),
            {"h": PRODUCTION_HASHER.hash(PASSWORD), "id": user.id},
        )

    signed_in = httpx.post(f"{served}/api/v1/auth/login", json={"email": user.email, "password": PASSWORD})
    assert signed_in.status_code == 200, signed_in.text
    me = httpx.get(f"{served}/api/v1/auth/me", headers=bearer(signed_in.json()["access_token"]))

    assert me.status_code == 200
    assert me.json()["email"] == "dev@example.com"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [
        ("Bearer garbage", "invalid_token"),
        (
            f"Bearer {craft({'exp': time.time() - 3600, 'iat': time.time() - 7200, 'nbf': time.time() - 7200})}",
            "token_expired",
        ),
        (f"Bearer {craft(key='another-secret-key-of-sufficient-length-42')}", "invalid_token"),
        (f"Bearer {craft({'aud': 'elsewhere'})}", "invalid_token"),
        (f"Bearer {craft({'typ': 'refresh'})}", "invalid_token"),
        ("Token abc", "invalid_authorization"),
    ],
)
def test_bad_credentials_over_http_are_401_with_the_envelope(served, authorization, code):
    response = httpx.get(f"{served}/api/v1/auth/me", headers={"authorization": authorization})

    assert response.status_code == 401
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["request_id"]


def test_no_token_over_http_is_the_gateways_401(served):
    response = httpx.get(f"{served}/api/v1/auth/me")

    assert response.status_code == 401
    assert response.json() == {"message": "Unauthorized"}
