"""``pulse serve`` over real HTTP: uvicorn in a thread on the sample template, and the command itself."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
import uvicorn

from pulse.local.gateway import Gateway
from pulse.local.server import LocalApi

SAMPLE = Path(__file__).parent / "sample"
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="module")
def base_url() -> Iterator[str]:
    """The sample template served by uvicorn on a free port, in a thread."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    server = uvicorn.Server(
        uvicorn.Config(LocalApi(Gateway(SAMPLE / "template.yaml")), log_level="warning", lifespan="off")
    )
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 10
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.started
    yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    server.should_exit = True
    thread.join(timeout=10)
    sock.close()


def test_repeated_query_keys_and_forwarding_headers_over_http(base_url):
    response = httpx.get(f"{base_url}/echo/abc?tag=a&tag=b")

    assert response.status_code == 200
    body = response.json()
    assert body["parsed"]["tags"] == ["a", "b"]
    assert body["event"]["rawQueryString"] == "tag=a&tag=b"
    assert body["event"]["pathParameters"] == {"item": "abc"}
    # x-forwarded-proto describes this plain-HTTP server, so redirects the app makes stay valid.
    assert body["event"]["headers"]["x-forwarded-proto"] == "http"


def test_binary_body_round_trip_over_http(base_url):
    payload = bytes(range(256)) * 4
    response = httpx.post(
        f"{base_url}/binary", content=payload, headers={"content-type": "application/octet-stream"}
    )

    assert response.status_code == 200
    assert response.content == payload


def test_cookies_both_ways_over_http(base_url):
    sent = httpx.get(f"{base_url}/echo/x", headers={"Cookie": "session=abc; theme=dark"})
    received = httpx.get(f"{base_url}/cookies")

    assert sent.json()["event"]["cookies"] == ["session=abc", "theme=dark"]
    assert sorted(value.split(";")[0] for value in received.headers.get_list("set-cookie")) == [
        "session=abc",
        "theme=dark",
    ]


def test_not_found_head_and_preflight_over_http(base_url):
    missing = httpx.delete(f"{base_url}/echo/abc")
    head = httpx.head(f"{base_url}/items/a/b")
    preflight = httpx.options(
        f"{base_url}/private/1",
        headers={"Origin": "http://app.example", "Access-Control-Request-Method": "GET"},
    )

    assert (missing.status_code, missing.json()) == (404, {"message": "Not Found"})
    assert (head.status_code, head.content) == (200, b"")
    assert preflight.status_code == 204
    assert preflight.headers["access-control-allow-origin"] == "http://app.example"


def test_authorizer_over_http(base_url):
    denied = httpx.get(f"{base_url}/private/1")
    allowed = httpx.get(f"{base_url}/private/1", headers={"Authorization": "Bearer good"})

    assert (denied.status_code, denied.json()) == (401, {"message": "Unauthorized"})
    assert allowed.json()["event"]["requestContext"]["authorizer"]["lambda"]["user"] == "ada"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_pulse_serve_command_serves_health_and_docs():
    port = _free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "pulse.cli", "serve", "--port", str(port)],
        cwd=ROOT,
        env=dict(os.environ),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
                break
            except httpx.TransportError:
                assert process.poll() is None, process.stderr.read().decode() if process.stderr else ""
                assert time.monotonic() < deadline, "pulse serve did not start"
                time.sleep(0.1)
        docs = httpx.get(f"http://127.0.0.1:{port}/docs", timeout=5)
    finally:
        process.terminate()
        process.wait(timeout=10)

    assert health.status_code == 200
    assert health.json()["status"] == "ok"
    assert docs.status_code == 200 and "swagger" in docs.text.lower()
