"""online meetings: people's meeting accounts, a session's participants and their stays,
webhook hooks, and staff decisions on suspected cases

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0012"
down_revision = "0011"
branch_labels = None
depends_on = None

# As in 0001: MySQL's DATETIME would otherwise drop fractions of a second.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def _fk(table: str, column: str, target: str, ondelete: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        [column], [f"{target}.id"], name=f"fk_{table}_{column}_{target}", ondelete=ondelete
    )


def upgrade() -> None:
    op.create_table(
        "person_aliases",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(8), nullable=False),
        sa.Column("value", sa.String(254), nullable=False),
        sa.Column("norm", sa.String(254), nullable=False),
        sa.Column("added_by", sa.String(120), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_person_aliases"),
        sa.UniqueConstraint("kind", "norm", name="uq_person_aliases_kind"),
        _fk("person_aliases", "person_id", "people", "CASCADE"),
    )
    op.create_index("ix_person_aliases_person_id", "person_aliases", ["person_id"])
    op.create_table(
        "meeting_participants",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("account_key", sa.String(300), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("original_name", sa.String(200), nullable=True),
        sa.Column("email", sa.String(254), nullable=True),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("matched_by", sa.String(16), nullable=True),
        sa.Column("proposed_id", sa.Integer(), nullable=True),
        sa.Column("proposal_score", sa.Float(), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_participants"),
        sa.UniqueConstraint("session_id", "account_key", name="uq_meeting_participants_session_id"),
        _fk("meeting_participants", "session_id", "sessions", "CASCADE"),
        _fk("meeting_participants", "person_id", "people", "SET NULL"),
        _fk("meeting_participants", "proposed_id", "people", "SET NULL"),
    )
    op.create_index("ix_meeting_participants_session_id", "meeting_participants", ["session_id"])
    op.create_table(
        "participant_stays",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("participant_id", sa.Integer(), nullable=False),
        sa.Column("join_t", sa.Float(), nullable=False),
        sa.Column("leave_t", sa.Float(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_participant_stays"),
        _fk("participant_stays", "participant_id", "meeting_participants", "CASCADE"),
    )
    op.create_index("ix_participant_stays_participant_id", "participant_stays", ["participant_id"])
    op.create_table(
        "meeting_hooks",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("platform", sa.String(16), nullable=False),
        sa.Column("token_sha256", sa.String(64), nullable=False),
        sa.Column("secret", sa.LargeBinary(), nullable=True),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("session_id", sa.Integer(), nullable=True),
        sa.Column("created_by", sa.String(80), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_hooks"),
        sa.UniqueConstraint("token_sha256", name="uq_meeting_hooks_token_sha256"),
        _fk("meeting_hooks", "course_id", "courses", "CASCADE"),
        _fk("meeting_hooks", "session_id", "sessions", "CASCADE"),
    )
    op.create_table(
        "meeting_reviews",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("case_key", sa.String(300), nullable=False),
        sa.Column("decision", sa.String(16), nullable=False),
        sa.Column("note", sa.String(500), nullable=False),
        sa.Column("decided_by", sa.String(80), nullable=False),
        sa.Column("decided_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_meeting_reviews"),
        sa.UniqueConstraint("session_id", "case_key", name="uq_meeting_reviews_session_id"),
        _fk("meeting_reviews", "session_id", "sessions", "CASCADE"),
    )
    op.create_index("ix_meeting_reviews_session_id", "meeting_reviews", ["session_id"])


def downgrade() -> None:
    op.drop_table("meeting_reviews")
    op.drop_table("meeting_hooks")
    op.drop_table("participant_stays")
    op.drop_table("meeting_participants")
    op.drop_table("person_aliases")
