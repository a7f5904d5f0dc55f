"""an evidence crop on session events (an entrance's presentation attacks, for review)

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0012"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("session_events") as batch:
        batch.add_column(sa.Column("crop_path", sa.String(500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("session_events") as batch:
        batch.drop_column("crop_path")
