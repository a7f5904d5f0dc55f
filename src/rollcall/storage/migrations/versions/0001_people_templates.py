"""people and their face templates

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

# MySQL's FLOAT is single precision (times of day in seconds would lose their fractions) and its
# DATETIME drops fractions of a second; the other back ends get exactly the types they had.
FLOAT = sa.Float().with_variant(mysql.DOUBLE(), "mysql", "mariadb")
TIMESTAMP = sa.DateTime(timezone=True).with_variant(mysql.DATETIME(fsp=6), "mysql", "mariadb")


def upgrade() -> None:
    op.create_table(
        "people",
        sa.Column("id", sa.Integer(), primary_key=True),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_people"),
        sa.UniqueConstraint("name", name="uq_people_name"),
    )
    op.create_table(
        "templates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("embedder", sa.String(32), nullable=False),
        sa.Column("dim", sa.Integer(), nullable=False),
        sa.Column("vector", sa.LargeBinary(), nullable=False),
        sa.Column("source_name", sa.String(255), nullable=False),
        sa.Column("source_sha256", sa.String(64), nullable=False),
        sa.Column("face_px", FLOAT, nullable=False),
        sa.Column("sharpness", FLOAT, nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_templates"),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["people.id"],
            name="fk_templates_person_id_people",
            ondelete="CASCADE",
        ),
        sa.UniqueConstraint(
            "person_id", "embedder", "source_sha256", name="uq_templates_person_id"
        ),
    )
    op.create_index("ix_templates_person_id", "templates", ["person_id"])


def downgrade() -> None:
    op.drop_index("ix_templates_person_id", table_name="templates")
    op.drop_table("templates")
    op.drop_table("people")
