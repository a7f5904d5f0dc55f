"""Entrance frames sent by a capture agent (`rollcall agent --mode entrance`), analyzed on the
server side: by `rollcall serve` itself without a broker, by a Celery worker with one.

An entrance is followed frame by frame: tracks, best shots and liveness live in one process's
memory (an EntranceMonitor), and cutting a passer's track in two at a handover can cost a mark.
So one process at a time *watches* an entrance session: it holds a lease on it (renewed with
every frame, in the frame's own transaction, and let go when frames stop coming), and every
other process leaves the session's frames to it. A process that takes a session over (the
watcher died or let go) starts a fresh monitor that knows who is marked already and how many
people are inside, so nobody is marked twice and the count goes on.

Per session, the database keeps (session_states, plain JSON: counts, no biometric data) the
last frame analyzed, the next head count's number, the last count, and the lease. A frame is
claimed in one short transaction, analyzed with none open (SQLite has one writer, and uploads
and the portal's edits must not wait behind every frame), and recorded and deleted in a
second one, which checks that the session did not move on meanwhile.
"""

from __future__ import annotations

import json
import logging
import os
import socket
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.analysis.entrance.monitor import EntranceConfig, EntranceMonitor, EntranceStep
from rollcall.analysis.entrance.occupancy import parse_line
from rollcall.attendance.recorder import SessionRecorder, retry_while_unreachable
from rollcall.attendance.schedule import SamplingSchedule
from rollcall.storage.clock import database_epoch
from rollcall.storage.models import AttendanceSession, Frame, SessionState, utcnow
from rollcall.storage.sessions import attendance_rows
from rollcall.vision.embed import embed

if TYPE_CHECKING:
    from rollcall.analysis.sample import Analyzer
    from rollcall.attendance.monitor import SampleOutcome
    from rollcall.storage.db import Database

log = logging.getLogger(__name__)
# Seconds a watcher's lease lasts without a frame; a watcher that died is replaced after this.
LEASE = 10.0


def this_watcher() -> str:
    """This process as a watcher. Asked each time, not kept at import: a worker's pool
    processes are forked from one parent, and each must be a watcher of its own."""
    return f"{socket.gethostname()}:{os.getpid()}"


KIND = "entrance"
RELEASE_RETRY_FOR = 120.0  # seconds a release waits out an unreachable database
WATCHES = 32  # entrance monitors one process keeps (each ~ a few MB of tracks and shots)


@dataclass
class _Doc:
    """An entrance session's stored progress (session_states.state)."""

    frame: int = -1  # the last frame analyzed
    t: float = 0.0  # its time on the session's timeline
    sample: int = 0  # the next head count's number
    last_count: int | None = None
    inside: int | None = None  # people inside by the line after that frame
    named_inside: int | None = None  # of them, those recognised coming in
    watcher: str | None = None
    lease_until: float = 0.0  # epoch seconds by the database's clock (storage.clock)
    ended: int = -1  # the frame after which the open tracks were last ended and recorded

    def live_watcher(self, now: float) -> str | None:
        """Who holds the lease now (None: nobody, or it ran out)."""
        return self.watcher if self.lease_until > now else None

    def held_by_other(self, now: float) -> bool:
        return self.live_watcher(now) not in (None, this_watcher())

    def dump(self) -> bytes:
        return json.dumps({"kind": KIND, **self.__dict__}).encode()

    @classmethod
    def load(cls, stored: SessionState | None) -> _Doc | None:
        if stored is None:
            return None
        try:
            data: dict[str, Any] = json.loads(stored.state)
        except ValueError:
            return None  # a meeting's sealed state: not an entrance
        if not isinstance(data, dict) or data.pop("kind", None) != KIND:
            return None
        return cls(**{k: v for k, v in data.items() if k in cls.__dataclass_fields__})


def watcher_of(stored: SessionState | None, now: float) -> str | None:
    """The process watching an entrance at ``now`` (database_epoch; None: nobody, its frames
    wait for one)."""
    doc = _Doc.load(stored)
    return None if doc is None else doc.live_watcher(now)


def watched_elsewhere(s: Session, session_id: int) -> bool:
    """Another live process watches this entrance (it will take the frames: no need to
    queue a task for each one)."""
    doc = _Doc.load(s.get(SessionState, session_id))
    return doc is not None and doc.held_by_other(database_epoch(s))


