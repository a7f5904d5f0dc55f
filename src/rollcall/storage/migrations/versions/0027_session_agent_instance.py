"""which running capture agent holds a session: two agents may no longer record one at once

Revision ID: 0027
Revises: 0026
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0027"
down_revision = "0026"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("sessions", sa.Column("agent_instance", sa.String(64), nullable=True))


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Not batch mode: on SQLite it copies the table and drops the old one, and with
        # foreign keys on, that drop deletes every session's marks, events and faces.
        op.execute("ALTER TABLE sessions DROP COLUMN agent_instance")  # SQLite 3.35+
    else:
        op.drop_column("sessions", "agent_instance")
