"""A session's report: the head-count timeline and one attendance entry per expected person."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import UTC, datetime

from sqlalchemy.orm import Session

from rollcall.attendance.status import ScheduleWindow, minutes_present, status_of, window_for
from rollcall.storage.models import AttendanceSession, Course
from rollcall.storage.sessions import attendance_rows, head_counts, intervals_by_person


@dataclass(frozen=True)
class AttendanceEntry:
    person: str
    status: str
    first_seen: float | None
    last_seen: float | None
    minutes_present: float
    confidence: float
    evidence: str | None
    edited: bool


@dataclass(frozen=True)
class HeadCountEntry:
    t: float
    count: int
    recognized: int
    unknown: int
    verified: bool


@dataclass(frozen=True)
class SessionReport:
    session: str
    started_at: datetime
    state: str
    source: str
    course: str | None
    duration: float | None
    head_counts: list[HeadCountEntry]
    attendance: list[AttendanceEntry]

    def to_json(self) -> dict[str, object]:
        """The documented JSON contract (extra keys are additive)."""
        return {
            "session": self.session,
            "started_at": as_utc(self.started_at).isoformat(),
            "state": self.state,
            "course": self.course,
            "head_counts": [asdict(h) for h in self.head_counts],
            "attendance": [
                {
                    "person": a.person,
                    "status": a.status,
                    "first_seen": _round(a.first_seen),
                    "last_seen": _round(a.last_seen),
                    "minutes_present": round(a.minutes_present, 2),
                    "confidence": round(a.confidence, 4),
                }
                for a in self.attendance
            ],
        }


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; everything rollcall stores is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def schedule_window(row: AttendanceSession, course: Course | None) -> ScheduleWindow | None:
    if course is None:
        return None
    return window_for(row.started_at, course.start_time, course.end_time, course.grace_minutes)


def build_report(session: Session, row: AttendanceSession) -> SessionReport:
    course = row.course
    window = schedule_window(row, course)
    intervals = intervals_by_person(session, row.id)
    over = row.state == "closed" and (
        window is None or (row.duration is not None and row.duration >= window.end)
    )
    entries = []
    for record, name in attendance_rows(session, row.id):
        spans = [
            (iv.start_t, iv.end_t if iv.end_t is not None else iv.last_seen)
            for iv in intervals.get(record.person_id, [])
        ]
        if record.edited:
            status = record.status
        else:
            status = status_of(record.first_seen, record.last_seen, window, session_over=over)
        entries.append(
            AttendanceEntry(
                person=name,
                status=status,
                first_seen=record.first_seen,
                last_seen=record.last_seen,
                minutes_present=minutes_present(spans),
                confidence=record.confidence,
                evidence=record.evidence_path,
                edited=record.edited,
            )
        )
    counts = [
        HeadCountEntry(round(h.t, 2), h.count, h.recognized, h.unknown, h.verified)
        for h in head_counts(session, row.id)
    ]
    return SessionReport(
        session=row.name,
        started_at=row.started_at,
        state=row.state,
        source=row.source,
        course=course.name if course else None,
        duration=row.duration,
        head_counts=counts,
        attendance=entries,
    )
