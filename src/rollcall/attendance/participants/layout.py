"""A participant report whose headers are in a language rollcall has no words for.

Zoom, Teams and Meet write their reports' headers in the exporting account's language
(Japanese, Portuguese, Korean, Dutch...), and rollcall knows the headers of a few only. Every
such report is still the same table: one row per stay, a name (or a first and a last name)
first, maybe an email, then a join time and a leave time. That shape is read from the cells
themselves:

- the join and the leave are the two columns whose every cell is a time (when more than two
  columns are, the two with dates);
- the email, the first column whose filled cells are all email addresses;
- the name, the one or two columns before the join that hold text, neither emails nor figures
  (a duration like "45 min" has figures; names almost never do).

Of the tables of that shape, the one with the most rows is the participants (Zoom's meeting
block above its table has one row; Teams' per-join activities have at least as many rows as
its participants), the later one on a tie. Anything less clear is refused as unknown: a
wrong guess would credit the wrong times to people.

What cannot be told from cells alone is not guessed: Zoom's "in the waiting room" column, whose
yes and no are words of the unknown language, is ignored, so waiting-room rows count as time in
the meeting.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rollcall.attendance.participants.clock import has_date, is_time
from rollcall.attendance.participants.rows import ParsedReport, ReportRow, email_or_none, take
from rollcall.attendance.participants.text import blank, cells, delimiter_of
from rollcall.attendance.participants.zoom import split_name

# A numbered section heading of Teams' download in any language: "2. Teilnehmer".
_SECTION = re.compile(r"^\s*\d+\s*\.\s*\S")
_DIGIT = re.compile(r"\d")


@dataclass(frozen=True)
class _Table:
    header: int  # index of the header line
    delimiter: str
    rows: list[tuple[int, list[str]]]  # (index of the line, its cells)


def _times_in(row: list[str]) -> int:
    return sum(1 for c in row if is_time(c))


def _tables(lines: list[str]) -> list[_Table]:
    """Runs of lines with two or more times each, under a header line with none."""
    out: list[_Table] = []
    i = 0
    while i < len(lines):
        delimiter = delimiter_of(lines[i])
        row = cells(lines[i], delimiter)
        if len(row) < 3 or _times_in(row) or not all(row[:3]):
            i += 1
            continue
        body: list[tuple[int, list[str]]] = []
        j = i + 1
        while j < len(lines):
            cols = cells(lines[j], delimiter)
            if blank(cols) or _SECTION.match(cols[0]) and len([c for c in cols if c]) == 1:
                break
            if _times_in(cols) < 2 and not body:
                break
            body.append((j, cols))
            j += 1
        if body:
            out.append(_Table(i, delimiter, body))
            i = j
        else:
            i += 1
    return out


def _column(rows: list[list[str]], k: int) -> list[str]:
    return [take(r, k) for r in rows]


def _join_leave(rows: list[list[str]], width: int) -> tuple[int, int] | None:
    timed = []
    for k in range(width):
        column = _column(rows, k)
        filled = [c for c in column if c]
        # The leave may be blank (still in the meeting); the join never is.
        if filled and all(is_time(c) for c in filled):
            timed.append((k, len(filled) == len(column), any(has_date(c) for c in filled)))
    if len(timed) > 2:
        timed = [t for t in timed if t[2]]
    if len(timed) != 2 or not timed[0][1]:
        return None
    return timed[0][0], timed[1][0]


def _email_column(rows: list[list[str]], before: int, width: int) -> int | None:
    for k in range(width):
        filled = [c for c in _column(rows, k) if c]
        if k != before and filled and all(email_or_none(c) for c in filled):
            return k
    return None


def _name_columns(rows: list[list[str]], join: int, email: int | None) -> list[int] | None:
    names = []
    for k in range(join):
        if k == email:
            continue
        filled = [c for c in _column(rows, k) if c]
        if not filled or all(_DIGIT.search(c) for c in filled):
            continue  # empty, or figures: a duration, an id
        if any(email_or_none(c) for c in filled):
            continue
        names.append(k)
    return names if 1 <= len(names) <= 2 else None


def parse(lines: list[str], filename: str) -> ParsedReport | None:
    """The report read by its shape, or None when no table has a clear one."""
    tables = _tables(lines)
    best: tuple[int, int, _Table] | None = None
    for n, table in enumerate(tables):
        if best is None or (len(table.rows), n) > best[:2]:
            best = (len(table.rows), n, table)
    if best is None:
        return None
    table = best[2]
    rows = [r for _, r in table.rows]
    width = max(len(r) for r in rows)
    found = _join_leave(rows, width)
    if found is None:
        return None
    join, leave = found
    email = _email_column(rows, join, width)
    names = _name_columns(rows, join, email)
    if names is None:
        return None
    header = cells(lines[table.header], table.delimiter)
    renamed = len(names) == 1 and any(p in take(header, names[0]) for p in ("(", "（"))
    sections = any(_SECTION.match(cells(line, "\t")[0] if line.strip() else "") for line in lines)
    dated = any(has_date(c) for c in _column(rows, join) if c)
    platform = "teams" if sections else "meet" if len(names) == 2 or not dated else "zoom"
    report = ParsedReport(platform, filename)
    for i, row in table.rows:
        name = " ".join(p for p in (take(row, k) for k in names) if p)
        shown, original = split_name(name, renamed)
        address = email_or_none(take(row, email))
        if not shown and address is None:
            return None
        report.rows.append(
            ReportRow(i + 1, shown, address, take(row, join), take(row, leave), original)
        )
    return report
