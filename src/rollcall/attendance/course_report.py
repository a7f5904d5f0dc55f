"""A course's attendance across its sessions: each person's statuses, minutes and rate, and the
term calendar the sessions are matched to."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.attendance.export import (
    Contact,
    as_text_cells,
    autosize,
    contacts_of,
    edit_reasons,
    spreadsheet_safe,
)
from rollcall.attendance.report import SessionReport, build_report, session_zone
from rollcall.attendance.status import exported_status
from rollcall.attendance.term import CalendarDay, Term, match_sessions, parse_meeting_days
from rollcall.storage.models import AttendanceSession, Course
from rollcall.storage.names import name_order
from rollcall.wallclock import in_zone

ATTENDED = {"present", "late", "left_early"}


@dataclass(frozen=True)
class PersonRate:
    person: str
    expected: int  # sessions they were expected at (running ones are not judged yet)
    attended: int
    late: int
    left_early: int
    statuses: dict[str, str]  # session name -> status
    minutes: dict[str, float] = field(default_factory=dict)  # session name -> minutes present

    @property
    def rate(self) -> float:
        return self.attended / self.expected if self.expected else 0.0

    @property
    def absent(self) -> int:
        return self.expected - self.attended


@dataclass(frozen=True)
class CourseReport:
    course: str
    sessions: list[SessionReport]
    people: list[PersonRate]
    term: Term = field(default_factory=lambda: Term(None, None))
    first: date | None = None  # the date range shown (None: unbounded)
    last: date | None = None
    contacts: dict[str, Contact] = field(default_factory=dict)
    reasons: dict[tuple[str, str], str] = field(default_factory=dict)  # (session, person)
    timezone: str = ""  # the course's clock (its sessions' dates and times are on it)

    def day_of(self, report: SessionReport) -> date:
        return report.day

    def calendar(self, today: date) -> list[CalendarDay]:
        """The term's dates in the range, each with the sessions held on it."""
        by_day: dict[date, list[str]] = {}
        for s in self.sessions:
            by_day.setdefault(self.day_of(s), []).append(s.session)
        return match_sessions(self.term, by_day, today, self.first, self.last)


ONE_DAY = timedelta(days=1)


def course_term(course: Course) -> Term:
    return Term(
        course.term_start,
        course.term_end,
        parse_meeting_days(course.meeting_days),
        {h.day: h.label for h in course.holidays},
    )


def build_course_report(
    session: Session,
    course: Course,
    default_zone: str | None = None,
    first: date | None = None,
    last: date | None = None,
    details: bool = False,
) -> CourseReport:
    """The course's sessions that started between `first` and `last` (dates on the course's
    clock, inclusive); `details` adds contacts and edit reasons (for exports)."""
    zone = session_zone(course, default_zone)
    rows = [
        row
        for row in session.scalars(
            select(AttendanceSession)
            .where(AttendanceSession.course_id == course.id)
            .order_by(AttendanceSession.started_at)
        )
        # A day's slack: a session after midnight can be the evening's class (report.day).
        if (first is None or in_zone(row.started_at, zone).date() >= first - ONE_DAY)
        and (last is None or in_zone(row.started_at, zone).date() <= last + ONE_DAY)
    ]
    # The marks staff changed, for every session at once (not two queries a session); the
    # same read gives the export's reasons.
    all_reasons = edit_reasons(session, [row.name for row in rows])
    changed: dict[str, set[str]] = {}
    for session_name, person in all_reasons:
        changed.setdefault(session_name, set()).add(person)
    reports = [
        r
        for r in (
            build_report(
                session, row, default_zone, meeting=False, changed=changed.get(row.name, set())
            )  # fmt: skip
            for row in rows
        )
        if (first is None or r.day >= first) and (last is None or r.day <= last)
    ]
    per_person: dict[str, dict[str, str]] = {}
    minutes: dict[str, dict[str, float]] = {}
    judged: dict[str, list[str]] = {}
    for report in reports:
        for entry in report.attendance:
            per_person.setdefault(entry.person, {})[report.session] = entry.status
            minutes.setdefault(entry.person, {})[report.session] = entry.minutes_present
            if report.state == "closed":  # (an interrupted session resumes: not judged yet)
                judged.setdefault(entry.person, []).append(entry.status)
    people = [
        PersonRate(
            person=name,
            expected=len(judged.get(name, [])),
            attended=sum(s in ATTENDED for s in judged.get(name, [])),
            late=sum(s == "late" for s in judged.get(name, [])),
            left_early=sum(s == "left_early" for s in judged.get(name, [])),
            statuses=statuses,
            minutes=minutes[name],
        )
        for name, statuses in sorted(per_person.items(), key=lambda kv: name_order(kv[0]))
    ]
    contacts = contacts_of(session, list(per_person)) if details else {}
    shown = {r.session for r in reports}
    reasons = {k: v for k, v in all_reasons.items() if k[0] in shown} if details else {}
    return CourseReport(
        course.name, reports, people, course_term(course), first, last, contacts, reasons,
        timezone=str(zone),
    )  # fmt: skip


