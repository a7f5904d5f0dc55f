"""Session reports as CSV and XLSX files, with contacts and the reasons for staff edits."""

from __future__ import annotations

import csv
import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.attendance.report import SessionReport
from rollcall.attendance.status import exported_status
from rollcall.storage.audit import UnknownAssigned, earlier_sessions_end
from rollcall.storage.models import Person
from rollcall.storage.staff import AuditEntry

ASSIGNED = UnknownAssigned.name

COLUMNS = [
    "person",
    "status",
    "first_seen_s",
    "last_seen_s",
    "minutes_present",
    "confidence",
    "edited",
    # Clock times in the session's zone (the course's), ISO 8601 with the offset, so a reader
    # sees the lecture's own clock and a program still gets an unambiguous instant.
    "first_seen_at",
    "last_seen_at",
    # Added later: who the person is to the school, and why staff changed the mark.
    "student_id",
    "email",
    "edit_reason",
    # Added with online meetings: the person's case in the meeting's reconciliation
    # (verified, joined_not_seen, proxy_suspected, …; empty without a participant list).
    "meeting_status",
    "meeting_detail",
    # Staff's decision on that case, with its note (the page showed it, the CSV did not).
    "meeting_review",
]
CLOCK_COLUMNS = ("first_seen_at", "last_seen_at")


@dataclass(frozen=True)
class Contact:
    student_id: str = ""
    email: str = ""


@dataclass(frozen=True)
class ExportDetails:
    """What a report alone does not hold: people's contacts and why marks were edited."""

    contacts: dict[str, Contact] = field(default_factory=dict)
    reasons: dict[str, str] = field(default_factory=dict)  # person -> edits, oldest first


def contacts_of(session: Session, names: list[str]) -> dict[str, Contact]:
    if not names:
        return {}
    rows = session.execute(
        select(Person.name, Person.student_id, Person.email).where(Person.name.in_(names))
    )
    return {name: Contact(sid or "", email or "") for name, sid, email in rows}


def edit_reasons(session: Session, session_names: list[str]) -> dict[tuple[str, str], str]:
    """(session, person) -> "absent → present: reason (by ada)"; several edits joined by "; "."""
    if not session_names:
        return {}
    out: dict[tuple[str, str], str] = {}
    # A deleted session's edits are not those of a later session given its name.
    before = earlier_sessions_end(session, session_names)
    for entry in session.scalars(
        select(AuditEntry)
        .where(
            AuditEntry.action.in_(("mark.edited", ASSIGNED)),
            AuditEntry.session_name.in_(session_names),
        )
        .order_by(AuditEntry.id)
    ):
        if entry.id <= before.get(entry.session_name or "", 0):
            continue
        person = json.loads(entry.details or "{}").get("person", entry.subject)
        if entry.action == ASSIGNED and not entry.after:
            continue  # the face assigned changed nothing in the mark
        # A face staff assigned from the unknown faces changed the mark as an edit does.
        how = "unknown face assigned: " if entry.action == ASSIGNED else ""
        why = f": {entry.reason}" if entry.reason else ""
        text = f"{how}{entry.before} → {entry.after}{why} (by {entry.actor})"
        key = (entry.session_name or "", person)
        out[key] = f"{out[key]}; {text}" if key in out else text
    return out


def export_details(session: Session, report: SessionReport) -> ExportDetails:
    reasons = edit_reasons(session, [report.session])
    return ExportDetails(
        contacts_of(session, [a.person for a in report.attendance]),
        {person: text for (_, person), text in reasons.items()},
    )


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")


def spreadsheet_safe(value: object) -> object:
    """A text cell starting with = + - @ (or a tab / CR) would run as a formula when opened."""
    if isinstance(value, str) and value[:1] in FORMULA_STARTS:
        return "'" + value
    return value


def as_text_cells(book) -> None:  # noqa: ANN001 - an openpyxl Workbook (imported lazily)
    """A workbook's cells escaped by spreadsheet_safe, stored as text cells instead: in a
    spreadsheet file a text cell never runs, and the apostrophe a CSV needs would show in
    every name ("'+Colin Powell")."""
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                value = cell.value
                if isinstance(value, str) and value[:1] == "'" and value[1:2] in FORMULA_STARTS:
                    cell.value = value[1:]
                    cell.data_type = "s"


def _iso(value: datetime | None) -> str:
    return "" if value is None else value.isoformat(timespec="seconds")


def _rows(report: SessionReport, details: ExportDetails) -> list[list[object]]:
    cases = report.meeting.by_person() if report.meeting else {}
    return [
        [
            spreadsheet_safe(a.person),
            exported_status(a.status, report.state),
            "" if a.first_seen is None else round(a.first_seen, 1),
            "" if a.last_seen is None else round(a.last_seen, 1),
            round(a.minutes_present, 2),
            round(a.confidence, 3),
            "yes" if a.edited or a.person in details.reasons else "",
            _iso(report.clock(a.first_seen)),
            _iso(report.clock(a.last_seen)),
            spreadsheet_safe(details.contacts.get(a.person, Contact()).student_id),
            spreadsheet_safe(details.contacts.get(a.person, Contact()).email),
            spreadsheet_safe(details.reasons.get(a.person, "")),
            cases[a.person].status if a.person in cases else "",
            spreadsheet_safe(cases[a.person].detail) if a.person in cases else "",
            spreadsheet_safe(cases[a.person].review_words()) if a.person in cases else "",
        ]
        for a in report.attendance
    ]


