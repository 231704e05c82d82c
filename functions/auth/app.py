"""Auth: sign in, refresh, sign out, who am I; users and API keys (admins only).

``login`` and ``refresh`` are open routes; every other route sits behind the Lambda authorizer
and checks the caller again here. Failures are 401s with the envelope (see ``pulse.auth``).
"""

from __future__ import annotations

import pulse.coldstart

from fastapi import Request, Response, status

from pulse import db
from pulse.auth import apikeys, sessions, users
from pulse.auth.context import AdminDep, UserDep, source_ip
from pulse.auth.schemas import (
    ApiKeyCreate,
    ApiKeyCreated,
    ApiKeyList,
    LoginRequest,
    RefreshRequest,
    TokenResponse,
    UserCreate,
    UserList,
    UserOut,
    UserUpdate,
)
from pulse.config import get_settings
from pulse.errors import ApiError
from pulse.handler import RouteGroup, create_app, make_handler

app = create_app(title="Pulse auth")
router = RouteGroup(app, prefix=f"{get_settings().API_V1_PREFIX}/auth", tags=["auth"])

UNAUTHORIZED = {401: {"description": "Missing, invalid, expired or revoked credential (error envelope)."}}
ADMIN_ONLY = {**UNAUTHORIZED, 403: {"description": "Only admins may do this."}}


@router.post(
    "/login",
    responses={401: {"description": "Wrong email or password."}, 429: {"description": "Too many failures."}},
)
def login(body: LoginRequest, request: Request) -> TokenResponse:
    """Exchange an email and password for an access token and a refresh token."""
    with db.transaction() as connection:
        return sessions.login(
            connection, email=body.email, password=body.password, source_ip=source_ip(request)
        )


@router.post("/refresh", responses=UNAUTHORIZED)
def refresh(body: RefreshRequest) -> TokenResponse:
    """Exchange a refresh token for a new pair; a refresh token works once."""
    with db.connect() as connection:
        return sessions.refresh(connection, refresh_token=body.refresh_token)


@router.post("/logout", status_code=status.HTTP_204_NO_CONTENT, responses=UNAUTHORIZED)
def logout(caller: UserDep) -> Response:
    """Revoke the presented access token and its refresh tokens."""
    sessions.logout(caller)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.get("/me", responses=UNAUTHORIZED)
def me(caller: UserDep) -> UserOut:
    """The signed-in user: id, email, role and teams."""
    with db.connect() as connection:
        user = users.get(connection, user_id=int(caller.subject)) if caller.subject.isdigit() else None
    if user is None:
        raise ApiError(404, "user_not_found", "This user no longer exists.")
    return user


@router.get("/users", responses=ADMIN_ONLY)
def list_users(caller: AdminDep) -> UserList:
    """Every user, by email."""
    with db.connect() as connection:
        return UserList(items=users.list_all(connection))


@router.post(
    "/users",
    status_code=status.HTTP_201_CREATED,
    responses={**ADMIN_ONLY, 409: {"description": "Email taken."}},
)
def create_user(body: UserCreate, caller: AdminDep) -> UserOut:
    """Create a user with a role and teams (passwords: at least 12 characters)."""
    with db.transaction() as connection:
        return users.create(
            connection, email=body.email, password=body.password, role=body.role, team_keys=body.teams
        )


@router.patch("/users/{user_id}", responses={**ADMIN_ONLY, 404: {"description": "No such user."}})
def update_user(user_id: int, body: UserUpdate, caller: AdminDep) -> UserOut:
    """Change a user's email, password, role or teams (the last three sign them out)."""
    with db.transaction() as connection:
        return users.update(connection, user_id=user_id, changes=body)


@router.delete(
    "/users/{user_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**ADMIN_ONLY, 404: {"description": "No such user."}},
)
def delete_user(user_id: int, caller: AdminDep) -> Response:
    """Delete a user and revoke their tokens."""
    with db.transaction() as connection:
        users.delete(connection, user_id=user_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/api-keys", status_code=status.HTTP_201_CREATED, responses=ADMIN_ONLY)
def create_api_key(body: ApiKeyCreate, caller: AdminDep) -> ApiKeyCreated:
    """Create an API key with scopes ``ingest`` and/or ``etl``; the key is shown only here."""
    with db.transaction() as connection:
        return apikeys.create(
            connection,
            name=body.name,
            scopes=body.scopes,
            created_by=int(caller.subject) if caller.subject.isdigit() else None,
        )


@router.get("/api-keys", responses=ADMIN_ONLY)
def list_api_keys(caller: AdminDep) -> ApiKeyList:
    """Every API key, without secrets."""
    with db.connect() as connection:
        return ApiKeyList(items=apikeys.list_all(connection))


@router.delete(
    "/api-keys/{key_id}",
    status_code=status.HTTP_204_NO_CONTENT,
    responses={**ADMIN_ONLY, 404: {"description": "No such key."}},
)
def delete_api_key(key_id: str, caller: AdminDep) -> Response:
    """Delete an API key; it stops working at once."""
    with db.transaction() as connection:
        apikeys.delete(connection, key_id=key_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


handler = make_handler(app)

pulse.coldstart.settle()  # the end of this function's initialisation
