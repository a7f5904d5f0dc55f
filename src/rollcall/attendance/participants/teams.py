"""Microsoft Teams' attendance report download: UTF-16, tab-separated, in sections.

``1. Summary`` (title, start and end, ...), ``2. Participants`` (``Name, First Join,
Last Leave, In-Meeting Duration, Email, Participant ID (UPN), Role``) and, when the tenant
keeps them, ``3. In-Meeting Activities`` (``Name, Join Time, Leave Time, Duration, Email,
Role``: one row per join). Every join is used when activities are there; else each
participant's first join to last leave.
"""

from __future__ import annotations

import re

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

SECTION = re.compile(r"^\s*\d+\s*\.\s*(?P<title>\S.*?)\s*$")
PARTICIPANTS = {
    "name": ("name", "full name", "participant"),
    "joined": ("first join", "first join time", "join time"),
    "left": ("last leave", "last leave time", "leave time"),
    "email": ("email", "email address", "e mail"),
    "upn": ("participant id upn", "upn", "user principal name"),
}
REQUIRED = ("name", "joined", "left")


def looks_like(lines: list[str]) -> bool:
    for line in lines[:80]:
        first = cells(line, "\t")[0] if line.strip() else ""
        m = SECTION.match(first)
        if m and header_key(m["title"]) in ("summary", "participants", "in meeting activities"):
            return True
        keys = {header_key(c) for c in cells(line, delimiter_of(line))}
        if {"first join", "last leave"} <= keys or "in meeting duration" in keys:
            return True
        if {"user action", "timestamp"} <= keys:
            return True
        if "role" in keys and keys & {"join time", "first join"}:
            return True
    return False


def section_heading(row: list[str]) -> re.Match[str] | None:
    """A numbered section heading ("2. Participants", in any language): a line whose one
    filled cell is its first."""
    return SECTION.match(row[0]) if len([c for c in row if c]) == 1 else None


def _sections(lines: list[str]) -> dict[str, int]:
    """Section title (normalized) -> index of its heading line."""
    out: dict[str, int] = {}
    for i, line in enumerate(lines):
        m = section_heading(cells(line, "\t")) if line.strip() else None
        if m:
            out.setdefault(header_key(m["title"]), i)
    return out


def _table(lines: list[str], start: int, filename: str) -> list[ReportRow]:
    """The table whose header is the first non-blank line from `start`, to its end."""
    i = start
    while i < len(lines) and not lines[i].strip():
        i += 1
    if i >= len(lines):
        raise ReportError(f"{filename}, line {start}: a section with no table")
    delimiter = delimiter_of(lines[i])
    where = columns(cells(lines[i], delimiter), PARTICIPANTS)
    if not all(f in where for f in REQUIRED):
        raise ReportError(
            f"{filename}, line {i + 1}: expected the columns Name, First Join (or Join Time) "
            "and Last Leave (or Leave Time)"
        )
    rows = []
    for j in range(i + 1, len(lines)):
        row = cells(lines[j], delimiter)
        if blank(row) or section_heading(row):
            break
        need_columns(row, where, REQUIRED, filename, j + 1)
        email = email_or_none(take(row, where.get("email"))) or email_or_none(
            take(row, where.get("upn"))
        )
        rows.append(
            ReportRow(
                j + 1,
                take(row, where["name"]),
                email,
                take(row, where["joined"]),
                take(row, where["left"]),
            )
        )
    return rows


ACTIONS = {"name": ("full name", "name"), "action": ("user action",), "at": ("timestamp",)}


def _actions(lines: list[str], start: int, filename: str) -> list[ReportRow]:
    """The 2020-2021 download: ``Full Name, User Action, Timestamp`` with one row per
    "Joined" / "Joined before" / "Left"; each join is paired with the person's next leave."""
    delimiter = delimiter_of(lines[start])
    where = columns(cells(lines[start], delimiter), ACTIONS)
    rows: list[ReportRow] = []
    open_: dict[str, tuple[int, str]] = {}
    for j in range(start + 1, len(lines)):
        row = cells(lines[j], delimiter)
        if blank(row):
            continue
        need_columns(row, where, ("name", "action", "at"), filename, j + 1)
        name, action, at = (
            take(row, where["name"]),
            header_key(row[where["action"]]),
            row[where["at"]],
        )
        if action.startswith("joined"):
            if name not in open_:
                open_[name] = (j + 1, at)
        elif action.startswith("left"):
            line, joined = open_.pop(name, (j + 1, ""))
            if not joined:
                raise ReportError(f"{filename}, line {j + 1}: {name!r} left without joining")
            rows.append(ReportRow(line, name, None, joined, at))
        else:
            raise ReportError(f"{filename}, line {j + 1}: unknown action {row[where['action']]!r}")
    rows += [ReportRow(line, name, None, joined, "") for name, (line, joined) in open_.items()]
    return sorted(rows, key=lambda r: r.line)


def parse(lines: list[str], filename: str) -> ParsedReport:
    report = ParsedReport("teams", filename)
    for i, line in enumerate(lines[:5]):
        keys = {header_key(c) for c in cells(line, delimiter_of(line))}
        if {"user action", "timestamp"} <= keys:
            report.rows = _actions(lines, i, filename)
            return report
    sections = _sections(lines)
    if "in meeting activities" in sections:
        report.rows = _table(lines, sections["in meeting activities"] + 1, filename)
    elif "participants" in sections:
        report.rows = _table(lines, sections["participants"] + 1, filename)
    else:  # the participants table alone, as older downloads and copies give it
        for i, line in enumerate(lines):
            keys = {header_key(c) for c in cells(line, delimiter_of(line))}
            if keys & set(PARTICIPANTS["joined"]) and keys & set(PARTICIPANTS["left"]):
                report.rows = _table(lines, i, filename)
                break
        else:
            raise ReportError(f"{filename}: a Teams report without a participants section")
    return report
