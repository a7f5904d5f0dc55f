"""the instructor's week: term calendars, alerts and their outbox, contact details, admin resets

courses gain meeting days and a term (with holidays in course_holidays); course_alerts holds a
course's alert settings and outbox every email with its delivery state; people gain a student
id, an email and a guardian's email; users an email and must_change_password; unknown_faces the
face's sealed embedding, so one stranger is grouped across sessions.

Revision ID: 0008
Revises: 0007
Create Date: 2026-12-04
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.add_column(sa.Column("meeting_days", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("term_start", sa.Date(), nullable=True))
        batch_op.add_column(sa.Column("term_end", sa.Date(), nullable=True))
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.add_column(sa.Column("student_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(sa.Column("guardian_email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
        batch_op.add_column(
            sa.Column(
                "must_change_password", sa.Boolean(), nullable=False, server_default=sa.false()
            )
        )
    with op.batch_alter_table("unknown_faces", schema=None) as batch_op:
        batch_op.add_column(sa.Column("embedding", sa.LargeBinary(), nullable=True))
        batch_op.add_column(sa.Column("embedder", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("dim", sa.Integer(), nullable=True))
    op.create_table(
        "course_holidays",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("label", sa.String(length=100), nullable=False),
        sa.PrimaryKeyConstraint("course_id", "day", name="pk_course_holidays"),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name="fk_course_holidays_course_id_courses",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "course_alerts",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("after_session", sa.Boolean(), nullable=False),
        sa.Column("absences", sa.Integer(), nullable=True),
        sa.Column("rate_below", sa.Integer(), nullable=True),
        sa.Column("to_student", sa.Boolean(), nullable=False),
        sa.Column("to_guardian", sa.Boolean(), nullable=False),
        sa.Column("to_staff", sa.Boolean(), nullable=False),
        sa.Column("cc", sa.String(length=500), nullable=False),
        sa.PrimaryKeyConstraint("course_id", name="pk_course_alerts"),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name="fk_course_alerts_course_id_courses",
            ondelete="CASCADE",
        ),
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("dedupe", sa.String(length=400), nullable=False),
        sa.Column("course_name", sa.String(length=200), nullable=True),
        sa.Column("session_name", sa.String(length=200), nullable=True),
        sa.Column("person_name", sa.String(length=200), nullable=True),
        sa.Column("recipient", sa.String(length=254), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("last_error", sa.String(length=500), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("sent_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_outbox"),
        sa.UniqueConstraint("dedupe", name="uq_outbox_dedupe"),
    )
    with op.batch_alter_table("outbox", schema=None) as batch_op:
        batch_op.create_index("ix_outbox_state", ["state"], unique=False)


def downgrade() -> None:
    op.drop_table("outbox")
    op.drop_table("course_alerts")
    op.drop_table("course_holidays")
    with op.batch_alter_table("unknown_faces", schema=None) as batch_op:
        batch_op.drop_column("dim")
        batch_op.drop_column("embedder")
        batch_op.drop_column("embedding")
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("must_change_password")
        batch_op.drop_column("email")
    with op.batch_alter_table("people", schema=None) as batch_op:
        batch_op.drop_column("guardian_email")
        batch_op.drop_column("email")
        batch_op.drop_column("student_id")
    with op.batch_alter_table("courses", schema=None) as batch_op:
        batch_op.drop_column("term_end")
        batch_op.drop_column("term_start")
        batch_op.drop_column("meeting_days")
