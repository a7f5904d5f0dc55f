"""One person's attendance across the sessions of their courses: rate, trend and absence streaks.

Statuses are computed exactly as a session's report computes them (attendance_entry), so the
history, the session sheet and the exports never disagree. A session not closed (running,
or interrupted: it resumes) counts for nothing yet: its "absent" only means "not yet seen", as
in the course report and the alerts.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from rollcall.attendance.report import (
    attendance_entry,
    blanks_from,
    row_zone,
    schedule_window,
    session_over,
)
from rollcall.storage.models import AttendanceRecord, AttendanceSession, PresenceInterval
from rollcall.wallclock import in_zone

ATTENDED = {"present", "late", "left_early"}
CLOSED = "closed"


@dataclass(frozen=True)
class HistoryEntry:
    session: str
    course: str | None
    started_local: datetime
    state: str
    status: str
    minutes: float
    evidence: bool
    edited: bool

    @property
    def counts(self) -> bool:
        """Sessions not closed (running, interrupted) are not judged yet."""
        return self.state == CLOSED


@dataclass(frozen=True)
class Streak:
    """Consecutive absences (sessions that count, in order)."""

    first: str  # session names
    last: str
    length: int
    ongoing: bool  # the latest counted session is part of it


@dataclass(frozen=True)
class PersonHistory:
    person: str
    entries: list[HistoryEntry]  # oldest first

    @property
    def counted(self) -> list[HistoryEntry]:
        return [e for e in self.entries if e.counts]

    @property
    def attended(self) -> int:
        return sum(e.status in ATTENDED for e in self.counted)

    @property
    def absences(self) -> int:
        return sum(e.status == "absent" for e in self.counted)

    @property
    def rate(self) -> float | None:
        n = len(self.counted)
        return self.attended / n if n else None

    def trend(self) -> list[tuple[HistoryEntry, float]]:
        """The attendance rate so far after each counted session."""
        out, attended = [], 0
        for i, entry in enumerate(self.counted, 1):
            attended += entry.status in ATTENDED
            out.append((entry, attended / i))
        return out

    def streaks(self, minimum: int = 2) -> list[Streak]:
        """Runs of at least `minimum` absences in a row, oldest first."""
        found, run = [], []
        counted = self.counted
        for entry in counted:
            if entry.status == "absent":
                run.append(entry)
                continue
            if len(run) >= minimum:
                found.append(Streak(run[0].session, run[-1].session, len(run), False))
            run = []
        if len(run) >= minimum:
            found.append(Streak(run[0].session, run[-1].session, len(run), True))
        return found

    @property
    def current_absences(self) -> int:
        """Absences in a row up to the latest counted session."""
        n = 0
        for entry in reversed(self.counted):
            if entry.status != "absent":
                break
            n += 1
        return n


def person_history(
    session: Session,
    person_id: int,
    person_name: str,
    course_ids: Iterable[int] | None,
    default_zone: str | None,
) -> PersonHistory:
    """Every session the person was expected at (only those of `course_ids` unless None),
    oldest first, with the status, minutes and evidence their sheet shows."""
    query = (
        select(AttendanceRecord, AttendanceSession)
        .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
        .options(selectinload(AttendanceSession.course))
        .where(AttendanceRecord.person_id == person_id)
        .order_by(AttendanceSession.started_at)
    )
    if course_ids is not None:
        query = query.where(AttendanceSession.course_id.in_(list(course_ids)))
    rows = session.execute(query).all()
    intervals: dict[int, list[PresenceInterval]] = {}
    if rows:
        for iv in session.scalars(
            select(PresenceInterval)
            .where(
                PresenceInterval.person_id == person_id,
                PresenceInterval.session_id.in_([r.id for _, r in rows]),
            )
            .order_by(PresenceInterval.start_t)
        ):
            intervals.setdefault(iv.session_id, []).append(iv)
    entries = []
    blanks = blanks_from(session, [row.id for _, row in rows])
    from rollcall.attendance.export import edit_reasons

    # Marks staff changed, by an edit or an unknown face assigned (as the sheet says).
    changed = {name for name, who in edit_reasons(session, [r.name for _, r in rows])
               if who == person_name}  # fmt: skip
    for record, row in rows:
        zone = row_zone(row, default_zone)
        window = schedule_window(row, row.course, zone, blanks.get(row.id))
        entry = attendance_entry(
            record, person_name, intervals.get(row.id, []), window, session_over(row, window)
        )
        entries.append(
            HistoryEntry(
                session=row.name,
                course=row.course.name if row.course else None,
                started_local=in_zone(row.started_at, zone),
                state=row.state,
                status=entry.status,
                minutes=entry.minutes_present,
                evidence=bool(entry.evidence),
                edited=entry.edited or row.name in changed,
            )
        )
    return PersonHistory(person_name, entries)
