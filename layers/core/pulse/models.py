"""The schema: one table per ingest record type (``ingest-format.md``) plus derived tables.

Natural keys from the ingest format are unique constraints; rows carry surrogate integer ids so
the metric joins stay narrow. A record referenced before it is described is a *placeholder*: a
row with only its natural key (``name``/``authored_at``/``created_at`` null) that its own record
fills in later.

Every index names the query it serves. Metric queries live in ``pulse.metrics``.
"""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

from sqlalchemy import (
    BigInteger,
    Boolean,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    Numeric,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column

Timestamp = DateTime(timezone=True)

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Team(Base):
    __tablename__ = "teams"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))


class Repository(Base):
    __tablename__ = "repositories"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)  # owner/name
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)  # team scopes
    project: Mapped[str | None] = mapped_column(Text, index=True)  # portfolio /projects
    default_branch: Mapped[str | None] = mapped_column(Text)


class Contributor(Base):
    __tablename__ = "contributors"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    login: Mapped[str] = mapped_column(Text, unique=True)
    name: Mapped[str | None] = mapped_column(Text)
    email: Mapped[str | None] = mapped_column(Text)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
    is_bot: Mapped[bool] = mapped_column(Boolean, server_default=text("false"))


class Commit(Base):
    __tablename__ = "commits"
    __table_args__ = (
        UniqueConstraint("repository_id", "sha"),
        # repository insights: commit heatmap and weekly counts per repository in a window
        Index("ix_commits_repository_authored", "repository_id", "authored_at"),
        # contributor stats: commits and active days per author in a window
        Index("ix_commits_author_authored", "author_id", "authored_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    sha: Mapped[str] = mapped_column(Text)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"))
    authored_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)  # null: placeholder
    committed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    parents: Mapped[list[str] | None] = mapped_column(ARRAY(Text))  # null: graph unknown
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)
    message: Mapped[str | None] = mapped_column(Text)


