"""A picture in one's own meeting tile (vision.frozen, AttendanceMonitor._own_cameras): a still
photo shown as a participant's camera is not credited, and the mark it made is withdrawn; a
participant who moves is credited as before.

The unit tests use the monitor tests' drawn scenes (whose textures never move: a picture), the
end-to-end test a meeting rendered from real photos in which one student's account shows a still
photo of them, taken by `rollcall run`."""

from __future__ import annotations

import json
import zlib
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from sqlalchemy import select

from helpers_session import enrollment_and_video_photos, open_crop
from rollcall.analysis import state as monitor_state
from rollcall.attendance.monitor import AttendanceMonitor
from rollcall.config import Settings
from rollcall.storage.db import Database
from rollcall.storage.models import (
    AttendanceRecord,
    Person,
    PresenceInterval,
    SessionEvent,
    Sighting,
)
from rollcall.synth import load_people, render_recording
from rollcall.synth.motion import Pose, posed
from rollcall.synth.people import frame_photo, read_photo
from rollcall.synth.reports import Attendee, zoom_report
from rollcall.synth.script import AttendanceScript
from rollcall.vision.frozen import FrozenLooks, carried
from rollcall.vision.still import grey
from rollcall.vision.types import Faces
from test_monitor import TILE, Scene, make, step


def test_a_still_face_is_not_credited_and_its_mark_is_withdrawn() -> None:
    monitor, scene = make(pictures=True), Scene({0: "ada"})
    first = step(monitor, scene, 0, 10.0)
    assert [m.person for m in first.marks] == ["ada"]  # marked at once, as anyone is
    for seq, t in ((1, 40.0), (2, 70.0)):
        # Unmoved once or twice could be someone keeping still: still credited.
        out = step(monitor, scene, seq, t)
        assert [x.person for x in out.seen] == ["ada"] and not out.withdrawn
    third = step(monitor, scene, 3, 100.0)
    assert third.withdrawn == ["ada"] and "ada" not in monitor.marked
    event = next(e for e in third.events if e.kind == "pictures")
    assert event.person == "ada" and "withdrawn" in event.detail and event.crop is not None
    assert third.faces[0].person is None and third.faces[0].candidate == "ada"
    assert not third.unknowns  # still her face: not a stranger for the review queue
    # Announced once; not credited while the picture stays.
    fourth = step(monitor, scene, 4, 130.0)
    assert not fourth.seen and not fourth.marks and not fourth.events


def test_the_judgement_survives_a_stored_and_restored_state() -> None:
    """Any worker may take a session's next sample: the looks go with the monitor's state."""
    monitor, scene = make(pictures=True), Scene({0: "ada"})
    for seq, t in ((0, 10.0), (1, 40.0), (2, 70.0)):
        step(monitor, scene, seq, t)
    blob = monitor_state.snapshot(monitor)
    resumed = AttendanceMonitor(monitor.gallery, list(monitor.expected), monitor.config)
    monitor_state.restore(resumed, blob)
    assert resumed.frozen.looks["ada"].history == [True, True]
    assert resumed.frozen.looks["ada"].still_since == 10.0
    assert step(resumed, scene, 3, 100.0).withdrawn == ["ada"]
    # An erasure takes the look too.
    forgotten = monitor_state.forget_person(monitor_state.snapshot(resumed), "ada")
    assert forgotten is not None
    fresh = AttendanceMonitor(monitor.gallery, list(monitor.expected), monitor.config)
    monitor_state.restore(fresh, forgotten)
    assert "ada" not in fresh.frozen.looks and "ada" not in fresh.pictured


def test_someone_who_moved_keeps_their_mark_and_time_until_the_picture() -> None:
    """Seen moving once, then unmoved sample after sample (she left a photo behind): the
    picture is announced, her time ends where it was first seen, and her mark stands."""
    monitor, scene = make(pictures=True), Scene({0: "ada"})
    step(monitor, scene, 0, 10.0)
    look = monitor.frozen.looks["ada"]
    look.history, look.moves = [False], 3  # as if she had been seen moving before
    assert step(monitor, scene, 1, 40.0).seen  # one unmoved comparison: credited
    assert step(monitor, scene, 2, 70.0).seen  # two: credited
    fourth = step(monitor, scene, 3, 100.0)
    assert not fourth.withdrawn and "ada" in monitor.marked and not fourth.seen
    assert [e.kind for e in fourth.events] == ["pictures"]
    closed = [c for c in fourth.intervals if c.person == "ada"]
    assert [(c.start, c.end) for c in closed] == [(10.0, 10.0)]  # not through 70 s


