"""the person an unnamed face nearly matched, on its sighting (the reconciliation's near misses)

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("sightings") as batch:
        batch.add_column(sa.Column("candidate_id", sa.Integer(), nullable=True))
        batch.create_foreign_key(
            "fk_sightings_candidate_id_people",
            "people",
            ["candidate_id"],
            ["id"],
            ondelete="SET NULL",
        )


def downgrade() -> None:
    with op.batch_alter_table("sightings") as batch:
        batch.drop_constraint("fk_sightings_candidate_id_people", type_="foreignkey")
        batch.drop_column("candidate_id")
