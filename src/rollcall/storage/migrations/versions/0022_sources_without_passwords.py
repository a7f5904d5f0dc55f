"""sessions' stored sources without a camera URL's password (rtsp://user:password@...)

Revision ID: 0022
Revises: 0021
Create Date: 2026-12-07
"""

import sqlalchemy as sa
from alembic import op

from rollcall.source_text import shown_source

revision = "0022"
down_revision = "0021"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Sources were stored as given and shown on every staff page; from now on they are stored
    # as source_text shows them. Only URLs can hold a secret.
    bind = op.get_bind()
    sessions = sa.table("sessions", sa.column("id", sa.Integer), sa.column("source", sa.String))
    rows = bind.execute(
        sa.select(sessions.c.id, sessions.c.source).where(sessions.c.source.like("%://%"))
    ).all()
    for session_id, source in rows:
        shown = shown_source(source)
        if shown != source:
            bind.execute(
                sa.update(sessions).where(sessions.c.id == session_id).values(source=shown)
            )


def downgrade() -> None:
    pass  # a password taken out cannot be put back
