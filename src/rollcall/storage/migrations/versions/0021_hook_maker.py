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

FK = "fk_meeting_hooks_user_id_users"


def upgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        # Not a batch rebuild: dropping the old meeting_hooks, with foreign keys on, would
        # delete every kept early event (early_participant_events cascades from it). SQLite
        # adds a nullable column with its REFERENCES clause in place (Alembic's add_column
        # would only do that as a rebuild).
        op.execute(
            f"ALTER TABLE meeting_hooks ADD COLUMN user_id INTEGER CONSTRAINT {FK} "
            "REFERENCES users (id) ON DELETE CASCADE"
        )
    else:
        with op.batch_alter_table("meeting_hooks") as batch:
            batch.add_column(sa.Column("user_id", sa.Integer(), nullable=True))
            batch.create_foreign_key(FK, "users", ["user_id"], ["id"], ondelete="CASCADE")
    # Hooks made in the portal name their maker's account. Those made on the command line
    # name "<os user> (command line)" and stay unbound, as before. A portal hook whose maker
    # was removed before this would otherwise work for good with no maker: revoked.
    op.execute(
        "UPDATE meeting_hooks SET user_id = "
        "(SELECT users.id FROM users WHERE users.name = meeting_hooks.created_by) "
        "WHERE meeting_hooks.created_by NOT LIKE '%(command line)'"
    )
    op.execute(
        "UPDATE meeting_hooks SET revoked_at = CURRENT_TIMESTAMP "
        "WHERE user_id IS NULL AND revoked_at IS NULL "
        "AND meeting_hooks.created_by NOT LIKE '%(command line)'"
    )


def downgrade() -> None:
    # On SQLite this rebuilds the table (its kept early events go with it).
    with op.batch_alter_table("meeting_hooks") as batch:
        if op.get_bind().dialect.name != "sqlite":
            batch.drop_constraint(FK, type_="foreignkey")
        batch.drop_column("user_id")
