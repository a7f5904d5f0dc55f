"""Analyze sample *seq* of session *S* given its frame: the one step `rollcall run` and the
workers share.

The frame is read (faces, then participants per tile) outside any transaction; then, in the
sample's own transaction, the session's row is locked, the monitor's stored state is loaded (a
process that analyzed the previous sample keeps it in memory and skips the load), the monitor
judges the sample, and its outcome and new state are written together. Whichever process takes
a session's next sample, it continues from exactly where the previous one left off; a sample
delivered twice is recorded once, and one older than the stored state is dropped.
"""

from __future__ import annotations

import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rollcall.analysis import state as monitor_state
from rollcall.analysis.labels import roster_names, snapped_label
from rollcall.attendance.monitor import (
    AttendanceMonitor,
    MonitorConfig,
    ReadLabels,
    SampleOutcome,
)
from rollcall.attendance.recorder import SessionRecorder, retry_while_unreachable
from rollcall.config import Settings
from rollcall.errors import RollcallError
from rollcall.recognition import gallery_in
from rollcall.storage.db import Database
from rollcall.storage.meetings import MeetingParticipant, PersonAlias
from rollcall.storage.models import AttendanceSession, Person, SessionState, Template, utcnow
from rollcall.storage.sessions import attendance_rows, person_ids
from rollcall.vision.embed import embed
from rollcall.vision.engine import FaceEngine
from rollcall.vision.gallery import STRONG_SIMILARITY, Gallery
from rollcall.vision.labels import LabelReader
from rollcall.vision.screen import ScreenReading, read_screen
from rollcall.vision.types import Faces

if TYPE_CHECKING:
    from rollcall.analysis.entrance.uploads import EntranceFrames

log = logging.getLogger(__name__)
# Sessions whose monitor a process keeps in memory (a worker serves many sessions in turn).
CACHED_SESSIONS = 64
# Sessions whose tile labels a process remembers (~0.2 MB each for 49 tiles): more than the
# monitors, since reading every label of a gallery again costs ~50 ms a tile
# (bench/bench_scale.py with 400 sessions on 2 workers: count-only samples 100 -> 174 ms CPU
# when the label cache held only 64 sessions).
LABEL_SESSIONS = 256
# Times a sample is judged again when another process moved its session on meanwhile.
MAX_REJUDGED = 3
RETRY_FOR = 120.0  # seconds a sample waits out an unreachable database (a server restart)


@dataclass
class Analyzed:
    """One sample's outcome (None: recorded already, or older than the stored state) and cost."""

    outcome: SampleOutcome | None
    count_cpu: float  # CPU seconds to find the faces and participants
    verify_cpu: float  # CPU seconds of the monitor's judgement (embedding and tile labels)


@dataclass
class _Session:
    """What analyzing one session needs, kept between its samples."""

    expected: list[str]
    config: MonitorConfig
    recorder: SessionRecorder
    monitor: AttendanceMonitor | None = None
    seq: int | None = None  # the sample the cached monitor has seen last
    label_names: list[str] = field(default_factory=list)  # what tile labels snap to
    names_key: tuple = ()  # the aliases and meeting accounts label_names was made from


def _seq_of(stored: SessionState | None) -> int | None:
    return None if stored is None else stored.seq


def state_context(session_id: int) -> str:
    return f"session-state:{session_id}"


