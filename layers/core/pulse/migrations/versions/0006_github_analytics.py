"""github analytics: derived PR stages and the indexes of the GitHub analytics queries

Revision ID: 0006
Revises: 0003
Create Date: 2026-11-26 08:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    # Each PR's stage ends, derived at ingest (pulse.metrics.pull_requests.refresh_stages): at
    # query time they would join every PR of a window to its commits, reviews and deployment.
    timestamp = sa.DateTime(timezone=True)
    op.create_table(
        "pull_request_stages",
        sa.Column("pull_request_id", sa.BigInteger(), nullable=False),
        sa.Column("repository_id", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("created_at", timestamp, nullable=True),
        sa.Column("ready_at", timestamp, nullable=True),
        sa.Column("merged_at", timestamp, nullable=True),
        sa.Column("additions", sa.Integer(), nullable=True),
        sa.Column("deletions", sa.Integer(), nullable=True),
        sa.Column("first_commit_at", timestamp, nullable=True),
        sa.Column("first_review_at", timestamp, nullable=True),
        sa.Column("review_count", sa.Integer(), nullable=False),
        sa.Column("approved", sa.Boolean(), nullable=False),
        sa.Column("production_deployed_at", timestamp, nullable=True),
        sa.Column("coding_hours", sa.Float(), nullable=True),
        sa.Column("pickup_hours", sa.Float(), nullable=True),
        sa.Column("review_hours", sa.Float(), nullable=True),
        sa.Column("deploy_hours", sa.Float(), nullable=True),
        sa.Column("cycle_hours", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("pull_request_id", name=op.f("pk_pull_request_stages")),
    )
    # /pull-requests (keyset pages, pooled summary), trends, insights: PRs merged in a window,
    # in order; the summary and trends read it alone (index-only scan).
    op.create_index(
        "ix_pull_request_stages_merged",
        "pull_request_stages",
        ["merged_at", "pull_request_id"],
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
        postgresql_where=sa.text("merged_at IS NOT NULL"),
    )
    # /contributors: the reviews a page of people received (their PRs, then their reviews).
    op.create_index("ix_pull_request_stages_author", "pull_request_stages", ["author_id"])
    # /contributors over org-wide windows, index-only: commits authored, PRs opened and reviews
    # submitted in the window (the existing indexes lead with repository or person).
    op.create_index(
        "ix_commits_authored", "commits", ["authored_at"], postgresql_include=["author_id", "repository_id"]
    )
    op.create_index(
        "ix_pull_requests_created",
        "pull_requests",
        ["created_at"],
        postgresql_include=["author_id", "repository_id"],
    )
    op.create_index(
        "ix_reviews_submitted",
        "reviews",
        ["submitted_at"],
        postgresql_include=["reviewer_id", "pull_request_id", "repository_id"],
    )
    # PRs loaded before this revision get their stages (the definition as of this revision).
    op.execute(BACKFILL)


def downgrade() -> None:
    op.drop_index("ix_reviews_submitted", table_name="reviews")
    op.drop_index("ix_pull_requests_created", table_name="pull_requests")
    op.drop_index("ix_commits_authored", table_name="commits")
    op.drop_index("ix_pull_request_stages_author", table_name="pull_request_stages")
    op.drop_index("ix_pull_request_stages_merged", table_name="pull_request_stages")
    op.drop_table("pull_request_stages")


BACKFILL = """
WITH first_commits AS (
    SELECT prc.pull_request_id AS id, min(c.authored_at) AS first_commit_at
    FROM pull_request_commits prc JOIN commits c ON c.id = prc.commit_id
    GROUP BY prc.pull_request_id
),
human_reviews AS (
    SELECT pr.id,
           min(r.submitted_at) FILTER (
               WHERE r.submitted_at >= coalesce(pr.ready_at, pr.created_at)
           ) AS first_review_at,
           count(*) AS review_count,
           bool_or(r.state = 'approved' AND r.submitted_at <= pr.merged_at) AS approved
    FROM pull_requests pr
    JOIN reviews r ON r.pull_request_id = pr.id
    JOIN contributors who ON who.id = r.reviewer_id
    WHERE NOT who.is_bot AND r.reviewer_id IS DISTINCT FROM pr.author_id
    GROUP BY pr.id
),
deployed AS (
    SELECT pr.id, cfd.finished_at AS deployed_at
    FROM pull_requests pr
    JOIN commits mc ON mc.repository_id = pr.repository_id AND mc.sha = pr.merge_commit_sha
    JOIN commit_first_deployments cfd ON cfd.commit_id = mc.id AND cfd.environment = 'production'
),
ends AS (
    SELECT pr.id, pr.repository_id, pr.author_id, pr.created_at, pr.ready_at, pr.merged_at,
           pr.additions, pr.deletions, fc.first_commit_at, hr.first_review_at,
           coalesce(hr.review_count, 0) AS review_count, coalesce(hr.approved, false) AS approved,
           dep.deployed_at
    FROM pull_requests pr
    LEFT JOIN first_commits fc ON fc.id = pr.id
    LEFT JOIN human_reviews hr ON hr.id = pr.id
    LEFT JOIN deployed dep ON dep.id = pr.id
)
INSERT INTO pull_request_stages (
    pull_request_id, repository_id, author_id, created_at, ready_at, merged_at, additions, deletions,
    first_commit_at, first_review_at, review_count, approved, production_deployed_at,
    coding_hours, pickup_hours, review_hours, deploy_hours, cycle_hours
)
SELECT e.id, e.repository_id, e.author_id, e.created_at, e.ready_at, e.merged_at, e.additions,
       e.deletions, e.first_commit_at, e.first_review_at, e.review_count, e.approved, e.deployed_at,
       CASE WHEN e.created_at >= e.first_commit_at
            THEN date_part('epoch', e.created_at - e.first_commit_at) / 3600 END,
       CASE WHEN e.first_review_at >= coalesce(e.ready_at, e.created_at)
            THEN date_part('epoch', e.first_review_at - coalesce(e.ready_at, e.created_at)) / 3600 END,
       CASE WHEN e.merged_at >= e.first_review_at
            THEN date_part('epoch', e.merged_at - e.first_review_at) / 3600 END,
       CASE WHEN e.deployed_at >= e.merged_at
            THEN date_part('epoch', e.deployed_at - e.merged_at) / 3600 END,
       CASE WHEN cycle.ended_at >= cycle.started_at
            THEN date_part('epoch', cycle.ended_at - cycle.started_at) / 3600 END
FROM ends e
CROSS JOIN LATERAL (
    SELECT CASE WHEN e.first_commit_at <= e.created_at THEN e.first_commit_at ELSE e.created_at END
               AS started_at,
           CASE WHEN e.deployed_at >= e.merged_at THEN e.deployed_at ELSE e.merged_at END AS ended_at
) cycle
"""
