"""A participant report whose headers are in a language rollcall has no words for.

Zoom, Teams and Meet write their reports' headers in the exporting account's language
(Japanese, Portuguese, Korean, Dutch...), and rollcall knows the headers of a few only. The
columns stay where the English report has them, so such a report is read by where its cells
are and what they hold, against each platform's English layout:

- Zoom: name, email (or blank), join, leave, duration in whole minutes, guest, ...
- Teams (participants, or per-join activities): name, join, leave, duration, email, ...
- Meet: first name, last name, email (or blank), duration, time joined, time exited.

A table fits a layout when its every row has a time where the join is (and a time or nothing
where the leave is), an address or nothing where the email is, and a whole number where Zoom's
duration is. A table that fits no layout, or two, is refused as unknown: a wrong guess would
credit the wrong times to people (a meeting block, rollcall's own export, a timetable).

Zoom's "in the waiting room" column is the eighth of eight; its rows are dropped when that
column holds only yes and no words rollcall knows (below), else the column is ignored.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from rollcall.accents import unaccented
from rollcall.attendance.participants.clock import has_date, is_time
from rollcall.attendance.participants.rows import ParsedReport, ReportRow, email_or_none, take
from rollcall.attendance.participants.teams import section_heading
from rollcall.attendance.participants.text import blank, cells, delimiter_of
from rollcall.attendance.participants.zoom import NO_WORDS, YES_WORDS, split_name

_WHOLE = re.compile(r"^\d+$")


@dataclass(frozen=True)
class Layout:
    platform: str
    names: tuple[int, ...]  # the name's columns (Meet: first and last)
    email: int
    join: int
    leave: int
    dated: bool  # Zoom and Teams write dates; Meet times of day only
    check: Callable[[list[str]], bool] = lambda row: True  # anything else the layout has


LAYOUTS = (
    Layout("zoom", (0,), 1, 2, 3, True, lambda row: bool(_WHOLE.match(take(row, 4)))),
    Layout("teams", (0,), 4, 1, 2, True, lambda row: not is_time(take(row, 3))),
    Layout("meet", (0, 1), 2, 4, 5, False),
)


def _fits(layout: Layout, row: list[str]) -> bool:
    join, leave, email = take(row, layout.join), take(row, layout.leave), take(row, layout.email)
    return (
        len(row) > max(layout.join, layout.leave)
        and is_time(join)
        and has_date(join) == layout.dated
        and (not leave or is_time(leave) and has_date(leave) == layout.dated)
        and (not email or email_or_none(email) is not None)
        and any(take(row, k) for k in layout.names)
        and layout.check(row)
    )


@dataclass(frozen=True)
class _Table:
    header: int  # index of the header line
    delimiter: str
    rows: list[tuple[int, list[str]]]  # (index of the line, its cells)


def _tables(lines: list[str]) -> list[_Table]:
    """Runs of non-blank lines under a header line that holds no time."""
    out: list[_Table] = []
    i = 0
    while i < len(lines):
        delimiter = delimiter_of(lines[i])
        head = cells(lines[i], delimiter)
        if len(head) < 3 or any(is_time(c) for c in head):
            i += 1
            continue
        body: list[tuple[int, list[str]]] = []
        j = i + 1
        while j < len(lines):
            row = cells(lines[j], delimiter)
            if blank(row) or section_heading(row):  # Teams' "2. Teilnehmer"
                break
            body.append((j, row))
            j += 1
        if body:
            out.append(_Table(i, delimiter, body))
        i = j if body else i + 1
    return out


def parse(lines: list[str], filename: str) -> ParsedReport | None:
    """The report read by its platform's layout, or None when no table fits exactly one."""
    fitting = [
        (table, layout)
        for table in _tables(lines)
        for layout in LAYOUTS
        if all(_fits(layout, row) for _, row in table.rows)
    ]
    if not fitting:
        return None
    # Teams' download has two tables of its layout: the per-join activities, when kept, come
    # after the participants and have every join.
    if {layout.platform for _, layout in fitting} == {"teams"}:
        fitting = fitting[-1:]
    if len(fitting) != 1:
        return None
    table, layout = fitting[0]
    header = cells(lines[table.header], table.delimiter)
    renamed = layout.platform == "zoom" and any(p in take(header, 0) for p in ("(", "（"))
    waiting = _waiting_column(layout, header, [row for _, row in table.rows])
    report = ParsedReport(layout.platform, filename)
    for i, row in table.rows:
        if waiting is not None and _word(take(row, waiting)) in _YES:
            continue
        name = " ".join(p for p in (take(row, k) for k in layout.names) if p)
        shown, original = split_name(name, renamed)
        report.rows.append(
            ReportRow(
                i + 1,
                shown,
                email_or_none(take(row, layout.email)),
                take(row, layout.join),
                take(row, layout.leave),
                original,
            )
        )
    return report


def _waiting_column(layout: Layout, header: list[str], rows: list[list[str]]) -> int | None:
    if layout.platform != "zoom" or len(header) != 8:
        return None
    said = {_word(take(row, 7)) for row in rows}
    return 7 if said <= _YES | _NO else None


def _word(text: str) -> str:
    return unaccented(text).casefold().strip()


# Compared as read (unaccented() also takes Hangul apart into its letters).
_YES = {_word(w) for w in YES_WORDS}
_NO = {_word(w) for w in NO_WORDS}
