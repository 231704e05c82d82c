"""Request and response bodies of the auth route group."""

from __future__ import annotations

import datetime as dt
import re
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

Role = Literal["admin", "executive", "manager", "member"]
ApiKeyScope = Literal["ingest", "etl"]

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def normalize_email(value: str) -> str:
    """Trimmed and lower-cased; one ``@`` with a dotted domain (deliverability is not checked)."""
    email = value.strip().lower()
    if not _EMAIL.match(email):
        raise ValueError("not an email address")
    return email


Email = Annotated[str, Field(max_length=320), AfterValidator(normalize_email)]
# Length rules live in pulse.auth.passwords (a 422 with code weak_password); this only bounds input.
Password = Annotated[str, Field(max_length=1024)]
TeamKeys = Annotated[list[Annotated[str, Field(min_length=1, max_length=200)]], Field(max_length=200)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginRequest(Strict):
    email: Annotated[str, Field(max_length=320)]
    password: Password


class RefreshRequest(Strict):
    refresh_token: Annotated[str, Field(max_length=4096)]


class TokenResponse(BaseModel):
    access_token: str
    refresh_token: str
    token_type: Literal["bearer"] = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")


class UserOut(BaseModel):
    id: int
    email: str
    role: Role
    teams: list[str] = Field(description="Team keys; the user also sees their sub-teams.")
    created_at: dt.datetime | None = None


class UserList(BaseModel):
    items: list[UserOut]


class UserCreate(Strict):
    email: Email
    password: Password
    role: Role
    teams: TeamKeys = Field(default_factory=list)


class UserUpdate(Strict):
    email: Email | None = None
    password: Password | None = None
    role: Role | None = None
    teams: TeamKeys | None = None


class ApiKeyCreate(Strict):
    name: Annotated[str, Field(min_length=1, max_length=100)]
    scopes: Annotated[list[ApiKeyScope], Field(min_length=1, max_length=2)]


class ApiKeyOut(BaseModel):
    id: str
    name: str
    scopes: list[ApiKeyScope]
    created_at: dt.datetime | None = None
    created_by: int | None = None


class ApiKeyCreated(ApiKeyOut):
    key: str = Field(description="The key itself: shown only in this response, stored hashed.")


class ApiKeyList(BaseModel):
    items: list[ApiKeyOut]
