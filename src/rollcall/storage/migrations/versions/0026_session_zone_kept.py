"""a course's sessions keep the zone their course had (as they keep its times: 0023)

Revision ID: 0026
Revises: 0025
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

revision = "0026"
down_revision = "0025"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sessions of a course made before this kept no zone and followed their course's: they
    # keep the one it has at the upgrade, the one their reports were given in until today. A
    # course without a zone of its own follows ROLLCALL_TIMEZONE, which the database does not
    # know: its sessions keep following it.
    sessions = sa.table(
        "sessions",
        sa.column("course_id", sa.Integer),
        sa.column("timezone", sa.String),
    )
    courses = sa.table("courses", sa.column("id", sa.Integer), sa.column("timezone", sa.String))
    zone = sa.select(courses.c.timezone).where(courses.c.id == sessions.c.course_id)
    op.get_bind().execute(
        sa.update(sessions)
        .where(sessions.c.course_id.is_not(None), sessions.c.timezone.is_(None))
        .values(timezone=zone.scalar_subquery())
    )


def downgrade() -> None:
    # Nothing to undo: before this, a course's sessions read their course's zone and ignored
    # their own column.
    pass