class PullRequest(Base):
    __tablename__ = "pull_requests"
    __table_args__ = (
        UniqueConstraint("repository_id", "number"),
        # /pull-requests: merged PRs whose merged_at is in the window, ordered by merged_at
        Index("ix_pull_requests_merged_at", "merged_at", postgresql_where=text("merged_at IS NOT NULL")),
        # repository-filtered PR queries and repository insights
        Index("ix_pull_requests_repository_merged", "repository_id", "merged_at"),
        # stale / open PR findings and branch strategy (created in window)
        Index("ix_pull_requests_repository_created", "repository_id", "created_at"),
        # PR deploy stage: the first deployment shipping merge_commit_sha
        Index("ix_pull_requests_merge_commit", "repository_id", "merge_commit_sha"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    number: Mapped[int] = mapped_column(Integer)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("contributors.id"), index=True)
    title: Mapped[str | None] = mapped_column(Text)
    state: Mapped[str | None] = mapped_column(Text)  # null: placeholder
    draft: Mapped[bool | None] = mapped_column(Boolean)
    created_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    ready_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    merged_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    closed_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    merge_commit_sha: Mapped[str | None] = mapped_column(Text)
    base_branch: Mapped[str | None] = mapped_column(Text)
    head_branch: Mapped[str | None] = mapped_column(Text)
    additions: Mapped[int | None] = mapped_column(Integer)
    deletions: Mapped[int | None] = mapped_column(Integer)
    changed_files: Mapped[int | None] = mapped_column(Integer)
    labels: Mapped[list[str] | None] = mapped_column(ARRAY(Text))


class PullRequestCommit(Base):
    __tablename__ = "pull_request_commits"

    pull_request_id: Mapped[int] = mapped_column(ForeignKey("pull_requests.id"), primary_key=True)
    # first_commit_at: the earliest authored_at of the PR's commits (PK prefix serves it)
    commit_id: Mapped[int] = mapped_column(ForeignKey("commits.id"), primary_key=True)


class Review(Base):
    __tablename__ = "reviews"
    __table_args__ = (
        UniqueConstraint("repository_id", "external_id"),
        # pickup/review stages: first non-author review of a PR at or after ready_at
        Index("ix_reviews_pull_request_submitted", "pull_request_id", "submitted_at"),
        # contributor stats: reviews given per reviewer in a window
        Index("ix_reviews_reviewer_submitted", "reviewer_id", "submitted_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    external_id: Mapped[str] = mapped_column(Text)  # the record's `id`
    pull_request_id: Mapped[int] = mapped_column(ForeignKey("pull_requests.id"))
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("contributors.id"))
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
        # incident attribution (latest deployment of a repository at or before an incident) and
        # rule 2 of "commits shipped" (earlier deployments of the same repository/environment)
        Index("ix_deployments_repository_env_finished", "repository_id", "environment", "finished_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    external_id: Mapped[str] = mapped_column(Text, unique=True)  # the record's `id`
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    environment: Mapped[str] = mapped_column(Text)
    status: Mapped[str] = mapped_column(Text)
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    finished_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    sha: Mapped[str | None] = mapped_column(Text)
    listed_commits: Mapped[list[str] | None] = mapped_column(ARRAY(Text))  # the record's `commits`
    kind: Mapped[str] = mapped_column(Text, server_default=text("'regular'"))


class DeploymentCommit(Base):
    """The commits a deployment ships, resolved at ingest by rules 1-3 of the ingest format."""

    __tablename__ = "deployment_commits"

    deployment_id: Mapped[int] = mapped_column(
        ForeignKey("deployments.id", ondelete="CASCADE"), primary_key=True
    )
    # "which deployments ship this commit" (first deployment of a PR's merge commit)
    commit_id: Mapped[int] = mapped_column(ForeignKey("commits.id"), primary_key=True, index=True)


class CommitFirstDeployment(Base):
    """A commit's first successful deployment to each environment (derived at ingest)."""

    __tablename__ = "commit_first_deployments"
    __table_args__ = (
        # lead time for changes: commits whose first deployment finishes in the window
        Index("ix_commit_first_deployments_env_finished", "environment", "finished_at"),
    )

    commit_id: Mapped[int] = mapped_column(ForeignKey("commits.id"), primary_key=True)
    environment: Mapped[str] = mapped_column(Text, primary_key=True)
    deployment_id: Mapped[int] = mapped_column(ForeignKey("deployments.id", ondelete="CASCADE"))
    finished_at: Mapped[dt.datetime] = mapped_column(Timestamp)


class Incident(Base):
    __tablename__ = "incidents"
    __table_args__ = (
        # time to restore: incidents created in the window
        Index("ix_incidents_created", "created_at"),
        Index("ix_incidents_repository_created", "repository_id", "created_at"),
    )

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    external_id: Mapped[str] = mapped_column(Text, unique=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    title: Mapped[str | None] = mapped_column(Text)
    severity: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    resolved_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    # The causing deployment's record id; a deployment that has not arrived yet is fine.
    deployment_external_id: Mapped[str | None] = mapped_column(Text, index=True)


class QualityMeasurement(Base):
    __tablename__ = "quality_measurements"
    # code quality: latest and per-interval measurements of a repository (unique index serves it)
    __table_args__ = (UniqueConstraint("repository_id", "measured_at"),)

    id: Mapped[int] = mapped_column(BigInteger, primary_key=True)
    repository_id: Mapped[int] = mapped_column(ForeignKey("repositories.id"))
    measured_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    sha: Mapped[str | None] = mapped_column(Text)
    coverage: Mapped[float | None] = mapped_column(Float)
    complexity: Mapped[float | None] = mapped_column(Float)
    duplication: Mapped[float | None] = mapped_column(Float)
    issues: Mapped[int | None] = mapped_column(Integer)
    vulnerabilities: Mapped[int | None] = mapped_column(Integer)


class Objective(Base):
    __tablename__ = "objectives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    key: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str | None] = mapped_column(Text)  # null: placeholder
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"), index=True)
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
    key: Mapped[str] = mapped_column(Text, unique=True)
    title: Mapped[str] = mapped_column(Text)
    type: Mapped[str | None] = mapped_column(Text)
    # objective progress and forecasts: the work items of an objective
    objective_id: Mapped[int | None] = mapped_column(ForeignKey("objectives.id"), index=True)
    team_id: Mapped[int | None] = mapped_column(ForeignKey("teams.id"))
    status: Mapped[str] = mapped_column(Text)
    created_at: Mapped[dt.datetime] = mapped_column(Timestamp)
    started_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    done_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
    story_points: Mapped[Decimal | None] = mapped_column(Numeric)


class WorkItemPullRequest(Base):
    __tablename__ = "work_item_pull_requests"

    work_item_id: Mapped[int] = mapped_column(
        ForeignKey("work_items.id", ondelete="CASCADE"), primary_key=True
    )
    # alignment coverage: is a merged PR linked to any work item
    pull_request_id: Mapped[int] = mapped_column(ForeignKey("pull_requests.id"), primary_key=True, index=True)


class DataState(Base):
    """One row: the data version cached answers are keyed by, and when data last changed."""

    __tablename__ = "data_state"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, server_default=text("1"))
    version: Mapped[int] = mapped_column(BigInteger, server_default=text("0"))
    updated_at: Mapped[dt.datetime | None] = mapped_column(Timestamp)
