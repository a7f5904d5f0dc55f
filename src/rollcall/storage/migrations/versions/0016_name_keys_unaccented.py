"""name keys take "ø", "ł", "ı", "æ" ... for "o", "l", "i", "ae" (rollcall.accents)

Meeting aliases (person_aliases.norm) and accounts known by name only
(meeting_participants.account_key "name:...") were stored with those letters kept, so
"Søren" and "Soren" were two keys; so were the staff reviews of those accounts' cases. They
are rewritten as the code now computes them. One person's alias stored both ways becomes one;
a key that would collide with another person's alias, or with another account or review of
the same meeting, keeps its old value (and a warning names it) rather than lose a row.

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06
"""

import logging

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
    log = logging.getLogger("alembic.runtime.migration")
    # Aliases: a key both "Søren K" and "Soren K" now make is one alias.
    aliases = conn.execute(
        sa.text("SELECT id, person_id, value, norm FROM person_aliases WHERE kind = 'alias'")
    ).all()
    owner = {norm: person_id for _, person_id, _, norm in aliases}
    for row_id, person_id, value, norm in sorted(aliases):
        new = norm.translate(FOLD)[:254]
        if new == norm:
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
                "as it was, it matches no one (staff: remove it, or the other)",
                value,
                person_id,
            )
    # Accounts known by name only, and the staff reviews of their cases ("STATUS:ACCOUNT_KEY").
    _rekey(conn, "meeting_participants", "account_key", is_case=False)
    _rekey(conn, "meeting_reviews", "case_key", is_case=True)


def _rekey(conn, table: str, column: str, is_case: bool) -> None:  # noqa: ANN001
    """Fold the name keys of a table's rows, unless the folded key is taken in that session."""
    rows_of = sa.table(table, sa.column("id"), sa.column("session_id"), sa.column(column))
    key_of = rows_of.c[column]
    rows = conn.execute(
        sa.select(rows_of.c.id, rows_of.c.session_id, key_of).order_by(rows_of.c.id)
    ).all()
    taken = {(session_id, key) for _, session_id, key in rows}
    for row_id, session_id, key in rows:
        subject = key.partition(":")[2] if is_case else key
        if not subject.startswith("name:"):
            continue
        new = key.translate(FOLD)[:300]
        if new == key:
            continue
        if (session_id, new) in taken:
            logging.getLogger("alembic.runtime.migration").warning(
                "%s %r of session %s kept as it was: its folded key is another's",
                table,
                key,
                session_id,
            )
            continue
        conn.execute(sa.update(rows_of).where(rows_of.c.id == row_id).values({column: new}))
        taken.add((session_id, new))


def downgrade() -> None:
    # Keys stay folded: 0015's code then misses an alias with such a letter until it is typed
    # again, which is what it did for "Soren" against "Søren" anyway.
    pass