@dataclass(frozen=True)
class Claim:
    """A frame taken for analysis (EntranceFrames.claim_in)."""

    session_id: int
    seq: int
    t: float
    image: bytes
    base: int  # the last frame analyzed before it


@dataclass
class _Watch:
    monitor: EntranceMonitor
    expected: set[str]
    recorder: SessionRecorder
    schedule: Iterator[tuple[int, float]]
    due: tuple[int, float]  # the next head count: (number, time)
    frame: int  # the last frame this monitor saw
    t: float


class EntranceFrames:
    """The entrance sessions this process watches (see the module docstring)."""

    def __init__(self, analyzer: Analyzer) -> None:
        from rollcall.attendance.entrance import entrance_detector

        self.analyzer = analyzer
        self._detector = entrance_detector()
        # Least recently fed last: a process keeps at most WATCHES monitors (an agent that
        # vanished without finishing leaves one behind).
        self._watches: OrderedDict[int, _Watch] = OrderedDict()
        # What ending a session's open tracks decided, kept until it is known written: the
        # monitor's tracks are gone once ended, and a release whose transaction failed must
        # write the same again (session -> (frame, findings, recorder)).
        self._ended: dict[int, tuple[int, SampleOutcome | None, SessionRecorder]] = {}

    def holds(self, session_id: int) -> bool:
        return session_id in self._watches

    def forget(self, session_id: int) -> None:
        self._watches.pop(session_id, None)

    # A frame is taken in three steps, so that the write lock (SQLite's, or the session's row
    # on a server database) is not held while it is analyzed: uploads and the portal's writes
    # would wait behind every frame of a busy entrance.

    def claim_in(self, s: Session, row: AttendanceSession) -> Claim | str:
        """The session's next frame, under this process's renewed lease (in the caller's
        transaction, which holds the session's row). Otherwise "held" (another process
        watches it), "done" (no frame), "closing" (no frame, and the agent asked to close:
        open tracks were ended, the caller closes the session) or "again" (a frame analyzed
        already was dropped)."""
        from rollcall.analysis.pending import next_frame

        stored = s.get(SessionState, row.id)
        doc = _Doc.load(stored) or _Doc()
        now = database_epoch(s)
        if doc.held_by_other(now):
            return "held"
        frame = next_frame(s, row.id)
        if frame is None:
            if row.close_at is None:
                return "done"
            self.release_in(s, row, idle=True)
            return "closing"
        if frame.seq <= doc.frame:
            s.delete(frame)  # a redelivery of a frame analyzed already
            return "again"
        self._watch(s, row, doc)
        doc.watcher, doc.lease_until = this_watcher(), now + LEASE
        _store(s, row.id, stored, doc)
        return Claim(row.id, frame.seq, frame.t, frame.image, doc.frame)

    def observe(self, claim: Claim) -> EntranceStep | None:
        """The frame through the session's monitor, outside any transaction (None: the frame
        cannot be decoded; it is dropped)."""
        from rollcall.analysis.pending import decode

        image = decode(claim.image)
        if image is None:
            return None
        return self._watches[claim.session_id].monitor.observe(claim.t, image)

    def commit_in(
        self, s: Session, row: AttendanceSession, claim: Claim, step: EntranceStep | None
    ) -> bool:
        """Write what the frame decided and drop it (the caller's transaction holds the
        session's row). False, and nothing written, if the session moved on without this
        process meanwhile (its lease ran out and another took over): the frame is taken again."""
        from rollcall.attendance.entrance import findings, head_count

        stored = s.get(SessionState, row.id)
        doc = _Doc.load(stored)
        watch = self._watches.get(row.id)
        now = database_epoch(s)
        if doc is None or watch is None or doc.frame != claim.base or doc.held_by_other(now):
            self.forget(row.id)
            return False
        if step is not None:
            out = findings(step, watch.expected)
            if out is not None:
                watch.recorder.write_findings(s, out, f"f{claim.seq}-{claim.t:.3f}")
            while claim.t >= watch.due[1]:
                count = step.inside if step.inside is not None else step.visible
                sample = head_count(watch.due[0], claim.t, count, doc.last_count, step)
                watch.recorder.write(s, sample)
                doc.last_count = count
                watch.due = next(watch.schedule)
            doc.t, doc.inside, watch.t = claim.t, step.inside, claim.t
            doc.named_inside = step.named_inside
        else:
            log.warning("session %s: frame %s is unreadable; skipped", row.id, claim.seq)
        doc.frame, doc.sample = claim.seq, watch.due[0]
        doc.watcher, doc.lease_until = this_watcher(), now + LEASE
        watch.frame = claim.seq
        _store(s, row.id, stored, doc)
        frame = s.scalar(select(Frame).where(Frame.session_id == row.id, Frame.seq == claim.seq))
        if frame is not None:
            s.delete(frame)
        return True

    def last_seen(self, session_id: int) -> int | None:
        """The last frame this process analyzed of the session (None: not watching it)."""
        watch = self._watches.get(session_id)
        return None if watch is None else watch.frame

    def release_in(self, s: Session, row: AttendanceSession, idle: bool) -> bool:
        """Let go of the session. ``idle``: frames stopped coming, so open tracks end now
        (False, and nothing changes, if a frame came meanwhile). Otherwise this watch's time
        is up while frames flow: the tracks stay in this process's memory, in case the next
        task for the session is this process's again."""
        from rollcall.analysis.pending import waiting_frames

        stored = s.get(SessionState, row.id)
        doc = _Doc.load(stored)
        watch = self._watches.get(row.id)
        if doc is None or doc.held_by_other(database_epoch(s)):
            self.forget(row.id)
            return True
        if idle:
            if waiting_frames(s, row.id):
                return False
            self._record_ending(s, row.id, watch, doc)
            self.forget(row.id)
        doc.watcher, doc.lease_until = None, 0.0
        _store(s, row.id, stored, doc)
        return True

    def _record_ending(self, s: Session, session_id: int, watch: _Watch | None, doc: _Doc) -> None:
        """End the open tracks and write what that decided (a passer marked as they left),
        once: the first try computes it from the monitor and keeps it, a retry after a failed
        transaction writes the kept findings, and nothing is written again once the stored
        state says they were (``doc.ended``)."""
        from rollcall.attendance.entrance import findings

        if doc.ended == doc.frame:
            self._ended.pop(session_id, None)
            return
        kept = self._ended.get(session_id)
        if kept is not None and kept[0] != doc.frame:
            del self._ended[session_id]  # the session moved on since: someone else's now
            kept = None
        if kept is None:
            if watch is None or watch.frame != doc.frame:
                return
            out = findings(watch.monitor.finish(watch.t), watch.expected)
            kept = self._ended[session_id] = (doc.frame, out, watch.recorder)
        _frame, out, recorder = kept
        if out is not None:
            recorder.write_findings(s, out, f"f{doc.frame}-end")
        doc.ended = doc.frame

    def settled(self, session_id: int) -> None:
        """The transaction that released the session committed: drop what it wrote."""
        self._ended.pop(session_id, None)

    def _watch(self, s: Session, row: AttendanceSession, doc: _Doc) -> _Watch:
        """This process's monitor of the session, continued if it saw the stored last frame;
        otherwise a fresh one that knows who is marked and how many are inside."""
        from rollcall.attendance.entrance import already_marked, last_head_count, last_sightings

        watch = self._watches.get(row.id)
        # (A `rollcall run` may have gone on since: its checkpoint moved the time on, not
        # the frame number.)
        if watch is not None and watch.frame == doc.frame and watch.t == doc.t:
            self._watches.move_to_end(row.id)
            return watch
        # Tracks this process ended at a release whose transaction failed: written now.
        self._record_ending(s, row.id, None, doc)
        analyzer = self.analyzer
        engine = analyzer.engine
        detector = self._detector
        fps = row.entrance_fps or EntranceConfig().fps
        line = parse_line(row.entrance_line) if row.entrance_line else None
        # The session may have head counts this state does not know of: from `rollcall run`
        # before the agent's first frame, or from a `run --resume` between two agents.
        last = last_head_count(s, row.id)
        if last is not None and last.seq + 1 > doc.sample:
            doc.sample, doc.last_count = last.seq + 1, last.count
            doc.inside = last.count if line else None
            doc.named_inside = last.recognized if line else None
        monitor = EntranceMonitor(
            analyzer.gallery_in(s),
            lambda image: detector.detect(image),
            lambda crop, faces: embed(engine.embedder, crop, faces),
            EntranceConfig(fps=fps),
            marked=already_marked(s, row.id),
            last_seen=last_sightings(s, row.id),
            line=line,
            inside=doc.inside or 0,
            named_inside=doc.named_inside or 0,
        )
        schedule = iter(
            x
            for x in SamplingSchedule(row.min_interval, row.max_interval, row.seed)
            if x[0] >= doc.sample
        )
        watch = _Watch(
            monitor=monitor,
            expected={name for _, name in attendance_rows(s, row.id)},
            recorder=SessionRecorder(
                analyzer.db, row.id, analyzer.settings.evidence_dir, embedder=engine.embedder.name
            ),
            schedule=schedule,
            due=next(schedule),
            frame=doc.frame,
            t=doc.t,
        )
        self._watches[row.id] = watch
        while len(self._watches) > WATCHES:
            self._watches.popitem(last=False)
        return watch


