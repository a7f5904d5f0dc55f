"""why an unknown face was credited to no one: no match, or judged a picture (entrance)

An entrance's presentation attacks were session events with a crop that no page showed; they
are now unknown faces with reason "picture", reviewed like any other (assign, dismiss).

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0015"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("unknown_faces") as batch:
        batch.add_column(
            sa.Column("reason", sa.String(16), nullable=False, server_default="no_match")
        )
    # Attacks recorded before this keep their event (the timeline) and their crop moves to a
    # face under review; the similarity of their closest person was not kept.
    op.execute(
        "INSERT INTO unknown_faces (session_id, t, crop_path, best_similarity, review, reason) "
        "SELECT session_id, t, crop_path, 0.0, 'pending', 'picture' FROM session_events "
        "WHERE kind = 'presentation_attack' AND crop_path IS NOT NULL AND crop_path <> ''"
    )
    op.execute("UPDATE session_events SET crop_path = NULL WHERE kind = 'presentation_attack'")


def downgrade() -> None:
    # The crops of faces judged pictures go back on their events, and the faces go: left as
    # plain unknown faces, the code of 0014 would let them become templates.
    op.execute(
        "UPDATE session_events SET crop_path = (SELECT MIN(u.crop_path) FROM unknown_faces u "
        "WHERE u.session_id = session_events.session_id AND u.t = session_events.t "
        "AND u.reason = 'picture') WHERE kind = 'presentation_attack'"
    )
    op.execute("DELETE FROM unknown_faces WHERE reason = 'picture'")
    with op.batch_alter_table("unknown_faces") as batch:
        batch.drop_column("reason")
