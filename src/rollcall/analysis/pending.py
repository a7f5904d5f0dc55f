"""Frames uploaded by capture agents, waiting to be analyzed, and the step that drains them.

A frame is stored in the database (not on one host's disk), so a worker on any host can take
it; it is deleted in the very transaction that records its sample, so it is kept no longer than
that, and a worker killed halfway leaves it waiting for the next one. A session's frames are
analyzed in order by one process at a time: ``drain`` holds the session's row (FOR UPDATE
SKIP LOCKED on PostgreSQL and MariaDB; SQLite serialises its writers anyway) for each frame it
analyzes, and says "busy" when another process holds it, so the caller can try again shortly.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from functools import partial

import cv2
import numpy as np
from sqlalchemy import delete, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from rollcall.analysis.entrance.uploads import Claim
from rollcall.analysis.sample import Analyzed, Analyzer
from rollcall.attendance import lifecycle
from rollcall.attendance.lifecycle import CLOSED, SessionEnded
from rollcall.attendance.recorder import retry_while_unreachable
from rollcall.storage.db import Database
from rollcall.storage.models import AttendanceSession, Frame, HeadCount, SessionState, utcnow

log = logging.getLogger(__name__)


class Drained(Enum):
    DONE = "done"  # nothing left to analyze for now
    BUSY = "busy"  # another process is analyzing this session: try again shortly
    GONE = "gone"  # closed or deleted
    HELD = "held"  # an entrance another live process watches: it takes the frames


class Stored(Enum):
    QUEUED = "queued"
    DUPLICATE = "duplicate"  # this sample was uploaded (or recorded) already
    LATE = "late"  # older than what the session has analyzed: dropped


@dataclass(frozen=True)
class Upload:
    seq: int
    t: float
    captured_at: datetime
    image: bytes  # JPEG or PNG as the agent sent it (validated by the caller)


def store_frame(session: Session, row: AttendanceSession, upload: Upload) -> Stored:
    """Keep an uploaded frame until it is analyzed; a second upload of a sample is a no-op."""
    state = session.get(SessionState, row.id)
    if row.mode == "entrance":
        # An entrance's frames are numbered on their own (not sampling times): the state
        # holds the last one analyzed.
        if state is not None and upload.seq <= state.seq:
            return Stored.DUPLICATE
        done = None
    else:
        done = session.scalar(select(func.max(HeadCount.seq)).where(HeadCount.session_id == row.id))
    last = max(x for x in (done, state.seq if state else None, -1) if x is not None)
    if upload.seq <= last:
        recorded = session.scalar(
            select(HeadCount.id).where(HeadCount.session_id == row.id, HeadCount.seq == upload.seq)
        )
        return Stored.DUPLICATE if recorded is not None else Stored.LATE
    exists = session.scalar(
        select(Frame.id).where(Frame.session_id == row.id, Frame.seq == upload.seq)
    )
    if exists is not None:
        return Stored.DUPLICATE
    try:
        with session.begin_nested():
            session.add(
                Frame(
                    session_id=row.id,
                    seq=upload.seq,
                    t=upload.t,
                    captured_at=upload.captured_at,
                    received_at=utcnow(),
                    image=upload.image,
                )
            )
    except IntegrityError:
        return Stored.DUPLICATE  # the same frame, uploaded twice at once
    return Stored.QUEUED


def waiting_frames(session: Session, session_id: int | None = None) -> int:
    query = select(func.count(Frame.id))
    if session_id is not None:
        query = query.where(Frame.session_id == session_id)
    return int(session.scalar(query) or 0)


def sessions_waiting(session: Session, older_than: datetime | None = None) -> list[int]:
    """Sessions with frames waiting (received before ``older_than``), or asked to close."""
    query = select(Frame.session_id).distinct()
    if older_than is not None:
        query = query.where(Frame.received_at < older_than)
    ids = set(session.scalars(query))
    closing = session.scalars(
        select(AttendanceSession.id).where(
            AttendanceSession.close_at.is_not(None), AttendanceSession.state != CLOSED
        )
    )
    return sorted(ids | set(closing))


def decode(image: bytes) -> np.ndarray | None:
    return cv2.imdecode(np.frombuffer(image, np.uint8), cv2.IMREAD_COLOR)


def drain(
    db: Database,
    analyzer: Analyzer,
    session_id: int,
    limit: int = 1000,
    until: float | None = None,
) -> Drained:
    """Analyze a session's waiting frames in order, one transaction each; then close it if its
    agent said the source ended and nothing is left. Past ``until`` (time.monotonic()) it
    stops between two frames and says BUSY: try again shortly."""
    for _ in range(limit):
        if until is not None and time.monotonic() > until:
            return Drained.BUSY
        try:
            result = retry_while_unreachable(lambda: _step(db, analyzer, session_id), 120.0)
        except BaseException:
            analyzer.forget_monitor(session_id)
            raise
        if result is not None:
            return result
    return Drained.DONE


def _step(db: Database, analyzer: Analyzer, session_id: int) -> Drained | None:
    """One frame (or the closing); None when there may be more to do."""
    try:
        with db.session() as s:
            row = s.scalar(
                select(AttendanceSession)
                .where(AttendanceSession.id == session_id)
                .with_for_update(skip_locked=True)
            )
            if row is None:
                exists = s.scalar(
                    select(AttendanceSession.id).where(AttendanceSession.id == session_id)
                )
                return Drained.BUSY if exists is not None else Drained.GONE
            if row.state == CLOSED:
                _discard(s, session_id)
                return Drained.GONE
            if row.mode == "entrance":
                claimed = analyzer.entrance.claim_in(s, row)
                if claimed == "closing":
                    lifecycle.close(s, row, row.close_at, db.settings.timezone)
                    return Drained.GONE
                if isinstance(claimed, str):
                    return _CLAIMED[claimed]
                claim = claimed
            elif not _one_writer(db):
                return _sample(s, db, analyzer, row)
            else:
                frame = next_frame(s, session_id)
                if frame is None:
                    return _nothing_waiting(s, db, row)
                waiting = (frame.id, frame.seq, frame.t, frame.image)
                claim = None
        if claim is None:
            # SQLite: the frame read, the transaction (its one write lock) let go.
            return _sample_outside(db, analyzer, session_id, *waiting)
        # The claimed entrance frame, analyzed with the transaction committed.
        return _entrance_frame(db, analyzer, claim)
    except BaseException:
        analyzer.forget_monitor(session_id)
        raise


def next_frame(s: Session, session_id: int) -> Frame | None:
    """The session's oldest waiting frame (the next to analyze)."""
    return s.scalar(
        select(Frame).where(Frame.session_id == session_id).order_by(Frame.seq).limit(1)
    )


