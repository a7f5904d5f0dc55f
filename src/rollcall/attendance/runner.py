"""Runs a session: source -> random-time samples -> monitor -> recorder, resumable after a kill."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import select

from rollcall.alerts.outbox import deliver_quietly
from rollcall.analysis.sample import Analyzer
from rollcall.attendance import lifecycle, run_lease
from rollcall.attendance.lifecycle import CLOSED, SessionEnded
from rollcall.attendance.participants.store import take_early_events
from rollcall.attendance.recorder import SessionRecorder, retry_while_unreachable
from rollcall.attendance.report import outside_slot, row_zone
from rollcall.attendance.schedule import SamplingSchedule
from rollcall.attendance.status import window_for
from rollcall.capture.stream import LATE_SKIP_S
from rollcall.config import Settings
from rollcall.errors import RollcallError, SourceError
from rollcall.source_text import hides_secrets, recording_name, recording_print
from rollcall.storage.db import Database
from rollcall.storage.models import AttendanceSession, Course, Person
from rollcall.storage.names import name_order
from rollcall.storage.sessions import (
    SessionSettings,
    attendance_rows,
    course_people,
    create_session,
    get_session,
    last_seq,
    require_course,
)
from rollcall.vision.engine import FaceEngine
from rollcall.vision.sources import FrameSource, open_source
from rollcall.wallclock import as_utc, in_zone, zone_info

log = logging.getLogger(__name__)
START_RETRY = 120.0  # seconds a run waits at start-up for an unreachable database


@dataclass(frozen=True)
class RunOptions:
    session: str
    source: str | None = None
    course: str | None = None
    min_interval: float = 20.0
    max_interval: float = 90.0
    verify_every: float = 300.0
    leave_after: float = 180.0
    seed: int | None = None
    duration: float | None = None  # stop after this many seconds of source time
    resume: bool = False
    folder_step: float = 60.0
    started_at: datetime | None = None
    reconnect_timeout: float = 30.0  # a camera/stream silent this long ends the session
    realtime: bool = False  # play a recording at its own pace, as if it were live
    # How a new session is watched; stored with it so that a resume continues the same way.
    mode: str = "meeting"
    entrance_fps: float | None = None
    entrance_line: str | None = None
    # The session settings given on the command line (not defaults): a resume checks them
    # against the session's own, which it keeps.
    given: frozenset[str] = frozenset()


def _resumed_differently(options: RunOptions, row) -> list[str]:  # noqa: ANN001
    """The settings given to a resume that are not the session's (which it keeps)."""
    stored = {
        "course": row.course.name if row.course is not None else None,
        "min_interval": row.min_interval,
        "max_interval": row.max_interval,
        "verify_every": row.verify_every,
        "leave_after": row.leave_after,
        "seed": row.seed,
    }
    return [
        f"--{key.replace('_', '-')} {getattr(options, key)} (the session's: {stored[key]})"
        for key in stored
        if key in options.given and getattr(options, key) != stored[key]
    ]


def _same_recording(session: str, row, given: str) -> None:  # noqa: ANN001
    """A resume's --source must be the session's own recording (it may have been moved or
    renamed: its fingerprint says so) or, for a live session, a live source (the camera's
    address may change): frames of another recording would go on from where the first one
    stopped. A session made before fingerprints were kept needs the same file name."""
    stored = row.source
    before, now = recording_name(stored), recording_name(given)
    if before is None and now is None:
        return
    if before is None or now is None:
        was = "a live source" if before is None else "a recording"
        raise RollcallError(
            f"session {session!r} was taken from {was} ({stored}), not from {given}; resume "
            "it from the same kind of source"
        )
    given_print = recording_print(given)
    if given_print is None:
        return  # not a file that can be read: opening it says so
    same = row.source_print == given_print if row.source_print else before == now
    if not same:
        raise RollcallError(
            f"session {session!r} was taken from {before}; {now} is another recording: resume "
            f"it from the same one (--source where {before} is now), or start a new session"
        )


