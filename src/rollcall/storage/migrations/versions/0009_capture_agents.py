"""server-side sessions: capture agents' tokens, uploaded frames, and the monitor's stored state

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

# As in 0001: MySQL's DATETIME would otherwise drop fractions of a second.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")
# Frames and monitor states outgrow MySQL's 64 KB BLOB.
BIG_BLOB = sa.LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "agent_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_agent_tokens"),
        sa.UniqueConstraint("token_sha256", name="uq_agent_tokens_token_sha256"),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name="fk_agent_tokens_user_id_users", ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name="fk_agent_tokens_course_id_courses",
            ondelete="CASCADE",
        ),
    )
    with op.batch_alter_table("agent_tokens", schema=None) as batch_op:
        batch_op.create_index("ix_agent_tokens_user_id", ["user_id"], unique=False)
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.add_column(sa.Column("agent_token_id", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("agent_seen_at", TIMESTAMP, nullable=True))
        batch_op.add_column(
            sa.Column("agent_backlog", sa.Integer(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("agent_lag", sa.Float(), nullable=True))
        batch_op.add_column(sa.Column("close_at", sa.Float(), nullable=True))
        batch_op.create_foreign_key(
            "fk_sessions_agent_token_id_agent_tokens",
            "agent_tokens",
            ["agent_token_id"],
            ["id"],
            ondelete="SET NULL",
        )
    op.create_table(
        "session_states",
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("state", BIG_BLOB, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("session_id", name="pk_session_states"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_session_states_session_id_sessions",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "frames",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("t", sa.Float(), nullable=False),
        sa.Column("captured_at", TIMESTAMP, nullable=False),
        sa.Column("received_at", TIMESTAMP, nullable=False),
        sa.Column("image", BIG_BLOB, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_frames"),
        sa.UniqueConstraint("session_id", "seq", name="uq_frames_session_id"),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name="fk_frames_session_id_sessions",
            ondelete="CASCADE",
        ),
    )
    with op.batch_alter_table("frames", schema=None) as batch_op:
        batch_op.create_index("ix_frames_session_id", ["session_id"], unique=False)


def downgrade() -> None:
    op.drop_table("frames")
    op.drop_table("session_states")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_constraint("fk_sessions_agent_token_id_agent_tokens", type_="foreignkey")
        batch_op.drop_column("close_at")
        batch_op.drop_column("agent_lag")
        batch_op.drop_column("agent_backlog")
        batch_op.drop_column("agent_seen_at")
        batch_op.drop_column("agent_token_id")
    op.drop_table("agent_tokens")
