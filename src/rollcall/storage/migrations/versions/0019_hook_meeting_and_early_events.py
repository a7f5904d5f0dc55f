"""a webhook's Zoom meeting id, and participant events that came before their session

Revision ID: 0019
Revises: 0018
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0019"
down_revision = "0018"
branch_labels = None
depends_on = None

TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    with op.batch_alter_table("meeting_hooks") as batch:
        batch.add_column(sa.Column("meeting_id", sa.String(32), nullable=True))
    op.create_table(
        "early_participant_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("hook_id", sa.Integer(), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("event", sa.String(8), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_early_participant_events"),
        sa.ForeignKeyConstraint(
            ["hook_id"],
            ["meeting_hooks.id"],
            name="fk_early_participant_events_hook_id_meeting_hooks",
            ondelete="CASCADE",
        ),
    )
    op.create_index("ix_early_participant_events_hook_id", "early_participant_events", ["hook_id"])


def downgrade() -> None:
    # The table takes its index with it (MariaDB will not drop an index its foreign key uses).
    op.drop_table("early_participant_events")
    with op.batch_alter_table("meeting_hooks") as batch:
        batch.drop_column("meeting_id")