def entrance_progress(s: Session, session_id: int) -> _Doc | None:
    """An entrance session's stored progress (an agent's, or a `rollcall run`'s checkpoint)."""
    return _Doc.load(s.get(SessionState, session_id))


def save_run_progress(
    s: Session,
    session_id: int,
    t: float,
    sample: int,
    last_count: int | None,
    inside: int | None,
    named_inside: int | None,
) -> None:
    """A `rollcall run` entrance's checkpoint, in the document an agent's frames keep: the
    frames it analyzed up to t, its next head count and the count inside. The agents' frame
    numbering (frame, and the row's seq that uploads are checked against) is left as it was,
    so an agent joining after the run numbers on from its last frame, and takes up the run's
    count; a run resumed after an agent reads the agent's progress the same way."""
    stored = s.get(SessionState, session_id)
    doc = _Doc.load(stored) or _Doc()
    doc.t, doc.sample, doc.last_count = t, sample, last_count
    doc.inside, doc.named_inside = inside, named_inside
    doc.watcher, doc.lease_until = None, 0.0  # no agent's watcher holds it now
    _store(s, session_id, stored, doc)


def _store(s: Session, session_id: int, stored: SessionState | None, doc: _Doc) -> None:
    if stored is None:
        s.add(SessionState(session_id=session_id, seq=doc.frame, state=doc.dump()))
    else:
        stored.seq, stored.state, stored.updated_at = doc.frame, doc.dump(), utcnow()


