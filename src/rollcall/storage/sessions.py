"""Repository for courses, sessions and everything a session records."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rollcall.errors import NotFound, RollcallError
from rollcall.source_text import shown_source
from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    Course,
    CourseMember,
    HeadCount,
    Person,
    PresenceInterval,
    SessionEvent,
    Sighting,
    UnknownFace,
    utcnow,
)
from rollcall.storage.names import check_exact_name, name_order, written_forms
from rollcall.storage.people import require_person
from rollcall.wallclock import check_zone

# -- courses -------------------------------------------------------------------------------


def _check_hhmm(value: str | None, label: str) -> str | None:
    if value is None:
        return None
    try:
        hh, mm = (int(x) for x in value.split(":"))
        if not (0 <= hh < 24 and 0 <= mm < 60):
            raise ValueError
    except ValueError:
        raise RollcallError(f"{label} must be a time like 09:00 (got {value!r})") from None
    return f"{hh:02d}:{mm:02d}"


def upsert_course(
    session: Session,
    name: str,
    people: list[str],
    start_time: str | None = None,
    end_time: str | None = None,
    grace_minutes: int | None = None,
    timezone: str | None = None,
) -> Course:
    """Create a course or add people to it; every name must be enrolled. Schedule fields left
    None are kept as they are."""
    zone = check_zone(timezone) if timezone is not None else None
    course = get_course(session, name)
    if course is None:
        course = Course(name=check_exact_name("course", name))
        session.add(course)
    if zone is not None:
        course.timezone = zone
    if start_time is not None:
        course.start_time = _check_hhmm(start_time, "the start time")
    if end_time is not None:
        course.end_time = _check_hhmm(end_time, "the end time")
    if grace_minutes is not None:
        course.grace_minutes = grace_minutes
    elif course.grace_minutes is None:
        course.grace_minutes = 5
    session.flush()
    have = set(
        session.scalars(select(CourseMember.person_id).where(CourseMember.course_id == course.id))
    )
    for person_name in people:
        person = require_person(session, person_name)
        if person.id not in have:
            session.add(CourseMember(course_id=course.id, person_id=person.id))
            have.add(person.id)
    session.flush()
    return course


def schedule_text(course: Course) -> str:
    zone = f", {course.timezone}" if course.timezone else ""
    if not course.start_time:
        return f"no schedule{zone}"
    return f"{course.start_time}–{course.end_time} (grace {course.grace_minutes} min{zone})"


def get_course(session: Session, name: str) -> Course | None:
    return session.scalar(select(Course).where(Course.name.in_(written_forms(name))))


def require_course(session: Session, name: str) -> Course:
    course = get_course(session, name)
    if course is None:
        raise NotFound(f"no course named {name!r} (create it with `rollcall course add`)")
    return course


def course_people(session: Session, course: Course) -> list[Person]:
    people = session.scalars(
        select(Person)
        .join(CourseMember, CourseMember.person_id == Person.id)
        .where(CourseMember.course_id == course.id)
    )
    return sorted(people, key=lambda p: name_order(p.name))


def list_courses(session: Session) -> list[tuple[Course, int]]:
    courses = session.scalars(select(Course).order_by(Course.name)).all()
    return [(c, len(course_people(session, c))) for c in courses]


# -- sessions ------------------------------------------------------------------------------


@dataclass(frozen=True)
class SessionSettings:
    source: str
    seed: int
    min_interval: float
    max_interval: float
    verify_every: float
    leave_after: float
    mode: str = "meeting"
    entrance_fps: float | None = None
    entrance_line: str | None = None


def get_session(session: Session, name: str) -> AttendanceSession | None:
    return session.scalar(
        select(AttendanceSession).where(AttendanceSession.name.in_(written_forms(name)))
    )


def require_session(session: Session, name: str) -> AttendanceSession:
    row = get_session(session, name)
    if row is None:
        raise NotFound(f"no session named {name!r}")
    return row


def create_session(
    session: Session,
    name: str,
    settings: SessionSettings,
    expected: list[Person],
    course: Course | None,
    started_at: datetime | None = None,
    zone: str | None = None,
) -> AttendanceSession:
    """A new session with one 'absent' record per expected person, all in one transaction.
    zone: the IANA zone the session keeps when its course has none of its own (see
    AttendanceSession.timezone); a course's own zone is kept with the rest of its schedule."""
    name = check_exact_name("session", name)
    existing = get_session(session, name)
    if existing is not None and existing.state == "closed":
        raise RollcallError(
            f"a session named {name!r} already exists and is closed; pick a new name"
        )
    if existing is not None:
        raise RollcallError(
            f"a session named {name!r} already exists; continue it with --resume or pick a new name"
        )
    row = AttendanceSession(
        name=name,
        course_id=course.id if course else None,
        # Staff pages and logs show it: a camera URL's password is not kept (source_text).
        source=shown_source(settings.source),
        # SQLite keeps no offset: store UTC so every back end reads the same instant back.
        started_at=started_at.astimezone(UTC) if started_at else utcnow(),
        seed=settings.seed,
        min_interval=settings.min_interval,
        max_interval=settings.max_interval,
        verify_every=settings.verify_every,
        leave_after=settings.leave_after,
        mode=settings.mode,
        entrance_fps=settings.entrance_fps,
        entrance_line=settings.entrance_line,
        state="running",
        processed_until=0.0,
        schedule_kept=True,
        schedule_start=course.start_time if course else None,
        schedule_end=course.end_time if course else None,
        schedule_grace=course.grace_minutes if course else None,
        # Kept like the schedule: changing or deleting the course never moves its clock.
        timezone=(course.timezone or zone) if course else zone,
    )
    session.add(row)
    session.flush()
    for person in expected:
        session.add(AttendanceRecord(session_id=row.id, person_id=person.id, status="absent"))
    session.flush()
    return row


