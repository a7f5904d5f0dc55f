"""the run taking a session, and until when its lease holds; a recording's fingerprint

Revision ID: 0025
Revises: 0024
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0025"
down_revision = "0024"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sessions made before this have no run holding them: the next resume takes them.
    op.add_column("sessions", sa.Column("run_by", sa.String(length=300), nullable=True))
    op.add_column("sessions", sa.Column("run_until", sa.Float(), nullable=True))
    # Sessions made before this are resumed from any recording of the same file name.
    op.add_column("sessions", sa.Column("source_print", sa.String(length=100), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of sessions would cascade (see 0023).
    op.execute("ALTER TABLE sessions DROP COLUMN source_print")
    op.execute("ALTER TABLE sessions DROP COLUMN run_until")
    op.execute("ALTER TABLE sessions DROP COLUMN run_by")
