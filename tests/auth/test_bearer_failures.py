"""Every bad credential is a 401 with the envelope, through the authorizer and the real handler.

The authorizer verifies; a failure reaches the function as a context without identity, and
``current_caller`` answers 401 with the envelope. Only a request without any Authorization header
is answered by API Gateway itself (identity source missing): 401 ``{"message":"Unauthorized"}``.
"""

from __future__ import annotations

import base64
import json
import time
import warnings

import pytest

from tests.auth.conftest import SECRET, add_teams, add_user, assert_envelope, bearer, craft, login, tokens_of
from tests.conftest import load_event

ME = "/api/v1/auth/me"


def _tamper(token: str) -> str:
    """Change the role claim in the payload but keep the original signature."""
    header, payload, signature = token.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
    claims["role"] = "admin"
    forged = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    return f"{header}.{forged}.{signature}"


def _alg_none() -> str:
    header = base64.urlsafe_b64encode(b'{"alg":"none","typ":"JWT"}').rstrip(b"=").decode()
    body = craft().split(".")[1]
    return f"{header}.{body}."


def _hs512_with_the_right_key() -> str:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # PyJWT's key-length advice for SHA-512
        return craft(alg="HS512")


HOUR = 3600
# case: (Authorization header, error code, a fragment of the message that names the reason)
CASES = {
    "garbage": ("Bearer not-a-token", "invalid_token", "malformed"),
    "alg none": (f"Bearer {_alg_none()}", "invalid_token", "signature"),
    "alg HS512 with the right key": (f"Bearer {_hs512_with_the_right_key()}", "invalid_token", "signature"),
    "wrong key": (
        f"Bearer {craft(key='another-secret-key-of-sufficient-length-42')}",
        "invalid_token",
        "signature",
    ),
    "expired": (
        f"Bearer {craft({'iat': time.time() - 2 * HOUR, 'nbf': time.time() - 2 * HOUR, 'exp': time.time() - HOUR})}",
        "token_expired",
        "expired",
    ),
    "not yet valid": (f"Bearer {craft({'nbf': time.time() + HOUR})}", "invalid_token", "not valid yet"),
    "no exp": (f"Bearer {craft(drop=('exp',))}", "invalid_token", "'exp'"),
    "no jti": (f"Bearer {craft(drop=('jti',))}", "invalid_token", "'jti'"),
    "wrong iss": (f"Bearer {craft({'iss': 'someone-else'})}", "invalid_token", "not issued for this API"),
    "wrong aud": (f"Bearer {craft({'aud': 'another-api'})}", "invalid_token", "not issued for this API"),
    "refresh token as access": (f"Bearer {craft({'typ': 'refresh'})}", "invalid_token", "refresh token"),
    "unknown role": (f"Bearer {craft({'role': 'superuser'})}", "invalid_token", "role"),
    "non-Bearer scheme": (
        f"Basic {base64.b64encode(b'admin:pw').decode()}",
        "invalid_authorization",
        "Bearer scheme",
    ),
    "Bearer without a token": ("Bearer ", "invalid_authorization", "Bearer scheme"),
    "unknown API key": ("Bearer pulse_0123456789abcdef_not-the-secret", "invalid_token", "API key"),
}


@pytest.mark.parametrize("case", CASES)
def test_bad_credentials_are_401_with_the_envelope(gateway, case):
    authorization, code, reason = CASES[case]

    response = gateway.request("GET", ME, headers={"authorization": authorization})

    assert_envelope(response, 401, code)
    assert reason in response.json()["error"]["message"]
    assert response.headers["www-authenticate"].startswith("Bearer")


def test_tampered_payload_is_401(gateway):
    user = add_user("member@example.com", "member")
    access = tokens_of(gateway, user)["access_token"]

    response = gateway.request("GET", ME, headers=bearer(_tamper(access)))

    assert_envelope(response, 401, "invalid_token")


def test_revoked_token_is_401(gateway):
    user = add_user("member@example.com", "member")
    access = tokens_of(gateway, user)["access_token"]
    assert gateway.request("GET", ME, headers=bearer(access)).status == 200  # cached "allow" now

    assert gateway.request("POST", "/api/v1/auth/logout", headers=bearer(access)).status == 204
    response = gateway.request("GET", ME, headers=bearer(access))

    # The gateway still holds the authorizer's cached answer; the function's re-check refuses.
    assert_envelope(response, 401, "token_revoked")


def test_token_expiring_while_the_authorizer_answer_is_cached_is_401(gateway, monkeypatch):
    token = craft({"exp": time.time() + 60})
    assert gateway.request("GET", ME, headers=bearer(token)).status == 404  # user 1 does not exist
    later = time.time() + 120
    monkeypatch.setattr(time, "time", lambda: later)

    response = gateway.request("GET", ME, headers=bearer(token))

    assert_envelope(response, 401, "token_expired")


def test_no_authorization_header_is_api_gateways_own_401(gateway):
    response = gateway.request("GET", ME)

    assert response.status == 401
    assert response.json() == {"message": "Unauthorized"}


def test_the_handler_alone_answers_401_with_the_envelope_without_an_authorizer_context(gateway):
    # As with `sam local invoke` / `pulse invoke` of an event without requestContext.authorizer.
    event = load_event("auth_me")
    del event["requestContext"]["authorizer"]

    result = gateway.invoke("AuthFunction", event)

    assert result["statusCode"] == 401
    assert json.loads(result["body"])["error"]["code"] == "missing_token"


def test_event_file_with_an_authorizer_context_reaches_the_route(gateway):
    user = add_user("admin@example.com", "admin")
    event = load_event("auth_me")
    event["requestContext"]["authorizer"]["lambda"]["sub"] = str(user.id)

    result = gateway.invoke("AuthFunction", event)

    assert result["statusCode"] == 200
    assert json.loads(result["body"])["email"] == "admin@example.com"


def test_a_valid_token_passes_its_claims_to_the_function(gateway):
    add_teams(("payments", None))
    user = add_user("lead@example.com", "manager", ("payments",))
    access = login(gateway, user.email).json()["access_token"]

    me = gateway.request("GET", ME, headers=bearer(access))

    assert me.status == 200
    body = me.json()
    assert (body["id"], body["email"], body["role"], body["teams"]) == (
        user.id,
        "lead@example.com",
        "manager",
        ["payments"],
    )


def test_secret_used_by_tests_is_the_sessions():
    # The crafted tokens above are only meaningful if the app signs with the same key.
    from pulse.config import get_settings

    assert get_settings().JWT_SECRET_KEY == SECRET
