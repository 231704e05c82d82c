"""ingest schema: the record types of the ingest format, their links and derived tables

Revision ID: 0001
Revises:
Create Date: 2026-11-26 07:06:06.064694
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "commit_first_deployments",
        sa.Column("commit_id", sa.BigInteger(), nullable=False),
        sa.Column("environment", sa.Text(collation="C"), nullable=False),
        sa.Column("deployment_id", sa.BigInteger(), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("commit_id", "environment", name=op.f("pk_commit_first_deployments")),
    )
    op.create_index(
        "ix_commit_first_deployments_env_finished",
        "commit_first_deployments",
        ["environment", "finished_at"],
        unique=False,
    )
    op.create_table(
        "commits",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("sha", sa.Text(collation="C"), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("authored_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("committed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("parents", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("additions", sa.Integer(), nullable=True),
        sa.Column("deletions", sa.Integer(), nullable=True),
        sa.Column("message", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_commits")),
        sa.UniqueConstraint("repository_id", "sha", name=op.f("uq_commits_repository_id")),
    )
    op.create_index(
        "ix_commits_repository_authored", "commits", ["repository_id", "authored_at"], unique=False
    )
    op.create_table(
        "data_state",
        sa.Column("id", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("version", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_data_state")),
    )
    op.execute("INSERT INTO data_state (id, version, updated_at) VALUES (1, 0, NULL)")
    op.create_table(
        "deployment_commits",
        sa.Column("deployment_id", sa.BigInteger(), nullable=False),
        sa.Column("commit_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("deployment_id", "commit_id", name=op.f("pk_deployment_commits")),
    )
    op.create_table(
        "deployments",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("external_id", sa.Text(collation="C"), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("environment", sa.Text(collation="C"), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha", sa.Text(collation="C"), nullable=True),
        sa.Column("listed_commits", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.Column("kind", sa.Text(), server_default=sa.text("'regular'"), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_deployments")),
        sa.UniqueConstraint("external_id", name=op.f("uq_deployments_external_id")),
    )
    op.create_index(
        "ix_deployments_env_finished",
        "deployments",
        ["environment", "finished_at"],
        unique=False,
        postgresql_where=sa.text("status = 'success'"),
    )
    op.create_index(
        "ix_deployments_repository_env_finished",
        "deployments",
        ["repository_id", "environment", "finished_at"],
        unique=False,
    )
    op.create_table(
        "incidents",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("external_id", sa.Text(collation="C"), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("severity", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("deployment_external_id", sa.Text(collation="C"), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_incidents")),
        sa.UniqueConstraint("external_id", name=op.f("uq_incidents_external_id")),
    )
    op.create_index("ix_incidents_created", "incidents", ["created_at"], unique=False)
    op.create_index(
        op.f("ix_incidents_deployment_external_id"), "incidents", ["deployment_external_id"], unique=False
    )
    op.create_index(
        "ix_incidents_repository_created", "incidents", ["repository_id", "created_at"], unique=False
    )
    op.create_table(
        "pull_request_commits",
        sa.Column("pull_request_id", sa.BigInteger(), nullable=False),
        sa.Column("commit_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("pull_request_id", "commit_id", name=op.f("pk_pull_request_commits")),
    )
    op.create_table(
        "pull_requests",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("state", sa.Text(), nullable=True),
        sa.Column("draft", sa.Boolean(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ready_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merged_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("merge_commit_sha", sa.Text(collation="C"), nullable=True),
        sa.Column("base_branch", sa.Text(), nullable=True),
        sa.Column("head_branch", sa.Text(), nullable=True),
        sa.Column("additions", sa.Integer(), nullable=True),
        sa.Column("deletions", sa.Integer(), nullable=True),
        sa.Column("changed_files", sa.Integer(), nullable=True),
        sa.Column("labels", postgresql.ARRAY(sa.Text()), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pull_requests")),
        sa.UniqueConstraint("repository_id", "number", name=op.f("uq_pull_requests_repository_id")),
    )
    op.create_index(
        "ix_pull_requests_merged_at",
        "pull_requests",
        ["merged_at"],
        unique=False,
        postgresql_where=sa.text("merged_at IS NOT NULL"),
    )
    op.create_index(
        "ix_pull_requests_repository_created", "pull_requests", ["repository_id", "created_at"], unique=False
    )
    op.create_index(
        "ix_pull_requests_repository_merged", "pull_requests", ["repository_id", "merged_at"], unique=False
    )
    op.create_table(
        "quality_measurements",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("measured_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sha", sa.Text(collation="C"), nullable=True),
        sa.Column("coverage", sa.Float(), nullable=True),
        sa.Column("complexity", sa.Float(), nullable=True),
        sa.Column("duplication", sa.Float(), nullable=True),
        sa.Column("issues", sa.Integer(), nullable=True),
        sa.Column("vulnerabilities", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_quality_measurements")),
        sa.UniqueConstraint(
            "repository_id", "measured_at", name=op.f("uq_quality_measurements_repository_id")
        ),
    )
    op.create_table(
        "reviews",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("external_id", sa.Text(collation="C"), nullable=False),
        sa.Column("pull_request_id", sa.BigInteger(), nullable=False),
        sa.Column("reviewer_id", sa.Integer(), nullable=False),
        sa.Column("state", sa.Text(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_reviews")),
        sa.UniqueConstraint("repository_id", "external_id", name=op.f("uq_reviews_repository_id")),
    )
    op.create_index(
        "ix_reviews_pull_request_submitted", "reviews", ["pull_request_id", "submitted_at"], unique=False
    )
    op.create_table(
        "teams",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(collation="C"), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("parent_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(["parent_id"], ["teams.id"], name=op.f("fk_teams_parent_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_teams")),
        sa.UniqueConstraint("key", name=op.f("uq_teams_key")),
    )
    op.create_table(
        "work_item_pull_requests",
        sa.Column("work_item_id", sa.BigInteger(), nullable=False),
        sa.Column("pull_request_id", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("work_item_id", "pull_request_id", name=op.f("pk_work_item_pull_requests")),
    )
    op.create_index(
        op.f("ix_work_item_pull_requests_pull_request_id"),
        "work_item_pull_requests",
        ["pull_request_id"],
        unique=False,
    )
    op.create_table(
        "work_items",
        sa.Column("id", sa.BigInteger(), nullable=False),
        sa.Column("key", sa.Text(collation="C"), nullable=False),
        sa.Column("title", sa.Text(), nullable=False),
        sa.Column("type", sa.Text(), nullable=True),
        sa.Column("objective_id", sa.Integer(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("done_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("story_points", sa.Numeric(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_work_items")),
        sa.UniqueConstraint("key", name=op.f("uq_work_items_key")),
    )
    op.create_index(op.f("ix_work_items_objective_id"), "work_items", ["objective_id"], unique=False)
    op.create_index("ix_work_items_team_done", "work_items", ["team_id", "done_at"], unique=False)
    op.create_table(
        "contributors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("login", sa.Text(collation="C"), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("email", sa.Text(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("is_bot", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_contributors_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_contributors")),
        sa.UniqueConstraint("login", name=op.f("uq_contributors_login")),
    )
    op.create_index(op.f("ix_contributors_team_id"), "contributors", ["team_id"], unique=False)
    op.create_table(
        "objectives",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(collation="C"), nullable=False),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("start_date", sa.Date(), nullable=True),
        sa.Column("target_date", sa.Date(), nullable=True),
        sa.Column("status", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_objectives_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_objectives")),
        sa.UniqueConstraint("key", name=op.f("uq_objectives_key")),
    )
    op.create_index(op.f("ix_objectives_team_id"), "objectives", ["team_id"], unique=False)
    op.create_table(
        "repositories",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("key", sa.Text(collation="C"), nullable=False),
        sa.Column("team_id", sa.Integer(), nullable=True),
        sa.Column("project", sa.Text(), nullable=True),
        sa.Column("default_branch", sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(["team_id"], ["teams.id"], name=op.f("fk_repositories_team_id_teams")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_repositories")),
        sa.UniqueConstraint("key", name=op.f("uq_repositories_key")),
    )
    op.create_index(op.f("ix_repositories_project"), "repositories", ["project"], unique=False)
    op.create_index(op.f("ix_repositories_team_id"), "repositories", ["team_id"], unique=False)


def downgrade() -> None:
    op.drop_index(op.f("ix_repositories_team_id"), table_name="repositories")
    op.drop_index(op.f("ix_repositories_project"), table_name="repositories")
    op.drop_table("repositories")
    op.drop_index(op.f("ix_objectives_team_id"), table_name="objectives")
    op.drop_table("objectives")
    op.drop_index(op.f("ix_contributors_team_id"), table_name="contributors")
    op.drop_table("contributors")
    op.drop_index("ix_work_items_team_done", table_name="work_items")
    op.drop_index(op.f("ix_work_items_objective_id"), table_name="work_items")
    op.drop_table("work_items")
    op.drop_index(op.f("ix_work_item_pull_requests_pull_request_id"), table_name="work_item_pull_requests")
    op.drop_table("work_item_pull_requests")
    op.drop_table("teams")
    op.drop_index("ix_reviews_pull_request_submitted", table_name="reviews")
    op.drop_table("reviews")
    op.drop_table("quality_measurements")
    op.drop_index("ix_pull_requests_repository_merged", table_name="pull_requests")
    op.drop_index("ix_pull_requests_repository_created", table_name="pull_requests")
    op.drop_index(
        "ix_pull_requests_merged_at",
        table_name="pull_requests",
        postgresql_where=sa.text("merged_at IS NOT NULL"),
    )
    op.drop_table("pull_requests")
    op.drop_table("pull_request_commits")
    op.drop_index("ix_incidents_repository_created", table_name="incidents")
    op.drop_index(op.f("ix_incidents_deployment_external_id"), table_name="incidents")
    op.drop_index("ix_incidents_created", table_name="incidents")
    op.drop_table("incidents")
    op.drop_index("ix_deployments_repository_env_finished", table_name="deployments")
    op.drop_index(
        "ix_deployments_env_finished",
        table_name="deployments",
        postgresql_where=sa.text("status = 'success'"),
    )
    op.drop_table("deployments")
    op.drop_table("deployment_commits")
    op.drop_table("data_state")
    op.drop_index("ix_commits_repository_authored", table_name="commits")
    op.drop_table("commits")
    op.drop_index("ix_commit_first_deployments_env_finished", table_name="commit_first_deployments")
    op.drop_table("commit_first_deployments")
