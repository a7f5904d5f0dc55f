"""when a head count was written, for the worker pool's samples per minute (agents page)

Revision ID: 0020
Revises: 0019
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0020"
down_revision = "0019"
branch_labels = None
depends_on = None

# As in 0002: microseconds on MariaDB, whose DATETIME otherwise drops them.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    # Head counts written before this have no time of writing; the rate counts new ones only.
    with op.batch_alter_table("head_counts") as batch:
        batch.add_column(sa.Column("recorded_at", TIMESTAMP, nullable=True))
        batch.create_index("ix_head_counts_recorded_at", ["recorded_at"])


def downgrade() -> None:
    with op.batch_alter_table("head_counts") as batch:
        batch.drop_index("ix_head_counts_recorded_at")
        batch.drop_column("recorded_at")
