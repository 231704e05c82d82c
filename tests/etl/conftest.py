"""ETL test helpers: a real stand-in ETL service on loopback, settings overrides, callers."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest

JOB_ID = "7f2c9a54-3b1e-4c6d-9a0f-2e8b1d4c5a67"


def headers(role: str = "admin", teams: tuple[str, ...] = (), subject: str = "1") -> dict[str, str]:
    """Bearer headers for a user, signed by the auth layer (verified by the real authorizer)."""
    from pulse.auth.tokens import issue_access_token

    return {"authorization": f"Bearer {issue_access_token(subject=subject, role=role, teams=teams)}"}


def etl_key_headers(scopes: tuple[str, ...] = ("etl",)) -> dict[str, str]:
    """Bearer headers with a fresh API key of ``scopes`` (created through the auth layer)."""
    from pulse.auth import apikeys
    from pulse.db import transaction

    with transaction() as connection:
        created = apikeys.create(connection, name="etl-service", scopes=scopes, created_by=None)
    return {"authorization": f"Bearer {created.key}"}


def save_settings(**values: Any) -> int:
    """Save ETL settings through the layer (as user "1"); their version."""
    from pulse.db import transaction
    from pulse.etl.settings import EtlSettings, save

    with transaction() as connection:
        saved, _ = save(connection, settings=EtlSettings(**values), changed_by="1")
    return saved.version


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class StandInEtl:
    """An HTTP server playing the ETL service: answers from ``script`` (then 202), records requests.

    A script entry is a status code, or ``(status, delay_seconds)`` to answer late.
    """

    server: ThreadingHTTPServer
    requests: list[Received] = field(default_factory=list)
    script: list[Any] = field(default_factory=list)

    @property
    def url(self) -> str:
        host, port = self.server.server_address[:2]
        return f"http://{host!s}:{port}"

    def jobs_posted(self) -> list[Received]:
        return [request for request in self.requests if request.path == "/api/v1/jobs"]


def _start(stand_in_script: list[Any]) -> StandInEtl:
    holder: dict[str, StandInEtl] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("content-length") or 0))
            etl = holder["etl"]
            etl.requests.append(
                Received(
                    "POST",
                    self.path,
                    {k.lower(): v for k, v in self.headers.items()},
                    json.loads(raw) if raw else None,
                )
            )
            step = etl.script.pop(0) if etl.script else 202
            status, delay = step if isinstance(step, tuple) else (step, 0.0)
            if delay:
                time.sleep(delay)
            body = json.dumps({"accepted": status < 300}).encode()
            try:
                self.send_response(status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            except OSError:  # the client gave up waiting (timeout tests)
                pass

        def log_message(self, format: str, *args: Any) -> None:
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    etl = StandInEtl(server, script=stand_in_script)
    holder["etl"] = etl
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True).start()
    return etl


@pytest.fixture
def configure(monkeypatch: pytest.MonkeyPatch) -> Any:
    """``configure(NAME=value, ...)`` overrides settings of this process for one test."""
    from pulse.config import get_settings

    def apply(**values: Any) -> None:
        for name, value in values.items():
            monkeypatch.setattr(get_settings(), name, value)

    return apply


@pytest.fixture
def etl_service(configure: Any) -> Iterator[StandInEtl]:
    """A stand-in ETL service on loopback; Pulse dispatches to it over HTTP with fast retries."""
    etl = _start([])
    configure(
        ETL_TRANSPORT="http",
        ETL_SERVICE_URL=etl.url,
        ETL_DISPATCH_TIMEOUT_SECONDS=1.0,
        ETL_DISPATCH_RETRIES=2,
        ETL_DISPATCH_BACKOFF_SECONDS=0.01,
    )
    yield etl
    etl.server.shutdown()
    etl.server.server_close()


def closed_port_url() -> str:
    """A loopback URL nothing listens on (connections are refused at once)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}"