class Analyzer:
    """Analyzes samples of any session, one transaction each (see the module docstring)."""

    def __init__(self, db: Database, settings: Settings, engine: FaceEngine) -> None:
        self.db = db
        self.settings = settings
        self.engine = engine
        self._sessions: OrderedDict[int, _Session] = OrderedDict()
        self._gallery: Gallery | None = None
        self._gallery_key: tuple | None = None
        # Each session's tile labels, kept between its samples (a label is read again only
        # when its strip changed); as many sessions as monitors are kept.
        self._labels: OrderedDict[int, LabelReader] = OrderedDict()
        self._entrance: EntranceFrames | None = None

    @property
    def entrance(self) -> EntranceFrames:
        """The entrance sessions this process watches (their frames are not samples)."""
        if self._entrance is None:
            from rollcall.analysis.entrance.uploads import EntranceFrames

            self._entrance = EntranceFrames(self)
        return self._entrance

    # -- one sample ----------------------------------------------------------------------

    def read(self, image: np.ndarray) -> ScreenReading:
        """The participants of a frame and the gallery tiles they sit in (the part of the
        work that needs no database)."""
        return read_screen(image, self.engine.detect(image))

    def read_labels(
        self,
        image: np.ndarray,
        reading: ScreenReading,
        wanted: list[int],
        session_id: int | None,
        names: list[str],
    ) -> list[str | None]:
        """The name label of the tiles ``wanted`` (None for the others), snapped to ``names``
        (the monitor says which tiles it needs: see AttendanceMonitor.observe)."""
        if not self.settings.read_labels:
            return []
        reader = self._label_reader(session_id)
        found = reader.read(image, reading.tiles, wanted)
        candidates = tuple(names)
        return [None if text is None else snapped_label(text, candidates) for text in found.texts]

    def _label_reader(self, session_id: int | None) -> LabelReader:
        from rollcall.vision.ocr import shared_reader

        key = -1 if session_id is None else session_id
        reader = self._labels.get(key)
        if reader is None:
            # As many threads as the face networks: one in a worker's pool process, where
            # several processes share the cores (workers.celery_app).
            reader = LabelReader(shared_reader(self.engine.options.threads))
            self._labels[key] = reader
            while len(self._labels) > LABEL_SESSIONS:
                self._labels.popitem(last=False)
        self._labels.move_to_end(key)
        return reader

    def label_names(self, s: Session, session_id: int, expected: list[str]) -> list[str]:
        """The names a session's tile labels are snapped to: its expected people, their
        display-name aliases, and the names of the accounts in its meeting (from a platform's
        report or live events, each as shown and as first given). A label read with a letter
        wrong is then stored as the participant's own name, which is what reconciliation
        matches it against; a guest's label snaps to the guest's account, not to a classmate."""
        aliases = (
            s.scalars(
                select(PersonAlias.value)
                .join(Person, Person.id == PersonAlias.person_id)
                .where(PersonAlias.kind == "alias", Person.name.in_(expected))
                .order_by(PersonAlias.id)
            ).all()
            if expected
            else []
        )
        accounts = s.execute(
            select(MeetingParticipant.name, MeetingParticipant.original_name)
            .where(MeetingParticipant.session_id == session_id)
            .order_by(MeetingParticipant.id)
        ).all()
        shown = [name for row in accounts for name in row if name]
        return roster_names(expected, [*aliases, *shown])

    @staticmethod
    def _names_key(s: Session, session_id: int) -> tuple:
        """Changes when an alias or a meeting account is added: the session's label names are
        made again (accounts arrive by webhook while the session runs)."""
        in_meeting = MeetingParticipant.session_id == session_id
        return tuple(
            s.execute(
                select(
                    select(func.count(MeetingParticipant.id)).where(in_meeting).scalar_subquery(),
                    select(func.max(MeetingParticipant.id)).where(in_meeting).scalar_subquery(),
                    select(func.count(PersonAlias.id)).scalar_subquery(),
                    select(func.max(PersonAlias.id)).scalar_subquery(),
                )
            ).one()
        )

    def analyze(self, session_id: int, seq: int, t: float, image: np.ndarray) -> Analyzed:
        """One sample in two short transactions, the judgement between them.

        Recognising every face takes a second or more, and SQLite has one writer at a time:
        judged inside the write transaction, a sample would hold the portal's logins and edits
        back (past the busy timeout once the run is niced and the portal busy). So the state
        is loaded in one transaction, the monitor judges outside any, and the outcome is
        written in a second one, provided the session's state is still the one judged from;
        if another process moved it on meanwhile, the sample is judged again from the new
        state."""
        cpu0 = time.process_time()
        reading = self.read(image)
        cpu1 = time.process_time()

        embed_faces, recheck_faces = self._embedders(image)

        def prepare() -> tuple[_Session, AttendanceMonitor, int | None] | None:
            with self.db.session() as s:
                ctx = self._context(s, session_id)
                if not ctx.recorder.begin(s, seq):
                    return None  # recorded already: a retried commit whose answer was lost
                stored = s.get(SessionState, session_id)
                if not self._in_order(session_id, seq, stored):
                    return None
                return ctx, self._monitor_for(ctx, stored, session_id), _seq_of(stored)

        for _attempt in range(MAX_REJUDGED):
            prepared = retry_while_unreachable(prepare, RETRY_FOR)
            if prepared is None:
                return Analyzed(None, cpu1 - cpu0, time.process_time() - cpu1)
            ctx, monitor, base = prepared
            try:
                out = monitor.observe(
                    seq,
                    t,
                    image,
                    reading,
                    embed_faces,
                    self._labels_for(ctx, image, session_id),
                    recheck_faces,
                )
                commit = partial(self._commit, session_id, seq, ctx, monitor, base, out)
                written = retry_while_unreachable(commit, RETRY_FOR)
            except BaseException:
                # Nothing committed: the monitor in memory has moved on without the database.
                self.forget_monitor(session_id)
                raise
            if written == "written":
                ctx.monitor, ctx.seq = monitor, seq
                return Analyzed(out, cpu1 - cpu0, time.process_time() - cpu1)
            self.forget_monitor(session_id)
            if written == "recorded":
                return Analyzed(None, cpu1 - cpu0, time.process_time() - cpu1)
        raise RollcallError(
            f"session {session_id}: sample {seq} kept meeting newer state from another process"
        )

    def _commit(
        self,
        session_id: int,
        seq: int,
        ctx: _Session,
        monitor: AttendanceMonitor,
        base: int | None,
        out: SampleOutcome,
    ) -> str:
        """Write a judged sample: "written", "recorded" (someone else recorded it), or "moved"
        (the state it was judged from is no longer the session's)."""
        with self.db.session() as s:
            if not ctx.recorder.begin(s, seq):
                return "recorded"
            stored = s.get(SessionState, session_id)
            if _seq_of(stored) != base:
                return "moved"
            ctx.recorder.write(s, out)
            self._store_state(s, session_id, seq, stored, monitor)
        return "written"

    def analyze_in(
        self, s: Session, session_id: int, seq: int, t: float, image: np.ndarray
    ) -> Analyzed:
        """analyze() inside a transaction the caller holds (and commits). If it does not
        commit, the caller must call forget_monitor(session_id)."""
        cpu0 = time.process_time()
        reading = self.read(image)
        cpu1 = time.process_time()

        outcome = self._judge(s, session_id, seq, t, image, reading, *self._embedders(image))
        return Analyzed(outcome, cpu1 - cpu0, time.process_time() - cpu1)

    def _judge(
        self,
        s: Session,
        session_id: int,
        seq: int,
        t: float,
        image: np.ndarray,
        reading: ScreenReading,
        embed_faces: Callable[[Faces], np.ndarray],
        recheck_faces: Callable[[Faces], np.ndarray] | None,
    ) -> SampleOutcome | None:
        ctx = self._context(s, session_id)
        if not ctx.recorder.begin(s, seq):
            return None  # recorded already: a redelivery or a retried commit
        stored = s.get(SessionState, session_id)
        if not self._in_order(session_id, seq, stored):
            return None
        monitor = self._monitor_for(ctx, stored, session_id)
        labels = self._labels_for(ctx, image, session_id)
        out = monitor.observe(seq, t, image, reading, embed_faces, labels, recheck_faces)
        ctx.recorder.write(s, out)
        self._store_state(s, session_id, seq, stored, monitor)
        ctx.monitor, ctx.seq = monitor, seq
        return out

    @staticmethod
    def _in_order(session_id: int, seq: int, stored: SessionState | None) -> bool:
        if stored is not None and stored.seq >= seq:
            log.warning("session %s: sample %s came after %s; dropped", session_id, seq, stored.seq)
            return False
        return True

    def _monitor_for(
        self, ctx: _Session, stored: SessionState | None, session_id: int
    ) -> AttendanceMonitor:
        """The monitor kept in memory when it has seen exactly the stored state, else one
        rebuilt from that state."""
        if ctx.monitor is not None and ctx.seq == _seq_of(stored):
            return ctx.monitor
        monitor = self._new_monitor(ctx)
        if stored is not None:
            blob = self.db.cipher.open_bytes(stored.state, state_context(session_id))
            monitor_state.restore(monitor, blob)
        return monitor

    def _embedders(
        self, image: np.ndarray
    ) -> tuple[Callable[[Faces], np.ndarray], Callable[[Faces], np.ndarray] | None]:
        """Embedding a subset of the frame's faces in full, and for the re-check (None when the
        embedder has no cheap half)."""
        embedder = self.engine.embedder

        def embed_faces(subset: Faces) -> np.ndarray:
            return embed(embedder, image, subset)

        recheck = getattr(embedder, "recheck", None)
        if recheck is None:
            return embed_faces, None

        def recheck_faces(subset: Faces) -> np.ndarray:
            return recheck(image, subset)

        return embed_faces, recheck_faces

    def _labels_for(self, ctx: _Session, image: np.ndarray, session_id: int) -> ReadLabels:
        def read_labels(shown: ScreenReading, wanted: list[int]) -> list[str | None]:
            return self.read_labels(image, shown, wanted, session_id, ctx.label_names)

        return read_labels

    def _store_state(
        self,
        s: Session,
        session_id: int,
        seq: int,
        stored: SessionState | None,
        monitor: AttendanceMonitor,
    ) -> None:
        blob = monitor_state.snapshot(monitor)
        # Someone erased while this sample was judged (privacy.erase_person scrubbed the
        # stored state, which this sample was judged from before): their marks and face
        # tracks are not written back with it.
        names = list(dict.fromkeys(monitor.gallery.names))
        for name in set(names) - person_ids(s, names).keys():
            blob = monitor_state.forget_person(blob, name) or blob
        sealed = self.db.cipher.seal_bytes(blob, state_context(session_id))
        if stored is None:
            s.add(SessionState(session_id=session_id, seq=seq, state=sealed, updated_at=utcnow()))
        else:
            stored.seq, stored.state, stored.updated_at = seq, sealed, utcnow()

    def gallery(self) -> Gallery:
        """The gallery samples are judged against now."""
        with self.db.session() as s:
            return self._current_gallery(s)

    def gallery_in(self, s: Session) -> Gallery:
        """The gallery now, read in the caller's transaction."""
        return self._current_gallery(s)

    # -- ending ---------------------------------------------------------------------------

    def monitor_of(self, session_id: int) -> AttendanceMonitor:
        """The session's monitor as stored (for closing it: monitor.finish())."""
        with self.db.session() as s:
            ctx = self._context(s, session_id)
            stored = s.get(SessionState, session_id)
            if ctx.monitor is not None and ctx.seq == (stored.seq if stored else None):
                return ctx.monitor
            monitor = self._new_monitor(ctx)
            if stored is not None:
                blob = self.db.cipher.open_bytes(stored.state, state_context(session_id))
                monitor_state.restore(monitor, blob)
            return monitor

    def recorder_of(self, session_id: int) -> SessionRecorder:
        with self.db.session() as s:
            return self._context(s, session_id).recorder

    def forget(self, session_id: int) -> None:
        self._sessions.pop(session_id, None)
        self._labels.pop(session_id, None)

    # -- what a session needs ----------------------------------------------------------------

    def forget_monitor(self, session_id: int) -> None:
        if self._entrance is not None:
            self._entrance.forget(session_id)
        ctx = self._sessions.get(session_id)
        if ctx is not None:
            ctx.monitor, ctx.seq = None, None

    def _context(self, s: Session, session_id: int) -> _Session:
        ctx = self._sessions.get(session_id)
        if ctx is None:
            row = s.get(AttendanceSession, session_id)
            if row is None:
                raise RollcallError(f"no session with id {session_id}")
            strong = STRONG_SIMILARITY.get(self.engine.embedder.name, 0.55)
            ctx = _Session(
                expected=[name for _, name in attendance_rows(s, session_id)],
                config=MonitorConfig(
                    verify_every=row.verify_every,
                    leave_after=row.leave_after,
                    strong_similarity=strong,
                    same_stranger=strong,
                    room_camera=row.mode == "classroom",
                ),
                recorder=SessionRecorder(
                    self.db,
                    session_id,
                    self.settings.evidence_dir,
                    embedder=self.engine.embedder.name,
                ),
            )
            self._sessions[session_id] = ctx
            while len(self._sessions) > CACHED_SESSIONS:
                self._sessions.popitem(last=False)
        self._sessions.move_to_end(session_id)
        if self.settings.read_labels:
            key = self._names_key(s, session_id)
            if key != ctx.names_key:
                ctx.label_names = self.label_names(s, session_id, ctx.expected)
                ctx.names_key = key
        gallery = self._current_gallery(s)
        if ctx.monitor is not None and ctx.monitor.gallery is not gallery:
            ctx.monitor, ctx.seq = None, None  # enrollments changed: rebuild from the state
        return ctx

    def _new_monitor(self, ctx: _Session) -> AttendanceMonitor:
        assert self._gallery is not None  # nosec B101 - _context loaded it
        return AttendanceMonitor(self._gallery, ctx.expected, ctx.config)

    def _current_gallery(self, s: Session) -> Gallery:
        """Everyone's templates for this embedder, reloaded only when they changed."""
        name = self.engine.embedder.name
        key = s.execute(
            select(func.count(Template.id), func.max(Template.id)).where(Template.embedder == name)
        ).one()
        key = (name, *key)
        if self._gallery is None or key != self._gallery_key:
            self._gallery = gallery_in(s, self.db.cipher, self.settings, name)
            self._gallery_key = key
        return self._gallery
