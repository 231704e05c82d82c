"""database default: no JIT compilation

Revision ID: 0007
Revises: 0005
Create Date: 2026-11-26 15:20:00
"""

from collections.abc import Sequence

from alembic import op

revision: str = "0007"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Where the server has JIT (RDS does, on by default), it compiles every query costed above
# jit_above_cost, which Pulse's analytics queries and bulk import statements are, and the
# compiling costs more than it saves. PostgreSQL 15 on the large demo org, 90 days, uncached:
# /portfolio/teams 563 -> 479 ms, /alignment 642 -> 434 ms, /projects 615 -> 412 ms; `pulse import`
# of 1,000,000 records 34.5-36.1 s -> 31.5-33.2 s. A database default reaches every new session,
# RDS Proxy's included, with no SET per connection (which would pin the proxy's connections).
# ALTER DATABASE needs the database's owner; without it the migration goes on with a warning.
_SET = """
DO $$
BEGIN
    EXECUTE format('ALTER DATABASE %I {action}', current_database());
EXCEPTION WHEN insufficient_privilege THEN
    RAISE WARNING 'jit left as the server has it: %', SQLERRM;
END
$$
"""


def upgrade() -> None:
    op.execute(_SET.format(action="SET jit = off"))


def downgrade() -> None:
    op.execute(_SET.format(action="RESET jit"))
