"""Plain endpoints and the shared dependencies run on the event loop, not in anyio's worker thread
(``pulse.handler.on_the_event_loop``): the thread cost every cold start ~30 ms."""

from __future__ import annotations

import inspect
import threading
from pathlib import Path

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from pulse.handler import RouteGroup, create_app
from pulse.local.template import load_module, load_template

ROOT = Path(__file__).resolve().parents[2]


def app_with_two_routes():
    app = create_app(title="threads")
    router = RouteGroup(app, prefix="/t")

    @router.get("/grouped")
    def grouped(n: int) -> dict[str, object]:
        return {"thread": threading.current_thread().name, "n": n}

    # FastAPI's own registration, for comparison: a plain endpoint goes to the worker thread.
    @app.get("/t/direct")
    def direct(n: int) -> dict[str, object]:
        return {"thread": threading.current_thread().name, "n": n}

    return app, grouped


def test_a_plain_endpoint_of_a_route_group_runs_on_the_loops_thread():
    app, _ = app_with_two_routes()
    with TestClient(app) as client:
        grouped = client.get("/t/grouped", params={"n": 3}).json()
        direct = client.get("/t/direct", params={"n": 3}).json()

    assert direct["thread"].startswith("AnyIO worker thread")
    assert not grouped["thread"].startswith("AnyIO worker thread")
    assert grouped["n"] == 3


def test_the_endpoint_keeps_its_parameters_and_its_validation():
    app, grouped = app_with_two_routes()
    with TestClient(app) as client:
        bad = client.get("/t/grouped", params={"n": "three"})

    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "validation_error"
    # The decorator hands back the function as written: callers and tests still call it plainly.
    assert grouped(n=2)["n"] == 2


def dependency_calls(dependant):
    for sub in dependant.dependencies:
        yield sub.call
        yield from dependency_calls(sub)


FUNCTIONS = sorted(
    (logical_id, function)
    for logical_id, function in load_template(ROOT / "template.yaml").functions.items()
    if function.routes
)


@pytest.mark.parametrize(("logical_id", "function"), FUNCTIONS, ids=[name for name, _ in FUNCTIONS])
def test_no_route_of_a_function_needs_the_worker_thread(logical_id, function):
    module = load_module(function.code_uri, function.handler.rpartition(".")[0])
    routes = [route for route in module.app.routes if isinstance(route, APIRoute)]

    plain = [
        f"{route.path}: {getattr(call, '__name__', call)}"
        for route in routes
        for call in (route.dependant.call, *dependency_calls(route.dependant))
        if inspect.isfunction(call) and not inspect.iscoroutinefunction(call)
    ]

    assert routes
    assert plain == []
