"""The data version: cached answers are keyed by it, and every accepted write bumps it.

It lives in PostgreSQL (table ``data_state``), in the same transaction as the write, so a reader
can never see new data under an old version, and a Redis restart cannot roll it back.
"""

from __future__ import annotations

import datetime as dt
from typing import NamedTuple

from sqlalchemy import Connection, text


class DataState(NamedTuple):
    version: int
    updated_at: dt.datetime | None


def current(connection: Connection) -> DataState:
    """The data version and when data last changed."""
    row = connection.execute(text("SELECT version, updated_at FROM data_state WHERE id = 1")).one()
    return DataState(int(row.version), row.updated_at)


def bump(connection: Connection) -> DataState:
    """Mark that data changed (call inside the writing transaction)."""
    row = connection.execute(
        text(
            "UPDATE data_state SET version = version + 1, updated_at = now() WHERE id = 1 RETURNING version, updated_at"
        )
    ).one()
    return DataState(int(row.version), row.updated_at)
