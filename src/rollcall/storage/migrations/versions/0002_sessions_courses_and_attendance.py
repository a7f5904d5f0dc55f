"""sessions, courses and attendance

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-24 05:54:59.630532
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None

# MySQL's FLOAT is single precision (times of day in seconds would lose their fractions) and its
# DATETIME drops fractions of a second; the other back ends get exactly the types they had.
FLOAT = sa.Float().with_variant(mysql.DOUBLE(), "mysql", "mariadb")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:

    op.create_table(
        "courses",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("start_time", sa.String(length=5), nullable=True),
        sa.Column("end_time", sa.String(length=5), nullable=True),
        sa.Column("grace_minutes", sa.Integer(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_courses")),
        sa.UniqueConstraint("name", name=op.f("uq_courses_name")),
    )
    op.create_table(
        "course_members",
        sa.Column("course_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_course_members_course_id_courses"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_course_members_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("course_id", "person_id", name=op.f("pk_course_members")),
    )
    op.create_table(
        "sessions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("course_id", sa.Integer(), nullable=True),
        sa.Column("source", sa.String(length=1000), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("ended_at", TIMESTAMP, nullable=True),
        sa.Column("state", sa.String(length=16), nullable=False),
        sa.Column("seed", sa.Integer(), nullable=False),
        sa.Column("min_interval", FLOAT, nullable=False),
        sa.Column("max_interval", FLOAT, nullable=False),
        sa.Column("verify_every", FLOAT, nullable=False),
        sa.Column("leave_after", FLOAT, nullable=False),
        sa.Column("processed_until", FLOAT, nullable=False),
        sa.Column("duration", FLOAT, nullable=True),
        sa.ForeignKeyConstraint(
            ["course_id"],
            ["courses.id"],
            name=op.f("fk_sessions_course_id_courses"),
            ondelete="SET NULL",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("name", name=op.f("uq_sessions_name")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_sessions_course_id"), ["course_id"], unique=False)

    op.create_table(
        "attendance",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_seen", FLOAT, nullable=True),
        sa.Column("last_seen", FLOAT, nullable=True),
        sa.Column("confidence", FLOAT, nullable=False),
        sa.Column("evidence_path", sa.String(length=500), nullable=True),
        sa.Column("evidence_t", FLOAT, nullable=True),
        sa.Column("marked_at", TIMESTAMP, nullable=True),
        sa.Column("edited", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_attendance_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_attendance_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_attendance")),
        sa.UniqueConstraint("session_id", "person_id", name=op.f("uq_attendance_session_id")),
    )
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_attendance_person_id"), ["person_id"], unique=False)
        batch_op.create_index(batch_op.f("ix_attendance_session_id"), ["session_id"], unique=False)

    op.create_table(
        "head_counts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("seq", sa.Integer(), nullable=False),
        sa.Column("t", FLOAT, nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.Column("recognized", sa.Integer(), nullable=False),
        sa.Column("unknown", sa.Integer(), nullable=False),
        sa.Column("verified", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_head_counts_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_head_counts")),
        sa.UniqueConstraint("session_id", "seq", name=op.f("uq_head_counts_session_id")),
    )
    with op.batch_alter_table("head_counts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_head_counts_session_id"), ["session_id"], unique=False)

    op.create_table(
        "presence_intervals",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("start_t", FLOAT, nullable=False),
        sa.Column("last_seen", FLOAT, nullable=False),
        sa.Column("end_t", FLOAT, nullable=True),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_presence_intervals_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_presence_intervals_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_presence_intervals")),
    )
    with op.batch_alter_table("presence_intervals", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_presence_intervals_person_id"), ["person_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_presence_intervals_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "session_events",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("t", FLOAT, nullable=False),
        sa.Column("kind", sa.String(length=32), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=True),
        sa.Column("detail", sa.String(length=500), nullable=False),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name=op.f("fk_session_events_person_id_people"),
            ondelete="CASCADE",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_session_events_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_session_events")),
    )
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_session_events_session_id"), ["session_id"], unique=False
        )

    op.create_table(
        "unknown_faces",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("session_id", sa.Integer(), nullable=False),
        sa.Column("t", FLOAT, nullable=False),
        sa.Column("crop_path", sa.String(length=500), nullable=False),
        sa.Column("best_similarity", FLOAT, nullable=False),
        sa.Column("candidate_id", sa.Integer(), nullable=True),
        sa.Column("review", sa.String(length=16), nullable=False),
        sa.Column("assigned_id", sa.Integer(), nullable=True),
        sa.ForeignKeyConstraint(
            ["assigned_id"],
            ["people.id"],
            name=op.f("fk_unknown_faces_assigned_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["candidate_id"],
            ["people.id"],
            name=op.f("fk_unknown_faces_candidate_id_people"),
            ondelete="SET NULL",
        ),
        sa.ForeignKeyConstraint(
            ["session_id"],
            ["sessions.id"],
            name=op.f("fk_unknown_faces_session_id_sessions"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_unknown_faces")),
    )
    with op.batch_alter_table("unknown_faces", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_unknown_faces_session_id"), ["session_id"], unique=False
        )


def downgrade() -> None:

    with op.batch_alter_table("unknown_faces", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_unknown_faces_session_id"))

    op.drop_table("unknown_faces")
    with op.batch_alter_table("session_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_session_events_session_id"))

    op.drop_table("session_events")
    with op.batch_alter_table("presence_intervals", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_presence_intervals_session_id"))
        batch_op.drop_index(batch_op.f("ix_presence_intervals_person_id"))

    op.drop_table("presence_intervals")
    with op.batch_alter_table("head_counts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_head_counts_session_id"))

    op.drop_table("head_counts")
    with op.batch_alter_table("attendance", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_attendance_session_id"))
        batch_op.drop_index(batch_op.f("ix_attendance_person_id"))

    op.drop_table("attendance")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_sessions_course_id"))

    op.drop_table("sessions")
    op.drop_table("course_members")
    op.drop_table("courses")
