"""The schema: one table per ingest record type (``ingest-format.md``) plus derived tables.

Natural keys from the ingest format are unique constraints; rows carry surrogate integer ids so
the metric joins stay narrow. A record referenced before it is described is a *placeholder*: a
row with only its natural key (``name``/``authored_at``/``state``/``title`` null) that its own
record fills in later. Key columns use the ``C`` collation: they are identifiers compared
bytewise, which keeps the unique indexes the loader probes millions of times cheap.

Foreign keys: dimension tables (teams, repositories, contributors, objectives) have them; the
fact tables that ``pulse import`` bulk-loads (commits, pull requests, reviews, deployments, the
link and derived tables...) do not. The loader is their only writer and resolves every
reference by a join after creating placeholders, so no reference can dangle, while a foreign
key would cost a trigger call per inserted row (about half the load time of commits, measured).

Every index names the query it serves (``docs/schema.md`` lists them). Metric queries live in
``pulse.metrics``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB, UUID
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

from pulse import tables

Timestamp = DateTime(timezone=True)
Key = Text(collation="C")


class Base(DeclarativeBase):
    # The naming convention lives with the metadata in pulse.tables.
    metadata = tables.metadata


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(Key, unique=True)
    name: Mapped[str | None] = mapped_column(Text)  # null: placeholder
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(Key, unique=True)  # owner/name
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)  # team scopes
    project: Mapped[str | None] = mapped_column(Text, index=True)  # portfolio /projects
    default_branch: Mapped[str | None] = mapped_column(Text)


class Contributor(Base):
    __tablename__ = "contributors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(Key, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)  # team scopes
    is_bot: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Commit(Base):
    __tablename__ = "commits"
    __table_args__ = (
        # upsert key; a PR's merge commit and a deployment's sha are looked up by it
        UniqueConstraint("repository_id", "sha"),
        # commits of a repository in a window: repository insights (heatmap, weekly commits),
        # knowledge concentration, contributor stats scoped to teams; and the loader's
        # per-repository reads when it resolves what deployments ship
        Index("ix_commits_repository_authored", "repository_id", "authored_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(Integer)
    sha: Mapped[str] = mapped_column(Key)
    author_id: Mapped[int | None] = mapped_column(Integer)
    authored_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)  # null: placeholder
    committed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    parents: Mapped[list[str] | None] = mapped_column(ARRAY(Text))  # null: graph unknown here
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)


class PullRequest(Base):
    __tablename__ = "pull_requests"
    __table_args__ = (
        # upsert key; reviews and work items reference a PR by it
        UniqueConstraint("repository_id", "number"),
        # /pull-requests: merged PRs whose merged_at is in the window, ordered by merged_at
        Index("ix_pull_requests_merged_at", "merged_at", postgresql_where=text("merged_at IS NOT NULL")),
        # the same, filtered by repository (team scopes), and repository insights
        Index("ix_pull_requests_repository_merged", "repository_id", "merged_at"),
        # PRs opened in a window (contributor stats), open and stale PR findings
        Index("ix_pull_requests_repository_created", "repository_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(Integer)
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)  # null: placeholder
    draft: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    ready_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    merged_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    closed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    merge_commit_sha: Mapped[str | None] = mapped_column(Key)
    base_branch: Mapped[str | None] = mapped_column(Text)
    head_branch: Mapped[str | None] = mapped_column(Text)
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)
    changed_files: Mapped[int | None] = mapped_column(Integer)
    labels: Mapped[list[str] | None] = mapped_column(ARRAY(Text))


class PullRequestCommit(Base):
    """The commits a pull request lists (its ``commits``)."""

    __tablename__ = "pull_request_commits"

    # first_commit_at: the earliest authored_at of a PR's commits (the primary key serves it)
    pull_request_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    commit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("repository_id", "external_id"),  # upsert key
        # pickup/review stages: first non-author review of a PR at or after ready_at
        Index("ix_reviews_pull_request_submitted", "pull_request_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(Integer)
    external_id: Mapped[str] = mapped_column(Key)  # the record's `id`
    pull_request_id: Mapped[int] = mapped_column(BigInteger)
    reviewer_id: Mapped[int] = mapped_column(Integer)
    state: Mapped[str] = mapped_column(Text)
    submitted_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class Deployment(Base):
    __tablename__ = "deployments"
    __table_args__ = (
        # DORA counts: successful deployments to an environment finishing in the window
        Index(
            "ix_deployments_env_finished",
            "environment",
            "finished_at",
            postgresql_where=text("status = 'success'"),
        ),
        # the same filtered by repository; incident attribution (latest deployment of a
        # repository at or before an incident); the loader's "commits shipped" resolution
        Index("ix_deployments_repository_env_finished", "repository_id", "environment", "finished_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # upsert key; incidents name their deployment by it
    external_id: Mapped[str] = mapped_column(Key, unique=True)  # the record's `id`
    repository_id: Mapped[int] = mapped_column(Integer)
    environment: Mapped[str] = mapped_column(Key)
    status: Mapped[str] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    sha: Mapped[str | None] = mapped_column(Key)
    listed_commits: Mapped[list[str] | None] = mapped_column(ARRAY(Text))  # the record's `commits`
    kind: Mapped[str] = mapped_column(Text, server_default=text("'regular'"))


class DeploymentCommit(Base):
    """The commits a deployment ships, resolved at ingest by rules 1-3 of the ingest format."""

    __tablename__ = "deployment_commits"

    # the commits of a deployment (batch size); the loader replaces a deployment's set by it
    deployment_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    commit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)


class CommitFirstDeployment(Base):
    """A commit's first successful deployment to each environment (derived at ingest)."""

    __tablename__ = "commit_first_deployments"
    __table_args__ = (
        # lead time for changes (pulse.metrics.dora): an index-only scan of the changes whose
        # first deployment finishes in the window, per repository of a scope or team, or for the
        # whole organisation (PostgreSQL 18 skip-scans repository_id: one descent per repository)
        Index(
            "ix_commit_first_deployments_lead_time",
            "environment",
            "repository_id",
            "finished_at",
            postgresql_include=["authored_at"],
        ),
    )

    # PR deploy stage: when the merge commit first reached production (primary key)
    commit_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    environment: Mapped[str] = mapped_column(Key, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(BigInteger)
    finished_at: Mapped[dt.datetime] = mapped_column(Timestamp)  # the deployment's, copied
    # The commit's, copied so that lead time never joins 10^5 commits: the writer
    # (pulse.ingest.shipped) supplies both, and a trigger of migration 0005 updates authored_at
    # when the commit's changes.
    repository_id: Mapped[int] = mapped_column(Integer)
    authored_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class PullRequestStage(Base):
    """A PR's stage ends beside a copy of its own times and size (derived at ingest, 0006).

    ``pulse.metrics.pull_requests`` defines every column (``stage_ends_sql``) and keeps the
    table current (``refresh_stages``), so pooling a window's PR stages reads this table alone.
    """

    __tablename__ = "pull_request_stages"
    __table_args__ = (
        # /pull-requests (keyset pages, pooled summary), trends, insights: PRs merged in a
        # window, in order; the summary and trends read it alone (index-only scan)
        Index(
            "ix_pull_request_stages_merged",
            "merged_at",
            "pull_request_id",
            postgresql_include=[
                "repository_id",
                "author_id",
                "additions",
                "deletions",
                "approved",
                "coding_hours",
                "pickup_hours",
                "review_hours",
                "deploy_hours",
                "cycle_hours",
            ],
            postgresql_where=text("merged_at IS NOT NULL"),
        ),
        # /contributors: the reviews a page of people received (their PRs, then their reviews)
        Index("ix_pull_request_stages_author", "author_id"),
    )

    pull_request_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(Integer)
    created_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    ready_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    merged_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)
    first_commit_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    first_review_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    review_count: Mapped[int] = mapped_column(Integer)
    approved: Mapped[bool] = mapped_column(Boolean)
    production_deployed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # the stages in hours, deploy and cycle against production
    coding_hours: Mapped[float | None] = mapped_column(Float)
    pickup_hours: Mapped[float | None] = mapped_column(Float)
    review_hours: Mapped[float | None] = mapped_column(Float)
    deploy_hours: Mapped[float | None] = mapped_column(Float)
    cycle_hours: Mapped[float | None] = mapped_column(Float)


