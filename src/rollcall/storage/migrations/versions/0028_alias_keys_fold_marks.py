"""name keys ignore apostrophes, hyphens and invisible format marks

The key a display name is looked up by (attendance.participants.match.name_key) now drops
apostrophes and hyphens of every kind ("O’Brien" is "O'Brien", "Anne Marie" is "Anne-Marie")
and invisible marks such as a right-to-left mark. Meeting aliases, accounts known by name only
and the staff reviews of their cases were stored with them kept: they are rewritten so. A key
that would collide with another person's alias, or another account or review of the same
meeting, keeps its old value (and a warning names it), as in 0016.

Revision ID: 0028
Revises: 0027
Create Date: 2026-12-07
"""

import logging
import re
import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0028"
down_revision = "0027"
branch_labels = None
depends_on = None

# Kept here rather than imported, so that this migration does what it did when written.
_MARKS = re.compile(r"['’‘ʼ`´\-‐‑‒–—]")


def fold(key: str) -> str:
    return _MARKS.sub("", "".join(ch for ch in key if unicodedata.category(ch) != "Cf"))


def upgrade() -> None:
    conn = op.get_bind()
    log = logging.getLogger("alembic.runtime.migration")
    aliases = conn.execute(
        sa.text("SELECT id, person_id, value, norm FROM person_aliases WHERE kind = 'alias'")
    ).all()
    owner = {norm: person_id for _, person_id, _, norm in aliases}
    for row_id, person_id, value, norm in sorted(aliases):
        new = fold(norm)
        if new == norm or not new:
            continue
        if new not in owner:
            conn.execute(
                sa.text("UPDATE person_aliases SET norm = :n WHERE id = :i"),
                {"n": new, "i": row_id},
            )
            owner[new] = person_id
        elif owner[new] == person_id:  # the same alias of the same person, twice: once
            conn.execute(sa.text("DELETE FROM person_aliases WHERE id = :i"), {"i": row_id})
        else:
            log.warning(
                "alias %r of person %s is now the same name as another person's alias: kept "
                "as it was (staff: remove it, or the other)",
                value,
                person_id,
            )
    for table, column, is_case in (
        ("meeting_participants", "account_key", False),
        ("meeting_reviews", "case_key", True),
    ):
        rows_of = sa.table(table, sa.column("id"), sa.column("session_id"), sa.column(column))
        key_of = rows_of.c[column]
        rows = conn.execute(
            sa.select(rows_of.c.id, rows_of.c.session_id, key_of).order_by(rows_of.c.id)
        ).all()
        taken = {(session_id, key) for _, session_id, key in rows}
        for row_id, session_id, key in rows:
            subject = key.partition(":")[2] if is_case else key
            new = fold(key)
            if not subject.startswith("name:") or new == key:
                continue
            if (session_id, new) in taken:
                log.warning("%s %r of session %s kept: its key is another's", table, key,
                            session_id)  # fmt: skip
                continue
            conn.execute(sa.update(rows_of).where(rows_of.c.id == row_id).values({column: new}))
            taken.add((session_id, new))


def downgrade() -> None:
    # Keys stay folded: the code before this misses such an alias until it is typed again.
    pass
