"""name keys take "ø", "ł", "ı", "æ" ... for "o", "l", "i", "ae" (rollcall.accents)

Meeting aliases (person_aliases.norm) and accounts known by name only
(meeting_participants.account_key "name:...") were stored with those letters kept, so
"Søren" and "Soren" were two keys. They are rewritten as the code now computes them. A key
that would then collide with another (two aliases "Søren K" and "Soren K" of different
people, two such accounts in one meeting) keeps its old value rather than lose a row.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0015"
branch_labels = None
depends_on = None

# The stored keys are already case-folded: only the lower-case letters occur in them. Kept
# here rather than imported, so that this migration does what it did when it was written.
FOLD = str.maketrans(
    {"ø": "o", "ł": "l", "ı": "i", "đ": "d", "ð": "d", "ħ": "h", "ŧ": "t", "æ": "ae",
     "œ": "oe", "þ": "th"}
)  # fmt: skip


def upgrade() -> None:
    conn = op.get_bind()
    aliases = conn.execute(
        sa.text("SELECT id, norm FROM person_aliases WHERE kind = 'alias' ORDER BY id")
    ).all()
    taken = {norm for _, norm in aliases}
    for row_id, norm in aliases:
        new = norm.translate(FOLD)
        if new != norm and new not in taken:
            conn.execute(
                sa.text("UPDATE person_aliases SET norm = :n WHERE id = :i"),
                {"n": new, "i": row_id},
            )
            taken.add(new)
    accounts = conn.execute(
        sa.text(
            "SELECT id, session_id, account_key FROM meeting_participants "
            "WHERE account_key LIKE 'name:%' ORDER BY id"
        )
    ).all()
    keys = {(session_id, key) for _, session_id, key in accounts}
    for row_id, session_id, key in accounts:
        new = key.translate(FOLD)
        if new != key and (session_id, new) not in keys:
            conn.execute(
                sa.text("UPDATE meeting_participants SET account_key = :k WHERE id = :i"),
                {"k": new, "i": row_id},
            )
            keys.add((session_id, new))


def downgrade() -> None:
    # Keys stay folded: 0015's code then misses an alias with such a letter until it is typed
    # again, which is what it did for "Soren" against "Søren" anyway.
    pass