def export_csv(report: SessionReport, path: Path, details: ExportDetails | None = None) -> None:
    # With a byte-order mark: Excel reads a CSV without one in the machine's code page, and
    # every accented name comes out garbled ("SchrÃ¶der"); readers of UTF-8 skip it.
    with path.open("w", newline="", encoding="utf-8-sig") as fh:
        writer = csv.writer(fh)
        writer.writerow(COLUMNS)
        writer.writerows(_rows(report, details or ExportDetails()))


def autosize(ws) -> None:  # noqa: ANN001
    """Column widths from their longest value, within reason."""
    for column in ws.columns:
        width = max(len(str(c.value if c.value is not None else "")) for c in column)
        ws.column_dimensions[column[0].column_letter].width = min(48, max(8, width + 2))


def export_xlsx(report: SessionReport, path: Path, details: ExportDetails | None = None) -> None:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Attendance"
    sheet.append(["Session", spreadsheet_safe(report.session)])
    sheet.append(
        [f"Started ({report.timezone})", report.started_local.strftime("%Y-%m-%d %H:%M:%S %z")]
    )
    sheet.append(["Course", spreadsheet_safe(report.course or "")])
    sheet.append([])
    # Spreadsheets have no time zones: the clock columns hold the session zone's wall time.
    first_clock = COLUMNS.index("first_seen_at")
    header = list(COLUMNS)
    header[first_clock : first_clock + 2] = [
        f"first seen ({report.timezone})",
        f"last seen ({report.timezone})",
    ]
    sheet.append(header)
    for cell in sheet[5]:
        cell.font = Font(bold=True)
    details = details or ExportDetails()
    rows = _rows(report, details)
    for row, entry in zip(rows, report.attendance, strict=True):
        first, last = report.clock(entry.first_seen), report.clock(entry.last_seen)
        row[first_clock : first_clock + 2] = [
            None if t is None else t.replace(tzinfo=None, microsecond=0) for t in (first, last)
        ]
        sheet.append(row)
    for line in sheet.iter_rows(min_row=6, min_col=first_clock + 1, max_col=first_clock + 2):
        for cell in line:
            cell.number_format = "yyyy-mm-dd hh:mm:ss"
    sheet.freeze_panes = "B6"  # the header row and the names stay in view
    counts = book.create_sheet("Head counts")
    counts.append(
        ["t_s", "count", "recognized", "unknown", "verified", f"time ({report.timezone})"]
    )
    for h in report.head_counts:
        at = report.clock(h.t)
        counts.append(
            [
                h.t,
                h.count,
                h.recognized,
                h.unknown,
                "yes" if h.verified else "",
                # A date-time cell, as on the marks sheet: a class across midnight has two days.
                at.replace(tzinfo=None, microsecond=0) if at else None,
            ]
        )
    for (cell,) in counts.iter_rows(min_row=2, min_col=6, max_col=6):
        cell.number_format = "yyyy-mm-dd hh:mm:ss"
    counts.freeze_panes = "A2"
    if report.meeting is not None:
        _meeting_sheet(book.create_sheet("Meeting"), report)
    summary = book.create_sheet("Summary", 0)
    summary.append(["Session", spreadsheet_safe(report.session)])
    summary.append(["Course", spreadsheet_safe(report.course or "")])
    summary.append([f"Date ({report.timezone})", report.started_local.strftime("%Y-%m-%d")])
    summary.append(["Started", report.started_local.strftime("%H:%M:%S %Z")])
    summary.append(["State", report.state])
    summary.append(["Expected", len(report.attendance)])
    for status in ("present", "late", "left_early", "absent"):
        counted = sum(a.status == status for a in report.attendance)
        summary.append([exported_status(status, report.state), counted])
    changed = sum(a.edited or a.person in details.reasons for a in report.attendance)
    summary.append(["Edited by staff", changed])
    for cell in summary["A"]:
        cell.font = Font(bold=True)
    for ws in (summary, sheet, counts):
        autosize(ws)
    as_text_cells(book)
    book.save(path)


def _meeting_sheet(ws, report: SessionReport) -> None:  # noqa: ANN001
    """Every meeting account and every face without one, with its case and the reason."""
    from openpyxl.styles import Font

    ws.append(["account", "email", "person", "joined", "status", "detail", "reviewed"])
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for e in report.meeting.entries if report.meeting else []:
        joined = ", ".join(
            f"{report.clock(a):%H:%M:%S}–{report.clock(b):%H:%M:%S}" for a, b in e.joined
        )
        ws.append(
            [spreadsheet_safe(v) for v in (e.name or "", e.email or "", e.person or "", joined)]
            + [e.status, spreadsheet_safe(e.detail), spreadsheet_safe(e.review_words())]
        )
    ws.freeze_panes = "A2"
    autosize(ws)


EXPORTERS = {"csv": export_csv, "xlsx": export_xlsx}
