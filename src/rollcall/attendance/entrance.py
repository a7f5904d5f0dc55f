"""Runs an entrance session: every frame at --fps -> EntranceMonitor -> marks written at once;
head counts at the session's random sampling times.

Marks, sightings, strangers and presentation attacks are committed as soon as a frame decides
them (a person walking past must appear on the kiosk and in the report within a second, not at
the next sampling time). The sampling schedule still decides when head counts are recorded:
the number of people inside (with --line) or faces in view; when it changes, the count is
verified against the people marked, as in a meeting.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from rollcall.analysis.entrance import DEFAULT_FPS
from rollcall.analysis.entrance.monitor import (
    ATTACK,
    REPEAT,
    EntranceConfig,
    EntranceMonitor,
    EntranceStep,
)
from rollcall.analysis.entrance.uploads import entrance_progress, save_run_progress
from rollcall.analysis.sample import Analyzer
from rollcall.attendance.lifecycle import SessionEnded
from rollcall.attendance.monitor import PICTURE, Event, SampleOutcome
from rollcall.attendance.recorder import SessionRecorder, retry_while_unreachable
from rollcall.attendance.runner import (
    START_RETRY,
    Progress,
    RunOptions,
    RunStats,
    _key_then_session,
    _start_of,
    timeline_of,
)
from rollcall.attendance.schedule import SamplingSchedule
from rollcall.capture.stream import LATE_SKIP_S, frames_at
from rollcall.config import Settings
from rollcall.errors import SourceError
from rollcall.storage.db import Database
from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    HeadCount,
    Person,
)
from rollcall.vision.detect import YuNetDetector
from rollcall.vision.embed import embed
from rollcall.vision.engine import FaceEngine

log = logging.getLogger(__name__)
# Seconds of source between the run's checkpoints (see _checkpoint): what a killed run
# analyzes again when resumed, and may see twice (a stranger in view across the cut).
CHECKPOINT_S = 1.0
# The entrance searches each frame at this many pixels (960x540): a 720p frame in 39 ms on one
# core instead of 67, a 1080p one in 36 instead of 159, still finding every face of 40 px and
# up in generated entrances (bench/bench_entrance.py); 640x360 lost 40 px faces at 1080p.
WORK_PIXELS = 960 * 540


@dataclass(frozen=True)
class EntranceOptions:
    fps: float = DEFAULT_FPS
    line: tuple[float, float, float, float] | None = None


def entrance_detector() -> YuNetDetector:
    return YuNetDetector(upscale_below=0, max_pixels=WORK_PIXELS)


def run_entrance(
    db: Database,
    settings: Settings,
    engine: FaceEngine,
    options: RunOptions,
    entrance: EntranceOptions,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
    announce: Callable[[float, str], None] | None = None,
) -> RunStats:
    """Watch an entrance until the source ends, --duration passes, or the run is stopped.
    announce: told each mark, repeat pass, stranger and picture as it is written (time on the
    session's timeline, words), for the terminal of a run at a live camera."""
    from rollcall.vision.sources import open_source

    stats = RunStats()
    source = (
        open_source(
            options.source or "",
            folder_step=options.folder_step,
            reconnect_timeout=options.reconnect_timeout,
        )
        if options.source
        else None
    )
    if source is not None and not options.resume:
        stats.started_at, stats.started_from = _start_of(options, source)
    try:
        session_id, conf, expected = retry_while_unreachable(
            lambda: _key_then_session(db, options, stats.started_at), START_RETRY
        )
        if source is None:
            source = open_source(
                conf.source,
                folder_step=options.folder_step,
                reconnect_timeout=options.reconnect_timeout,
            )
    except BaseException:
        if source is not None:
            source.close()
        raise
    recorder = SessionRecorder(db, session_id, settings.evidence_dir, embedder=engine.embedder.name)
    gallery = retry_while_unreachable(Analyzer(db, settings, engine).gallery, START_RETRY)
    where = retry_while_unreachable(lambda: _resume_point(db, session_id), START_RETRY)
    resume_from = where.t if options.resume else None
    detector = entrance_detector()
    monitor = EntranceMonitor(
        gallery,
        lambda image: detector.detect(image),
        lambda crop, faces: embed(engine.embedder, crop, faces),
        EntranceConfig(fps=entrance.fps),
        marked=where.marked,
        line=entrance.line,
        # Resumed: the people counted in are still inside.
        inside=where.inside if entrance.line is not None else 0,
        named_inside=where.named_inside if entrance.line is not None else 0,
        last_seen=where.last_seen,
    )
    expected_set = set(expected)
    done_seq = where.done_seq
    schedule = iter(
        s
        for s in SamplingSchedule(conf.min_interval, conf.max_interval, conf.seed)
        if done_seq is None or s[0] > done_seq
    )
    next_sample = next(schedule)
    # A live source restarts its clock at 0 when reopened: its frames go on the session's
    # timeline at the wall time since the session started (runner.live_offset). A recording
    # is taken up again at the frame after the last one analyzed.
    offset, began = timeline_of(db, session_id, source, resume_from, recorder)
    start = (resume_from + 1.0 / entrance.fps) if resume_from and not source.live else 0.0
    last_count: int | None = where.last_count
    last_t = resume_from or 0.0
    checkpointed = last_t
    started = time.perf_counter()
    ended = False
    try:
        for frame in frames_at(source, entrance.fps, start=start, realtime=options.realtime):
            ft = frame.t + offset
            if options.duration is not None and ft > options.duration:
                stats.stopped_by = "duration"
                break
            if should_stop():
                stats.stopped_by = "stopped"
                break
            step = monitor.observe(ft, frame.image)
            _write_step(recorder, step, expected_set, f"f{frame.index}-{ft:.3f}")
            if announce is not None:
                for t, words in news(step, expected_set):
                    announce(t, words)
            while ft >= next_sample[1]:
                if source.live and next_sample[1] < ft - LATE_SKIP_S:  # nothing ran: missed
                    stats.missed += 1
                    next_sample = next(schedule)
                    continue
                count = step.inside if step.inside is not None else step.visible
                out = head_count(next_sample[0], ft, count, last_count, step)
                recorder.record(out)
                stats.samples += 1
                stats.verifications += int(out.verified)
                last_count = count
                next_sample = next(schedule)
            last_t = ft
            if ft - checkpointed >= CHECKPOINT_S:
                _checkpoint(db, session_id, ft, step, next_sample[0], last_count)
                checkpointed = ft
            if progress:
                progress(ft, source.duration)
    except KeyboardInterrupt:
        stats.stopped_by = "interrupted"
    except SessionEnded as exc:
        stats.stopped_by = str(exc)
        ended = True
    except SourceError as exc:
        recorder.add_event(last_t, "source_lost", str(exc))
        stats.stopped_by = f"source lost: {exc}"
    finally:
        source.close()
    stats.wall = time.perf_counter() - started
    stats.source_seconds = max(0.0, last_t - began)
    if ended:
        return stats
    if stats.stopped_by in ("interrupted", "stopped"):
        if last_t > checkpointed:
            retry_while_unreachable(
                lambda: _checkpoint(db, session_id, last_t, step, next_sample[0], last_count),
                START_RETRY,
            )
        recorder.interrupt()
        return stats
    # The time in the tag: a resumed session ends again, and must not overwrite these crops.
    last = monitor.finish(last_t)
    _write_step(recorder, last, expected_set, f"end-{last_t:.3f}")
    # Where it ended (the count inside, for the report: head counts are taken only at the
    # sampling times, and a short recording may have one at 0 s alone).
    retry_while_unreachable(
        lambda: _checkpoint(db, session_id, last_t, last, next_sample[0], last_count),
        START_RETRY,
    )
    end_t = last_t
    if stats.stopped_by == "end of source" and source.duration is not None:
        end_t = max(last_t, source.duration)
    recorder.close([], end_t)
    stats.wall = time.perf_counter() - started
    return stats


def _write_step(
    recorder: SessionRecorder, step: EntranceStep, expected: set[str], tag: str
) -> None:
    """Commit what a frame decided, if anything."""
    out = findings(step, expected)
    if out is not None:
        recorder.record_findings(out, tag)


def news(step: EntranceStep, expected: set[str]) -> list[tuple[float, str]]:
    """What a frame decided, in words, with the time each is about."""
    said = [
        (m.first_seen, f"{m.person} marked")  # at the time they appeared
        for m in step.marks
        if m.person in expected
    ]
    said += [
        (step.t, f"{m.person} seen: enrolled but not on this session's roster")
        for m in step.marks
        if m.person not in expected
    ]
    for e in step.events:
        if e.kind == REPEAT and e.person in expected:
            said.append((e.t, f"{e.person} passed again ({e.detail})"))
        elif e.kind == REPEAT:  # a visitor: seen before, but never marked here
            said.append((e.t, f"{e.person} seen again: enrolled but not on this session's roster"))
        elif e.kind == ATTACK:
            said.append((e.t, "a face that moved like a picture held up: kept for review"))
    said += [(u.t, "a face no one matched: kept for review") for u in step.unknowns
             if u.reason != PICTURE]  # fmt: skip
    return said


def findings(step: EntranceStep, expected: set[str]) -> SampleOutcome | None:
    """What a frame decided, as the recorder writes it (None: nothing to write)."""
    if not (step.marks or step.seen or step.unknowns or step.events or step.evidence):
        return None
    marks = [m for m in step.marks if m.person in expected]
    # A visitor passing again was never marked here: another visitor pass, not "already
    # marked" (the report counted it so, and the kiosk showed nothing for it).
    events = [
        Event(e.t, "visitor", e.person, "enrolled but not expected (seen again)", crop=e.crop)
        if e.kind == REPEAT and e.person not in expected
        else e
        for e in step.events
    ]
    # Someone enrolled but not on this session's roster is seen, not marked (as in meetings),
    # at the time it was decided (the kiosk's last minute), with their shot: the kiosk sends
    # them to staff, who may have a roster that is out of date.
    events += [
        Event(step.t, "visitor", m.person, "enrolled but not expected", crop=m.evidence_crop)
        for m in step.marks
        if m.person not in expected
    ]
    return SampleOutcome(
        seq=-1,
        t=step.t,
        count=step.visible,
        recognized=step.named_visible,
        unknown=max(0, step.visible - step.named_visible),
        verified=True,
        embedded=0,
        marks=marks,
        seen=step.seen,
        unknowns=step.unknowns,
        events=events,
        evidence=[m for m in step.evidence if m.person in expected],
    )


def head_count(
    seq: int,
    t: float,
    count: int,
    last_count: int | None,
    step: EntranceStep,
) -> SampleOutcome:
    """The head count of one sampling time; when it changed, checked against who is known.

    With a line the count is the people inside and "recognised" those of them whose face was
    named as they came in; without one, the faces in view and those named now."""
    changed = last_count is None or count != last_count
    named = step.named_inside if step.named_inside is not None else step.named_visible
    recognized = min(count, named)
    out = SampleOutcome(
        seq=seq,
        t=t,
        count=count,
        recognized=recognized,
        unknown=count - recognized,
        verified=changed,
        embedded=0,
    )
    if changed and step.inside is not None and step.inside > recognized:
        # More people inside than were recognised coming in: someone walked in unrecognised,
        # behind someone else, or with their face turned away.
        out.events.append(
            Event(
                t,
                "count_mismatch",
                None,
                f"{step.inside} inside by the line, {recognized} of them recognised",
            )
        )
    return out


@dataclass
class ResumePoint:
    """Where an entrance session stands, for a run that takes it up again."""

    t: float  # the last frame analyzed, on the session's timeline (0: none)
    marked: dict[str, float]  # who is marked: a resumed run must not mark them again
    last_seen: dict[str, float]  # when each was last seen (someone in view across the cut)
    inside: int = 0  # by the line
    named_inside: int = 0
    done_seq: int | None = None  # the last head count's number
    last_count: int | None = None


def _resume_point(db: Database, session_id: int) -> ResumePoint:
    """From the session's rows and its last checkpoint (_checkpoint, or an agent's): it
    is newer than the last head count (a head count is taken every 20-90 s, a checkpoint
    every second), so the people who crossed the line since that head count are counted."""
    with db.session() as session:
        row = session.get(AttendanceSession, session_id)
        last = last_head_count(session, session_id)
        point = ResumePoint(
            t=float(row.processed_until or 0.0) if row is not None else 0.0,
            marked=already_marked(session, session_id),
            last_seen=last_sightings(session, session_id),
        )
        if last is not None:
            point.done_seq, point.last_count = last.seq, last.count
            point.inside, point.named_inside = last.count, last.recognized
        saved = entrance_progress(session, session_id)
    if saved is not None and (last is None or saved.t >= last.t):
        point.t = max(point.t, float(saved.t))
        point.inside = int(saved.inside or 0)
        point.named_inside = int(saved.named_inside or 0)
    return point


def _checkpoint(
    db: Database,
    session_id: int,
    t: float,
    step: EntranceStep,
    sample: int,
    last_count: int | None,
) -> None:
    """The run analyzed every frame up to t and wrote what they decided (each frame's
    findings commit as they come): a resumed run, or an agent taking the session over, goes
    on from there with the count inside (uploads.save_run_progress: plain JSON, counts, no
    biometric data)."""
    with db.session() as session:
        save_run_progress(
            session, session_id, t, sample, last_count, step.inside, step.named_inside
        )
        session.execute(
            update(AttendanceSession)
            .where(AttendanceSession.id == session_id, AttendanceSession.processed_until < t)
            .values(processed_until=t)
        )


def last_head_count(session: Session, session_id: int) -> HeadCount | None:
    return session.scalar(
        select(HeadCount)
        .where(HeadCount.session_id == session_id)
        .order_by(HeadCount.seq.desc())
        .limit(1)
    )


def last_sightings(session: Session, session_id: int) -> dict[str, float]:
    """When each marked person was last seen in this session."""
    return _marked_times(session, session_id, AttendanceRecord.last_seen)


def already_marked(session: Session, session_id: int) -> dict[str, float]:
    """Everyone the session has marked: name -> the time they first appeared."""
    return _marked_times(session, session_id, AttendanceRecord.first_seen)


def _marked_times(session: Session, session_id: int, column: Any) -> dict[str, float]:  # noqa: ANN401
    rows = session.execute(
        select(Person.name, column)
        .join(Person, Person.id == AttendanceRecord.person_id)
        .where(AttendanceRecord.session_id == session_id, column.is_not(None))
    ).all()
    return {name: float(t) for name, t in rows}
