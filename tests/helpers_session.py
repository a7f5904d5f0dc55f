"""A generated meeting for the session tests: a known script, its recording, an enrolled home.

The recording is a gallery view made from real photos (one per participant); each roster
member is enrolled from three *other* photos of theirs, and every photo used shows exactly one
face, so what the tests check is recognition across photos, not matching a picture to itself.
"""

from __future__ import annotations

import shutil
import sqlite3
from dataclasses import dataclass
from datetime import UTC, datetime
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from click.testing import CliRunner, Result

from rollcall.cli import cli
from rollcall.config import Settings
from rollcall.enrollment import Consent, enroll_photos
from rollcall.storage.db import Database
from rollcall.synth import AttendanceScript, Recording, load_people, read_photo, render_recording
from rollcall.vision.engine import FaceEngine

# Six people on the roster and one unenrolled stranger; chosen for having many single-face
# photos in the shared data set.
ROSTER = [
    "Colin_Powell",
    "Donald_Rumsfeld",
    "George_W_Bush",
    "Gerhard_Schroeder",
    "Hugo_Chavez",
    "Jacques_Chirac",
]
STRANGER = "John_Salley"
CONSENT = Consent("signed form", "test suite")
ENROLL_PHOTOS = 3

# Roles in the meeting (the script below is written by hand so each behaviour is certain).
ALWAYS = "Colin_Powell"  # there from the first frame to the last
EARLY = "Donald_Rumsfeld"  # joins a few seconds in, stays
LATE = "George_W_Bush"  # joins at 95 s
REJOINER = "Gerhard_Schroeder"  # leaves at 60 s, back at 130 s
LEAVER = "Hugo_Chavez"  # leaves for good at 100 s
ABSENT = "Jacques_Chirac"  # never comes

DURATION = 210.0
FPS = 2.0
SIZE = (960, 540)
SEED = 11
LEAVE_AFTER = 30.0  # --leave-after for the runs: shorter than the rejoiner's 70 s away


def meeting_script(duration: float = DURATION, seed: int = SEED) -> AttendanceScript:
    """The known meeting; its times scale with ``duration`` (210 s: the times noted above).

    ``seed`` drives the rendering (photo jitter, active speaker), not who comes when.
    """
    k = duration / DURATION

    def span(a: float, b: float) -> tuple[float, float]:
        return (round(a * k, 3), round(min(b * k, duration), 3))

    return AttendanceScript(
        duration_s=duration,
        seed=seed,
        people=list(ROSTER),
        strangers=[STRANGER],
        presence={
            ALWAYS: [span(0, DURATION)],
            EARLY: [span(4, DURATION)],
            LATE: [span(95, DURATION)],
            REJOINER: [span(0, 60), span(130, DURATION)],
            LEAVER: [span(0, 100)],
            ABSENT: [],
            STRANGER: [span(20, 150)],
        },
    )


@dataclass(frozen=True)
class Cast:
    """Who plays in the recording with which photo, and the other photos to enroll."""

    video: dict[str, Path]  # participant -> the one photo shown in the recording
    enroll: dict[str, list[Path]]  # roster member -> photos for their templates


def enrollment_and_video_photos(
    faces: Path, enrolled: list[str], folder: Path, also: list[str] | None = None
) -> dict[str, list[Path]]:
    """Real photos split for a generated meeting: the first three of each of ``enrolled``
    copied into ``folder``/<name>/ (what `--from-dir` enrolls), and everyone's photos for the
    recording returned, the rest of theirs (all, for someone with three or fewer). Skips the
    test when the face data lacks anyone of ``enrolled`` or ``also``."""
    people = load_people(faces / "identities" / "photos")
    missing = [n for n in [*enrolled, *(also or [])] if n not in people]
    if missing:
        pytest.skip(f"face data lacks {missing}")
    for name in enrolled:
        (folder / name).mkdir(parents=True)
        for photo in people[name][:3]:
            shutil.copy(photo, folder / name / photo.name)
    return {n: p[3:] or p for n, p in people.items()}