def person_ids(session: Session, names: list[str]) -> dict[str, int]:
    if not names:
        return {}
    rows = session.execute(select(Person.name, Person.id).where(Person.name.in_(names)))
    return dict(rows.all())


def attendance_rows(session: Session, session_id: int) -> list[tuple[AttendanceRecord, str]]:
    rows = session.execute(
        select(AttendanceRecord, Person.name)
        .join(Person, Person.id == AttendanceRecord.person_id)
        .where(AttendanceRecord.session_id == session_id)
    )
    return sorted(rows.all(), key=lambda row: name_order(row[1]))


def open_intervals(session: Session, session_id: int) -> list[tuple[PresenceInterval, str]]:
    rows = session.execute(
        select(PresenceInterval, Person.name)
        .join(Person, Person.id == PresenceInterval.person_id)
        .where(PresenceInterval.session_id == session_id, PresenceInterval.end_t.is_(None))
    )
    return list(rows.all())


def intervals_by_person(session: Session, session_id: int) -> dict[int, list[PresenceInterval]]:
    out: dict[int, list[PresenceInterval]] = {}
    for iv in session.scalars(
        select(PresenceInterval)
        .where(PresenceInterval.session_id == session_id)
        .order_by(PresenceInterval.start_t)
    ):
        out.setdefault(iv.person_id, []).append(iv)
    return out


def head_counts(session: Session, session_id: int) -> list[HeadCount]:
    return list(
        session.scalars(
            select(HeadCount).where(HeadCount.session_id == session_id).order_by(HeadCount.seq)
        )
    )


def last_seq(session: Session, session_id: int) -> int | None:
    return session.scalar(select(func.max(HeadCount.seq)).where(HeadCount.session_id == session_id))


@dataclass(frozen=True)
class LiveSummary:
    """What the dashboard shows of one running session."""

    latest: HeadCount | None  # the latest head count
    samples: int
    marked: list[tuple[str, float | None]]  # (person, last seen) of everyone marked, by name


def live_summaries(session: Session, session_ids: list[int]) -> dict[int, LiveSummary]:
    """Each session's latest head count, number of samples and marked people, in two queries
    however many sessions run and however long they have run: the dashboard asks every few
    seconds for every running session (one query per session, each reading every head count,
    grew with both)."""
    if not session_ids:
        return {}
    per = (
        select(
            HeadCount.session_id,
            func.max(HeadCount.seq).label("seq"),
            func.count().label("samples"),
        )
        .where(HeadCount.session_id.in_(session_ids))
        .group_by(HeadCount.session_id)
        .subquery()
    )
    latest = session.execute(
        select(HeadCount, per.c.samples).join(
            per, (HeadCount.session_id == per.c.session_id) & (HeadCount.seq == per.c.seq)
        )
    )
    counts = {hc.session_id: (hc, int(n)) for hc, n in latest.all()}
    marked: dict[int, list[tuple[str, float | None]]] = {sid: [] for sid in session_ids}
    for sid, name, last_seen in session.execute(
        select(AttendanceRecord.session_id, Person.name, AttendanceRecord.last_seen)
        .join(Person, Person.id == AttendanceRecord.person_id)
        .where(AttendanceRecord.session_id.in_(session_ids))
    ):
        marked[sid].append((name, last_seen))
    for names in marked.values():
        names.sort(key=lambda item: name_order(item[0]))
    return {sid: LiveSummary(*counts.get(sid, (None, 0)), marked[sid]) for sid in session_ids}


def sightings(session: Session, session_id: int) -> list[tuple[Sighting, str | None]]:
    """Every face of every sample with the name it was given (None: unknown), in order."""
    rows = session.execute(
        select(Sighting, Person.name)
        .outerjoin(Person, Person.id == Sighting.person_id)
        .where(Sighting.session_id == session_id)
        .order_by(Sighting.seq, Sighting.id)
    )
    return [(s, name) for s, name in rows.all()]


def samples_named(session: Session, session_id: int) -> dict[str, int]:
    """In how many samples each person's face was named: the evidence behind their minutes."""
    rows = session.execute(
        select(Person.name, func.count(func.distinct(Sighting.seq)))
        .join(Person, Person.id == Sighting.person_id)
        .where(Sighting.session_id == session_id)
        .group_by(Person.name)
    )
    return {name: int(n) for name, n in rows.all()}


def unknown_faces(session: Session, session_id: int) -> list[UnknownFace]:
    return list(
        session.scalars(
            select(UnknownFace).where(UnknownFace.session_id == session_id).order_by(UnknownFace.t)
        )
    )


def session_events(session: Session, session_id: int) -> list[SessionEvent]:
    return list(
        session.scalars(
            select(SessionEvent)
            .where(SessionEvent.session_id == session_id)
            .order_by(SessionEvent.t, SessionEvent.id)
        )
    )


def list_sessions(session: Session) -> list[AttendanceSession]:
    return list(
        session.scalars(select(AttendanceSession).order_by(AttendanceSession.started_at.desc()))
    )
