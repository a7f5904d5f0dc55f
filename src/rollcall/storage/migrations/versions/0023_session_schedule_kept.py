"""each session keeps the course schedule it was made with (late / left early are judged on it)

Revision ID: 0023
Revises: 0022
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0023"
down_revision = "0022"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Plain ALTER TABLE ADD COLUMN on every back end, never a batch rebuild: rebuilding
    # sessions on SQLite, with foreign keys on, would cascade into everything it recorded.
    op.add_column(
        "sessions",
        sa.Column("schedule_kept", sa.Boolean(), nullable=False, server_default=sa.false()),
    )
    op.add_column("sessions", sa.Column("schedule_start", sa.String(length=5), nullable=True))
    op.add_column("sessions", sa.Column("schedule_end", sa.String(length=5), nullable=True))
    op.add_column("sessions", sa.Column("schedule_grace", sa.Integer(), nullable=True))
    # Sessions made before this keep the schedule their course has now: the one their
    # reports, exports and alerts were given with until today.
    sessions = sa.table(
        "sessions",
        sa.column("course_id", sa.Integer),
        sa.column("schedule_kept", sa.Boolean),
        sa.column("schedule_start", sa.String),
        sa.column("schedule_end", sa.String),
        sa.column("schedule_grace", sa.Integer),
    )
    courses = sa.table(
        "courses",
        sa.column("id", sa.Integer),
        sa.column("start_time", sa.String),
        sa.column("end_time", sa.String),
        sa.column("grace_minutes", sa.Integer),
    )

    def of_course(column: sa.ColumnClause) -> sa.ScalarSelect:
        return sa.select(column).where(courses.c.id == sessions.c.course_id).scalar_subquery()

    op.get_bind().execute(
        sa.update(sessions).values(
            schedule_kept=True,
            schedule_start=of_course(courses.c.start_time),
            schedule_end=of_course(courses.c.end_time),
            schedule_grace=of_course(courses.c.grace_minutes),
        )
    )


def downgrade() -> None:
    # Plain DROP COLUMN (SQLite 3.35+): a batch rebuild of sessions would cascade (above).
    for column in ("schedule_grace", "schedule_end", "schedule_start", "schedule_kept"):
        op.execute(f"ALTER TABLE sessions DROP COLUMN {column}")
