"""a session remembers how it is watched (meeting | entrance, fps, counting line) for --resume

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-05
"""

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sessions made before this were all meeting-mode or entrance runs that did not say so;
    # "meeting" is what a resume without --mode did for them until now.
    with op.batch_alter_table("sessions") as batch:
        batch.add_column(sa.Column("mode", sa.String(16), nullable=False, server_default="meeting"))
        batch.add_column(sa.Column("entrance_fps", sa.Float(), nullable=True))
        batch.add_column(sa.Column("entrance_line", sa.String(100), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("sessions") as batch:
        batch.drop_column("entrance_line")
        batch.drop_column("entrance_fps")
        batch.drop_column("mode")
