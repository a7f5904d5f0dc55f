"""a session without a course keeps the zone its clock times were given in

Revision ID: 0024
Revises: 0023
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0024"
down_revision = "0023"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sessions made before this are shown in ROLLCALL_TIMEZONE (else the machine's), as
    # until now: which zone they were watched in was never kept.
    op.add_column("sessions", sa.Column("timezone", sa.String(length=64), nullable=True))


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of sessions would cascade (see 0023).
    op.execute("ALTER TABLE sessions DROP COLUMN timezone")