@dataclass
class RunStats:
    """What a run cost, for the benchmark and the closing summary."""

    samples: int = 0
    missed: int = 0  # a live source's sampling times already past when the run got to them
    verifications: int = 0
    faces_embedded: int = 0
    count_cpu: list[float] = field(default_factory=list)  # CPU seconds per head count
    verify_cpu: list[float] = field(default_factory=list)  # extra CPU seconds per verification
    wall: float = 0.0
    source_seconds: float = 0.0
    stopped_by: str = "end of source"
    started_at: datetime | None = None  # the session's wall-clock start (t = 0)
    started_from: str = ""  # where that start came from, for the closing summary


Progress = Callable[[float, float | None], None]


def _expected_people(db: Database, options: RunOptions) -> tuple[list[Person], object]:
    with db.session() as session:
        if options.course:
            course = require_course(session, options.course)
            people = course_people(session, course)
            if not people:
                raise RollcallError(f"course {options.course!r} has no one on its roster")
            return people, course
        people = sorted(session.scalars(select(Person)), key=lambda p: name_order(p.name))
        if not people:
            raise RollcallError("no one is enrolled yet: enroll people first (rollcall enroll)")
        return people, None


@dataclass(frozen=True)
class StoredMode:
    mode: str
    fps: float | None
    line: str | None


def stored_mode(db: Database, name: str) -> StoredMode | None:
    """How an existing session is watched (None when there is no such session)."""
    with db.session() as session:
        row = get_session(session, name)
        if row is None:
            return None
        return StoredMode(row.mode, row.entrance_fps, row.entrance_line)


def _key_then_session(
    db: Database, options: RunOptions, started_at: datetime | None
) -> tuple[int, SessionSettings, list[str]]:
    """prepare_session, once the template key has been checked: an unusable key (missing,
    another) is refused before a session row exists, not after (it left one behind)."""
    _ = db.cipher
    return prepare_session(db, options, started_at, lease=True)


def prepare_session(
    db: Database, options: RunOptions, started_at: datetime | None = None, lease: bool = False
) -> tuple[int, SessionSettings, list[str]]:
    """Create the session (or find it, to resume); returns (id, its settings, expected names).

    A new session starts at `started_at` (else options.started_at, else now). With ``lease``
    (a run that will take the session itself, not a server's agents) this process takes the
    session's run lease: refused while another run holds it (attendance.run_lease).
    """
    with db.session() as session:
        row = get_session(session, options.session)
        if options.resume:
            if row is None:
                raise RollcallError(f"no session named {options.session!r} to resume")
            if row.state == CLOSED:
                raise RollcallError(f"session {options.session!r} is already closed")
            if options.started_at is not None:
                raise RollcallError(
                    "--started-at sets when a new session started; a resumed session keeps "
                    "the start it was given"
                )
            differ = _resumed_differently(options, row)
            if differ:
                raise RollcallError(
                    f"session {options.session!r} keeps the settings it was started with; "
                    f"drop {', '.join(differ)}"
                )
            if options.source and options.source != row.source:
                _same_recording(options.session, row, options.source)
            if not options.source and hides_secrets(row.source):
                raise RollcallError(
                    f"session {options.session!r} was stored without its source's password "
                    f"({row.source}); give --source again to resume it"
                )
            if lease:
                # Locked while judged (PostgreSQL, MariaDB): two resumes typed at once must
                # not both find the lease free.
                session.refresh(row, with_for_update=True)
                run_lease.take(row)
            lifecycle.resume(session, row)
            if row.mode == "entrance" and options.entrance_fps:
                row.entrance_fps = options.entrance_fps  # --fps given again: from now on
            expected = [name for _, name in attendance_rows(session, row.id)]
            settings = SessionSettings(
                options.source or row.source,
                row.seed,
                row.min_interval,
                row.max_interval,
                row.verify_every,
                row.leave_after,
                row.mode,
                row.entrance_fps,
                row.entrance_line,
            )
            return row.id, settings, expected
        if row is not None and row.state == CLOSED:
            raise RollcallError(
                f"a session named {options.session!r} already exists and is closed; pick a new name"
            )
        if row is not None:
            raise RollcallError(
                f"a session named {options.session!r} already exists; "
                "continue it with --resume or pick a new name"
            )
    if not options.source:
        raise RollcallError("--source is needed to start a session")
    if not 0 < options.min_interval <= options.max_interval:
        # Refused before the session exists (the schedule would refuse it at its first
        # sample, leaving a session that can never be resumed).
        raise RollcallError(
            "sampling gaps must be 0 < min <= max (got "
            f"{options.min_interval:g}, {options.max_interval:g})"
        )
    people, course = _expected_people(db, options)
    seed = (
        options.seed if options.seed is not None else int(np.random.SeedSequence().entropy % 2**31)
    )
    settings = SessionSettings(
        options.source,
        seed,
        options.min_interval,
        options.max_interval,
        options.verify_every,
        options.leave_after,
        options.mode,
        options.entrance_fps,
        options.entrance_line,
    )
    with db.session() as session:
        course_row = require_course(session, options.course) if options.course else None
        fresh = [session.merge(p) for p in people]
        row = create_session(
            session, options.session, settings, fresh, course_row,
            started_at or options.started_at,
            zone=getattr(zone_info(db.settings.timezone), "key", None),  # None: no IANA name
        )  # fmt: skip
        if course_row is not None:
            # Students who joined the meeting before the session was started.
            take_early_events(session, row)
            _warn_outside_slot(row, course_row, db.settings.timezone, options.started_at is None)
        if lease:
            run_lease.take(row)
        row.source_print = recording_print(options.source)
        return row.id, settings, [p.name for p in people]


