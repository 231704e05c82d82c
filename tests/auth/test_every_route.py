"""Every route behind the authorizer refuses a request without a valid credential.

The authorizer lets a failed verification through to the function (so that the client gets the
envelope), which makes each function's ``current_caller`` dependency the lock: this sweep over
template.yaml fails for any protected route that forgets it.
"""

from __future__ import annotations

import re

import pytest

from tests.auth.conftest import assert_envelope, bearer, craft
from tests.conftest import ROOT

OPEN_ROUTES = {
    ("GET", "/api/v1/health"),
    ("GET", "/docs"),
    ("GET", "/redoc"),
    ("GET", "/openapi.json"),
    ("POST", "/api/v1/auth/login"),
    ("POST", "/api/v1/auth/refresh"),
}


def _routes():
    from pulse.local.template import load_template

    return load_template(ROOT / "template.yaml").routes


def _concrete(path):
    return re.sub(r"\{[^}]+\}", "x", path)


def test_only_health_docs_login_refresh_and_signed_webhooks_are_open():
    open_routes = {(route.method, route.path) for route in _routes() if route.authorizer is None}

    unexpected = {route for route in open_routes - OPEN_ROUTES if "/webhooks/" not in route[1]}

    assert unexpected == set()


PROTECTED = [route for route in _routes() if route.authorizer is not None]


@pytest.mark.parametrize("route", PROTECTED, ids=[f"{r.method} {r.path}" for r in PROTECTED])
def test_protected_route_rejects_a_forged_token(gateway, route):
    method = "GET" if route.method == "ANY" else route.method
    forged = craft(key="an-attackers-own-secret-key-of-good-length")

    response = gateway.request(method, _concrete(route.path), headers=bearer(forged))

    assert_envelope(response, 401, "invalid_token")
