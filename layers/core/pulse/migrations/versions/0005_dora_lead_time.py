"""dora: each first deployment carries its commit's repository and authored_at, indexed for lead time

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-26 09:00:00

Lead time for changes reads every commit whose first deployment finishes in the window (about
140,000 for 90 days of the large demo organisation). Joining each to ``commits`` cost ~500 ms;
with the commit's ``repository_id`` and ``authored_at`` on the row, one index-only scan of
``ix_commit_first_deployments_lead_time`` reads them (org-wide: one descent per repository by
PostgreSQL 18's skip scan; a team: one per repository of the team).

The two columns are kept in step by the database, whoever writes:
- ``BEFORE INSERT`` on ``commit_first_deployments``, only when the writer left
  ``repository_id`` null: copy both from the commit (a writer that supplies them skips it);
- ``AFTER UPDATE OF authored_at`` on ``commits``, only when the value changed (a placeholder
  commit described later): copy it to the commit's first deployments.

Replaces ``ix_commit_first_deployments_env_finished``, which served only lead time.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("commit_first_deployments", sa.Column("repository_id", sa.Integer(), nullable=True))
    op.add_column(
        "commit_first_deployments", sa.Column("authored_at", sa.DateTime(timezone=True), nullable=True)
    )
    op.execute(
        "UPDATE commit_first_deployments f SET repository_id = c.repository_id, authored_at = c.authored_at "
        "FROM commits c WHERE c.id = f.commit_id"
    )
    op.drop_index("ix_commit_first_deployments_env_finished", table_name="commit_first_deployments")
    op.create_index(
        "ix_commit_first_deployments_lead_time",
        "commit_first_deployments",
        ["environment", "repository_id", "finished_at"],
        unique=False,
        postgresql_include=["authored_at"],
    )
    op.execute(
        """
        CREATE FUNCTION commit_first_deployments_copy_commit() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            SELECT c.repository_id, c.authored_at INTO NEW.repository_id, NEW.authored_at
            FROM commits c WHERE c.id = NEW.commit_id;
            RETURN NEW;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER copy_commit BEFORE INSERT ON commit_first_deployments "
        "FOR EACH ROW WHEN (NEW.repository_id IS NULL) EXECUTE FUNCTION commit_first_deployments_copy_commit()"
    )
    op.execute(
        """
        CREATE FUNCTION commits_copy_authored_at() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            UPDATE commit_first_deployments SET authored_at = NEW.authored_at WHERE commit_id = NEW.id;
            RETURN NULL;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER copy_authored_at AFTER UPDATE OF authored_at ON commits "
        "FOR EACH ROW WHEN (OLD.authored_at IS DISTINCT FROM NEW.authored_at) "
        "EXECUTE FUNCTION commits_copy_authored_at()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER copy_authored_at ON commits")
    op.execute("DROP FUNCTION commits_copy_authored_at()")
    op.execute("DROP TRIGGER copy_commit ON commit_first_deployments")
    op.execute("DROP FUNCTION commit_first_deployments_copy_commit()")
    op.drop_index("ix_commit_first_deployments_lead_time", table_name="commit_first_deployments")
    op.create_index(
        "ix_commit_first_deployments_env_finished",
        "commit_first_deployments",
        ["environment", "finished_at"],
        unique=False,
    )
    op.drop_column("commit_first_deployments", "authored_at")
    op.drop_column("commit_first_deployments", "repository_id")
