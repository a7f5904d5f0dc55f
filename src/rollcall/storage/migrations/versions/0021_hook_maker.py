"""the staff account that made each webhook, so a hook stops with its maker's access

Revision ID: 0021
Revises: 0020
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0021"
down_revision = "0020"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("meeting_hooks") as batch:
        batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_meeting_hooks_user_id_users", "users", ["user_id"], ["id"], ondelete="CASCADE"
        )
    # Hooks made in the portal name their maker's account; those made on the command line
    # name "<os user> (command line)", match no account and stay unbound, as before.
    op.execute(
        "UPDATE meeting_hooks SET user_id = "
        "(SELECT users.id FROM users WHERE users.name = meeting_hooks.created_by)"
    )


def downgrade() -> None:
    with op.batch_alter_table("meeting_hooks") as batch:
        batch.drop_constraint("fk_meeting_hooks_user_id_users", type_="foreignkey")
        batch.drop_column("user_id")
