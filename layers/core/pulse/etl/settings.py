"""ETL settings: what the ETL service syncs and when, saved as numbered versions (who, when).

The newest version is current; before the first save the defaults below apply as version 0.
Saving settings equal to the current ones records nothing (a version is a change).
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from sqlalchemy import Connection, func, insert, select

from pulse.config import get_settings
from pulse.errors import ApiError
from pulse.etl import cron
from pulse.tables import etl_settings_versions

REPOSITORY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]*/(\*|[A-Za-z0-9_.-]+)$")
Source = Literal["github", "github_actions", "gitlab", "jira", "pagerduty", "opsgenie"]
DEFAULT_SOURCES: tuple[Source, ...] = ("github",)
MAX_REPOSITORIES = 1000
MAX_SCHEDULES = 24
_LOCK = "etl-settings"


def _unique(values: list[Any], what: str) -> list[Any]:
    seen: set[Any] = set()
    duplicates: set[str] = set()
    for value in values:
        if value in seen:
            duplicates.add(str(value))
        seen.add(value)
    if duplicates:
        raise ValueError(f"duplicate {what}: {', '.join(sorted(duplicates))}")
    return values


def check_repositories(values: list[str]) -> list[str]:
    """Each entry is ``owner/name`` or ``owner/*`` (every repository of the owner), listed once."""
    bad = [value for value in values if not REPOSITORY.match(value)]
    if bad:
        raise ValueError(f"not 'owner/name' or 'owner/*': {', '.join(bad)}")
    return _unique(values, "repositories")


def covers(patterns: list[str], repository: str) -> bool:
    """Whether ``repository`` (a name or an ``owner/*`` pattern) is within ``patterns``."""
    owner = repository.split("/", 1)[0]
    return repository in patterns or f"{owner}/*" in patterns


def overlap(first: list[str], second: list[str]) -> bool:
    """Whether two repository lists (names or ``owner/*`` patterns) share any repository."""
    return any(covers(first, repository) for repository in second) or any(
        covers(second, repository) for repository in first
    )


class Schedule(BaseModel):
    """An incremental sync that runs whenever ``cron`` (five fields, UTC) fires."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(pattern=r"^[a-z0-9][a-z0-9_-]{0,62}$", description="slug, unique among schedules")
    cron: str = Field(description="five-field cron in UTC, e.g. '0 */2 * * *'", examples=["0 */2 * * *"])
    repositories: list[str] | None = Field(
        default=None, description="a subset of the settings' repositories; all of them when absent"
    )
    enabled: bool = True

    @field_validator("cron")
    @classmethod
    def _cron(cls, value: str) -> str:
        try:
            cron.parse(value)
        except cron.CronError as error:
            raise ValueError(f"invalid cron expression: {error}") from None
        return " ".join(value.split())

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else check_repositories(value)


def _default_window() -> int:
    return get_settings().INCIDENT_ATTRIBUTION_WINDOW_HOURS


class EtlSettings(BaseModel):
    """What the ETL service syncs, how incidents are recognised and attributed, and when it syncs."""

    model_config = ConfigDict(extra="forbid")

    repositories: list[str] = Field(
        default_factory=list,
        max_length=MAX_REPOSITORIES,
        description="'owner/name' or 'owner/*' entries",
        examples=[["acme/checkout", "acme-platform/*"]],
    )
    sources: list[Source] = Field(default_factory=lambda: list(DEFAULT_SOURCES), min_length=1)
    incident_label: str = Field(default="incident", min_length=1, max_length=100)
    attribution_window_hours: int = Field(default_factory=_default_window, ge=1, le=2160)
    schedules: list[Schedule] = Field(default_factory=list, max_length=MAX_SCHEDULES)

    @field_validator("repositories")
    @classmethod
    def _repositories(cls, value: list[str]) -> list[str]:
        return check_repositories(value)

    @field_validator("sources")
    @classmethod
    def _sources(cls, value: list[str]) -> list[str]:
        return _unique(value, "sources")

    @field_validator("incident_label")
    @classmethod
    def _label(cls, value: str) -> str:
        if not value.strip():
            raise ValueError("must not be blank")
        return value.strip()

    @model_validator(mode="after")
    def _schedules(self) -> EtlSettings:
        _unique([schedule.name for schedule in self.schedules], "schedule names")
        for schedule in self.schedules:
            outside = [r for r in schedule.repositories or [] if not covers(self.repositories, r)]
            if outside:
                raise ValueError(
                    f"schedule '{schedule.name}' names repositories that are not synced: {', '.join(outside)}"
                )
        return self


@dataclass(frozen=True)
class SettingsVersion:
    version: int
    settings: EtlSettings
    changed_by: str | None
    changed_at: dt.datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "version": self.version,
            "settings": self.settings.model_dump(),
            "changed_by": self.changed_by,
            "changed_at": self.changed_at,
        }


def _version_of(row: Any) -> SettingsVersion:
    return SettingsVersion(
        row.version, EtlSettings.model_validate(row.settings), row.changed_by, row.changed_at
    )


def current(connection: Connection) -> SettingsVersion:
    """The current settings (version 0 with the defaults before anything was saved)."""
    row = connection.execute(
        select(etl_settings_versions).order_by(etl_settings_versions.c.version.desc()).limit(1)
    ).first()
    if row is None:
        return SettingsVersion(0, EtlSettings(), None, None)
    return _version_of(row)


def save(
    connection: Connection, *, settings: EtlSettings, changed_by: str, expected_version: int | None = None
) -> tuple[SettingsVersion, bool]:
    """Record ``settings`` as the next version; ``(version, changed)``; 412 if ``expected_version`` is stale."""
    # Serialize writers so version numbers are gapless and If-Match is checked against the truth.
    connection.execute(select(func.pg_advisory_xact_lock(func.hashtextextended(_LOCK, 0))))
    latest = current(connection)
    if expected_version is not None and expected_version != latest.version:
        raise ApiError(
            412,
            "settings_version_mismatch",
            f"The settings are at version {latest.version}, not {expected_version}; reload and try again.",
        )
    if latest.version and latest.settings == settings:
        return latest, False
    row = connection.execute(
        insert(etl_settings_versions)
        .values(version=latest.version + 1, settings=settings.model_dump(mode="json"), changed_by=changed_by)
        .returning(etl_settings_versions)
    ).one()
    return _version_of(row), True


def _changed_fields(newer: dict[str, Any], older: dict[str, Any] | None) -> list[str]:
    if older is None:
        return sorted(newer)
    return sorted(name for name in newer.keys() | older.keys() if newer.get(name) != older.get(name))


def history(connection: Connection, *, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    """Saved versions newest first, each with the fields it changed from the one before; and the total."""
    total = int(connection.execute(select(func.count()).select_from(etl_settings_versions)).scalar_one())
    rows = connection.execute(
        select(etl_settings_versions)
        .order_by(etl_settings_versions.c.version.desc())
        .limit(limit + 1)
        .offset(offset)
    ).all()
    items = []
    for index, row in enumerate(rows[:limit]):
        older = rows[index + 1].settings if index + 1 < len(rows) else None
        items.append(
            {
                "version": row.version,
                "settings": row.settings,
                "changed_by": row.changed_by,
                "changed_at": row.changed_at,
                "changed_fields": _changed_fields(row.settings, older),
            }
        )
    return items, total