def _warn_outside_slot(
    row: AttendanceSession, course: Course, default_zone: str | None, guessed: bool = False
) -> None:
    """Say so when a session begins after its course's slot ended (``guessed``: its start was
    not given, but read from the recording or the clock)."""
    zone = row_zone(row, default_zone)
    window = window_for(row.started_at, course.start_time, course.end_time,
                        course.grace_minutes, zone)  # fmt: skip
    if window is not None and outside_slot(window, None):
        log.warning(
            "%s's slot is %s-%s (%s); this session started at %s, after it: it is judged "
            "present or absent only%s",
            course.name, course.start_time, course.end_time, getattr(zone, "key", zone),
            in_zone(row.started_at, zone).strftime("%Y-%m-%d %H:%M"),
            " (if the recording was made in the slot, give --started-at with its real start)"
            if guessed else "",
        )  # fmt: skip


def run_session(
    db: Database,
    settings: Settings,
    engine: FaceEngine,
    options: RunOptions,
    progress: Progress | None = None,
    should_stop: Callable[[], bool] = lambda: False,
) -> RunStats:
    """Take attendance until the source ends, --duration passes, or the run is stopped.

    A stop (KeyboardInterrupt, which the CLI also raises on SIGTERM, or should_stop) leaves
    the session interrupted and resumable; the end of a recording, --duration and a source lost
    for good close it.
    """
    stats = RunStats()
    source = None
    if not options.resume:
        # Open the source first: a mistyped --source must not leave a session behind.
        source = open_source(
            options.source or "",
            folder_step=options.folder_step,
            reconnect_timeout=options.reconnect_timeout,
        )
        stats.started_at, stats.started_from = _start_of(options, source)
    try:
        # Start-up reads and the session's creation also ride out a database restart.
        session_id, conf, expected = retry_while_unreachable(
            lambda: _key_then_session(db, options, stats.started_at), START_RETRY
        )
    except BaseException:
        if source is not None:
            source.close()
        raise
    recorder = SessionRecorder(db, session_id, settings.evidence_dir, embedder=engine.embedder.name)
    try:
        with run_lease.Heartbeat(db, session_id):
            _take_attendance(
                db, settings, engine, options, progress, should_stop, stats, recorder, source,
                conf, expected,
            )  # fmt: skip
    except KeyboardInterrupt:
        # Stopped before sampling began (loading the gallery, reopening the source), or a
        # second Ctrl-C cut the first one's write short: either way, leave it resumable.
        stats.stopped_by = "interrupted"
        recorder.interrupt()
    except RollcallError:
        # E.g. a resumed recording that was moved away: no run is attaching to the session,
        # so it must not stay "running" (shown live, intervals open). It stays resumable.
        recorder.interrupt()
        raise
    finally:
        if source is not None:
            source.close()  # sources close idempotently; sampling closed it already
    return stats


