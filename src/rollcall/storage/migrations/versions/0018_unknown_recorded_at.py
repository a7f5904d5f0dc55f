"""when an unknown face was written, for the kiosk's last minute (entrance tracks are judged late)

Revision ID: 0018
Revises: 0017
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0018"
down_revision = "0017"
branch_labels = None
depends_on = None

# As in 0002: microseconds on MariaDB, whose DATETIME otherwise drops them.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    # Faces kept before this have no time of writing: the kiosk falls back to when they were
    # seen, which is what it did until now.
    with op.batch_alter_table("unknown_faces") as batch:
        batch.add_column(sa.Column("recorded_at", TIMESTAMP, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("unknown_faces") as batch:
        batch.drop_column("recorded_at")