def _sample(s: Session, db: Database, analyzer: Analyzer, row: AttendanceSession) -> Drained | None:
    """A meeting's next sample, in the caller's transaction (which holds the session's row)."""
    session_id = row.id
    frame = next_frame(s, session_id)
    if frame is None:
        return _nothing_waiting(s, db, row)
    judge = partial(analyzer.analyze_in, s, session_id, frame.seq, frame.t)
    _judge(session_id, frame.seq, frame.image, judge)
    s.delete(frame)
    return None


def _one_writer(db: Database) -> bool:
    """SQLite: one writer for the whole database, so a transaction held while a sample is
    judged (a second or more) holds every other writer back: other sessions' uploads, agents'
    token checks, the portal's logins and edits (past their busy timeout)."""
    return db.engine.dialect.name == "sqlite"


def _nothing_waiting(s: Session, db: Database, row: AttendanceSession) -> Drained:
    if row.close_at is not None:
        lifecycle.close(s, row, row.close_at, db.settings.timezone)
        return Drained.GONE
    return Drained.DONE


def _sample_outside(
    db: Database,
    analyzer: Analyzer,
    session_id: int,
    frame_id: int,
    seq: int,
    t: float,
    data: bytes,
) -> Drained | None:
    """A meeting's next sample judged as `rollcall run` judges one (Analyzer.analyze: its state
    read, the judgement outside any transaction, the outcome written if the state is still
    the one judged from), then its frame deleted. Frames are taken oldest first and each is
    deleted only once its sample is recorded, so two processes can at most judge the same
    one, and the second finds it recorded; one killed between the two leaves the frame for
    the next, which finds its sample recorded and deletes it."""
    try:
        _judge(session_id, seq, data, partial(analyzer.analyze, session_id, seq, t))
    except SessionEnded:
        analyzer.forget_monitor(session_id)
        return None  # closed or deleted meanwhile: the next step says so
    with db.session() as s:
        s.execute(delete(Frame).where(Frame.id == frame_id))
    return None


def _judge(
    session_id: int, seq: int, data: bytes, analyze: Callable[[np.ndarray], Analyzed]
) -> None:
    """Decode a waiting frame and have ``analyze`` judge it, with the line operators read."""
    image = decode(data)
    if image is None:
        # Validated at upload; a frame that still cannot be read must not stall the rest.
        log.warning("session %s: frame %s is unreadable; skipped", session_id, seq)
        return
    done = analyze(image)
    if done.outcome is not None:
        # One line per sample: what operators (and bench/bench_scale.py) read.
        log.info(
            "sample session=%s seq=%s faces=%s verified=%s embedded=%s rechecked=%s "
            "count_ms=%.0f verify_ms=%.0f",
            session_id,
            seq,
            done.outcome.count,
            int(done.outcome.verified),
            done.outcome.embedded,
            done.outcome.rechecked,
            done.count_cpu * 1000,
            done.verify_cpu * 1000,
        )


def _entrance_frame(db: Database, analyzer: Analyzer, claim: Claim) -> Drained | None:
    """Analyze a claimed entrance frame outside any transaction, then record it in one."""
    step = analyzer.entrance.observe(claim)

    def commit() -> Drained | None:
        with db.session() as s:
            row = s.scalar(
                select(AttendanceSession)
                .where(AttendanceSession.id == claim.session_id)
                .with_for_update()
            )
            if row is None or row.state == CLOSED:
                analyzer.forget_monitor(claim.session_id)
                return Drained.GONE
            analyzer.entrance.commit_in(s, row, claim, step)
            return None

    # Not retried here: the monitor in memory has moved on with this frame, and a second try
    # would write from a state the database never had (a head count skipped). A failed commit
    # forgets the monitor (in _step) and drain's retry claims the frame again from the start.
    return commit()


# What EntranceFrames.claim_in's answers mean to drain (None: go on with the next frame).
_CLAIMED: dict[str, Drained | None] = {"held": Drained.HELD, "done": Drained.DONE, "again": None}


def _discard(s: Session, session_id: int) -> None:
    for frame in s.scalars(select(Frame).where(Frame.session_id == session_id)):
        s.delete(frame)
