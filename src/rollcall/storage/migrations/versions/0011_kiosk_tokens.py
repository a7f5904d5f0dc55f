"""kiosk tokens: a screen at the door shows one session's (or one course's) live marks

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None

# As in 0001: MySQL's DATETIME would otherwise drop fractions of a second.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "kiosk_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_kiosk_tokens"),
        sa.UniqueConstraint("token_sha256", name="uq_kiosk_tokens_token_sha256"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_kiosk_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_kiosk_tokens_session_id_sessions",
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name="fk_kiosk_tokens_course_id_courses",
            ondelete="CASCADE",
        ),
    )
    with op.batch_alter_table("kiosk_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_kiosk_tokens_user_id", ["user_id"], unique=False)
        batch_op.create_index("ix_kiosk_tokens_session_id", ["session_id"], unique=False)
        batch_op.create_index("ix_kiosk_tokens_course_id", ["course_id"], unique=False)


def downgrade() -> None:
    op.drop_table("kiosk_tokens")
