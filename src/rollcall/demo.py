"""The demo: real photos -> a generated gallery recording -> a real session, scored against truth.

Everything here runs the same code as `rollcall enroll`, `course add` and `run`; only the meeting
is made up. The photo a person shows in the video is never one they were enrolled from, and only
photos with exactly one clear face go into the video, so the script's truth (who is visible, how
many faces are on screen) is the truth the detector should find.
"""

from __future__ import annotations

import hashlib
import json
import random
import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from rollcall.attendance.report import SessionReport, build_report
from rollcall.attendance.runner import Progress, RunOptions, RunStats, run_session
from rollcall.config import Settings
from rollcall.enrollment import Consent, enroll_photos
from rollcall.errors import RollcallError
from rollcall.storage.db import Database
from rollcall.storage.people import get_person, list_people
from rollcall.storage.sessions import (
    get_session,
    head_counts,
    intervals_by_person,
    person_ids,
    require_session,
    sightings,
    upsert_course,
)
from rollcall.synth import (
    AttendanceScore,
    AttendanceScript,
    NamedFace,
    Recording,
    SampleRecord,
    SampleScore,
    Tile,
    compose_gallery,
    make_script,
    read_photo,
    render_recording,
    score_attendance,
    score_samples,
)
from rollcall.synth.labels import Platform
from rollcall.synth.scenarios import describe, hard_meeting
from rollcall.vision.detect import FaceDetector, create_detector
from rollcall.vision.engine import FaceEngine
from rollcall.vision.quality import EnrollmentPolicy, check_sharpness, choose_enrollment_face

Note = Callable[[str], None]


@dataclass(frozen=True)
class DemoConfig:
    """One demo meeting: who, how long, how it is recorded and how often it is sampled."""

    people: int = 12  # enrolled participants (the course roster, absentees included)
    strangers: int = 3  # participants who are never enrolled
    minutes: float = 10.0
    size: tuple[int, int] = (1280, 720)
    fps: float = 2.0
    seed: int = 1
    enroll_per_person: int = 4  # templates per person; the video photo is never one of them
    enroll_tries: int = 10  # photos tried per person to get them
    min_interval: float = 10.0
    max_interval: float = 30.0
    verify_every: float = 300.0
    leave_after: float = 180.0
    crf: int = 28  # visible compression, like a meeting recording
    # The hard situations of synth.scenarios to script in (none: a plain make_script meeting);
    # ``extras`` more unenrolled people are cast to sit in at cameras or hang on walls.
    scenarios: tuple[str, ...] = ()
    extras: int = 0
    page_size: int = 49
    platform: Platform = "zoom"  # whose name labels the gallery draws (zoom, teams, meet)


@dataclass(frozen=True)
class Participant:
    name: str
    video_photo: Path
    enrolled_from: tuple[str, ...] = ()  # photo files that gave a template (empty: a stranger)


@dataclass
class Cast:
    """Who is in the demo meeting and which photo each one shows."""

    roster: list[Participant]
    strangers: list[Participant]
    notes: list[str] = field(default_factory=list)
    extras: list[Participant] = field(default_factory=list)  # never join; sit in, or posters

    @property
    def video_photos(self) -> dict[str, list[Path]]:
        everyone = [*self.roster, *self.strangers, *self.extras]
        return {p.name: [p.video_photo] for p in everyone}


# -- choosing photos and people ---------------------------------------------------------------


