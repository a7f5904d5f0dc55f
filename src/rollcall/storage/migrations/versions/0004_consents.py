"""consent records: how, when and by whom each person's consent to enrollment was recorded

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

# As in 0001: MySQL's DATETIME would otherwise drop fractions of a second.
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    # People enrolled before this revision get no row: no consent is invented for them, and
    # adding photos to them asks for it (see enrollment.py).
    op.create_table(
        "consents",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("method", sa.String(64), nullable=False),
        sa.Column("recorded_by", sa.String(80), nullable=False),
        sa.Column("recorded_at", TIMESTAMP, nullable=False),
        sa.Column("note", sa.String(500), nullable=True),
        sa.PrimaryKeyConstraint("id", name="pk_consents"),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name="fk_consents_person_id_people",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint("person_id", name="uq_consents_person_id"),
    )


def downgrade() -> None:
    op.drop_table("consents")
