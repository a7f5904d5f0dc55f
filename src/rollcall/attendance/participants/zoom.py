"""Zoom's participant report (Reports → Usage → Participants, exported as CSV).

``Name (Original Name),User Email,Join Time,Leave Time,Duration (Minutes),Guest`` with newer
columns after it; "Export with meeting data" puts a meeting block and a blank line first.
Each rejoin is its own row. Headers follow the account's language, so they are matched by
synonyms (the German, French, Spanish and Italian ones below are as best known, not all
checked against real exports).
"""

from __future__ import annotations

import re

from rollcall.attendance.participants.match import display_name
from rollcall.attendance.participants.rows import (
    ParsedReport,
    ReportRow,
    columns,
    email_or_none,
    need_columns,
    take,
)
from rollcall.attendance.participants.text import (
    ReportError,
    blank,
    cells,
    delimiter_of,
    header_key,
)

SYNONYMS: dict[str, tuple[str, ...]] = {
    "name": (
        "name original name",
        "name urspruenglicher name",
        "name ursprunglicher name",
        "nom nom original",
        "nombre nombre original",
        "nome nome originale",
        "name",
        "user name",
        "participant",
        "teilnehmer",
        "nom",
        "nombre",
        "nome",
    ),
    "email": (
        "user email",
        "e mail des benutzers",
        "benutzer e mail",
        "e mail",
        "email",
        "e mail de l utilisateur",
        "adresse e mail de l utilisateur",
        "correo electronico del usuario",
        "correo electronico",
        "e mail utente",
        "email utente",
    ),
    "joined": (
        "join time",
        "beitrittszeit",
        "zeitpunkt des beitritts",
        "heure d arrivee",
        "heure de connexion",
        "heure d entree",
        "hora de entrada",
        "hora de union",
        "ora di ingresso",
        "ora di accesso",
    ),
    "left": (
        "leave time",
        "austrittszeit",
        "zeitpunkt des verlassens",
        "heure de depart",
        "heure de deconnexion",
        "heure de sortie",
        "hora de salida",
        "ora di uscita",
    ),
    # Newer exports list the time people spent in the waiting room as rows of their own,
    # marked here: they were not in the meeting then (a student never admitted never was).
    "waiting": (
        "in waiting room",
        "im warteraum",
        "dans la salle d attente",
        "en la sala de espera",
        "nella sala d attesa",
    ),
}
REQUIRED = ("name", "joined", "left")
# Yes and no as Zoom writes them in its languages (compared without accents or case): its
# waiting-room column. A report whose header names that column may also say y/true/1; the
# layout reader (layout.py), which must tell the column by its words alone, takes only these.
YES_WORDS = {"yes", "ja", "oui", "si", "sim", "tak", "da", "evet", "ya", "co", "はい", "是", "예",
             "да"}  # fmt: skip
NO_WORDS = {"no", "nein", "non", "nao", "nie", "net", "hayir", "tidak", "khong", "いいえ", "否",
            "아니요", "нет", "nee", "nej", "ei"}  # fmt: skip
YES = {header_key(w) for w in YES_WORDS} - {""} | {"y", "true", "1"}
_RENAMED = re.compile(r"^(?P<shown>.+?)\s*\((?P<original>[^()]+)\)\s*$")


def header_columns(row: list[str]) -> dict[str, int] | None:
    where = columns(row, SYNONYMS)
    return where if all(f in where for f in REQUIRED) else None


def split_name(text: str, renamed_column: bool) -> tuple[str, str | None]:
    """ "Ada L (Ada Lovelace)" is Ada Lovelace's account shown as "Ada L" in the meeting."""
    m = _RENAMED.match(text) if renamed_column else None
    if m is None or display_name(text) != text:  # "Bob (Guest)", "Cy (he/him)": not a rename
        return text, None
    return m["shown"].strip(), m["original"].strip()


def parse(lines: list[str], filename: str) -> ParsedReport:
    report = ParsedReport("zoom", filename)
    header_at = None
    for i, line in enumerate(lines):
        where = header_columns(cells(line, delimiter_of(line)))
        if where is not None:
            header_at, delimiter = i, delimiter_of(line)
            break
    if header_at is None:
        raise ReportError(
            f"{filename}: no Zoom participant table (a header with name, join time and leave time)"
        )
    header = cells(lines[header_at], delimiter)
    renamed = "original" in header[where["name"]].casefold() or "(" in header[where["name"]]
    for i in range(header_at + 1, len(lines)):
        row = cells(lines[i], delimiter)
        if blank(row):
            continue
        need_columns(row, where, REQUIRED, filename, i + 1)
        if header_key(take(row, where.get("waiting"))) in YES:
            continue
        shown, original = split_name(take(row, where["name"]), renamed)
        email = email_or_none(take(row, where.get("email")))
        if not shown and email is None:
            raise ReportError(f"{filename}, line {i + 1}: a row with neither a name nor an email")
        report.rows.append(
            ReportRow(
                i + 1, shown, email, take(row, where["joined"]), take(row, where["left"]), original
            )
        )
    return report