# GitHub analytics' org-wide windows (migration 0006), index-only:
# /contributors commits authored in a window
Index("ix_commits_authored", Commit.authored_at, postgresql_include=["author_id", "repository_id"])
# /contributors PRs opened in a window
Index("ix_pull_requests_created", PullRequest.created_at, postgresql_include=["author_id", "repository_id"])
# /contributors reviews submitted in a window
Index(
    "ix_reviews_submitted",
    Review.submitted_at,
    postgresql_include=["reviewer_id", "pull_request_id", "repository_id"],
)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        # time to restore: incidents created in the window
        Index("ix_incidents_created", "created_at"),
        # the same filtered by repository; change failure attribution by repository and time
        Index("ix_incidents_repository_created", "repository_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    external_id: Mapped[str] = mapped_column(Key, unique=True)  # upsert key
    repository_id: Mapped[int] = mapped_column(Integer)
    title: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # The causing deployment's record id; a deployment that has not arrived yet is fine.
    # Change failure rate: the incidents naming a deployment.
    deployment_external_id: Mapped[str | None] = mapped_column(Key, index=True)


class QualityMeasurement(Base):
    __tablename__ = "quality_measurements"
    # upsert key; code quality: latest and per-interval measurements of a repository
    __table_args__ = (UniqueConstraint("repository_id", "measured_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(Integer)
    measured_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    sha: Mapped[str | None] = mapped_column(Key)
    coverage: Mapped[float | None] = mapped_column(Float)
    complexity: Mapped[float | None] = mapped_column(Float)
    duplication: Mapped[float | None] = mapped_column(Float)
    issues: Mapped[int | None] = mapped_column(Integer)
    vulnerabilities: Mapped[int | None] = mapped_column(Integer)


class Objective(Base):
    __tablename__ = "objectives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(Key, unique=True)
    title: Mapped[str | None] = mapped_column(Text)  # null: placeholder
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)  # team scopes
    start_date: Mapped[dt.date | None] = mapped_column(Date)
    target_date: Mapped[dt.date | None] = mapped_column(Date)
    status: Mapped[str | None] = mapped_column(Text)


class WorkItem(Base):
    __tablename__ = "work_items"
    __table_args__ = (
        # velocity / investment: done work items of a team in a window
        Index("ix_work_items_team_done", "team_id", "done_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    key: Mapped[str] = mapped_column(Key, unique=True)  # upsert key
    title: Mapped[str] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(Text)  # feature / bug / chore (the record's `kind`)
    # objective progress and forecasts: the work items of an objective
    objective_id: Mapped[int | None] = mapped_column(Integer, index=True)
    team_id: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    done_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    story_points: Mapped[Decimal | None] = mapped_column(Numeric)


class WorkItemPullRequest(Base):
    __tablename__ = "work_item_pull_requests"

    work_item_id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    # alignment coverage: is a merged PR linked to any work item
    pull_request_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, index=True)


class DataState(Base):
    """One row: the data version cached answers are keyed by, and when data last changed."""

    __tablename__ = "data_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, server_default=text("1"))
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class User(Base):
    """A person who signs in (migration 0002). Passwords are argon2id hashes (``pulse.auth``)."""

    __tablename__ = "users"
    __table_args__ = (CheckConstraint("role IN ('admin', 'executive', 'manager', 'member')", name="role"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    email: Mapped[str] = mapped_column(Text, unique=True)  # stored lower-cased; login looks it up
    password_hash: Mapped[str] = mapped_column(Text)
    role: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("now()"))
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("now()"))


class UserTeam(Base):
    """A user's teams: what managers and members may see (with the teams' descendants)."""

    __tablename__ = "user_teams"

    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), primary_key=True)
    # team deletion cascades here
    team_id: Mapped[int] = mapped_column(
        ForeignKey("teams.id", ondelete="CASCADE"), primary_key=True, index=True
    )


class ApiKey(Base):
    """A machine credential ``pulse_{id}_{secret}``; only the secret's SHA-256 is stored."""

    __tablename__ = "api_keys"
    __table_args__ = (CheckConstraint("scopes <@ ARRAY['ingest', 'etl']::text[]", name="scopes"),)

    id: Mapped[str] = mapped_column(Text, primary_key=True)  # public, the lookup key
    name: Mapped[str] = mapped_column(Text)
    key_hash: Mapped[str] = mapped_column(Text)
    scopes: Mapped[list[str]] = mapped_column(ARRAY(Text))
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("now()"))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))


