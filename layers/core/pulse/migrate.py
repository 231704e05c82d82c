"""Schema migrations (Alembic), kept in the layer so a deployed function can run them too."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from pulse.config import get_settings

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("sqlalchemy.url", (url or get_settings().database_url).replace("%", "%%"))
    return config


def upgrade(url: str | None = None, revision: str = "head") -> None:
    """Bring the database at ``url`` (default: the configured one) up to ``revision``."""
    command.upgrade(alembic_config(url), revision)


def revision(message: str, autogenerate: bool = True, url: str | None = None) -> None:
    """Write a new migration script (development aid)."""
    command.revision(alembic_config(url), message=message, autogenerate=autogenerate)
