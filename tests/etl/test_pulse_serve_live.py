"""Through a real ``pulse serve``: a WebSocket client watches a job go from dispatched to succeeded."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.etl.conftest import StandInEtl, _start, etl_key_headers, headers, save_settings

ROOT = Path(__file__).resolve().parents[2]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture(scope="module")
def stand_in() -> Iterator[StandInEtl]:
    etl = _start([])
    yield etl
    etl.server.shutdown()
    etl.server.server_close()


@pytest.fixture(scope="module")
def served(stand_in: StandInEtl) -> Iterator[str]:
    """``pulse serve`` in its own process, on this session's database and Redis prefix."""
    port = _free_port()
    env = {
        **os.environ,
        "ETL_TRANSPORT": "http",
        "ETL_SERVICE_URL": stand_in.url,
        "ETL_DISPATCH_RETRIES": "0",
    }
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "pulse.cli", "serve", "--port", str(port)],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        try:
            deadline = time.monotonic() + 30
            while True:
                try:
                    httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=5)
                    break
                except httpx.TransportError:
                    if process.poll() is not None or time.monotonic() > deadline:
                        log.seek(0)
                        pytest.fail(f"pulse serve did not start:\n{log.read().decode()[-3000:]}")
                    time.sleep(0.1)
            yield f"127.0.0.1:{port}"
        finally:
            process.terminate()
            process.wait(timeout=10)


def receive(client, timeout: float = 10.0) -> dict:
    return json.loads(client.recv(timeout=timeout))


def test_a_websocket_client_sees_a_job_go_from_dispatched_to_succeeded(served, stand_in):
    save_settings(repositories=["acme/checkout"])
    member_token = headers("member")["authorization"].removeprefix("Bearer ")

    with connect(f"ws://{served}/ws?token={member_token}") as client:
        client.send(json.dumps({"action": "subscribe", "data": True}))
        assert receive(client) == {"type": "subscribed", "jobs": [], "data": True, "unknown_jobs": []}

        created = httpx.post(
            f"http://{served}/api/v1/etl/jobs",
            headers=headers("admin"),
            json={"type": "incremental"},
            timeout=10,
        )
        assert created.status_code == 202
        job_id = created.json()["id"]
        assert [request.body["id"] for request in stand_in.jobs_posted()][-1] == job_id

        client.send(json.dumps({"action": "subscribe", "jobs": [job_id]}))
        assert receive(client)["type"] == "subscribed"
        seen = [receive(client)["job"]]

        key = etl_key_headers()
        for report in (
            {"status": "running", "progress": 0.5},
            {"status": "succeeded", "counts": {"commits": 12}},
        ):
            answer = httpx.post(
                f"http://{served}/api/v1/etl/jobs/{job_id}/events", headers=key, json=report, timeout=10
            )
            assert answer.status_code == 200 and answer.json()["applied"] is True
            seen.append(receive(client)["job"])
        notice = receive(client)

    assert [(job["id"], job["status"], job["progress"]) for job in seen] == [
        (job_id, "dispatched", 0.0),
        (job_id, "running", 0.5),
        (job_id, "succeeded", 1.0),
    ]
    assert seen[-1]["counts"] == {"commits": 12}
    assert notice["type"] == "data_updated"
    assert notice["job_id"] == job_id and notice["data_version"] == 1


def test_pulse_serve_refuses_a_websocket_without_a_valid_token(served):
    for url in (f"ws://{served}/ws", f"ws://{served}/ws?token=garbage"):
        with pytest.raises(InvalidStatus) as refused:
            connect(url, open_timeout=10)
        assert refused.value.response.status_code == 401
        assert json.loads(refused.value.response.body)["error"]["code"] in ("missing_token", "invalid_token")


def test_unknown_actions_get_an_error_frame(served):
    member_token = headers("member")["authorization"].removeprefix("Bearer ")

    with connect(f"ws://{served}/ws?token={member_token}") as client:
        client.send("not json at all")
        first = receive(client)
        client.send(json.dumps({"action": "dance"}))
        second = receive(client)

    assert first["code"] == second["code"] == "unknown_action"