# ETL coordination (pulse.etl): settings history, jobs, the status reports they received, schedule fires.
# Their tables are declared in pulse.tables (SQLAlchemy Core), which request paths use without the ORM.


class EtlSettingsVersion(Base):
    """Every saved version of the ETL settings: the newest is current; who and when is the history."""

    __table__ = tables.etl_settings_versions

    version: Mapped[int]
    settings: Mapped[dict[str, object]]
    changed_by: Mapped[str]
    changed_at: Mapped[dt.datetime]


class EtlJob(Base):
    __table__ = tables.etl_jobs

    id: Mapped[str]
    type: Mapped[str]
    repositories: Mapped[list[str]]
    status: Mapped[str]
    progress: Mapped[float]
    counts: Mapped[dict[str, int]]
    message: Mapped[str | None]
    error: Mapped[str | None]
    trigger: Mapped[str]
    schedule_name: Mapped[str | None]
    retry_of: Mapped[str | None]
    requested_by: Mapped[str]
    idempotency_key: Mapped[str | None]
    request_fingerprint: Mapped[str | None]
    settings_version: Mapped[int]
    transport: Mapped[str | None]
    created_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]
    dispatched_at: Mapped[dt.datetime | None]
    started_at: Mapped[dt.datetime | None]
    finished_at: Mapped[dt.datetime | None]