def _start_of(options: RunOptions, source: FrameSource) -> tuple[datetime, str]:
    """When t = 0 of the source happened on the wall clock, and how that is known."""
    if options.started_at is not None:
        return options.started_at, "--started-at"
    recorded_at = getattr(source, "recorded_at", None)
    if recorded_at is not None:
        return recorded_at, getattr(source, "recorded_at_from", "the recording")
    return datetime.now(UTC), "the clock when the run started"


def _take_attendance(
    db: Database,
    settings: Settings,
    engine: FaceEngine,
    options: RunOptions,
    progress: Progress | None,
    should_stop: Callable[[], bool],
    stats: RunStats,
    recorder: SessionRecorder,
    source: FrameSource | None,
    conf: SessionSettings,
    expected: list[str],
) -> None:
    analyzer = Analyzer(db, settings, engine)
    session_id = recorder.session_id
    gallery = retry_while_unreachable(analyzer.gallery, START_RETRY)
    missing = sorted(set(expected) - set(gallery.names))
    if missing:
        log.warning("no %s templates for: %s", engine.embedder.name, ", ".join(missing))
    resume_from, done_seq = (
        retry_while_unreachable(lambda: _progress(db, session_id), START_RETRY)
        if options.resume
        else (None, None)
    )
    schedule = SamplingSchedule(conf.min_interval, conf.max_interval, conf.seed)
    # The seeded schedule replays identically; samples already committed are skipped by number.
    samples = (s for s in schedule if done_seq is None or s[0] > done_seq)
    started = time.perf_counter()
    last_t = resume_from or 0.0
    if source is None:
        source = open_source(
            conf.source,
            folder_step=options.folder_step,
            reconnect_timeout=options.reconnect_timeout,
        )
    # A live source restarts its clock at 0 when reopened: its frames go on the session's
    # timeline at the wall time since the session started.
    offset, began = timeline_of(db, session_id, source, resume_from, recorder)
    gaps_seen = 0
    # With --realtime, sample t of a recording is taken no earlier than t seconds after the
    # start (of this run, when resuming): a replay behaves and loads the machine like a live one.
    paced_from = time.monotonic() - (resume_from or 0.0)
    ended: SessionEnded | None = None
    missed: list[float] = []  # sampling times of a live source passed unseen, in a row
    try:
        for seq, t in samples:
            if options.duration is not None and t > options.duration:
                stats.stopped_by = "duration"
                break
            if source.live and t < offset + source.elapsed() - LATE_SKIP_S:
                stats.missed += 1  # due while nothing ran (see LATE_SKIP_S)
                if t > began:  # (those of an outage before this run are in its gap event)
                    missed.append(t)
                continue
            if missed:  # the run of them on the timeline, as the agent's are
                recorder.add_event(
                    missed[0], "gap", f"{len(missed)} sampling time(s) already past when the "
                    "run got to them: missed",
                )  # fmt: skip
                missed.clear()
            if should_stop():
                stats.stopped_by = "stopped"
                break
            if options.realtime and not source.live:
                time.sleep(max(0.0, paced_from + t - time.monotonic()))
            frame = source.read(not_before=max(0.0, t - offset))
            if frame is None:
                break
            ft = frame.t + offset
            _record_gaps(source, recorder, offset, gaps_seen)
            gaps_seen = len(getattr(source, "gaps", ()))
            analyzed = analyzer.analyze(session_id, seq, ft, frame.image)
            outcome = analyzed.outcome
            stats.samples += 1
            stats.count_cpu.append(analyzed.count_cpu)
            if outcome is not None and outcome.verified:
                stats.verifications += 1
                stats.verify_cpu.append(analyzed.verify_cpu)
            stats.faces_embedded += outcome.embedded if outcome is not None else 0
            last_t = ft
            if progress:
                progress(ft, source.duration)
    except KeyboardInterrupt:
        stats.stopped_by = "interrupted"
    except SessionEnded as exc:
        stats.stopped_by = str(exc)
        ended = exc
    except SourceError as exc:
        recorder.add_event(last_t, "source_lost", str(exc))
        stats.stopped_by = f"source lost: {exc}"
    finally:
        source.close()
    stats.wall = time.perf_counter() - started
    if stats.stopped_by in ("interrupted", "stopped"):
        recorder.interrupt()
        stats.source_seconds = max(0.0, last_t - began)
        return
    if isinstance(ended, SessionEnded):  # closed or deleted from elsewhere: nothing to add
        stats.source_seconds = max(0.0, last_t - began)
        return
    end_t = last_t
    cut = getattr(source, "cut_short", None)
    if cut is not None:
        recorder.add_event(
            cut[1], "source_lost", f"the recording ends at {cut[1]:.1f} s, not at the "
            f"{cut[0]:.1f} s its header gives: cut short (a full disk, a crash?)",
        )  # fmt: skip
    if stats.stopped_by == "end of source" and source.duration is not None:
        end_t = max(last_t, source.duration)
    if stats.stopped_by == "duration" and options.duration is not None:
        end_t = options.duration
    monitor = retry_while_unreachable(lambda: analyzer.monitor_of(session_id), START_RETRY)
    recorder.close(monitor.finish(), end_t)
    # The close queued the course's alerts in the outbox; send them now if SMTP is set up.
    deliver_quietly(db, settings.mailer)
    stats.wall = time.perf_counter() - started
    stats.source_seconds = max(0.0, end_t - began)


