"""A session's report: the head-count timeline and one attendance entry per expected person."""

from __future__ import annotations

import dataclasses
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, tzinfo
from typing import TYPE_CHECKING

from sqlalchemy import func, select
from sqlalchemy.orm import Session, object_session

from rollcall.attendance.status import (
    ScheduleWindow,
    exported_status,
    minutes_present,
    status_of,
    window_for,
)
from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    Course,
    HeadCount,
    PresenceInterval,
)
from rollcall.storage.sessions import attendance_rows, head_counts, intervals_by_person
from rollcall.wallclock import as_utc, clock_at, in_zone, zone_info, zone_name

if TYPE_CHECKING:
    from rollcall.attendance.reconcile import Reconciliation


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
class EntranceSummary:
    """What an entrance session saw besides its marks (each kept for staff in the portal)."""

    fps: float | None
    line: str | None
    strangers: int  # faces no one matched, kept for review
    presentation_attacks: int  # tracks that moved like a picture held up (also for review)
    already_marked: int  # passes of people marked before
    visitors: int  # enrolled people not on the session's roster
    count_mismatches: int  # head counts with more people inside than were recognised
    inside: int | None = None  # by the line, after the last frame analyzed (None: no line)

    def words(self) -> str:
        parts = [
            (self.strangers, "stranger(s) kept for review"),
            (self.presentation_attacks, "judged a picture held up (for review)"),
            (self.already_marked, "pass(es) of people already marked"),
            (self.visitors, "visitor(s) not on the roster"),
            (self.count_mismatches, "head count(s) with unrecognised people inside"),
        ]
        said = [f"{n} {what}" for n, what in parts if n]
        text = "; ".join(said) if said else "no strangers, pictures or repeat passes"
        if self.inside is not None:
            text += f"; {self.inside} inside by the line after the last frame analyzed"
        return text


def entrance_summary(session: Session, row: AttendanceSession) -> EntranceSummary:
    from sqlalchemy import func, select

    from rollcall.attendance.monitor import PICTURE
    from rollcall.storage.models import SessionEvent, UnknownFace

    kinds = dict(
        session.execute(
            select(SessionEvent.kind, func.count())
            .where(SessionEvent.session_id == row.id)
            .group_by(SessionEvent.kind)
        ).all()
    )
    strangers = session.scalar(
        select(func.count())
        .select_from(UnknownFace)
        .where(UnknownFace.session_id == row.id, UnknownFace.reason != PICTURE)
    )
    from rollcall.analysis.entrance.uploads import entrance_progress

    progress = entrance_progress(session, row.id) if row.entrance_line else None
    return EntranceSummary(
        inside=(progress.inside or 0) if progress is not None else None,
        fps=row.entrance_fps,
        line=row.entrance_line,
        strangers=int(strangers or 0),
        presentation_attacks=int(kinds.get("presentation_attack", 0)),
        already_marked=int(kinds.get("already_marked", 0)),
        visitors=int(kinds.get("visitor", 0)),
        count_mismatches=int(kinds.get("count_mismatch", 0)),
    )


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
    # Where clock times are read: the course's zone, ROLLCALL_TIMEZONE's or the machine's.
    zone: tzinfo = UTC
    # The meeting's participant list against the faces (attendance.reconcile); None: no list.
    meeting: Reconciliation | None = None
    mode: str = "meeting"
    entrance: EntranceSummary | None = None  # an entrance session's other findings
    # The date of the class it was (one started after midnight may be the evening's class:
    # status.class_day); None: no schedule, the date it started.
    class_date: date | None = None

    @property
    def day(self) -> date:
        """The date the session counts for on the course's calendar."""
        return self.class_date or self.started_local.date()

    @property
    def timezone(self) -> str:
        return zone_name(self.zone)

    @property
    def started_local(self) -> datetime:
        return in_zone(self.started_at, self.zone)

    def local(self, when: datetime) -> str:
        """An instant (a staff edit's time) on the session's clock, with its date."""
        return in_zone(when, self.zone).strftime("%Y-%m-%d %H:%M:%S")

    def clock(self, seconds: float | None) -> datetime | None:
        """The clock time, in the session's zone, `seconds` after the start."""
        return clock_at(self.started_at, seconds, self.zone)

    def to_json(self) -> dict[str, object]:
        """The documented JSON contract (extra keys are additive)."""
        return {
            "session": self.session,
            "started_at": as_utc(self.started_at).isoformat(),
            "timezone": self.timezone,
            "started_at_local": self.started_local.isoformat(),
            "state": self.state,
            "course": self.course,
            "head_counts": [asdict(h) for h in self.head_counts],
            "attendance": [
                {
                    "person": a.person,
                    # Nobody is absent before the end: "not_yet_seen" while it runs or resumes.
                    "status": exported_status(a.status, self.state),
                    "first_seen": _round(a.first_seen),
                    "last_seen": _round(a.last_seen),
                    "minutes_present": round(a.minutes_present, 2),
                    "confidence": round(a.confidence, 4),
                    # Set by staff (an edit, or an unknown face assigned): not the camera's
                    # reading. The reason is in the audit trail and the exports.
                    "edited": a.edited,
                }
                for a in self.attendance
            ],
            # One entry per meeting account, and one ("name": null) per person seen without
            # an account; empty when no participant list was imported or received.
            "participants": [e.to_json() for e in self.meeting.entries] if self.meeting else [],
            "meeting_counts": [c.to_json() for c in self.meeting.samples] if self.meeting else [],
            "mode": self.mode,
            # An entrance's strangers, pictures held up, repeat passes, visitors and count
            # mismatches (counts; each is in the portal for review); null for a meeting.
            "entrance": asdict(self.entrance) if self.entrance else None,
        }


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