def single_face_photos(engine: FaceEngine, photos: list[Path], want: int) -> list[Path]:
    """The first ``want`` photos in which the detector finds exactly one face.

    Some photos of the data set show a second person in the background; in a tile that second
    face would make the expected head count wrong.
    """
    chosen = []
    for photo in photos:
        if len(engine.detect(read_photo(photo), pad_retry=True)) == 1:
            chosen.append(photo)
            if len(chosen) == want:
                break
    return chosen


def pick_cast(faces: Path, engine: FaceEngine) -> Cast:
    people = load_people(faces / "identities" / "photos")
    missing = [n for n in [*ROSTER, STRANGER] if len(people.get(n, ())) < ENROLL_PHOTOS + 1]
    if missing:
        raise LookupError(f"the face data lacks photos of {', '.join(missing)}")
    video, enroll = {}, {}
    for name in [*ROSTER, STRANGER]:
        good = single_face_photos(engine, people[name], ENROLL_PHOTOS + 1)
        if len(good) < ENROLL_PHOTOS + 1:
            raise LookupError(f"{name} has fewer than {ENROLL_PHOTOS + 1} single-face photos")
        video[name] = good[0]
        enroll[name] = good[1:]
    return Cast(video, {n: enroll[n] for n in ROSTER})


def render(
    script: AttendanceScript, cast: Cast, path: Path, *, vfr: bool = False, fps: float = FPS
) -> Recording:
    """The script as an MP4; every participant's tile shows their one video photo."""
    only = {name: [photo] for name, photo in cast.video.items()}
    return render_recording(script, only, path, SIZE, fps, vfr=vfr, seed=script.seed)


def enroll_home(home: Path, cast: Cast, engine: FaceEngine) -> None:
    """A ROLLCALL_HOME whose database holds the roster's templates (not the stranger's)."""
    db = Database(Settings(home=home))
    for name, photos in cast.enroll.items():
        result = enroll_photos(db, engine, name, photos, consent=CONSENT)
        assert len(result.accepted) == ENROLL_PHOTOS, (name, result.refused)
    db.engine.dispose()  # checkpoints the WAL so the folder can be copied as it is


def clone_home(template: Path, home: Path) -> Path:
    """A private copy of an enrolled home, so tests never see each other's sessions."""
    shutil.copytree(template, home)
    return home


def reencode(
    src: Path, dst: Path, *, start: float = 0.0, end: float | None = None, gop: int | None = None
) -> Path:
    """``src`` re-encoded with the MP4 index at the front: only its [start, end) seconds
    (re-timed to begin at 0), and with a keyframe every ``gop`` frames when given.

    http.server has no Range requests, so an MP4 whose index sits at the end cannot be played
    from it; with `faststart` the player needs only one forward read. The synthetic recordings
    have one keyframe per 250 frames (libx264's default, two minutes at 2 fps); a screen
    recorder's few seconds make repeated runs over the same file much cheaper.
    """
    options = {"preset": "ultrafast", "crf": "23"}
    if gop is not None:
        options |= {"g": str(gop), "keyint_min": str(gop)}
    with av.open(str(src)) as inp, av.open(str(dst), "w", options={"movflags": "faststart"}) as out:
        in_stream = inp.streams.video[0]
        rate = in_stream.average_rate or FPS
        out_stream = out.add_stream("libx264", rate=rate)
        out_stream.width, out_stream.height = in_stream.width, in_stream.height
        out_stream.pix_fmt = "yuv420p"
        time_base = 1 / Fraction(rate)
        out_stream.time_base = out_stream.codec_context.time_base = time_base
        out_stream.options = options
        index = 0
        for frame in inp.decode(in_stream):
            t = float(frame.pts * frame.time_base)
            if t < start or (end is not None and t >= end):
                continue
            frame.pts, frame.time_base = index, time_base
            frame.pict_type = av.video.frame.PictureType.NONE  # let the encoder choose again
            index += 1
            out.mux(out_stream.encode(frame))
        out.mux(out_stream.encode())
    return dst