def video_photo_problem(
    engine: FaceEngine,
    path: Path,
    policy: EnrollmentPolicy,
    size: tuple[int, int] = (1280, 720),
    tile_counts: Sequence[int] = (1,),
) -> str | None:
    """Why a photo cannot be shown in the video, or None when it holds exactly one clear face.

    Stricter than enrollment, which tolerates a small second face: in a tile every face found
    counts, so a bystander would make the scripted head count wrong. The photo is also drawn as
    it will be recorded, as the first tile of galleries of ``tile_counts`` tiles on a ``size``
    canvas: enlarged in a big tile, half a face at the edge of a photo can become a detection.
    """
    lenient = _lenient_detector(engine)
    try:
        image = read_photo(path)
        faces = engine.detect(image, pad_retry=True)
        if len(faces) != 1:
            return f"{len(faces)} faces found"
        choose_enrollment_face(faces, policy)
        check_sharpness(engine.embedder.align(image, faces)[0], policy)
    except RollcallError as exc:
        return str(exc)
    if len(lenient.detect(image)) > 1:
        return "a second, faint face"
    for count in sorted(set(tile_counts)):
        # Every slot of the gallery, so the photo is tried at several sub-pixel placements.
        tiles = [Tile(path.parent.name, path)] * count
        canvas, _ = compose_gallery(tiles, size)
        found = len(lenient.detect(canvas))
        if found != count:
            return f"{found} faces found in a gallery of {count} tiles of this photo"
    return None


def _lenient_detector(engine: FaceEngine) -> FaceDetector:
    """The engine's detector with a lower score threshold, so a near miss counts as a face too:
    a bystander scoring just under the threshold here can score just over it in a recording."""
    detector = engine.detector
    threshold = getattr(detector, "score_threshold", None)
    if threshold is None:
        return detector
    cached = _LENIENT.get(id(engine))
    if cached is None:
        cached = create_detector(detector.name, score_threshold=max(0.3, threshold - 0.25))
        _LENIENT.clear()
        _LENIENT[id(engine)] = cached
    return cached


_LENIENT: dict[int, FaceDetector] = {}


