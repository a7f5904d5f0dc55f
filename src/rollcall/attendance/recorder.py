"""Writes what the monitor decided: one transaction per sample, evidence crops beside it.

Each sample's head count, marks, intervals, unknown faces and the session's progress are
committed together, so a process killed at any moment leaves either the whole sample or none of
it; the head count's (session, seq) uniqueness makes a replayed sample fail loudly rather than
count twice. Crop files are written before the commit under names derived from the sample, so a
replay overwrites them instead of leaving duplicates.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

import cv2
import numpy as np
from sqlalchemy import delete, or_, select, update
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.orm import Session

from rollcall.attendance import lifecycle
from rollcall.attendance.lifecycle import (
    CLOSED,
    CLOSED_MEANWHILE,
    DELETED_MEANWHILE,
    SessionEnded,
)
from rollcall.attendance.monitor import PICTURE, IntervalChange, Mark, SampleOutcome
from rollcall.storage.db import Database
from rollcall.storage.evidence import read_image, write_crop
from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    HeadCount,
    PresenceInterval,
    SessionEvent,
    Sighting,
    UnknownFace,
    utcnow,
)
from rollcall.storage.sessions import person_ids

log = logging.getLogger(__name__)
T = TypeVar("T")


class SessionRecorder:
    def __init__(
        self,
        db: Database,
        session_id: int,
        evidence_root: Path,
        retry_for: float = 120.0,
        embedder: str | None = None,
    ) -> None:
        self.db = db
        self.session_id = session_id
        self.folder = evidence_root / f"session-{session_id}"
        self.retry_for = retry_for
        # Names the embeddings of unknown faces (None: they are not kept).
        self.embedder = embedder

    def _write_crop(self, name: str, crop: np.ndarray) -> str:
        """Seal ``crop`` as ``name`` in the session's evidence folder; its stored path, or ""
        when it cannot be encoded or written (storage.evidence.write_crop logs why)."""
        path = self.folder / name
        if not write_crop(self.db.cipher, self.folder.parent, path, crop):
            return ""
        return str(path.relative_to(self.folder.parent.parent))

    def _better_evidence(self, session: Session, person_id: int, mark: Mark) -> None:
        """A larger shot of the face a mark was made on, named again: it replaces the crop in
        its file (no second file of the person's face is left behind), with its time and
        similarity. Only for the same mark (its first_seen) and not after a staff edit."""
        record = session.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == self.session_id,
                AttendanceRecord.person_id == person_id,
                AttendanceRecord.edited.is_(False),
                AttendanceRecord.first_seen == mark.first_seen,
                AttendanceRecord.evidence_path.is_not(None),
            )
        )
        # Only a crop this recorder wrote for the mark (a face staff assigned from the unknown
        # faces keeps that face's file, which is also the unknown face's).
        ours = self._own_crop(record.evidence_path if record is not None else None, person_id)
        if ours is None:
            return
        if self._write_crop(Path(ours).name, mark.evidence_crop):
            record.evidence_t, record.confidence = mark.evidence_t, mark.confidence

    def record(self, out: SampleOutcome) -> None:
        """Commit one sample, retrying while the database is unreachable (a server restart)."""
        retry_while_unreachable(lambda: self._record(out), self.retry_for)

    def _record(self, out: SampleOutcome) -> None:
        with self.db.session() as session:
            if self.begin(session, out.seq):
                self.write(session, out)

    def begin(self, session: Session, seq: int) -> bool:
        """Start writing sample ``seq`` in ``session``'s transaction: take the session's lock;
        False when the sample is already recorded (SessionEnded once the session is closed)."""
        state = self._lock_session(session)
        if state is None or state == CLOSED:
            # Closed or deleted by `rollcall sessions close|delete` while this run went on.
            raise SessionEnded(DELETED_MEANWHILE if state is None else CLOSED_MEANWHILE)
        # A previous attempt may have committed with its acknowledgement lost with the
        # connection, or a worker may have been handed the same sample twice.
        return not self._already_recorded(session, seq)

    def write(self, session: Session, out: SampleOutcome) -> None:
        """Everything one sample decided, in the caller's transaction (after ``begin``)."""
        session.add(
            HeadCount(
                session_id=self.session_id,
                seq=out.seq,
                t=out.t,
                count=out.count,
                recognized=out.recognized,
                unknown=out.unknown,
                verified=out.verified,
                recorded_at=utcnow(),
            )
        )
        self._take_back(session, out.uncounted)
        self.write_findings(session, out, str(out.seq))

    def _take_back(self, session: Session, uncounted: list[int]) -> None:
        """Earlier head counts, one face lower for each time their seq is in ``uncounted``: a
        room camera's face they counted turned out a picture on the wall (vision.still). The
        face was not named in them, so it was one of their unknown faces."""
        for seq, faces in sorted(Counter(uncounted).items()):
            row = session.scalar(
                select(HeadCount).where(
                    HeadCount.session_id == self.session_id, HeadCount.seq == seq
                )
            )
            if row is not None:  # (a sample before a resume may have been missed, not recorded)
                row.count = max(row.count - faces, row.recognized)
                row.unknown = row.count - row.recognized

    def record_findings(self, out: SampleOutcome, tag: str) -> None:
        """Commit marks, sightings, strangers and events found between samples (the entrance
        mode decides on every frame): no head count; ``tag`` names the crop files."""

        def work() -> None:
            with self.db.session() as session:
                state = self._lock_session(session)
                if state is None or state == CLOSED:
                    raise SessionEnded(DELETED_MEANWHILE if state is None else CLOSED_MEANWHILE)
                self.write_findings(session, out, tag)

        retry_while_unreachable(work, self.retry_for)

    def write_findings(self, session: Session, out: SampleOutcome, tag: str) -> None:
        """Everything but the head count (see write)."""
        names = {m.person for m in out.marks} | {m.person for m in out.evidence}
        names |= {c.person for c in out.intervals} | {s.person for s in out.seen}
        names |= {e.person for e in out.events if e.person}
        names |= {u.candidate for u in out.unknowns if u.candidate}
        names |= {f.person for f in out.faces if f.person}
        names |= {f.candidate for f in out.faces if f.candidate}
        names |= set(out.withdrawn) | {name for name, _ in out.trimmed}
        ids = person_ids(session, sorted(names))
        if names - ids.keys():
            # Erased while a monitor still held them (privacy.erase_person): nothing more of
            # theirs is written, and the run goes on.
            out = dataclasses.replace(
                out,
                marks=[m for m in out.marks if m.person in ids],
                evidence=[m for m in out.evidence if m.person in ids],
                intervals=[c for c in out.intervals if c.person in ids],
                faces=[
                    dataclasses.replace(
                        f,
                        person=f.person if f.person in ids else None,
                        candidate=f.candidate if f.candidate in ids else None,
                    )
                    for f in out.faces
                ],
                # An entrance names them on its own gallery until it ends: a pass of theirs is
                # a "visitor" event with their face, a photo of them a picture held up. Their
                # face would be kept, tied to no one a later erasure or export could find.
                events=[e for e in out.events if e.person is None or e.person in ids],
                # A picture held up of them is their face; a face that only looked like them
                # is someone else's, kept for review without them, as an erasure keeps one.
                unknowns=[
                    u if u.candidate in ids else dataclasses.replace(u, candidate=None)
                    for u in out.unknowns
                    if u.candidate is None or u.candidate in ids or u.reason != PICTURE
                ],
            )
        evidence = {
            m.person: self._write_crop(f"{ids[m.person]}-{tag}.jpg", m.evidence_crop)
            for m in out.marks
        }
        for mark in out.marks:
            session.execute(
                update(AttendanceRecord)
                .where(
                    AttendanceRecord.session_id == self.session_id,
                    AttendanceRecord.person_id == ids[mark.person],
                    AttendanceRecord.edited.is_(False),
                    # Another writer on this session may have marked them earlier: keep it.
                    or_(
                        AttendanceRecord.first_seen.is_(None),
                        AttendanceRecord.first_seen > mark.first_seen,
                    ),
                )
                .values(
                    status="present",
                    first_seen=mark.first_seen,
                    confidence=mark.confidence,
                    evidence_path=evidence[mark.person] or None,
                    evidence_t=mark.evidence_t,
                    marked_at=utcnow(),
                )
            )
        for better in out.evidence:
            self._better_evidence(session, ids[better.person], better)
        self._apply_intervals(session, ids, out.intervals)
        for name, since in out.trimmed:
            if name in ids:
                self._trim(session, ids[name], since)
        # One statement per sighting time (a sample has one), not one per face: a 49-face
        # gallery otherwise made 49 round trips of every sample's transaction.
        last_seen: dict[float, set[int]] = {}
        for seen in out.seen:
            if seen.person in ids:
                last_seen.setdefault(seen.t, set()).add(ids[seen.person])
        for t, people in sorted(last_seen.items()):
            session.execute(
                update(AttendanceRecord)
                .where(
                    AttendanceRecord.session_id == self.session_id,
                    AttendanceRecord.person_id.in_(sorted(people)),
                    or_(AttendanceRecord.last_seen.is_(None), AttendanceRecord.last_seen < t),
                )
                .values(last_seen=t)
            )
        picture_crops = {
            name: self._own_crop(self._withdraw(session, ids[name]), ids[name])
            for name in out.withdrawn
            if name in ids
        }
        for face in out.faces:
            x, y, w, h = face.box
            session.add(
                Sighting(
                    session_id=self.session_id,
                    seq=out.seq,
                    t=out.t,
                    person_id=ids[face.person] if face.person else None,
                    x=x,
                    y=y,
                    w=w,
                    h=h,
                    similarity=face.similarity,
                    fresh=face.fresh,
                    tile=face.tile,
                    label=face.label[:200] if face.label else None,
                    candidate_id=ids.get(face.candidate) if face.candidate else None,
                )
            )
        for i, unknown in enumerate(out.unknowns):
            face = UnknownFace(
                session_id=self.session_id,
                t=unknown.t,
                crop_path=self._write_crop(f"unknown-{tag}-{i}.jpg", unknown.crop),
                best_similarity=unknown.best_similarity,
                reason=unknown.reason,
                candidate_id=ids.get(unknown.candidate) if unknown.candidate else None,
                recorded_at=utcnow(),
            )
            if unknown.embedding is not None and self.embedder:
                face.embedding = self.db.cipher.seal_unknown(
                    unknown.embedding, self.session_id, self.embedder
                )
                face.embedder, face.dim = self.embedder, int(unknown.embedding.size)
            session.add(face)
        for i, event in enumerate(out.events):
            crop = None
            earlier = None
            if event.kind == "pictures" and event.person:
                earlier = picture_crops.pop(event.person, None)
            if earlier and event.crop is not None:
                # The crop the mark was made on beside the face now: the same picture, side
                # by side, is what staff need to see (one crop looks like anyone sitting
                # still). Written over the mark's own file, which the event then holds: no
                # file is deleted before the transaction commits, none is left unreferenced.
                kept = self.folder.parent.parent / earlier
                then = read_image(self.db.cipher, self.folder.parent, kept)
                if then is None and kept.is_file():
                    # It does not open (another key, tampered with): evidence in itself, kept
                    # as it is (found by the person's erasure by its name, {person id}-*.jpg,
                    # and by the session's purge, which empties its folder).
                    log.warning("evidence crop %s does not open: not paired over", kept)
                    crop = self._write_crop(f"event-{tag}-{i}.jpg", event.crop) or earlier
                else:
                    pair = _side_by_side(then, event.crop)
                    crop = self._write_crop(Path(earlier).name, pair) or earlier
            elif earlier:
                crop = earlier
            elif event.crop is not None:
                crop = self._write_crop(f"event-{tag}-{i}.jpg", event.crop) or None
            session.add(
                SessionEvent(
                    session_id=self.session_id,
                    t=event.t,
                    kind=event.kind,
                    person_id=ids.get(event.person) if event.person else None,
                    detail=event.detail[:500],
                    crop_path=crop,
                )
            )
        session.execute(
            update(AttendanceSession)
            .where(
                AttendanceSession.id == self.session_id,
                AttendanceSession.processed_until < out.t,
            )
            .values(processed_until=out.t)
        )

    def _withdraw(self, session: Session, person_id: int) -> str | None:
        """Take back a mark made on a picture in the person's own tile and nothing else
        (AttendanceMonitor._own_cameras): absent again, no time credited, their face in the
        earlier samples a candidate of theirs rather than them. A staff edit stands (also one
        committed meanwhile: the update is conditional). Returns the mark's evidence crop,
        which showed the picture: it goes to the sample's "pictures" event, so the record
        claims no recognition and the file stays where retention and erasure find it."""
        evidence = session.scalar(
            select(AttendanceRecord.evidence_path).where(
                AttendanceRecord.session_id == self.session_id,
                AttendanceRecord.person_id == person_id,
                AttendanceRecord.edited.is_(False),
            )
        )
        done = session.execute(
            update(AttendanceRecord)
            .where(
                AttendanceRecord.session_id == self.session_id,
                AttendanceRecord.person_id == person_id,
                AttendanceRecord.edited.is_(False),
            )
            .values(
                status="absent",
                first_seen=None,
                last_seen=None,
                marked_at=None,
                confidence=0.0,
                evidence_path=None,
                evidence_t=None,
            )
        )
        if done.rowcount != 1:
            return None
        session.execute(
            delete(PresenceInterval).where(
                PresenceInterval.session_id == self.session_id,
                PresenceInterval.person_id == person_id,
            )
        )
        session.execute(
            update(Sighting)
            .where(Sighting.session_id == self.session_id, Sighting.person_id == person_id)
            .values(person_id=None, candidate_id=person_id)
        )
        return evidence

    def _own_crop(self, path: str | None, person_id: int) -> str | None:
        """``path`` if it is a crop this recorder wrote for a mark of the person in this
        session (an unknown face's crop staff assigned is that face's too: never taken)."""
        if not path:
            return None
        p = Path(path)
        ours = p.parent.name == self.folder.name and p.name.startswith(f"{person_id}-")
        return path if ours else None

    def _trim(self, session: Session, person_id: int, since: float) -> None:
        """No interval of the person's runs past ``since`` (their face a picture from then
        on: AttendanceMonitor._own_cameras), nor does their last-seen time. A staff edit of
        the record stands; its intervals are the monitor's."""
        session.execute(
            delete(PresenceInterval).where(
                PresenceInterval.session_id == self.session_id,
                PresenceInterval.person_id == person_id,
                PresenceInterval.start_t > since,
            )
        )
        session.execute(
            update(PresenceInterval)
            .where(
                PresenceInterval.session_id == self.session_id,
                PresenceInterval.person_id == person_id,
                or_(PresenceInterval.end_t.is_(None), PresenceInterval.end_t > since),
            )
            .values(end_t=since, last_seen=since)
        )
        session.execute(
            update(AttendanceRecord)
            .where(
                AttendanceRecord.session_id == self.session_id,
                AttendanceRecord.person_id == person_id,
                AttendanceRecord.edited.is_(False),
                AttendanceRecord.last_seen > since,
            )
            .values(last_seen=since)
        )

    def _already_recorded(self, session: Session, seq: int) -> bool:
        """Checked inside the sample's own transaction, after the session lock, so the check
        costs no extra round trip and no other writer can slip in between."""
        found = session.scalar(
            select(HeadCount.id).where(
                HeadCount.session_id == self.session_id, HeadCount.seq == seq
            )
        )
        return found is not None

    def _lock_session(self, session: Session) -> str | None:
        """Queue behind any other writer of this session before touching its rows; returns the
        session's state (None once it is deleted).

        With every write transaction taking the session's row lock first, two processes
        recording the same session can never each hold a row the other needs next (PostgreSQL
        and MySQL found deadlocks otherwise); SQLite's BEGIN IMMEDIATE already serialises them.
        """
        return session.scalar(
            select(AttendanceSession.state)
            .where(AttendanceSession.id == self.session_id)
            .with_for_update(key_share=True)
        )

    def _apply_intervals(
        self, session: Session, ids: dict[str, int], changes: list[IntervalChange]
    ) -> None:
        """Extend, close or open presence intervals, reading the open ones of everyone
        concerned in one query (a change continues a person's open interval, or opens one)."""
        changes = [c for c in changes if c.person in ids]  # (not anyone erased meanwhile)
        if not changes:
            return
        people = sorted({ids[c.person] for c in changes})
        open_rows = {
            row.person_id: row
            for row in session.scalars(
                select(PresenceInterval).where(
                    PresenceInterval.session_id == self.session_id,
                    PresenceInterval.person_id.in_(people),
                    PresenceInterval.end_t.is_(None),
                )
            )
        }
        for change in changes:
            person_id = ids[change.person]
            row = open_rows.pop(person_id, None)
            if row is None:
                row = PresenceInterval(
                    session_id=self.session_id, person_id=person_id, start_t=change.start
                )
                session.add(row)
            row.last_seen = change.last_seen
            row.end_t = change.end
            if change.end is None:
                open_rows[person_id] = row

    def close(self, closing: list[IntervalChange], end_t: float) -> None:
        """Close every open interval and the session; store each person's final status."""
        retry_while_unreachable(lambda: self._close(closing, end_t), self.retry_for)

    def _close(self, closing: list[IntervalChange], end_t: float) -> None:
        with self.db.session() as session:
            if self._lock_session(session) in (None, CLOSED):
                return  # closed or deleted meanwhile: nothing of this run's to add
            ids = person_ids(session, sorted({c.person for c in closing}))
            self._apply_intervals(session, ids, closing)
            row = session.get(AttendanceSession, self.session_id)
            lifecycle.close(session, row, end_t, self.db.settings.timezone)

    def interrupt(self) -> None:
        """The run stopped (Ctrl-C, SIGTERM): the session stays resumable, and open intervals
        end at their last sighting until --resume opens them again.

        Only what was committed counts: a sample cut short by the interruption was rolled back,
        and the monitor may already have counted it.
        """
        retry_while_unreachable(self._interrupt, self.retry_for)

    def _interrupt(self) -> None:
        with self.db.session() as session:
            if self._lock_session(session) is None:
                return
            lifecycle.interrupt(session, session.get(AttendanceSession, self.session_id))

    def add_event(self, t: float, kind: str, detail: str) -> None:
        def write() -> None:
            with self.db.session() as session:
                session.add(
                    SessionEvent(session_id=self.session_id, t=t, kind=kind, detail=detail[:500])
                )

        retry_while_unreachable(write, self.retry_for)


def _side_by_side(left: np.ndarray | None, right: np.ndarray) -> np.ndarray:
    """Two crops at the height of ``right``, a white rule between them (``right`` alone when
    ``left`` could not be read)."""
    if left is None or left.size == 0 or right.size == 0:
        return right
    h = right.shape[0]
    width = max(1, round(left.shape[1] * h / left.shape[0]))
    left = cv2.resize(left, (width, h), interpolation=cv2.INTER_AREA)
    rule = np.full((h, max(2, h // 40), 3), 255, np.uint8)
    return np.hstack([left, rule, right])


def retry_while_unreachable(work: Callable[[], T], retry_for: float) -> T:
    """Run work (one whole transaction); if the database connection is lost, wait and retry.

    Only disconnections are retried: every other error is a bug or bad data and is raised.
    """
    deadline = time.monotonic() + retry_for
    delay = 0.5
    while True:
        try:
            return work()
        except (OperationalError, InterfaceError) as exc:
            if time.monotonic() >= deadline or not _is_disconnect(exc):
                raise
            log.warning("database unreachable (%s); retrying in %.1f s", exc.orig, delay)
            time.sleep(delay)
            delay = min(delay * 2, 10.0)


def _is_disconnect(exc: DBAPIError) -> bool:
    if exc.connection_invalidated:
        return True
    text = str(exc.orig).lower()
    return any(
        marker in text
        for marker in (
            "server closed the connection",
            "connection refused",
            "terminating connection",
            "could not connect",
            "connection is closed",
            "lost connection",
            "gone away",
            "can't connect",
            "the database system is",
            "connection reset",
            "database is locked",
        )
    )
