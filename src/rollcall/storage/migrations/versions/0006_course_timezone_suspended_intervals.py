"""courses.timezone (IANA zone of the schedule); presence_intervals.suspended (closed by a stop)

A course's "HH:MM" schedule means nothing without the zone it is read in; before this revision
it was read in the zone of whichever machine built the report. An interval closed because the
run was stopped (Ctrl-C, SIGTERM), not because its person left, is marked suspended so that
`rollcall run --resume` opens it again.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-14
"""

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("timezone", sa.String(length=64), nullable=True))
    with op.batch_alter_table("presence_intervals", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("suspended", sa.Boolean(), nullable=False, server_default=sa.false())
        )


def downgrade() -> None:
    with op.batch_alter_table("presence_intervals", schema=None) as batch_op:
        batch_op.drop_column("suspended")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_column("timezone")
