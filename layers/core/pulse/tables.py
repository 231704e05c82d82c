"""The schema's ``MetaData`` and, as SQLAlchemy Core tables, the tables request paths build queries on.

Handlers must not import the ORM: ``sqlalchemy.orm`` and the declarative classes of
``pulse.models`` cost about 185 ms of cold start, a few ``Table`` objects next to nothing. So the
ETL coordination tables, which ``pulse.etl`` queries with ``select``/``insert``/``update``, are
declared here, and ``pulse.models`` maps them (``__table__``) beside its own classes on the same
``metadata``: Alembic and the tests still see the whole schema in ``pulse.models.Base.metadata``.
Other request paths write their SQL with ``text()`` and need no table at all.
"""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID

Timestamp = DateTime(timezone=True)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

metadata = MetaData(naming_convention=NAMING)

# ETL coordination (pulse.etl): settings history, jobs, the status reports they received, schedule fires.

# Every saved version of the ETL settings: the newest is current; who and when is the history.
etl_settings_versions = Table(
    "etl_settings_versions",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("settings", JSONB, nullable=False),
    Column("changed_by", Text, nullable=False),
    Column("changed_at", Timestamp, nullable=False, server_default=text("now()")),
)

etl_jobs = Table(
    "etl_jobs",
    metadata,
    Column("id", UUID(as_uuid=False), primary_key=True),
    Column("type", Text, nullable=False),
    Column("repositories", ARRAY(Text), nullable=False),
    Column("status", Text, nullable=False, server_default=text("'queued'")),
    Column("progress", Float, nullable=False, server_default=text("0")),
    Column("counts", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("message", Text),
    Column("error", Text),
    Column("trigger", Text, nullable=False),  # api, schedule or retry
    Column("schedule_name", Text),
    Column("retry_of", ForeignKey("etl_jobs.id"), index=True),
    Column("requested_by", Text, nullable=False),
    Column("idempotency_key", Text),
    Column("request_fingerprint", Text),
    Column("settings_version", Integer, nullable=False),
    Column("transport", Text),
    Column("created_at", Timestamp, nullable=False, server_default=text("now()")),
    Column("updated_at", Timestamp, nullable=False, server_default=text("now()")),
    Column("dispatched_at", Timestamp),
    Column("started_at", Timestamp),
    Column("finished_at", Timestamp),
    CheckConstraint("type IN ('incremental', 'full')", name="type"),
    CheckConstraint(
        "status IN ('queued', 'dispatched', 'running', 'succeeded', 'failed', 'cancelled')", name="status"
    ),
    CheckConstraint("progress >= 0 AND progress <= 1", name="progress"),
    # GET /etl/jobs?status=... newest first
    Index("ix_etl_jobs_status_created", "status", "created_at"),
    # GET /etl/jobs newest first
    Index("ix_etl_jobs_created", "created_at"),
    # Idempotency-Key lookups (same caller, same key)
    Index(
        "ix_etl_jobs_idempotency",
        "requested_by",
        "idempotency_key",
        postgresql_where=text("idempotency_key IS NOT NULL"),
    ),
)

# A status report about a job, kept whether or not it moved the job (``applied``).
etl_job_events = Table(
    "etl_job_events",
    metadata,
    Column("id", BigInteger, primary_key=True),
    # a job's events in order (GET /etl/jobs/{id})
    Column("job_id", ForeignKey("etl_jobs.id", ondelete="CASCADE"), nullable=False, index=True),
    Column("status", Text, nullable=False),
    Column("progress", Float),
    Column("message", Text),
    Column("counts", JSONB),
    Column("source", Text, nullable=False),  # pulse, http or sqs
    Column("applied", Boolean, nullable=False),
    Column("received_at", Timestamp, nullable=False, server_default=text("now()")),
)

# One firing of a settings schedule; the primary key makes a repeated EventBridge tick harmless.
etl_schedule_fires = Table(
    "etl_schedule_fires",
    metadata,
    Column("schedule_name", Text, primary_key=True),
    Column("fire_at", Timestamp, primary_key=True),
    Column("job_id", ForeignKey("etl_jobs.id", ondelete="SET NULL")),
    Column("skipped", Text),  # why no job was created
    Column("created_at", Timestamp, nullable=False, server_default=text("now()")),
)