class Moving(Scene):
    """A scene whose people in ``moving`` look a little different at every sample (their face
    patch changes; their track's look, high-passed and coarser, carries over)."""

    def __init__(self, seating: dict[int, str], moving: set[str]) -> None:
        super().__init__(seating)
        self.moving = moving
        self.rng = np.random.default_rng(0)

    def render(self) -> tuple[np.ndarray, Faces]:
        image, faces = super().render()
        for x, y, w, h in faces.boxes.astype(int):
            slot = (y // TILE) * 3 + (x // TILE)
            if self.seating[slot] in self.moving:
                face = image[y : y + h, x : x + w].astype(np.float32)
                face += self.rng.normal(0, 25, face.shape[:2])[:, :, None]
                image[y : y + h, x : x + w] = np.clip(face, 0, 255).astype(np.uint8)
        return image, faces


def test_a_mark_after_a_withdrawal_dates_from_when_they_were_seen_moving() -> None:
    """The picture's track keeps its votes from the picture's time: the student who comes to
    their camera at 430 s is marked from then, not from the photo at 10 s."""
    monitor, scene = make(pictures=True), Moving({0: "ada", 1: "bob"}, moving={"bob"})
    marks, withdrawn, t = {}, [], 10.0
    for seq in range(25):
        if t >= 430:
            scene.moving.add("ada")
        out = step(monitor, scene, seq, t)
        marks.update({m.person: m.first_seen for m in out.marks})
        withdrawn += out.withdrawn
        t += 30
    assert withdrawn == ["ada"] and marks["ada"] >= 430, marks
    assert monitor.marked["bob"] == 10.0  # moving all along: never judged a picture


def test_a_glitch_does_not_save_a_pictures_mark() -> None:
    """One frame that made the picture look moved (an icon over it, a re-encoded frame) does
    not make it someone: never judged live, its mark is withdrawn."""
    monitor, scene = make(pictures=True), Moving({0: "ada"}, moving={"ada"})
    step(monitor, scene, 0, 10.0)
    scene.moving.clear()
    withdrawn = []
    for seq, t in enumerate((40.0, 70.0, 100.0, 130.0, 160.0), start=1):
        withdrawn += step(monitor, scene, seq, t).withdrawn
    assert monitor.frozen.looks["ada"].history[0] is False  # the glitch
    assert withdrawn == ["ada"]


class Repositioned(Scene):
    """A scene whose person changes pose at some samples and keeps the new one (a head turned
    and left so: each pose its own fixed look), unlike Moving's one-sample changes."""

    def __init__(self, seating: dict[int, str]) -> None:
        super().__init__(seating)
        self.pose = 0

    def render(self) -> tuple[np.ndarray, Faces]:
        image, faces = super().render()
        if self.pose:
            noise = np.random.default_rng(self.pose).normal(0, 25, (TILE, TILE))
            for x, y, w, h in faces.boxes.astype(int):
                face = image[y : y + h, x : x + w].astype(np.float32)
                face += noise[:h, :w, None]
                image[y : y + h, x : x + w] = np.clip(face, 0, 255).astype(np.uint8)
        return image, faces


def test_two_changes_apart_are_not_a_glitch_and_the_mark_stands() -> None:
    """Turned her head at one sample and kept it, again two samples later, then kept still:
    two moves apart are not one glitch (into it and out of it), so she is no picture from the
    start. Her still time is not credited, her mark stands. One glitch still withdraws."""
    results = {}
    for changes in ((2, 4), (2,)):
        monitor, scene = make(pictures=True), Repositioned({0: "ada"})
        withdrawn, trimmed = [], []
        for seq in range(8):
            if seq in changes:
                scene.pose += 1
            if changes == (2,) and seq == 3:
                scene.pose = 0  # back as before: a glitch at seq 2
            out = step(monitor, scene, seq, 10.0 + 30 * seq)
            withdrawn += out.withdrawn
            trimmed += out.trimmed
        results[changes] = (monitor.frozen.looks["ada"].history, withdrawn, trimmed)
    history, withdrawn, trimmed = results[(2, 4)]
    assert history == [True, False, True, False, True, True, True]
    assert not withdrawn and trimmed == [("ada", 130.0)]
    history, withdrawn, _ = results[(2,)]
    assert history[:3] == [True, False, False] and withdrawn == ["ada"]


def test_keeping_still_after_moving_a_little_loses_only_the_still_time() -> None:
    """Someone who moved now and then (never enough to be judged live: three moves of four)
    and then kept still three samples in a row keeps their mark and the time credited before
    the still run: only a face that hardly ever moved since it was first seen made its mark
    on a picture."""
    monitor, scene = make(pictures=True), Moving({0: "ada"}, moving=set())
    changes = []
    for seq in range(10):
        scene.moving = {"ada"} if seq in (2, 5) else set()
        changes += [c for c in step(monitor, scene, seq, 10.0 + 30 * seq).intervals if c.end]
    assert monitor.marked == {"ada": 10.0} and "ada" in monitor.pictured
    assert [(c.start, c.end) for c in changes] == [(10.0, 190.0)]  # to its first still sample


def test_time_already_closed_is_trimmed_back_to_the_picture_too() -> None:
    """A sample that missed her face closed her interval past where the picture began: the
    monitor asks for it to be trimmed (SessionRecorder._trim), not only the open one."""
    monitor, scene = make(pictures=True), Moving({0: "ada", 1: "bob"}, moving={"ada", "bob"})
    trimmed = []
    for seq in range(10):
        if seq == 5:
            scene.moving = {"bob"}
        scene.seating = {1: "bob"} if seq == 7 else {0: "ada", 1: "bob"}
        trimmed += step(monitor, scene, seq, 10.0 + 30 * seq).trimmed
    assert trimmed == [("ada", 160.0)] and monitor.marked["ada"] == 10.0


def test_marks_from_a_state_without_looks_are_not_withdrawn() -> None:
    """A session resumed from a state saved before looks were kept: the marks in it were made
    unwatched, so a picture now is not all there ever was of them."""
    monitor, scene = make(pictures=True), Scene({0: "ada"})
    step(monitor, scene, 0, 10.0)
    doc = json.loads(zlib.decompress(monitor_state.snapshot(monitor)))
    for key in ("frozen", "pictured", "live_from", "watched"):
        doc.pop(key)
    resumed = AttendanceMonitor(monitor.gallery, list(monitor.expected), monitor.config)
    monitor_state.restore(resumed, zlib.compress(json.dumps(doc).encode()))
    outs = [step(resumed, scene, seq, 10.0 + 30 * seq) for seq in range(1, 6)]
    assert not any(o.withdrawn for o in outs) and resumed.marked == {"ada": 10.0}
    assert [e.kind for o in outs for e in o.events] == ["pictures"]  # but not credited


def test_her_picture_in_one_tile_does_not_cost_her_live_face_in_another() -> None:
    """A photo of Ada as one account's camera while she is at another: once the picture is
    known, the face more like it is the duplicate, and she is credited."""
    monitor, scene = make(pictures=True), Moving({0: "ada"}, moving=set())
    for seq in range(4):
        step(monitor, scene, seq, 10.0 + 30 * seq)
    assert "ada" in monitor.pictured
    scene.seating[1] = "ada"
    scene.moving = {"ada"}
    scene.render = _still_in_slot_0(scene)
    credited = [bool(step(monitor, scene, seq, 10.0 + 30 * seq).seen) for seq in range(4, 9)]
    assert credited[-1] and sum(credited) >= 3, credited


def _still_in_slot_0(scene: Moving):  # noqa: ANN202
    """The scene's render with slot 0 (the picture) left unmoving."""
    plain = Scene.render.__get__(scene)
    moving = Moving.render.__get__(scene)

    def render() -> tuple[np.ndarray, Faces]:
        still, faces = plain()
        image, _ = moving()
        image[:TILE, :TILE] = still[:TILE, :TILE]
        return image, faces

    return render


@pytest.mark.faces
def test_a_picture_is_unmoved_across_a_reflow_and_a_posed_face_moves(faces: Path) -> None:
    people = load_people(faces / "identities" / "photos")
    photo = read_photo(sorted(people["George_W_Bush"])[0])
    from rollcall.vision.engine import FaceEngine

    engine = FaceEngine()

    def face_in(view: np.ndarray) -> np.ndarray:
        found = engine.detect(view)
        return found.boxes[int(np.argmax(found.boxes[:, 2] * found.boxes[:, 3])), :4]

    # The same still picture in a 320x180 tile, then (the gallery reflowed) in a 480x270 one.
    small, big = frame_photo(photo, (320, 180)), frame_photo(photo, (480, 270))
    looks = FrozenLooks()
    tile_a, tile_b = np.array([0, 0, 320, 180]), np.array([0, 0, 480, 270])
    assert looks.compare("g", 0.0, grey(small), face_in(small), tile_a) is None
    assert looks.compare("g", 30.0, grey(big), face_in(big), tile_b) is True
    assert carried(np.array([32, 18, 64, 36]), tile_a, tile_b).tolist() == [48, 27, 96, 54]
    # The person themselves, turned and shifted another way at each sample: moved.
    moved = FrozenLooks()
    poses = [Pose(10, 2, 0.02, 0.01, 1.03), Pose(-9, -3, -0.02, 0.0, 0.97), Pose(4, 3, 0, -0.02)]
    verdicts = []
    for k, pose in enumerate(poses):
        view = posed(small, 0.55, pose)
        verdicts.append(moved.compare("g", 30.0 * k, grey(view), face_in(view), tile_a))
    assert verdicts == [None, False, False]


ROSTER = ["Colin_Powell", "Donald_Rumsfeld", "George_W_Bush", "Hugo_Chavez"]
PICTURED = "Hugo_Chavez"  # his account is in the meeting, its camera a still photo of him
DURATION = 120.0


@pytest.mark.faces
@pytest.mark.timeout(600)
def test_a_still_photo_as_ones_camera_marks_no_one(cli, faces: Path, tmp_path: Path) -> None:  # noqa: ANN001
    enroll = tmp_path / "enroll"
    video_photos = enrollment_and_video_photos(faces, ROSTER, enroll)
    script = AttendanceScript(
        DURATION,
        seed=5,
        people=ROSTER,
        presence={n: [(0.0, DURATION)] for n in ROSTER},
        pictures=[PICTURED],
    )
    recording = render_recording(script, video_photos, tmp_path / "m.mp4", (960, 540), fps=2)
    for args in (
        ("course", "add", "Algebra", "--from-dir", enroll, "--consent", "signed form",
         "--timezone", "Europe/Paris"),
        ("run", "--session", "m1", "--source", recording.path, "--course", "Algebra",
         "--min-interval", "10", "--max-interval", "20", "--seed", "7",
         "--started-at", "2026-03-02T09:00+01:00"),
    ):  # fmt: skip
        result = cli(*map(str, args))
        assert result.exit_code == 0, result.output
    db = Database(Settings.from_env())
    with db.session() as s:
        status = dict(
            s.execute(
                select(Person.name, AttendanceRecord.status).join(
                    Person, Person.id == AttendanceRecord.person_id
                )
            ).all()
        )
        assert status[PICTURED] == "absent", status
        # No claim of recognition left on the record: its crop went to the event.
        assert (
            s.scalar(
                select(AttendanceRecord.evidence_path)
                .join(Person, Person.id == AttendanceRecord.person_id)
                .where(Person.name == PICTURED)
            )
            is None
        )
        assert all(status[n] == "present" for n in ROSTER if n != PICTURED), status
        pictured = s.scalar(select(Person.id).where(Person.name == PICTURED))
        assert not s.scalars(
            select(PresenceInterval).where(PresenceInterval.person_id == pictured)
        ).all()
        assert not s.scalars(select(Sighting).where(Sighting.person_id == pictured)).all()
        events = s.execute(
            select(Person.name, SessionEvent.crop_path)
            .join(Person, Person.id == SessionEvent.person_id)
            .where(SessionEvent.kind == "pictures")
        ).all()
        assert [name for name, _ in events] == [PICTURED]  # the others moved: no flag
        # The picture when it made the mark beside it now: two crops side by side, in the
        # mark's own file, which the event holds (no face file left that nothing refers to).
        home = Settings.from_env().home
        pair = open_crop(home, events[0][1])
        assert pair is not None and pair.shape[1] > 1.5 * pair.shape[0]
        faces_kept = sorted((home / "evidence").rglob(f"{pictured}-*.jpg"))
        assert faces_kept == [home / events[0][1]], faces_kept
        credited = {
            name: sum((iv.last_seen or 0) - iv.start_t for iv in rows)
            for name in ROSTER
            if (rows := s.scalars(
                select(PresenceInterval).join(Person, Person.id == PresenceInterval.person_id)
                .where(Person.name == name)).all())
        }  # fmt: skip
        assert all(credited.get(n, 0) >= 0.5 * DURATION for n in ROSTER if n != PICTURED), credited
    # With the platform's participant list: his account was in, his face a picture of it.
    start = datetime.fromisoformat("2026-03-02T09:00+01:00")
    accounts = [Attendee(n.replace("_", " "), None, tuple(script.presence[n])) for n in ROSTER]
    report = tmp_path / "participants.csv"
    report.write_bytes(zoom_report(accounts, start, ZoneInfo("Europe/Paris")))
    done = cli("participants", "import", "--session", "m1", str(report))
    assert done.exit_code == 0, done.output
    out = json.loads(cli("report", "--session", "m1", "--json").output)
    status = {p["person"]: p for p in out["participants"]}
    assert status[PICTURED]["status"] == "proxy_suspected", status[PICTURED]
    assert "still picture" in status[PICTURED]["detail"], status[PICTURED]
    assert {status[n]["status"] for n in ROSTER if n != PICTURED} == {"verified"}
