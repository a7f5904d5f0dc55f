"""A course's attendance across its sessions: each person's statuses and attendance rate."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.attendance.export import spreadsheet_safe
from rollcall.attendance.report import SessionReport, build_report
from rollcall.storage.models import AttendanceSession, Course

ATTENDED = {"present", "late", "left_early"}


@dataclass(frozen=True)
class PersonRate:
    person: str
    expected: int  # sessions they were expected at
    attended: int
    late: int
    left_early: int
    statuses: dict[str, str]  # session name -> status

    @property
    def rate(self) -> float:
        return self.attended / self.expected if self.expected else 0.0


@dataclass(frozen=True)
class CourseReport:
    course: str
    sessions: list[SessionReport]
    people: list[PersonRate]


def build_course_report(
    session: Session, course: Course, default_zone: str | None = None
) -> CourseReport:
    rows = session.scalars(
        select(AttendanceSession)
        .where(AttendanceSession.course_id == course.id)
        .order_by(AttendanceSession.started_at)
    )
    reports = [build_report(session, row, default_zone) for row in rows]
    per_person: dict[str, dict[str, str]] = {}
    for report in reports:
        for entry in report.attendance:
            per_person.setdefault(entry.person, {})[report.session] = entry.status
    people = [
        PersonRate(
            person=name,
            expected=len(statuses),
            attended=sum(s in ATTENDED for s in statuses.values()),
            late=sum(s == "late" for s in statuses.values()),
            left_early=sum(s == "left_early" for s in statuses.values()),
            statuses=statuses,
        )
        for name, statuses in sorted(per_person.items())
    ]
    return CourseReport(course.name, reports, people)


def _table(report: CourseReport) -> list[list[object]]:
    header = ["person", "sessions", "attended", "late", "left_early", "rate"]
    header += [s.session for s in report.sessions]
    rows: list[list[object]] = [header]
    for p in report.people:
        rows.append(
            [p.person, p.expected, p.attended, p.late, p.left_early, round(p.rate, 3)]
            + [p.statuses.get(s.session, "") for s in report.sessions]
        )
    return [[spreadsheet_safe(v) for v in row] for row in rows]


def course_csv(report: CourseReport) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(_table(report))
    return buffer.getvalue().encode("utf-8")


def course_xlsx(report: CourseReport) -> bytes:
    from openpyxl import Workbook
    from openpyxl.styles import Font

    book = Workbook()
    sheet = book.active
    sheet.title = "Attendance"
    for row in _table(report):
        sheet.append(row)
    for cell in sheet[1]:
        cell.font = Font(bold=True)
    sessions = book.create_sheet("Sessions")
    sessions.append(["session", "started", "time zone", "state"])
    for s in report.sessions:
        started = s.started_local.strftime("%Y-%m-%d %H:%M")
        sessions.append([spreadsheet_safe(s.session), started, s.timezone, s.state])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


COURSE_EXPORTERS = {"csv": course_csv, "xlsx": course_xlsx}
