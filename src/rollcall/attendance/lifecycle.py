"""A session's life: running, interrupted (stopped and resumable), closed for good, deleted.

A run that is stopped (Ctrl-C, SIGTERM) leaves its session *interrupted*: nobody is credited
past their last sighting, and `rollcall run --resume` continues it exactly where it stopped. A
session is *closed* by the end of its recording, by `--duration`, by a source that is lost for
good, or by `rollcall sessions close`; only then are final statuses such as "left early" given.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from rollcall.config import Settings
from rollcall.errors import RollcallError
from rollcall.storage.audit import CourseDeleted, SessionClosed, SessionDeleted, record
from rollcall.storage.db import Database
from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    HeadCount,
    OutboxMessage,
    PresenceInterval,
    UnknownFace,
    utcnow,
)
from rollcall.storage.sessions import person_ids, require_course, require_session

RUNNING, INTERRUPTED, CLOSED = "running", "interrupted", "closed"
# Why a run stopped when its session was ended from elsewhere (RunStats.stopped_by).
CLOSED_MEANWHILE = "session closed while it was running"
DELETED_MEANWHILE = "session deleted while it was running"


class SessionEnded(RollcallError):
    """The session was closed or deleted (`rollcall sessions close|delete`) while a run was
    recording it: the run stops without writing anything more."""


def suspend_intervals(session: Session, session_id: int) -> None:
    """End every open presence interval at its last sighting, marked for reopening: a stopped
    run must not go on claiming that anyone is there."""
    session.execute(
        update(PresenceInterval)
        .where(PresenceInterval.session_id == session_id, PresenceInterval.end_t.is_(None))
        .values(end_t=PresenceInterval.last_seen, suspended=True)
    )


def interrupt(session: Session, row: AttendanceSession) -> None:
    """A running session stops, resumable; a closed one stays closed."""
    if row.state != RUNNING:
        return
    suspend_intervals(session, row.id)
    row.state = INTERRUPTED


def resume(session: Session, row: AttendanceSession) -> None:
    """Open again the intervals the interruption ended, so a person who stayed through the
    stop keeps one interval, as in a run never stopped; the session runs again."""
    if row.state == CLOSED:
        raise RollcallError(f"session {row.name!r} is already closed")
    session.execute(
        update(PresenceInterval)
        .where(PresenceInterval.session_id == row.id, PresenceInterval.suspended.is_(True))
        .values(end_t=None, suspended=False)
    )
    row.state = RUNNING


def close(
    session: Session, row: AttendanceSession, end_t: float, default_zone: str | None
) -> dict[str, str]:
    """Close the session for good: intervals end at their last sighting, each person's final
    status is stored. Returns the statuses (edited marks keep theirs)."""
    from rollcall.attendance.report import build_report

    session.execute(
        update(PresenceInterval)
        .where(PresenceInterval.session_id == row.id, PresenceInterval.end_t.is_(None))
        .values(end_t=PresenceInterval.last_seen)
    )
    session.execute(
        update(PresenceInterval)
        .where(PresenceInterval.session_id == row.id, PresenceInterval.suspended.is_(True))
        .values(suspended=False)
    )
    row.state = CLOSED
    row.ended_at = utcnow()
    row.duration = max(end_t, row.processed_until or 0.0)
    session.flush()
    report = build_report(session, row, default_zone)
    # Every status is written where staff did not set the mark by hand (the update's own
    # filter): the report's "edited" also means an unknown face assigned, whose person's
    # status (late, left early) is still the one worked out from the times.
    statuses = {a.person: a.status for a in report.attendance}
    ids = person_ids(session, sorted(statuses))
    for name, status in statuses.items():
        session.execute(
            update(AttendanceRecord)
            .where(
                AttendanceRecord.session_id == row.id,
                AttendanceRecord.person_id == ids[name],
                AttendanceRecord.edited.is_(False),
            )
            .values(status=status)
        )
    from rollcall.alerts.compose import queue_after_close

    # In this transaction: the alerts exist exactly when the session is closed.
    queue_after_close(session, row, default_zone)
    return {a.person: a.status for a in report.attendance}


def close_session(db: Database, name: str, actor: str) -> dict[str, str]:
    """`rollcall sessions close`: end an interrupted (or abandoned) session for good.

    A run still recording it stops at its next sample (SessionEnded).
    """
    with db.session() as session:
        row = require_session(session, name)
        if row.state == CLOSED:
            raise RollcallError(f"session {name!r} is already closed")
        before = row.state
        statuses = close(session, row, row.processed_until or 0.0, db.settings.timezone)
        record(session, actor, SessionClosed(name, before))
        return statuses


@dataclass(frozen=True)
class SessionDeletion:
    head_counts: int
    marks: int  # people who had been seen
    unknown_faces: int
    files: int
    expected: int = 0  # attendance records: everyone expected, seen or not


def delete_session(db: Database, settings: Settings, name: str, actor: str) -> SessionDeletion:
    """Delete a session with everything it recorded: head counts, marks, presence intervals,
    unknown faces, events (the database cascades) and its evidence crops. The audit trail
    keeps an entry saying so; its earlier entries about the session remain."""
    with db.session() as session:
        row = require_session(session, name)
        session_id = row.id

        def count(model: type, *where: object) -> int:
            query = select(func.count()).select_from(model)
            return session.scalar(query.where(model.session_id == session_id, *where)) or 0

        gone = {
            "head_counts": count(HeadCount),
            "marks": count(AttendanceRecord, AttendanceRecord.first_seen.is_not(None)),
            "unknown_faces": count(UnknownFace),
        }
        expected = count(AttendanceRecord)
        stored = list(
            session.scalars(
                select(AttendanceRecord.evidence_path).where(
                    AttendanceRecord.session_id == session_id,
                    AttendanceRecord.evidence_path.is_not(None),
                )
            )
        )
        stored += list(
            session.scalars(
                select(UnknownFace.crop_path).where(UnknownFace.session_id == session_id)
            )
        )
        folder = settings.evidence_dir / f"session-{session_id}"
        files = _evidence_files(settings, folder, stored)
        course = row.course
        session.delete(row)
        session.flush()
        if course is not None:
            from rollcall.alerts.compose import withdraw_after_delete

            withdraw_after_delete(session, course, name, settings.timezone)
        record(session, actor, SessionDeleted(name, gone["head_counts"], gone["marks"], len(files)))
    # Files go after the commit: a failed transaction must not have destroyed evidence.
    for path in files:
        path.unlink(missing_ok=True)
    if folder.is_dir():
        shutil.rmtree(folder, ignore_errors=True)
    return SessionDeletion(**gone, files=len(files), expected=expected)


def _evidence_files(settings: Settings, folder: Path, stored: list[str]) -> list[Path]:
    """The session's crop files: its folder's, and any stored path (inside ROLLCALL_HOME)."""
    home = settings.home.resolve()
    found = {p.resolve() for p in folder.rglob("*") if p.is_file()} if folder.is_dir() else set()
    for relative in stored:
        if relative:
            path = (home / relative).resolve()
            if path.is_relative_to(home) and path.is_file():
                found.add(path)
    return sorted(found)


def delete_course(
    db: Database, settings: Settings, name: str, actor: str, with_sessions: bool
) -> tuple[int, int]:
    """Delete a course with its roster, instructors, term and alert settings (the database
    cascades). Its sessions go too with `with_sessions` (each as `delete_session` does, in the
    audit trail); otherwise they are kept without a course. Its alert emails are kept for
    admins only. Returns (deleted, kept)."""
    with db.session() as session:
        course = require_course(session, name)
        names = list(
            session.scalars(
                select(AttendanceSession.name).where(AttendanceSession.course_id == course.id)
            )
        )
    if with_sessions:
        for session_name in names:
            delete_session(db, settings, session_name, actor)
    with db.session() as session:
        course = require_course(session, name)
        # The outbox knows a course by name: a new course of that name (next term's CS101)
        # and its instructors must not read this one's alerts. Admins still see them.
        session.execute(
            update(OutboxMessage)
            .where(OutboxMessage.course_name == course.name)
            .values(course_name=None)
        )
        session.delete(course)
        deleted = len(names) if with_sessions else 0
        record(session, actor, CourseDeleted(name, deleted, len(names) - deleted))
    return deleted, len(names) - deleted