def release(db: Database, analyzer: Analyzer, session_id: int, idle: bool) -> bool:
    """EntranceFrames.release_in in a transaction of its own, holding the session's row;
    retried while the database is unreachable (the tracks it ends are written all the same)."""

    def work() -> bool:
        with db.session() as s:
            row = s.scalar(
                select(AttendanceSession)
                .where(AttendanceSession.id == session_id)
                .with_for_update()
            )
            if row is None:
                analyzer.entrance.forget(session_id)
                return True
            released = analyzer.entrance.release_in(s, row, idle)
        analyzer.entrance.settled(session_id)
        return released

    return retry_while_unreachable(work, RELEASE_RETRY_FOR)


def has_work(db: Database, session_id: int) -> bool:
    """Frames waiting, or the agent asked to close: a read that takes no write lock (a watcher
    asks this many times a second, and SQLite has one writer at a time)."""
    with db.engine.connect().execution_options(sqlite_begin="DEFERRED") as conn:
        waiting = conn.execute(
            select(Frame.id).where(Frame.session_id == session_id).limit(1)
        ).first()
        if waiting is not None:
            return True
        closing = conn.execute(
            select(AttendanceSession.close_at).where(AttendanceSession.id == session_id)
        ).first()
        return closing is None or closing[0] is not None


def last_frame(s: Session, session_id: int) -> tuple[int, float | None]:
    """The number and time of the last entrance frame the server has: analyzed, or waiting."""
    newest = s.execute(
        select(Frame.seq, Frame.t)
        .where(Frame.session_id == session_id)
        .order_by(Frame.seq.desc())
        .limit(1)
    ).first()
    doc = _Doc.load(s.get(SessionState, session_id))
    if newest is not None and (doc is None or newest[0] > doc.frame):
        return int(newest[0]), float(newest[1])
    if doc is not None and doc.frame >= 0:
        return doc.frame, doc.t
    # No agent frame yet: a `rollcall run` may have taken the session this far.
    done = s.scalar(
        select(AttendanceSession.processed_until).where(AttendanceSession.id == session_id)
    )
    return -1, float(done) if done else None  # 0: a new session, nothing taken yet