def live_offset(db: Database, session_id: int, source: FrameSource) -> float:
    """Where a live source's clock (0 when it was opened) sits on the session's timeline: the
    wall time since the session started, less the source's own. A run resumed after a crash or
    a reboot goes on at the time it is now, not where the last run stopped (its frames would be
    stamped early by the whole outage: a late arrival marked on time), and a session started
    with an earlier --started-at begins at that much. The agent places its frames the same way."""
    from rollcall.storage.models import AttendanceSession

    with db.session() as session:
        started = as_utc(session.get(AttendanceSession, session_id).started_at)
    return max(0.0, (datetime.now(UTC) - started).total_seconds() - source.elapsed())


def timeline_of(
    db: Database,
    session_id: int,
    source: FrameSource,
    resume_from: float | None,
    recorder: SessionRecorder,
) -> tuple[float, float]:
    """Where this run's frames go on the session's timeline: (the offset added to the
    source's times, the time this run's part begins). A live session resumed after the run
    was down keeps the outage on its timeline as a gap."""
    offset = 0.0
    if source.live:
        # Never back before where the last run stopped (a clock set back meanwhile).
        offset = max(live_offset(db, session_id, source), resume_from or 0.0)
    # (resume_from 0: a session made for an agent and never analyzed, nothing stopped.)
    if source.live and resume_from and offset - resume_from > LATE_SKIP_S:
        recorder.add_event(
            resume_from, "gap", f"nothing was analyzed for {offset - resume_from:.0f} s: the "
            "run had stopped",
        )  # fmt: skip
    return offset, max(resume_from or 0.0, offset)


def _record_gaps(source: object, recorder: SessionRecorder, offset: float, seen: int) -> None:
    """A live source that dropped and came back reports the outage; keep it on the timeline."""
    for start, end in list(getattr(source, "gaps", ()))[seen:]:
        recorder.add_event(
            start + offset, "gap", f"source delivered no frames for {end - start:.1f} s"
        )


def _progress(db: Database, session_id: int) -> tuple[float | None, int | None]:
    """How far along its timeline a session got, and its last committed sample number."""
    from rollcall.storage.models import AttendanceSession

    with db.session() as session:
        done = last_seq(session, session_id)
        if done is None:
            return None, None
        row = session.get(AttendanceSession, session_id)
        return float(row.processed_until or 0.0), done