def _heading(s: SessionReport) -> str:
    return f"{s.started_local:%Y-%m-%d %H:%M} {s.session}"


def _table(report: CourseReport) -> list[list[object]]:
    """One row per person: contacts, totals, then each session's status and minutes."""
    header = ["person", "student_id", "email", "sessions", "attended", "late", "left_early"]
    header += ["absent", "rate"]
    for s in report.sessions:
        header += [f"{_heading(s)} status", f"{_heading(s)} minutes"]
    rows: list[list[object]] = [header]
    for p in report.people:
        contact = report.contacts.get(p.person, Contact())
        row: list[object] = [p.person, contact.student_id, contact.email, p.expected, p.attended]
        row += [p.late, p.left_early, p.absent, round(p.rate, 3)]
        for s in report.sessions:
            # A session not closed has not judged anyone absent yet (as on its sheet).
            row.append(exported_status(p.statuses.get(s.session, ""), s.state))
            minutes = p.minutes.get(s.session)
            # Two decimals, as the session exports give them (the same minutes in both files).
            row.append("" if minutes is None else round(minutes, 2))
        rows.append(row)
    return [[spreadsheet_safe(v) for v in row] for row in rows]


def course_csv(report: CourseReport) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(_table(report))
    return buffer.getvalue().encode("utf-8-sig")  # a byte-order mark, as export_csv's


def course_xlsx(report: CourseReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    summary = book.active
    summary.title = "Summary"
    zone = report.timezone or (report.sessions[0].timezone if report.sessions else "")
    rates = [p.rate for p in report.people if p.expected]
    term = report.term
    facts: list[tuple[str, object]] = [
        ("Course", spreadsheet_safe(report.course)),
        ("Time zone", zone),
        ("Term", f"{term.start or ''} to {term.end or ''}" if term.start else ""),
        ("Dates shown", f"{report.first or 'start'} to {report.last or 'end'}"),
        ("Sessions", len(report.sessions)),
        ("People", len(report.people)),
        ("Mean attendance rate", round(sum(rates) / len(rates), 3) if rates else ""),
        ("People under 80%", sum(r < 0.8 for r in rates)),
    ]
    for label, value in facts:
        summary.append([label, value])
    for cell in summary["A"]:
        cell.font = Font(bold=True)

    sheet = book.create_sheet("Attendance")
    for row in _table(report):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sheet.freeze_panes = "B2"  # the header row and the names stay in view

    sessions = book.create_sheet("Sessions")
    sessions.append(["session", f"date ({zone})", "started", "time zone", "state"])
    for s in report.sessions:
        sessions.append(
            [
                spreadsheet_safe(s.session),
                s.started_local.strftime("%Y-%m-%d"),
                s.started_local.strftime("%H:%M"),
                s.timezone,
                s.state,
            ]
        )
    edits = book.create_sheet("Edits")
    edits.append(["session", "person", "change and reason"])
    for (session_name, person), reason in sorted(
        report.reasons.items(), key=lambda kv: (kv[0][0], name_order(kv[0][1]))
    ):
        edits.append([spreadsheet_safe(session_name), spreadsheet_safe(person), reason])
    for ws in (sessions, edits):
        for cell in ws[1]:
            cell.font = Font(bold=True)
        ws.freeze_panes = "A2"
    for ws in (summary, sheet, sessions, edits):
        autosize(ws)
    out = io.BytesIO()
    as_text_cells(book)
    book.save(out)
    return out.getvalue()


COURSE_EXPORTERS = {"csv": course_csv, "xlsx": course_xlsx}