def row_zone(row: AttendanceSession, default_zone: str | None) -> tzinfo:
    """A session's clock: the zone it was made with (its course's then, or the default
    then), else (sessions made before zones were kept with courses) its course's, else
    `default_zone`, else the machine's."""
    if row.timezone:
        return zone_info(row.timezone)
    return session_zone(row.course, default_zone)


def session_zone(course: Course | None, default_zone: str | None) -> tzinfo:
    """The course's zone, else `default_zone` (ROLLCALL_TIMEZONE), else the machine's."""
    return zone_info(course.timezone if course is not None and course.timezone else default_zone)


_ASK = object()  # schedule_window: look blank_from up for this one session


def schedule_window(
    row: AttendanceSession, course: Course | None, zone: tzinfo, blank: object = _ASK
) -> ScheduleWindow | None:
    """The schedule the session is judged against (None: none applies). ``blank``: its
    blank_from when the caller looked it up for many sessions at once (blanks_from)."""
    if row.schedule_kept:  # the schedule the session was made with
        start, end, grace = row.schedule_start, row.schedule_end, row.schedule_grace or 0
    elif course is not None:
        start, end, grace = course.start_time, course.end_time, course.grace_minutes
    else:
        return None
    window = window_for(row.started_at, start, end, grace, zone, sampling_gap=row.max_interval)
    if window is not None and outside_slot(window, row.duration):
        # Held outside its course's slot (a make-up class, a recording whose start was not
        # given): against the slot everyone would be late, or all have left early.
        return None
    if window is None or row.mode in ("entrance", "classroom"):
        return window  # a room with no face in it is seen empty: its people left
    found = blank_from(row) if blank is _ASK else blank
    return dataclasses.replace(window, blank_from=found if isinstance(found, float) else None)


def outside_slot(window: ScheduleWindow, duration: float | None) -> bool:
    """Whether a session lies wholly outside its course's slot: begun after the slot ended,
    or (its length known) ended before the slot began."""
    return window.end <= 0 or (duration is not None and window.start >= duration)


def blanks_from(session: Session, ids: list[int]) -> dict[int, float]:
    """blank_from for many sessions in two queries (a person's history, a course report):
    only those whose last samples showed no face are in it."""
    if not ids:
        return {}
    seen = (
        select(HeadCount.session_id, func.max(HeadCount.seq).label("seq"))
        .where(HeadCount.session_id.in_(ids), HeadCount.count > 0)
        .group_by(HeadCount.session_id)
        .subquery()
    )
    rows = session.execute(
        select(HeadCount.session_id, func.min(HeadCount.t))
        .join(seen, seen.c.session_id == HeadCount.session_id)
        .where(HeadCount.seq > seen.c.seq)
        .group_by(HeadCount.session_id)
    ).all()
    return {int(i): float(t) for i, t in rows}


def blank_from(row: AttendanceSession) -> float | None:
    """The time of the first of the session's last samples that showed no face at all, after
    one that showed some (None: faces to the last sample, or never any)."""
    session = object_session(row)
    return None if session is None else blanks_from(session, [row.id]).get(row.id)


def session_over(row: AttendanceSession, window: ScheduleWindow | None) -> bool:
    """Whether final statuses such as "left early" can be given yet."""
    return row.state == "closed" and (
        window is None or (row.duration is not None and row.duration >= window.end)
    )


def attendance_entry(
    record: AttendanceRecord,
    name: str,
    intervals: list[PresenceInterval],
    window: ScheduleWindow | None,
    over: bool,
) -> AttendanceEntry:
    """One person's entry in a session's report (also used by their history across sessions)."""
    spans = [(iv.start_t, iv.end_t if iv.end_t is not None else iv.last_seen) for iv in intervals]
    if record.edited:
        status = record.status
    else:
        status = status_of(record.first_seen, record.last_seen, window, session_over=over)
    # Staff who set someone absent (the face was a proxy's, a photo's) credit them no time;
    # what the camera saw stays in first/last seen and the evidence.
    credited = 0.0 if record.edited and status == "absent" else minutes_present(spans)
    return AttendanceEntry(
        person=name,
        status=status,
        first_seen=record.first_seen,
        last_seen=record.last_seen,
        minutes_present=credited,
        confidence=record.confidence,
        evidence=record.evidence_path,
        edited=record.edited,
    )


def build_report(
    session: Session,
    row: AttendanceSession,
    default_zone: str | None = None,
    *,
    meeting: bool = True,
    changed: set[str] | None = None,
) -> SessionReport:
    """The session's report; schedules and clock times are read in the course's zone, else
    in `default_zone` (pass Settings.timezone), else in the machine's. With `meeting`, the
    reconciliation of its participant list, if it has one. ``changed``: the people whose
    marks staff changed (attendance.export.edit_reasons), when the caller has them already."""
    from rollcall.attendance.reconcile import reconcile_session

    course = row.course
    zone = row_zone(row, default_zone)
    window = schedule_window(row, course, zone)
    intervals = intervals_by_person(session, row.id)
    over = session_over(row, window)
    from rollcall.attendance.export import edit_reasons

    # "edited" is what the sheet and the exports say: set by staff, by an edit or an unknown
    # face assigned (this said no for the face assigned, while they said yes).
    if changed is None:
        changed = {person for _, person in edit_reasons(session, [row.name])}
    entries = [
        dataclasses.replace(entry, edited=True) if entry.person in changed else entry
        for entry in (
            attendance_entry(record, name, intervals.get(record.person_id, []), window, over)
            for record, name in attendance_rows(session, row.id)
        )
    ]
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
        zone=zone,
        meeting=reconcile_session(session, row) if meeting else None,
        mode=row.mode,
        entrance=entrance_summary(session, row) if row.mode == "entrance" else None,
        class_date=None if window is None else window.day,
    )
