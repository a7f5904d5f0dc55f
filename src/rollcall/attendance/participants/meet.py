"""Google Meet's attendance report (a CSV in Drive, "YYYY-MM-DD HH:MM Meeting - Attendance
Report.csv"): ``First name, Last name, Email, Duration, Time joined, Time exited``, one row per
person, times of day only (the date is the meeting's)."""

from __future__ import annotations

from rollcall.attendance.participants.rows import (
    ParsedReport,
    ReportRow,
    columns,
    email_or_none,
    need_columns,
    take,
)
from rollcall.attendance.participants.text import ReportError, blank, cells, delimiter_of

SYNONYMS = {
    "first": ("first name", "given name", "vorname", "prenom", "nombre"),
    "last": ("last name", "family name", "surname", "nachname", "nom", "apellido", "apellidos"),
    "email": ("email", "e mail", "email address", "correo electronico"),
    "joined": ("time joined", "joined", "join time", "hora de entrada", "beitrittszeit"),
    "left": ("time exited", "exited", "time left", "leave time", "hora de salida"),
}
REQUIRED = ("first", "joined", "left")


def header_columns(row: list[str]) -> dict[str, int] | None:
    where = columns(row, SYNONYMS)
    return where if all(f in where for f in REQUIRED) else None


def parse(lines: list[str], filename: str) -> ParsedReport:
    report = ParsedReport("meet", filename)
    found = None
    for i, line in enumerate(lines):
        delimiter = delimiter_of(line)
        where = header_columns(cells(line, delimiter))
        if where is not None:
            found = i
            break
    if found is None or where is None:
        raise ReportError(f"{filename}: no Meet attendance table")
    for j in range(found + 1, len(lines)):
        row = cells(lines[j], delimiter)
        if blank(row):
            continue
        need_columns(row, where, REQUIRED, filename, j + 1)
        name = " ".join(p for p in (take(row, where["first"]), take(row, where.get("last"))) if p)
        email = email_or_none(take(row, where.get("email")))
        if not name and email is None:
            raise ReportError(f"{filename}, line {j + 1}: a row with neither a name nor an email")
        report.rows.append(
            ReportRow(j + 1, name, email, take(row, where["joined"]), take(row, where["left"]))
        )
    return report