def _tile_counts(total: int) -> tuple[int, ...]:
    """Gallery sizes a photo is checked at: two tiles, half full and full.

    Not alone: a small photo blown up to a whole 1080p frame gives faint false detections that
    no meeting of several people would show, and it rejected usable photos.
    """
    low = min(2, total)
    return tuple(sorted({max(1, low), max(1, (total + 1) // 2), max(1, min(total, 49))}))


def _digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _enrolled_digests(db: Database, name: str, embedder: str) -> set[str]:
    with db.session() as session:
        person = get_person(session, name)
        if person is None:
            return set()
        return {t.source_sha256 for t in person.templates if t.embedder == embedder}


def _pick_video_photo(
    engine: FaceEngine,
    photos: Sequence[Path],
    avoid: set[str],
    policy: EnrollmentPolicy,
    rng: random.Random,
    size: tuple[int, int],
    tile_counts: Sequence[int],
) -> tuple[Path | None, list[Path]]:
    """The first photo (in seeded order) fit for the video, and the others in that order.

    Photos whose digest is in ``avoid`` (already a template of this person in this database)
    are never shown: the video must not contain a picture the person was enrolled from.
    """
    order = sorted(photos)
    rng.shuffle(order)
    for i, path in enumerate(order):
        if _digest(path) in avoid:
            continue
        if video_photo_problem(engine, path, policy, size, tile_counts) is None:
            return path, order[:i] + order[i + 1 :]
    return None, order


# The demo's people are public photos (Labeled Faces in the Wild), not people who signed a form:
# their consent record says so, and `rollcall people` shows it.
DEMO_CONSENT = Consent("demo: public photos from shared/data/faces", "rollcall demo")


def _enroll(
    db: Database,
    engine: FaceEngine,
    name: str,
    photos: Sequence[Path],
    config: DemoConfig,
    policy: EnrollmentPolicy,
) -> tuple[tuple[str, ...], list[tuple[str, str]]]:
    """Enroll from the first photos that pass, up to ``enroll_per_person`` templates.

    Photos are tried a few at a time, at most ``enroll_tries`` of them: one template from a
    refused-heavy folder (small, blurred crops) matches a small gallery tile poorly.
    """
    usable: list[str] = []
    refused: list[tuple[str, str]] = []
    todo = list(photos[: config.enroll_tries])
    while todo and len(usable) < config.enroll_per_person:
        batch = todo[: config.enroll_per_person - len(usable)]
        todo = todo[len(batch) :]
        result = enroll_photos(db, engine, name, batch, policy, consent=DEMO_CONSENT)
        usable.extend(Path(p).name for p in (*result.accepted, *result.duplicates))
        refused.extend(result.refused)
    return tuple(usable), refused


def choose_cast(
    db: Database,
    engine: FaceEngine,
    people: Mapping[str, Sequence[Path]],
    config: DemoConfig,
    note: Note = lambda _m: None,
    policy: EnrollmentPolicy | None = None,
) -> Cast:
    """Pick and enroll the roster, pick the strangers; RollcallError when there are too few.

    People this database already knows are preferred for the roster and avoided as strangers,
    so running the demo again in the same ROLLCALL_HOME keeps strangers strangers.
    """
    policy = policy or EnrollmentPolicy()
    rng = random.Random(config.seed)  # nosec B311 - seeded for reproducible synthetic data, not security
    check = (config.size, _tile_counts(config.people + config.strangers))
    with db.session() as session:
        known = {p.name for p in list_people(session, engine.embedder.name) if p.templates}
    names = sorted(people)
    rng.shuffle(names)
    candidates = sorted(
        (n for n in names if len(people[n]) >= 2), key=lambda n: n not in known
    )  # stable: keeps the seeded order within each group
    roster: list[Participant] = []
    tried: set[str] = set()
    for name in candidates:
        if len(roster) == config.people:
            break
        tried.add(name)
        avoid = _enrolled_digests(db, name, engine.embedder.name)
        prng = random.Random(f"{config.seed}:{name}")  # nosec B311 - seeded for reproducible synthetic data, not security
        video, others = _pick_video_photo(engine, people[name], avoid, policy, prng, *check)
        if video is None:
            note(f"{name}: left out, no photo with exactly one clear face for the video")
            continue
        shown = _digest(video)  # a byte-identical copy under another name is the same photo
        others = [p for p in others if _digest(p) != shown]
        usable, refused = _enroll(db, engine, name, others, config, policy)
        if not usable and not avoid:
            reasons = "; ".join(f"{Path(f).name}: {r}" for f, r in refused) or "none left"
            note(f"{name}: left out, no enrollment photo was accepted ({reasons})")
            continue
        roster.append(Participant(name, video, usable or ("earlier templates",)))
    strangers: list[Participant] = []
    extras: list[Participant] = []
    for name in [n for n in names if n not in tried and n not in known]:
        if len(strangers) == config.strangers and len(extras) == config.extras:
            break
        prng = random.Random(f"{config.seed}:{name}")  # nosec B311 - seeded for reproducible synthetic data, not security
        video, _ = _pick_video_photo(engine, people[name], set(), policy, prng, *check)
        if video is None:
            continue
        if len(strangers) < config.strangers:
            strangers.append(Participant(name, video))
        else:
            extras.append(Participant(name, video))
    if len(roster) < config.people or len(roster) < 2:
        raise RollcallError(
            f"only {len(roster)} of the {len(people)} people in the photo folder can be used "
            f"(each needs one photo with exactly one clear face for the video and another one "
            f"that enrollment accepts); {config.people} were asked for: lower --people or add "
            "photos (one sub-folder of photos per person)"
        )
    if len(strangers) < config.strangers:
        note(
            f"only {len(strangers)} of {config.strangers} strangers: everyone else in the folder "
            "is on the roster, already enrolled here or has no usable photo"
        )
    return Cast(roster, strangers, extras=extras)


# -- the meeting ----------------------------------------------------------------------------


def record_meeting(
    cast: Cast, config: DemoConfig, path: Path
) -> tuple[AttendanceScript, Recording]:
    """A seeded script for the cast and its gallery recording at ``path``."""
    roster, strangers = [p.name for p in cast.roster], [p.name for p in cast.strangers]
    if config.scenarios:
        script = hard_meeting(
            roster,
            config.minutes * 60.0,
            config.seed,
            strangers,
            extras=[p.name for p in cast.extras],
            scenarios=config.scenarios,
            page_size=config.page_size,
        )
    else:
        script = make_script(
            roster, config.minutes * 60.0, config.seed, strangers, page_size=config.page_size
        )
    recording = render_recording(
        script,
        cast.video_photos,
        path,
        config.size,
        config.fps,
        crf=config.crf,
        seed=config.seed,
        platform=config.platform,
    )
    truth = {
        "script": script.to_dict(),
        "situations": describe(script),
        "video_photos": {n: str(p) for n, p in recording.photos.items()},
        "enrolled_from": {p.name: list(p.enrolled_from) for p in cast.roster},
        "screens": recording.screens_json(),
    }
    path.with_suffix(".json").write_text(json.dumps(truth, indent=2))
    return script, recording


def unique_session_name(db: Database, seed: int, now: datetime | None = None) -> str:
    base = f"demo-{seed}-{(now or datetime.now()):%Y%m%d-%H%M%S}"
    with db.session() as session:
        name, n = base, 1
        while get_session(session, name) is not None:
            n += 1
            name = f"{base}-{n}"
    return name


# -- scoring --------------------------------------------------------------------------------


@dataclass(frozen=True)
class HeadCountCheck:
    t: float
    counted: int
    visible: int  # faces on screen in the script at t, strangers included


@dataclass(frozen=True)
class DemoScore:
    """The run's report compared with the script it was recorded from."""

    attendance: AttendanceScore
    absentees: list[str]  # roster names the script never brings
    wrongly_present_absentees: list[str]
    head_counts: list[HeadCountCheck]
    min_visible_s: float
    speed: float  # seconds of recording per second of wall time
    median_interval: float | None  # between consecutive head counts, seconds
    samples: SampleScore = field(default_factory=SampleScore)

    @property
    def head_counts_right(self) -> int:
        return sum(1 for h in self.head_counts if h.counted == h.visible)

    @property
    def head_count_accuracy(self) -> float | None:
        return self.head_counts_right / len(self.head_counts) if self.head_counts else None

    def to_json(self) -> dict[str, object]:
        a = self.attendance
        errors = a.first_seen_errors
        return {
            "false_present": a.false_present,
            "missed": a.missed,
            "true_present": a.true_present,
            "absentees": self.absentees,
            "absentees_absent": [
                n for n in self.absentees if n not in self.wrongly_present_absentees
            ],
            "min_visible_s": self.min_visible_s,
            "first_seen_error_median": _r(a.median_first_seen_error),
            "first_seen_error_max": _r(a.max_first_seen_error),
            "first_seen_errors": {n: round(e, 2) for n, e in errors.items()},
            "head_counts": len(self.head_counts),
            "head_counts_right": self.head_counts_right,
            "head_count_accuracy": _r(self.head_count_accuracy, 4),
            "head_count_misses": [
                {"t": round(h.t, 2), "counted": h.counted, "visible": h.visible}
                for h in self.head_counts
                if h.counted != h.visible
            ],
            "median_interval": _r(self.median_interval),
            "speed_x_realtime": _r(self.speed, 1),
            "named_faces": self.samples.named_faces,
            "wrong_names": [
                {"t": round(w.t, 2), "named": w.person, "shown": w.shown}
                for w in self.samples.wrong_names
            ],
            "wrong_names_per_1000": round(self.samples.wrong_per_1000, 2),
            "credited_seconds_while_absent": round(self.samples.credited_absent_s, 1),
            "credited_while_absent": {
                n: round(v, 1) for n, v in self.samples.credited_absent.items()
            },
            "join_error_median_gaps": _r(
                self.samples.median_error_in_gaps(self.samples.join_errors)
            ),
            "leave_error_median_gaps": _r(
                self.samples.median_error_in_gaps(self.samples.leave_errors)
            ),
        }


def _r(value: float | None, digits: int = 2) -> float | None:
    return None if value is None else round(value, digits)


def score_session(
    db: Database,
    session_name: str,
    script: AttendanceScript,
    stats: RunStats,
    min_visible_s: float,
    recording: Recording | None = None,
) -> tuple[SessionReport, DemoScore]:
    """The stored report and its score: marks vs who was visible, counts vs faces on screen,
    and (given the recording's truth) every named face of every sample."""
    with db.session() as session:
        row = require_session(session, session_name)
        report = build_report(session, row, db.settings.timezone)
        # Exact sample times (the report rounds them) so a count near a change is judged right.
        counts = head_counts(session, row.id)
        checks = [HeadCountCheck(h.t, h.count, len(script.visible_at(h.t))) for h in counts]
        named: dict[int, list[NamedFace]] = {}
        for s, name in sightings(session, row.id):
            if name is not None:
                named.setdefault(s.seq, []).append(NamedFace(name, (s.x, s.y, s.w, s.h)))
        records = [SampleRecord(h.t, h.count, tuple(named.get(h.seq, ()))) for h in counts]
        names = [a.person for a in report.attendance]
        ids = person_ids(session, names)
        by_id = intervals_by_person(session, row.id)
        spans = {
            name: [
                (iv.start_t, iv.end_t if iv.end_t is not None else iv.last_seen)
                for iv in by_id.get(ids[name], [])
            ]
            for name in names
        }
        end_t = row.duration if row.duration is not None else script.duration_s
    observed = {a.person: a.first_seen for a in report.attendance}
    attendance = score_attendance(script, observed, observed, min_visible_s=min_visible_s)
    wrong = [n for n in script.absent if observed.get(n) is not None]
    gaps = [b.t - a.t for a, b in zip(checks, checks[1:], strict=False)]
    speed = stats.source_seconds / stats.wall if stats.wall > 0 else 0.0
    median_gap = statistics.median(gaps) if gaps else None
    per_sample = SampleScore()
    if recording is not None:
        first_last = {a.person: (a.first_seen, a.last_seen) for a in report.attendance}
        per_sample = score_samples(recording.tiles_at, records, spans, first_last, script, end_t)
    return report, DemoScore(
        attendance, script.absent, wrong, checks, min_visible_s, speed, median_gap, per_sample
    )


# -- the whole demo --------------------------------------------------------------------------


@dataclass
class DemoRun:
    session: str
    cast: Cast
    script: AttendanceScript
    recording: Recording
    stats: RunStats
    report: SessionReport
    score: DemoScore


def run_demo(
    db: Database,
    settings: Settings,
    engine: FaceEngine,
    people: Mapping[str, Sequence[Path]],
    config: DemoConfig,
    video_dir: Path,
    *,
    note: Note = lambda _m: None,
    stage: Note = lambda _m: None,
    progress: Progress | None = None,
    session_name: str | None = None,
) -> DemoRun:
    """Cast, enroll, record, take attendance with `run_session` and score it against the script."""
    stage("Choosing participants and enrolling them")
    cast = choose_cast(db, engine, people, config, note)
    name = session_name or unique_session_name(db, config.seed)
    with db.session() as session:
        upsert_course(session, name, [p.name for p in cast.roster])
    stage(f"Recording a {config.minutes:g}-minute gallery view")
    script, recording = record_meeting(cast, config, video_dir / f"{name}.mp4")
    stage("Taking attendance")
    options = RunOptions(
        session=name,
        source=str(recording.path),
        course=name,
        min_interval=config.min_interval,
        max_interval=config.max_interval,
        verify_every=config.verify_every,
        leave_after=config.leave_after,
        seed=config.seed,
    )
    stats = run_session(db, settings, engine, options, progress)
    # Someone on screen for a whole longest gap is certain to be in at least one sample.
    report, score = score_session(
        db, name, script, stats, min_visible_s=config.max_interval, recording=recording
    )
    return DemoRun(name, cast, script, recording, stats, report, score)


def template_count(db: Database, names: Sequence[str], embedder: str) -> int:
    """How many templates of ``embedder`` the named people have."""
    wanted = set(names)
    with db.session() as session:
        return sum(p.templates for p in list_people(session, embedder) if p.name in wanted)