def frames_at(recording: Path, times: list[float]) -> list[np.ndarray]:
    """The pictures the recording shows at each of ``times`` (sorted), decoded in one pass."""
    shown: list[np.ndarray] = []
    pending = list(times)
    last = None
    with av.open(str(recording)) as container:
        for frame in container.decode(container.streams.video[0]):
            t = float(frame.pts * frame.time_base)
            while pending and t > pending[0] + 1e-6:
                shown.append(last.to_ndarray(format="bgr24"))
                pending.pop(0)
            last = frame
        shown.extend(last.to_ndarray(format="bgr24") for _ in pending)
    return shown


def write_png(path: Path, image: np.ndarray) -> Path:
    assert cv2.imwrite(str(path), image)
    return path


@dataclass(frozen=True)
class Meeting:
    """Everything the session tests share: built once per test run."""

    script: AttendanceScript
    cast: Cast
    recording: Recording
    keyframed: Path  # the same recording with a keyframe every 5 s: cheaper to sample often
    home: Path  # an enrolled ROLLCALL_HOME to clone, never to run sessions in
    engine: FaceEngine


_MEETINGS: dict[Path, Meeting] = {}


def meeting(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Meeting:
    """The shared meeting; several test modules ask for it, it is generated once."""
    key = tmp_path_factory.getbasetemp()
    if key not in _MEETINGS:
        engine = FaceEngine()
        try:
            cast = pick_cast(faces, engine)
        except LookupError as exc:
            pytest.skip(f"cannot cast the generated meeting: {exc}")
        root = tmp_path_factory.mktemp("meeting")
        script = meeting_script()
        recording = render(script, cast, root / "meeting.mp4")
        keyframed = reencode(recording.path, root / "keyframed.mp4", gop=round(5 * FPS))
        enroll_home(root / "enrolled", cast, engine)
        _MEETINGS[key] = Meeting(script, cast, recording, keyframed, root / "enrolled", engine)
    return _MEETINGS[key]


def invoke(home: Path, *args: object) -> Result:
    """`rollcall ARGS` in-process against ``home``; stdout and stderr are kept apart."""
    return CliRunner().invoke(
        cli,
        [str(a) for a in args],
        env={"ROLLCALL_HOME": str(home), "ROLLCALL_DATABASE_URL": None},
        catch_exceptions=False,
    )


def query(home: Path, sql: str, *params: object) -> list[tuple]:
    """Rows from the home's SQLite database, read straight with sqlite3."""
    conn = sqlite3.connect(home / "rollcall.db")
    try:
        return conn.execute(sql, params).fetchall()
    finally:
        conn.close()


def open_crop(home: Path, stored: str) -> np.ndarray | None:
    """The evidence crop a row names, opened from its sealed file with the home's key."""
    from rollcall.storage.evidence import read_image
    from rollcall.storage.templates import TemplateCipher

    cipher = TemplateCipher.from_home(home, env={})
    return read_image(cipher, home / "evidence", home / stored)


def utc(year: int, month: int, day: int, hh: int, mm: int) -> datetime:
    """A local wall-clock time as an aware UTC datetime (what rollcall stores)."""
    return datetime(year, month, day, hh, mm).astimezone().astimezone(UTC)


def rollcall_command() -> list[str]:
    """The installed console script beside this interpreter, for runs as real processes."""
    import sys

    script = Path(sys.executable).with_name("rollcall")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from rollcall.cli import main; main()"]


# What must not depend on how a run was interrupted, read with plain SQL on any back end.
OUTCOME_SQL = {
    "attendance": "SELECT p.name, a.status, a.first_seen FROM attendance a "
    "JOIN people p ON p.id = a.person_id ORDER BY p.name",
    "head_counts": "SELECT seq, t, count, recognized, unknown FROM head_counts ORDER BY seq",
    "intervals": "SELECT p.name, i.start_t, i.last_seen, i.end_t FROM presence_intervals i "
    "JOIN people p ON p.id = i.person_id ORDER BY p.name, i.start_t",
}