class EtlJobEvent(Base):
    """A status report about a job, kept whether or not it moved the job (``applied``)."""

    __table__ = tables.etl_job_events

    id: Mapped[int]
    job_id: Mapped[str]
    status: Mapped[str]
    progress: Mapped[float | None]
    message: Mapped[str | None]
    counts: Mapped[dict[str, int] | None]
    source: Mapped[str]
    applied: Mapped[bool]
    received_at: Mapped[dt.datetime]


class EtlScheduleFire(Base):
    """One firing of a settings schedule; the primary key makes a repeated EventBridge tick harmless."""

    __table__ = tables.etl_schedule_fires

    schedule_name: Mapped[str]
    fire_at: Mapped[dt.datetime]
    job_id: Mapped[str | None]
    skipped: Mapped[str | None]
    created_at: Mapped[dt.datetime]


# Ingest over HTTP (pulse.ingest.uploads, pulse.ingest.webhooks): bulk upload jobs, webhook deliveries.


class IngestJob(Base):
    """A bulk upload: created with a presigned S3 URL, imported when S3 reports the object."""

    __tablename__ = "ingest_jobs"
    __table_args__ = (
        CheckConstraint("status IN ('awaiting_upload', 'running', 'succeeded', 'failed')", name="status"),
    )

    id: Mapped[str] = mapped_column(UUID(as_uuid=False), primary_key=True)
    status: Mapped[str] = mapped_column(Text, server_default=text("'awaiting_upload'"))
    # the S3 ObjectCreated event finds its job by key
    object_key: Mapped[str] = mapped_column(Text, unique=True)
    created_by: Mapped[str] = mapped_column(Text)
    size_bytes: Mapped[int | None] = mapped_column(BigInteger)
    lines_read: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    accepted: Mapped[int | None] = mapped_column(BigInteger)
    changed: Mapped[int | None] = mapped_column(BigInteger)
    by_type: Mapped[dict[str, int] | None] = mapped_column(JSONB)
    data_version: Mapped[int | None] = mapped_column(BigInteger)
    error_count: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    errors: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))  # first ones only
    error: Mapped[str | None] = mapped_column(Text)  # why a job failed other than bad lines
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("now()"))
    updated_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("now()"))
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)


class WebhookDelivery(Base):
    """A webhook delivery already handled; the primary key makes a redelivery change nothing."""

    __tablename__ = "webhook_deliveries"

    source: Mapped[str] = mapped_column(Text, primary_key=True)  # github
    delivery_id: Mapped[str] = mapped_column(Text, primary_key=True)  # X-GitHub-Delivery
    event: Mapped[str] = mapped_column(Text)
    action: Mapped[str | None] = mapped_column(Text)
    outcome: Mapped[str] = mapped_column(Text)  # applied or ignored
    records: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    changed: Mapped[int] = mapped_column(Integer, server_default=text("0"))
    skipped: Mapped[list[str]] = mapped_column(JSONB, server_default=text("'[]'::jsonb"))
    received_at: Mapped[dt.datetime] = mapped_column(Timestamp, server_default=text("now()"))
