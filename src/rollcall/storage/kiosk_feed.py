"""What a kiosk screen shows: the last minute at the door, read from the session's records.

Four kinds of line, newest first: a person just marked ("marked at 08:03"), a person marked
earlier and seen again ("already marked at 08:03"), someone enrolled who is not on this
session's list ("not on the list, please see staff"), and a face that matched no one ("not
recognised, please see staff"). Nothing else about anyone: no scores, no statuses, no roster.

"Seen again" at an entrance is a new pass of a marked person: the monitor's "already_marked"
event, decided when their new track is named. Elsewhere it is a sighting (or a last-seen
update of the mark) at least ``REPEAT_AFTER_S`` after the person was first seen: closer than
that it is the same pass in front of the camera, whose mark is already on the screen.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from datetime import datetime, timedelta, tzinfo

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    Person,
    SessionEvent,
    Sighting,
    UnknownFace,
)
from rollcall.wallclock import as_utc

# The entrance monitor's event kinds (analysis.entrance.monitor.REPEAT, attendance.monitor):
# storage does not import analysis.
REPEAT = "already_marked"
VISITOR = "visitor"
WINDOW_S = 60.0  # a line stays on the screen this long
REPEAT_AFTER_S = 30.0
MAX_LINES = 12  # what fits on the screen, readable from two metres


@dataclass(frozen=True)
class KioskLine:
    key: str  # stable while the line is on screen (the page animates new keys only)
    kind: str  # marked | again | visitor | unknown
    name: str  # the person's name; "" for an unknown face
    at: str  # HH:MM in the session's zone: when they were first seen (marked, again) or seen
    crop: str  # "mark/<record id>", "event/<event id>" or "unknown/<face id>" (the crop route)
    when: float  # seconds since the epoch, for the order on screen

    def to_json(self) -> dict[str, object]:
        return asdict(self)


def live_lines(
    session: Session,
    row: AttendanceSession,
    zone: tzinfo,
    now: datetime,
    window_s: float = WINDOW_S,
) -> list[KioskLine]:
    """The lines on a kiosk's screen for session ``row`` at ``now`` (UTC)."""
    start = as_utc(row.started_at)
    cutoff = now - timedelta(seconds=window_s)
    cutoff_t = (cutoff - start).total_seconds()  # the same moment on the session's timeline
    now_t = (now - start).total_seconds()

    def clock(t: float) -> datetime:
        return start + timedelta(seconds=t)

    marks = session.execute(
        select(AttendanceRecord, Person.name)
        .join(Person, Person.id == AttendanceRecord.person_id)
        .where(
            AttendanceRecord.session_id == row.id,
            AttendanceRecord.first_seen.is_not(None),
            AttendanceRecord.status != "absent",
        )
    ).all()
    entrance = row.mode == "entrance"
    # Elsewhere than at an entrance, the latest sighting of each person in the window: seen
    # again after their mark? (An entrance says so with its events; the screen asks every
    # second, so the query is not made for nothing.)
    seen: dict[int, float] = {}
    if not entrance:
        seen = dict(
            session.execute(
                select(Sighting.person_id, func.max(Sighting.t))
                .where(
                    Sighting.session_id == row.id,
                    Sighting.person_id.is_not(None),
                    Sighting.t >= cutoff_t,
                )
                .group_by(Sighting.person_id)
            ).all()
        )
    # (times after now: not a live session)
    events = session.execute(
        select(SessionEvent, Person.name)
        .join(Person, Person.id == SessionEvent.person_id)
        .where(
            SessionEvent.session_id == row.id,
            SessionEvent.kind.in_((REPEAT, VISITOR)),
            SessionEvent.t >= cutoff_t,
            SessionEvent.t <= now_t + 5.0,
        )
    ).all()
    passes: dict[int, float] = {}  # person -> their latest new pass (entrance)
    lines = []
    for event, name in events:
        if event.kind == REPEAT:
            passes[event.person_id] = max(event.t, passes.get(event.person_id, -1.0))
        elif event.crop_path is not None:
            at = clock(event.t)
            lines.append(
                KioskLine(
                    f"v{event.id}", VISITOR, name, _hhmm(at, zone), f"event/{event.id}",
                    at.timestamp(),
                )
            )  # fmt: skip
    for record, name in marks:
        first = clock(record.first_seen)
        if entrance:
            again = passes.get(record.person_id)
        else:
            last_t = max(record.last_seen or -1.0, seen.get(record.person_id, -1.0))
            recent = cutoff_t <= last_t <= now_t + 5.0
            again = last_t if recent and last_t - record.first_seen >= REPEAT_AFTER_S else None
        if again is not None:
            lines.append(_line("again", record.id, name, first, clock(again), zone))
            continue
        marked = as_utc(record.marked_at) if record.marked_at is not None else first
        if marked >= cutoff:
            lines.append(_line("marked", record.id, name, first, marked, zone))
    # An unknown face is on screen for a minute from when it was written: an entrance track is
    # judged when it ends, which for someone lingering at the door is minutes after it began.
    # Faces written before recorded_at existed fall back to when they were seen.
    unknowns = session.scalars(
        select(UnknownFace).where(
            UnknownFace.session_id == row.id,
            or_(
                UnknownFace.recorded_at >= cutoff,
                UnknownFace.recorded_at.is_(None) & (UnknownFace.t >= cutoff_t),
            ),
        )
    ).all()
    for face in unknowns:
        seen = clock(face.t)
        written = as_utc(face.recorded_at) if face.recorded_at is not None else seen
        lines.append(
            KioskLine(
                f"u{face.id}",
                "unknown",
                "",
                _hhmm(seen, zone),
                f"unknown/{face.id}",
                max(seen, written).timestamp(),
            )
        )
    lines.sort(key=lambda line: line.when, reverse=True)
    return lines[:MAX_LINES]


def _line(
    kind: str, record_id: int, name: str, first: datetime, when: datetime, zone: tzinfo
) -> KioskLine:
    return KioskLine(
        f"{kind[0]}{record_id}",
        kind,
        name,
        _hhmm(first, zone),
        f"mark/{record_id}",
        when.timestamp(),
    )


def _hhmm(moment: datetime, zone: tzinfo) -> str:
    return moment.astimezone(zone).strftime("%H:%M")


def shown_crop(
    session: Session, row: AttendanceSession, zone: tzinfo, now: datetime, kind: str, item: int
) -> str | None:
    """The stored crop path of a line on this kiosk's screen (or just gone), else None: a kiosk
    may fetch the crops it shows, never the session's other evidence."""
    lines = live_lines(session, row, zone, now, WINDOW_S * 2)
    if f"{kind}/{item}" not in {line.crop for line in lines}:
        return None
    if kind == "mark":
        record = session.get(AttendanceRecord, item)
        return record.evidence_path if record is not None else None
    if kind == "event":
        event = session.get(SessionEvent, item)
        return event.crop_path if event is not None else None
    face = session.get(UnknownFace, item)
    return face.crop_path if face is not None else None
