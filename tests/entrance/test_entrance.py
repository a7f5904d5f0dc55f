"""Entrance mode on short generated clips made from real photos (see synth/entrance.py).

Each person is enrolled from two photos and walks past rendered from a third. Clips are
640x360 at 8 fps, a few seconds long, so the whole file runs in well under a minute.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rollcall.analysis.entrance.monitor import ATTACK, REPEAT, EntranceConfig, EntranceMonitor
from rollcall.attendance.entrance import entrance_detector
from rollcall.attendance.monitor import PICTURE
from rollcall.synth.entrance import EntranceClip, Passer, gallery_from_photos, write_clip
from rollcall.synth.people import load_people
from rollcall.vision.embed import embed
from rollcall.vision.engine import EngineOptions, FaceEngine
from rollcall.vision.gallery import STRONG_SIMILARITY

SIZE = (640, 360)
FPS = 8.0
ANN, BOB, STRANGER = "Colin_Powell", "George_W_Bush", "John_Salley"


@pytest.fixture(scope="module")
def people(faces: Path) -> dict[str, list[Path]]:
    return load_people(faces / "identities" / "photos")


@pytest.fixture(scope="module")
def engine() -> FaceEngine:
    return FaceEngine(EngineOptions(threads=1))


@pytest.fixture(scope="module")
def gallery(engine: FaceEngine, people: dict[str, list[Path]]):  # noqa: ANN201
    return gallery_from_photos(engine, {n: people[n][:2] for n in (ANN, BOB)})


def make_monitor(  # noqa: ANN001
    engine: FaceEngine, gallery, line=None, liveness=None, all_cues: bool = False
) -> EntranceMonitor:
    from dataclasses import replace

    detector = entrance_detector()
    config = EntranceConfig(fps=FPS, all_cues=all_cues)
    if liveness is not None:
        config = replace(config, liveness=liveness)
    config = replace(
        config, vote=replace(config.vote, strong_similarity=STRONG_SIMILARITY["sface+dlib"])
    )
    return EntranceMonitor(
        gallery,
        detector.detect,
        lambda crop, faces: embed(engine.embedder, crop, faces),
        config,
        line=line,
    )


def walker(name: str, photo: Path, t0: float, **kw) -> Passer:  # noqa: ANN003
    defaults = dict(duration=2.5, start=(0.3, 0.35), end=(0.5, 0.45), yaw_amp=22.0,
                    yaw_period=1.5, size=(40.0, 160.0), seed=3)  # fmt: skip
    defaults.update(kw)
    return Passer(name, photo, t0, **defaults)


def play(monitor: EntranceMonitor, clip: EntranceClip, offset: float = 0.0):  # noqa: ANN201
    marks, events, steps = [], [], []
    for t, image in clip.frames():
        step = monitor.observe(t + offset, image)
        marks += step.marks
        events += step.events
        steps.append(step)
    last = monitor.finish(clip.duration + offset)
    return marks + last.marks, events + last.events, [*steps, last]


def test_a_passer_is_marked_once_at_the_time_they_appeared(engine, gallery, people) -> None:  # noqa: ANN001
    p = walker(ANN, people[ANN][3], t0=0.75)
    clip = EntranceClip(SIZE, FPS, 4.0, [p], seed=1)
    marks, _, _ = play(make_monitor(engine, gallery), clip)
    assert [m.person for m in marks] == [ANN]
    # The first frame at or after 0.75 s is at 0.75 s (8 fps): the time they first appeared,
    # not the time the vote and the liveness check were done.
    assert marks[0].first_seen == pytest.approx(0.75, abs=1 / FPS + 1e-6)
    assert marks[0].evidence_crop.size > 0


def test_a_marks_evidence_grows_with_the_face_named_again(engine, gallery, people) -> None:  # noqa: ANN001
    """The mark is decided while the face is still far (40 px growing to 160 here): a shot
    1.5 times larger, named again as her, replaces the evidence, at most twice a track."""
    p = walker(ANN, people[ANN][3], t0=0.25)
    marks, _, steps = play(make_monitor(engine, gallery), EntranceClip(SIZE, FPS, 3.5, [p], seed=1))
    assert [m.person for m in marks] == [ANN]
    better = [m for step in steps for m in step.evidence]
    assert 1 <= len(better) <= 2, better
    assert all(m.person == ANN and m.first_seen == marks[0].first_seen for m in better)
    assert better[-1].evidence_t > marks[0].evidence_t
    assert better[-1].evidence_crop.shape[0] >= 1.5 * marks[0].evidence_crop.shape[0]


def test_two_people_crossing_are_not_swapped(engine, gallery, people) -> None:  # noqa: ANN001
    # Walking fast across the view in opposite directions at nearly the same height: between
    # two processed frames each face moves most of its width, and at the crossing the boxes
    # overlap, so only each track's predicted motion tells who is who.
    a = walker(ANN, people[ANN][3], 0.2, duration=1.0, start=(0.1, 0.4), end=(0.9, 0.4),
               size=(80.0, 90.0), yaw_amp=10.0, seed=5)  # fmt: skip
    b = walker(BOB, people[BOB][3], 0.2, duration=1.0, start=(0.9, 0.52), end=(0.1, 0.52),
               size=(80.0, 90.0), yaw_amp=10.0, seed=6)  # fmt: skip
    clip = EntranceClip(SIZE, FPS, 1.4, [a, b], seed=2)
    monitor = make_monitor(engine, gallery)
    owners: dict[int, set[str]] = {}
    for t, image in clip.frames():
        monitor.observe(t, image)
        # Which walker each live track's box is on, by the truth boxes of this frame.
        truth = {p.name: clip.face_box(p, t) for p in (a, b)}
        for track in monitor.tracker.tracks:
            if track.lost:
                continue
            cx, cy = (track.box[:2] + track.box[2:]) / 2
            near = min(
                (n for n, box in truth.items() if box is not None),
                key=lambda n: np.hypot(truth[n][0] + truth[n][2] / 2 - cx,
                                       truth[n][1] + truth[n][3] / 2 - cy),
            )  # fmt: skip
            owners.setdefault(track.track_id, set()).add(near)
    monitor.finish(clip.duration)
    assert owners, "no track at all"
    assert all(len(names) == 1 for names in owners.values()), owners
    named = {f.person for f in monitor.finished if f.person}
    assert named <= {ANN, BOB}
    for f in monitor.finished:
        if f.person:
            assert owners[f.track_id] == {f.person}


def test_a_printed_photo_marks_nobody(engine, gallery, people) -> None:  # noqa: ANN001
    card = walker(ANN, people[ANN][3], 0.2, kind="print", yaw_amp=20.0, seed=7)
    clip = EntranceClip(SIZE, FPS, 3.2, [card], seed=3)
    marks, events, steps = play(make_monitor(engine, gallery), clip)
    assert marks == []
    attacks = [e for e in events if e.kind == ATTACK]
    assert len(attacks) == 1
    assert attacks[0].person in (None, ANN)  # recognised as Ann, or too little seen to say
    # The face goes to staff's review (and the kiosk's "please see staff"), marked as judged a
    # picture: only staff can tell an attack from a real person the check got wrong.
    faces = [u for step in steps for u in step.unknowns]
    assert [(u.reason, u.t) for u in faces] == [(PICTURE, attacks[0].t)]
    assert faces[0].crop.size > 0 and faces[0].embedding is not None


def test_a_phone_screen_held_up_marks_nobody(engine, gallery, people) -> None:  # noqa: ANN001
    # Bob's photo on a phone (bezel, glare, moire), tilted and shaken as it is walked up to
    # the camera: the face is recognisable, the rest moves as one plane.
    phone = walker(BOB, people[BOB][3], 0.2, kind="phone", yaw_amp=15.0, seed=11)
    clip = EntranceClip(SIZE, FPS, 3.2, [phone], seed=6)
    marks, events, _ = play(make_monitor(engine, gallery), clip)
    assert marks == []
    assert [e.kind for e in events].count(ATTACK) == 1


def test_seen_again_an_hour_later_is_not_marked_again(engine, gallery, people) -> None:  # noqa: ANN001
    monitor = make_monitor(engine, gallery)
    clip = EntranceClip(SIZE, FPS, 3.2, [walker(ANN, people[ANN][3], 0.25)], seed=4)
    first, _, _ = play(monitor, clip)
    again = EntranceClip(SIZE, FPS, 3.2, [walker(ANN, people[ANN][4], 0.25, seed=9)], seed=5)
    second, events, steps = play(monitor, again, offset=3600.0)
    assert [m.person for m in first] == [ANN]
    assert second == []
    assert any(e.kind == REPEAT and e.person == ANN for e in events)
    seen = [s.t for step in steps for s in step.seen if s.person == ANN]
    assert seen and min(seen) > 3600.0  # last-seen moves on; the mark stays at first_seen
    assert monitor.marked[ANN] == pytest.approx(first[0].first_seen)


def test_a_new_pass_is_one_that_comes_seconds_after_the_last_sighting(
    engine,
    gallery,
    people,  # noqa: ANN001
) -> None:
    """Named again on a new track 2.5 s after last seen (hidden longer than the tracker
    waits): the same pass, no "already marked"; 100 s later: a new pass."""
    monitor = make_monitor(engine, gallery)
    clip = EntranceClip(SIZE, FPS, 3.2, [walker(ANN, people[ANN][3], 0.25)], seed=4)
    first, _, _ = play(monitor, clip)
    _, soon, _ = play(monitor, clip, offset=5.0)
    _, later, _ = play(monitor, clip, offset=112.0)
    assert [m.person for m in first] == [ANN]
    assert [e.kind for e in soon if e.person == ANN] == []
    assert [e.kind for e in later if e.person == ANN] == [REPEAT]


def test_a_visitor_is_seen_at_the_time_decided_with_their_shot() -> None:
    """Someone enrolled but not on the session's list: no mark, a "visitor" event at the
    frame that decided it, carrying the shot the kiosk shows."""
    from rollcall.analysis.entrance.monitor import EntranceStep
    from rollcall.attendance.entrance import findings
    from rollcall.attendance.monitor import Mark

    crop = np.full((40, 40, 3), 128, np.uint8)
    step = EntranceStep(12.5, 1, None, marks=[Mark(BOB, 11.0, 0.9, 11.2, (0, 0, 40, 40), crop)])
    out = findings(step, expected={ANN})
    assert out is not None and out.marks == []
    (event,) = out.events
    assert (event.kind, event.person, event.t) == ("visitor", BOB, 12.5)
    assert event.crop is crop


def test_line_counts_people_in_and_out(engine, gallery, people) -> None:  # noqa: ANN001
    # A horizontal line across the middle; walking down the picture is "in": two go in, one
    # comes out (three, so that in and out swapped would show).
    walkers = [
        walker(ANN, people[ANN][3], 0.2, start=(0.2, 0.2), end=(0.25, 0.8), size=(60.0, 90.0),
               seed=11),
        walker(BOB, people[BOB][3], 0.3, start=(0.5, 0.2), end=(0.5, 0.8), size=(60.0, 90.0),
               seed=13),
        walker(STRANGER, people[STRANGER][3], 0.2, start=(0.8, 0.8), end=(0.75, 0.2),
               size=(60.0, 90.0), seed=12),
    ]  # fmt: skip
    clip = EntranceClip(SIZE, FPS, 3.2, walkers, seed=6)
    monitor = make_monitor(engine, gallery, line=(0.0, 180.0, 640.0, 180.0))
    play(monitor, clip)
    assert monitor.occupancy is not None
    assert (monitor.occupancy.entered, monitor.occupancy.left) == (2, 1)
    assert monitor.occupancy.inside == 1


MIDDLE = (0.0, 180.0, 640.0, 180.0)  # a line across the middle: walking down it is "in"


def crossing(x: float, inward: bool) -> dict[str, object]:
    """A walk across the middle line at ``x`` (share of the width), in or out."""
    top, bottom = (x, 0.2), (x, 0.8)
    start, end = (top, bottom) if inward else (bottom, top)
    return dict(start=start, end=end, size=(60.0, 90.0))


def through_the_line(engine, gallery, walkers, duration: float):  # noqa: ANN001, ANN201
    """A monitor counting at the middle line over a clip of ``walkers``, and its steps."""
    monitor = make_monitor(engine, gallery, line=MIDDLE)
    _, _, steps = play(monitor, EntranceClip(SIZE, FPS, duration, walkers, seed=6))
    return monitor, steps


def test_head_counts_by_the_line_say_who_is_inside(engine, gallery, people) -> None:  # noqa: ANN001
    """Bob goes in, Bob comes out, a stranger goes in. The head count is the people inside
    and "recognised" those of them named coming in, whether or not their face is in view
    now; when the stranger makes it one again, the count does not match who is known."""
    from rollcall.attendance.entrance import head_count

    walkers = [
        walker(BOB, people[BOB][3], 0.2, seed=13, **crossing(0.5, inward=True)),
        walker(BOB, people[BOB][3], 3.0, seed=14, **crossing(0.5, inward=False)),
        walker(STRANGER, people[STRANGER][3], 5.8, seed=12, **crossing(0.5, inward=True)),
    ]
    monitor, steps = through_the_line(engine, gallery, walkers, 8.6)

    def at(t: float):  # noqa: ANN202
        return next(step for step in steps if step.t >= t)

    # The tracker joined the stranger to Bob's lost track; their face split it again, and
    # nothing after it was credited to Bob.
    assert max(x.t for step in steps for x in step.seen if x.person == BOB) < 5.8
    assert any(f.person is None and f.first_t >= 5.8 for f in monitor.finished)
    bob_in, bob_out, stranger_in = at(2.85), at(5.65), steps[-1]
    assert (bob_in.inside, bob_in.named_inside, bob_in.named_visible) == (1, 1, 0)
    assert (bob_out.inside, bob_out.named_inside) == (0, 0)
    assert (stranger_in.inside, stranger_in.named_inside) == (1, 0)
    counted = head_count(1, bob_in.t, 1, None, bob_in)
    assert (counted.recognized, counted.unknown, counted.events) == (1, 0, [])
    changed = head_count(3, stranger_in.t, 1, 0, stranger_in)
    assert (changed.recognized, changed.unknown, changed.verified) == (0, 1, True)
    assert [(e.kind, e.detail) for e in changed.events] == [
        ("count_mismatch", "1 inside by the line, 0 of them recognised")
    ]


def test_someone_named_leaving_who_never_came_in_was_inside_before(engine, gallery, people) -> None:  # noqa: ANN001, E501
    """An entrance operator's review: Bob, inside before counting began, walks out while Ann
    and a stranger walk in. The count said 1 inside (Ann): the stranger was hidden, and no
    mismatch said so. Bob was one of those inside before: 2 inside, 1 of them recognised."""
    walkers = [  # Ann is in before Bob walks out: the count never went below zero
        walker(ANN, people[ANN][3], 0.2, seed=13, **crossing(0.3, inward=True)),
        walker(BOB, people[BOB][3], 3.0, seed=14, **crossing(0.7, inward=False)),
        walker(STRANGER, people[STRANGER][3], 5.8, seed=12, **crossing(0.3, inward=True)),
    ]
    monitor, steps = through_the_line(engine, gallery, walkers, 8.8)
    assert monitor.occupancy is not None
    assert (monitor.occupancy.entered, monitor.occupancy.left) == (2, 1)
    assert (steps[-1].inside, steps[-1].named_inside) == (2, 1)


def enroll_ann_and_bob(cli, people, tmp_path: Path) -> None:  # noqa: ANN001
    """Ann and Bob enrolled through the CLI from their first two photos each."""
    for name in (ANN, BOB):
        folder = tmp_path / "photos" / name
        folder.mkdir(parents=True)
        for photo in people[name][:2]:
            (folder / photo.name).write_bytes(photo.read_bytes())
    assert cli("enroll", "--from-dir", tmp_path / "photos", "--consent", "form").exit_code == 0


def test_run_entrance_mode_from_the_command_line(cli, people, tmp_path: Path) -> None:  # noqa: ANN001
    enroll_ann_and_bob(cli, people, tmp_path)
    clip = EntranceClip(SIZE, 25.0, 3.5, [walker(ANN, people[ANN][3], 0.5)], seed=8)
    video = write_clip(clip, tmp_path / "door.mp4")
    bad = cli("run", "--session", "d0", "--source", video, "--mode", "entrance", "--line", "1,2")
    assert bad.exit_code != 0 and "Traceback" not in bad.output
    assert "the line '1,2' is not understood" in bad.output
    result = cli("run", "--session", "door", "--source", video, "--mode", "entrance", "--json")
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.output[result.output.index("{") :])
    status = {a["person"]: a for a in report["attendance"]}
    assert status[ANN]["status"] == "present"
    assert status[ANN]["first_seen"] == pytest.approx(0.5, abs=0.2)
    assert status[BOB]["status"] == "absent"
    # Her evidence is the larger shot taken as she came closer, in the mark's own file.
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.evidence import read_image
    from rollcall.storage.models import AttendanceRecord, Person

    settings = Settings.from_env()
    db = Database(settings)
    with db.session() as s:
        rec = (
            s.query(AttendanceRecord)
            .join(Person, Person.id == AttendanceRecord.person_id)
            .filter(Person.name == ANN)
            .one()
        )
        crop = read_image(db.cipher, settings.evidence_dir, settings.home / rec.evidence_path)
        files = list((settings.home / rec.evidence_path).parent.glob(f"{rec.person_id}-*"))
    db.close()
    assert crop.shape[0] >= 100 and len(files) == 1, (crop.shape, files)
    # Without --json, each mark is told as it is written (a live camera's run would show
    # nothing but its progress bar until it stopped).
    told = cli("run", "--session", "door-told", "--source", video, "--mode", "entrance")
    assert told.exit_code == 0, told.output
    assert f"  {ANN} marked\n" in told.output, told.output
    # Told, in one line, what to do instead (a closed session cannot be resumed).
    again = cli("run", "--session", "door", "--source", video, "--mode", "entrance")
    assert again.exit_code != 0 and "Traceback" not in again.output
    assert "already exists and is closed; pick a new name" in again.output, again.output
    for args, said in (
        (("--line", "0,180,640,nan"), "is not understood"),  # float() reads nan and inf
        (("--line", "inf,0,0,0"), "is not understood"),
        (("--line", "-5e9,100,5e9,100"), "is not understood"),  # OpenCV's clipping raised
        (("--duration", "-1"), "--duration"),
    ):
        refused = cli("run", "--session", "d1", "--source", video, "--mode", "entrance", *args)
        assert refused.exit_code != 0 and said in refused.output, (args, refused.output)
        assert "Traceback" not in refused.output
    meeting = cli("run", "--session", "d2", "--source", video, "--fps", "4")
    assert meeting.exit_code != 0 and "add --mode entrance" in meeting.output, meeting.output
    assert "d1" not in cli("sessions").output and "d2" not in cli("sessions").output


def test_a_line_outside_the_picture_is_warned_about(engine, gallery, caplog) -> None:  # noqa: ANN001
    from rollcall.analysis.entrance.occupancy import line_in_picture

    assert line_in_picture((0.0, 180.0, 640.0, 180.0), *SIZE)
    assert line_in_picture((-50.0, -50.0, 900.0, 500.0), *SIZE)  # through it, ends outside
    assert not line_in_picture((1000.0, 500.0, 1900.0, 500.0), *SIZE)  # 1080p pixels
    blank = np.zeros((SIZE[1], SIZE[0], 3), np.uint8)
    with caplog.at_level("WARNING"):
        make_monitor(engine, gallery, line=(1000.0, 500.0, 1900.0, 500.0)).observe(0.0, blank)
    assert "lies outside the 640x360 picture" in caplog.text
    caplog.clear()
    with caplog.at_level("WARNING"):
        make_monitor(engine, gallery, line=(0.0, 180.0, 640.0, 180.0)).observe(0.0, blank)
    assert "outside" not in caplog.text


def test_a_resumed_entrance_session_keeps_its_mode(cli, people, tmp_path: Path) -> None:  # noqa: ANN001
    """`run --resume` without --mode continues an entrance session as an entrance: Ann, who
    walks past after the first run stopped, is marked at the time she appeared (a meeting-mode
    resume would look at one frame per 20-90 s and miss her); a contradicting --mode is refused."""
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.models import AttendanceSession

    enroll_ann_and_bob(cli, people, tmp_path)
    clip = EntranceClip(SIZE, 25.0, 5.0, [walker(ANN, people[ANN][3], 2.0)], seed=8)
    video = write_clip(clip, tmp_path / "door.mp4")
    first = cli("run", "--session", "door", "--source", video, "--mode", "entrance",
                "--fps", "8", "--line", "320,0,320,360", "--duration", "1")  # fmt: skip
    assert first.exit_code == 0, first.output
    # As Ctrl-C would have left it: interrupted after the first second, nobody marked yet.
    db = Database(Settings.from_env())
    with db.session() as s:
        row = s.query(AttendanceSession).filter_by(name="door").one()
        assert (row.mode, row.entrance_fps, row.entrance_line) == ("entrance", 8.0, "320,0,320,360")
        row.state = "interrupted"
    clash = cli("run", "--session", "door", "--resume", "--mode", "meeting")
    assert clash.exit_code != 0 and "entrance mode" in clash.output
    assert "Traceback" not in clash.output and len(clash.output.strip().splitlines()) == 1
    other_line = cli("run", "--session", "door", "--resume", "--line", "0,180,640,180")
    assert other_line.exit_code != 0 and "--line 320,0,320,360" in other_line.output
    result = cli("run", "--session", "door", "--resume", "--json")
    assert result.exit_code == 0, result.output
    import json

    report = json.loads(result.output[result.output.index("{") :])
    status = {a["person"]: a for a in report["attendance"]}
    assert status[ANN]["status"] == "present"
    assert status[ANN]["first_seen"] == pytest.approx(2.0, abs=0.3)


def test_an_interrupted_entrance_run_is_taken_up_where_it_stopped(
    cli,
    people,
    tmp_path: Path,  # noqa: ANN001
) -> None:
    """Ctrl-C as the frame at 4.5 s is due (between two checkpoints: the last frame's is
    written as the run stops), then `run --resume` on the same recording: it
    goes on from the frame after the last one analyzed, with the count inside as it stood.
    Until stop 33 it read the recording again from 0 s: the stranger already recorded was
    recorded twice, Ann crossed the line a second time (two inside), and her one pass was
    "already marked"."""
    import json

    from rollcall.attendance.entrance import EntranceOptions, run_entrance
    from rollcall.attendance.runner import RunOptions
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.models import AttendanceSession, SessionEvent, UnknownFace

    enroll_ann_and_bob(cli, people, tmp_path)
    ann = walker(ANN, people[ANN][3], 0.5, duration=4.5, start=(0.15, 0.4), end=(0.85, 0.45),
                 size=(70.0, 110.0), seed=3)  # fmt: skip
    stranger = walker(STRANGER, people[STRANGER][3], 0.3, duration=2.2, start=(0.1, 0.3),
                      end=(0.3, 0.35), size=(70.0, 100.0), seed=12)  # fmt: skip
    video = write_clip(EntranceClip(SIZE, 25.0, 7.0, [ann, stranger], seed=8), tmp_path / "d.mp4")
    line = "320,360,320,0"  # walking left to right is in
    options = RunOptions(session="door", source=str(video), mode="entrance",
                         entrance_fps=FPS, entrance_line=line, min_interval=1.0,
                         max_interval=2.0, seed=3)  # fmt: skip
    frames = {"n": 0}

    def ctrl_c_at_4_5_s() -> bool:  # asked before each frame, at 8 fps
        frames["n"] += 1
        if frames["n"] > 4.5 * FPS:
            raise KeyboardInterrupt
        return False

    settings = Settings.from_env()
    db = Database(settings)
    try:
        stats = run_entrance(db, settings, FaceEngine(), options,
                             EntranceOptions(FPS, (320.0, 360.0, 320.0, 0.0)),
                             should_stop=ctrl_c_at_4_5_s)  # fmt: skip
        assert stats.stopped_by == "interrupted"
        with db.session() as s:
            row = s.query(AttendanceSession).filter_by(name="door").one()
            assert row.state == "interrupted"
            assert row.processed_until == pytest.approx(4.4, abs=1e-6)  # its last frame (25 fps)
            assert s.query(UnknownFace).filter_by(session_id=row.id).count() == 1
        result = cli("run", "--session", "door", "--resume", "--json")
        assert result.exit_code == 0, result.output
        report = json.loads(result.output[result.output.index("{") :])
        status = {a["person"]: a for a in report["attendance"]}
        assert status[ANN]["status"] == "present"
        assert status[ANN]["first_seen"] == pytest.approx(0.5, abs=0.3)  # the first run's
        with db.session() as s:
            row = s.query(AttendanceSession).filter_by(name="door").one()
            assert s.query(UnknownFace).filter_by(session_id=row.id).count() == 1
            kinds = [e.kind for e in s.query(SessionEvent).filter_by(session_id=row.id)]
            assert REPEAT not in kinds, kinds
        counts = report["head_counts"]
        assert counts[-1]["t"] > 5.0 and counts[-1]["count"] == 1, counts  # Ann, once
        assert report["entrance"]["inside"] == 1  # after the last frame, head count or not
    finally:
        db.engine.dispose()


def test_a_printed_photo_goes_to_review_and_the_kiosk_not_to_attendance(  # noqa: ANN201
    cli, people, tmp_path: Path
):
    """Through `rollcall run`: the photo credits no one, its face waits in the review of
    unknown faces marked as a picture (with its crop on disk), and the kiosk shows "please see
    staff" for it, which is all a real person the check got wrong needs to be put right."""
    import json
    from datetime import timedelta
    from zoneinfo import ZoneInfo

    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.kiosk_feed import live_lines
    from rollcall.storage.models import AttendanceSession, UnknownFace
    from rollcall.wallclock import as_utc

    enroll_ann_and_bob(cli, people, tmp_path)
    card = walker(ANN, people[ANN][3], 0.2, kind="print", yaw_amp=20.0, seed=7)
    video = write_clip(EntranceClip(SIZE, 25.0, 3.2, [card], seed=3), tmp_path / "door.mp4")
    result = cli("run", "--session", "door", "--source", video, "--mode", "entrance", "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.output[result.output.index("{") :])
    assert {a["status"] for a in report["attendance"]} == {"absent"}
    # The report says what else the entrance saw (the text one too), not only who is absent.
    assert report["mode"] == "entrance"
    assert report["entrance"]["presentation_attacks"] == 1, report["entrance"]
    assert report["entrance"]["strangers"] == 0
    text = cli("report", "--session", "door").output
    assert "Also seen: 1 judged a picture held up (for review)." in text, text
    assert "entrance at 8 fps" in text and "minutes" not in text
    settings = Settings.from_env()
    with Database(settings).session() as s:
        faces = s.query(UnknownFace).all()
        assert [(f.reason, f.review) for f in faces] == [(PICTURE, "pending")]
        assert (settings.home / faces[0].crop_path).stat().st_size > 0
        row = s.query(AttendanceSession).filter_by(name="door").one()
        now = as_utc(row.started_at) + timedelta(seconds=faces[0].t + 5)
        lines = live_lines(s, row, ZoneInfo("UTC"), now)
    assert [(line.kind, line.crop) for line in lines] == [("unknown", f"unknown/{faces[0].id}")]


@pytest.mark.parametrize("command", ["run", "agent"])
def test_a_counting_line_on_a_meeting_is_refused(cli, tmp_path, command: str) -> None:  # noqa: ANN001
    clip = tmp_path / "door.mp4"
    clip.write_bytes(b"")
    extra = ["--server", "http://127.0.0.1:9", "--token", "t"] if command == "agent" else []
    result = cli(command, "--session", "door", "--source", str(clip), *extra,
                 "--line", "0,0.5,1,0.5")  # fmt: skip
    assert result.exit_code == 2, result.output
    assert "--line counts people at an entrance: add --mode entrance" in result.output


def test_a_running_track_waits_for_the_spans_its_rule_reads_before_it_is_live() -> None:
    from dataclasses import replace

    from rollcall.analysis.entrance.liveness import LivenessFeatures, LivenessRule

    shipped = LivenessRule()
    bar = shipped.threshold * shipped.shift_scale  # on the second largest span
    brief_bar = shipped.brief_threshold * shipped.shift_scale  # on a lone span
    assert bar < brief_bar
    # One span measured, as high as a head's: a running track waits for the second (its
    # first span alone is not judged while more may come); at its end it is judged on it.
    one = LivenessFeatures(5, 0.0, 0.0, -1.0, 1, shift_spans=1, nose_shift_max=0.03)
    assert shipped.is_live(one) is None
    assert shipped.is_live(one, final=True) is True
    # ... against the higher bar: between the two, a lone span is not enough.
    between = replace(one, nose_shift_max=(bar + brief_bar) / 2)
    assert shipped.is_live(between) is None
    assert shipped.is_live(between, final=True) is False
    # Two spans: the second largest is read, while running and at the end alike.
    two = replace(one, frames=7, shift_spans=2, nose_shift=1.1 * bar, nose_shift_max=0.03)
    assert shipped.is_live(two) is True and shipped.is_live(two, final=True) is True
    low = replace(two, nose_shift=0.9 * bar)
    assert shipped.is_live(low) is False and shipped.is_live(low, final=True) is False
    # No span at all: nothing to read; at the end, not live.
    none = LivenessFeatures(12, 0.0, 0.0, -1.0, 3)
    assert shipped.is_live(none) is None and shipped.is_live(none, final=True) is False
    assert "could not be measured" in none.failed(2)
    assert "in the one span measured" in between.failed(2)
    assert low.failed(2) == "moved like a flat picture"
    # A rule weighing a cue of the first frame pairs (the landmarks': a picture tilted in
    # the hand can give these) waits for two flow spans before a running verdict.
    landmarks = replace(shipped, landmark_scale=0.06, threshold=1.0, brief_threshold=1.0)
    early = LivenessFeatures(5, 0.5, 0.0, 0.0, 1)
    assert landmarks.is_live(early) is None and landmarks.is_live(early, final=True) is True
    assert landmarks.is_live(replace(early, flow_spans=2)) is True
    assert shipped.is_live(LivenessFeatures(3, 0.5, 0.05, 0.0, 1), final=True) is None
    with pytest.raises(ValueError, match="shift_rank"):
        LivenessRule(shift_rank=3)


def test_the_nose_shift_of_a_flat_picture_is_nothing_and_a_nose_s_is_not() -> None:
    from rollcall.analysis.entrance.liveness import LivenessRule, _nose_shift

    bar = LivenessRule().threshold * LivenessRule().shift_scale
    rng = np.random.default_rng(4)
    picture = cv2.GaussianBlur(rng.uniform(0, 255, (240, 200)).astype(np.uint8), (0, 0), 2.0)
    marks = np.float32([[70, 90], [130, 90], [100, 125], [75, 160], [125, 160]])  # in the picture

    def shown(tilt: np.ndarray, at: tuple[float, float]) -> tuple[np.ndarray, np.ndarray]:
        """The picture warped by ``tilt`` and placed at ``at`` in a 360x640 frame, and the
        warped landmarks."""
        move = np.array([[1, 0, at[0]], [0, 1, at[1]], [0, 0, 1]], np.float64) @ tilt
        frame = cv2.warpPerspective(picture, move, (640, 360), borderValue=128)
        return frame, cv2.perspectiveTransform(marks[:, None], move)[:, 0]

    def box_of(m: np.ndarray) -> np.ndarray:  # a detector's box around the face, loosely
        x0, y0 = m.min(axis=0) - (35, 60)
        x1, y1 = m.max(axis=0) + (35, 30)
        return np.float32([x0, y0, x1 - x0, y1 - y0])

    still = np.eye(3)
    tilted = np.array([[1.03, 0.02, 0], [-0.01, 1.0, 0], [4e-5, -3e-5, 1]])
    a, ma = shown(still, (200, 40))
    b, mb = shown(tilted, (206, 43))
    flat = _nose_shift(a, box_of(ma), ma, b, box_of(mb) + np.float32([3, -2, 4, 2]))
    assert flat is not None and flat < 0.2 * bar, flat
    # The same, with the nose's disc alone shifted 5 px against the rest (a face 150 px
    # high: 3.2 px at 96 px, 3.3%): a nose's parallax.
    c = b.copy()
    nx, ny = (int(v) for v in mb[2])
    c[ny - 22 : ny + 22, nx - 22 : nx + 22] = b[ny - 22 : ny + 22, nx - 27 : nx + 17]
    deep = _nose_shift(a, box_of(ma), ma, c, box_of(mb))
    assert deep is not None and deep > 3 * bar, deep
    # A picture at the frame's edge: the black beyond the frame moves across its cut, which
    # is not one homography; with the nose that close it is not measured at all.
    a, ma = shown(still, (-95, 40))
    b, mb = shown(tilted, (-90, 43))
    assert _nose_shift(a, box_of(ma), ma, b, box_of(mb)) is None


def test_half_a_second_in_view_is_judged_on_its_one_span_as_the_face_leaves(
    engine,
    gallery,
    people,  # noqa: ANN001
) -> None:
    # 0.5 s at 60-90 px: four frames at 8 fps, one nose span. The track itself ends only a
    # second after the face is gone (max_lost), so the face is judged as it leaves, on the
    # one span it gave (the rule reads two in a longer track).
    quick = walker(BOB, people[BOB][3], 0.25, duration=0.5, size=(60.0, 90.0), seed=5)
    clip = EntranceClip(SIZE, FPS, 3.0, [quick], seed=8)
    marks, events, steps = play(make_monitor(engine, gallery), clip)
    assert [m.person for m in marks] == [BOB], events
    marked_at = [s.t for s in steps if s.marks]
    assert marked_at[0] - quick.t0 <= 1.0
    assert marks[0].first_seen == pytest.approx(quick.t0, abs=1 / FPS + 1e-6)
    # The same photo printed and flashed at the camera as briefly credits no one, and staff
    # read that it was judged on one span.
    flash = walker(BOB, people[BOB][3], 0.25, kind="print", duration=0.5, size=(60.0, 90.0))
    marks, events, _ = play(make_monitor(engine, gallery), EntranceClip(SIZE, FPS, 3.0, [flash]))
    assert marks == []
    assert [e.kind for e in events] == [ATTACK], events
    assert "flat picture in the one span measured: " in events[0].detail, events[0].detail


def test_cues_the_rule_does_not_weigh_are_not_measured_and_change_nothing(
    engine,
    gallery,
    people,  # noqa: ANN001
) -> None:
    # The shipped rule weighs the dense nose shift alone: its probes skip the followed points
    # and landmark pairs (a fifth of a frame's CPU), and every mark, event and time is what a
    # monitor measuring every cue decides. A person and a printed photo of the other.
    from rollcall.analysis.entrance.liveness import LivenessRule

    assert not LivenessRule().weighs_followed_points
    assert LivenessRule(context_weight=1.0).weighs_followed_points
    assert LivenessRule(flow_scale=0.005).weighs_followed_points
    ann = walker(ANN, people[ANN][3], 0.2, duration=2.0, seed=4)
    bob = walker(BOB, people[BOB][3], 1.0, kind="print", duration=2.0, start=(0.7, 0.4),
                 end=(0.6, 0.45), seed=6)  # fmt: skip
    clip = EntranceClip(SIZE, FPS, 4.0, [ann, bob], seed=3)
    lean, every = make_monitor(engine, gallery), make_monitor(engine, gallery, all_cues=True)
    got = {}
    for label, monitor in (("lean", lean), ("every", every)):
        marks, events, steps = play(monitor, clip)
        got[label] = (
            [(m.person, m.first_seen, m.evidence_t) for m in marks],
            [(e.t, e.kind, e.person) for e in events],
            [len(s.marks) for s in steps],
        )
    assert got["lean"] == got["every"]
    assert [p for p, _, _ in got["lean"][0]] == [ANN], got
    assert ATTACK in [k for _, k, _ in got["lean"][1]], got
    lean_probes = [f.probe for f in lean.finished]
    every_probes = [f.probe for f in every.finished]
    assert all(not p.flow and not p.nose and not p.context for p in lean_probes)
    assert all(p.shift for p in lean_probes if len(p.landmarks) >= 8)
    assert any(p.flow and p.nose for p in every_probes)
    attack = next(e for e in lean.finished if e.state == "attack")
    words = attack.probe.features().describe()
    assert "nose off the face's plane" in words and "surroundings" not in words, words


def test_a_picture_swept_fast_across_the_view_shows_no_depth() -> None:
    from rollcall.analysis.entrance.liveness import LivenessProbe, LivenessRule

    # A flat textured card crossing a still wall at 60 px a frame: optical flow loses its
    # points, and lost points scattered about must not read as a head's parallax.
    rng = np.random.default_rng(2)
    wall = cv2.GaussianBlur(rng.uniform(0, 255, (360, 640)).astype(np.uint8), (0, 0), 3)
    card = cv2.GaussianBlur(rng.uniform(0, 255, (90, 72)).astype(np.uint8), (0, 0), 1.2)
    probe, prev = LivenessProbe(), None
    eyes = np.float32([[22, 35], [50, 35], [36, 52], [25, 68], [47, 68]])
    for k in range(8):
        x = 20 + 60 * k
        frame = wall.copy()
        frame[130:220, x : x + 72] = card
        probe.update(prev, frame, np.float32([x, 130, 72, 90]), eyes + [x, 130], prev is not None)
        prev = frame
    probe.finish()
    f = probe.features()
    assert f.flow_parallax < 0.01, f
    assert f.nose_parallax < 0.01, f
    assert f.shift_spans >= 2 and f.nose_shift < 0.01, f
    assert not LivenessRule().is_live(f, final=True)


def test_a_turning_head_shows_its_nose_standing_out_and_a_picture_does_not(
    engine,
    gallery,
    people,  # noqa: ANN001
) -> None:
    """The nose's points, and its pixels (nose_shift), against the plane of the rest of the
    face: a head drawn with depth turning as it walks, against the same photo printed and
    tilted the same way."""
    from rollcall.analysis.entrance.liveness import LivenessRule

    never = LivenessRule(threshold=np.inf)  # every track followed to its end, none marked
    depth, shift = {}, {}
    for kind in ("person", "print"):
        for name, photo in ((ANN, people[ANN][3]), (BOB, people[BOB][3])):
            passer = walker(name, photo, 0.2, kind=kind, yaw_amp=20.0, size=(80.0, 160.0))
            monitor = make_monitor(engine, gallery, liveness=never, all_cues=True)
            play(monitor, EntranceClip(SIZE, FPS, 3.0, [passer], seed=2))
            assert monitor.finished, (kind, name)
            main = max(monitor.finished, key=lambda f: len(f.probe.landmarks))
            assert len(main.probe.nose) >= 2, (kind, name)  # measured, not merely absent
            assert len(main.probe.shift) >= 2, (kind, name)
            f = main.probe.features()
            depth[kind, name] = f.nose_parallax
            shift[kind, name] = f.nose_shift
    for name in (ANN, BOB):
        assert depth["person", name] > 1.5 * depth["print", name], depth
        # Seen densely the nose stands out further (17-35 times a picture's here, since
        # stop 32's homography fit; the bench's closest live passer and picture are about
        # 1.5 times apart, as turns are often slight).
        assert shift["person", name] > 3.0 * shift["print", name], shift


def test_a_passer_is_drawn_whole_at_the_size_the_clip_states(people) -> None:  # noqa: ANN001
    """The generator draws each passer on the face as found in their own photo: the detected
    face is where and as large as face_box says, and the head's outline (with the hair) fades
    out inside its picture, never cut by the picture's edge (a straight side moving with the
    face would be a cue no real head gives)."""
    from rollcall.synth.entrance import HEAD_SPRITE, HeadOutline, sprite_face
    from rollcall.vision.detect import YuNetDetector

    detector = YuNetDetector()
    photos = [(n, p) for n in sorted(people) for p in people[n][:3]]
    ratios = []
    for i, (name, photo) in enumerate(photos):
        assert HeadOutline.of(sprite_face(photo, True)).fits(HEAD_SPRITE[::-1]), photo.name
        if i % 4:
            continue
        passer = Passer(name, photo, 0.0, 1.0, start=(0.5, 0.45), end=(0.5, 0.45),
                        size=(150.0, 150.0), yaw_amp=0.0, seed=i)  # fmt: skip
        clip = EntranceClip(SIZE, FPS, 1.0, [passer], seed=i)
        faces = detector.detect(clip.frame(0.5))
        assert len(faces), photo.name
        x, y, w, h = faces.boxes[int(np.argmax(faces.boxes[:, 3]))]
        assert abs(x + w / 2 - 0.5 * SIZE[0]) < 0.15 * h, photo.name
        assert abs(y + h / 2 - 0.45 * SIZE[1]) < 0.15 * h, photo.name
        ratios.append(h / 150.0)
    assert 0.9 < float(np.median(ratios)) < 1.1, ratios


def test_a_small_face_turning_still_shows_its_nose(engine, gallery, people) -> None:  # noqa: ANN001
    """A face 45-60 px high (eyes about 18 px apart, a real clip's far passers) gives few
    corners to follow (the points followed on the nose were there in 3 of 6 spans for one
    of these); the dense shift is read off the pictures alone, so its nose is measured in
    every span all the same, and stands out of a printed photo's."""
    from rollcall.analysis.entrance.liveness import LivenessRule

    never = LivenessRule(threshold=np.inf)
    shift = {}
    for kind in ("person", "print"):
        for name, photo in ((ANN, people[ANN][3]), (BOB, people[BOB][3])):
            passer = walker(name, photo, 0.2, kind=kind, yaw_amp=20.0, size=(45.0, 60.0))
            monitor = make_monitor(engine, gallery, liveness=never)
            play(monitor, EntranceClip(SIZE, FPS, 3.0, [passer], seed=2))
            main = max(monitor.finished, key=lambda f: len(f.probe.landmarks))
            if kind == "person":  # 20 frames: six 3-frame spans (one lost to a tilt is fine)
                assert len(main.probe.landmarks) >= 19, name
                assert len(main.probe.shift) >= 5, (name, main.probe.shift)
            shift[kind, name] = main.probe.features().nose_shift
    for name in (ANN, BOB):
        assert shift["person", name] > 2.0 * shift["print", name], shift


def test_a_runs_checkpoint_keeps_an_agents_frame_numbering(home: Path) -> None:
    """An agent (frames up to 500), then `run --resume` (checkpoints to 80 s), then an agent
    again: it must number on from 501 (the server drops a frame numbered at or below the
    stored one as a duplicate: an hour of frames was silently lost when the checkpoint
    replaced the agent's document), and take up the run's count inside."""
    from rollcall.analysis.entrance.monitor import EntranceStep
    from rollcall.analysis.entrance.uploads import _Doc, entrance_progress, last_frame
    from rollcall.attendance.entrance import _checkpoint, _resume_point
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.models import SessionState
    from rollcall.storage.sessions import SessionSettings, create_session

    db = Database(Settings.from_env())
    try:
        with db.session() as s:
            settings = SessionSettings("camera:0", 1, 20.0, 90.0, 300.0, 180.0, "entrance")
            sid = create_session(s, "door", settings, [], None).id
            agent = _Doc(frame=500, t=62.5, sample=2, last_count=1, inside=1, named_inside=1)
            s.add(SessionState(session_id=sid, seq=500, state=agent.dump()))
        step = EntranceStep(80.0, 2, 2)
        step.named_inside = 1
        _checkpoint(db, sid, 80.0, step, 3, 1)
        with db.session() as s:
            assert last_frame(s, sid) == (500, 80.0)  # numbered on from 501, after 80 s
            assert s.get(SessionState, sid).seq == 500
            doc = entrance_progress(s, sid)
            assert (doc.inside, doc.named_inside, doc.sample) == (2, 1, 3)
        point = _resume_point(db, sid)
        assert (point.t, point.inside, point.named_inside) == (80.0, 2, 1)
    finally:
        db.close()


def test_a_student_who_appears_where_a_stranger_just_was_is_marked(engine, gallery, people) -> None:  # noqa: ANN001
    """A stranger walks up and steps out of view; a student appears where they were 0.4 s
    later. The tracker handed the stranger's box on, the stranger's shots had used the track's
    embeddings, and the student was never named (an entrance operator's review). A better
    shot is looked at every LOOK_EVERY on such a track: the student's track starts there."""
    from rollcall.analysis.entrance.monitor import LOOK_EVERY

    stranger = walker(STRANGER, people[STRANGER][3], 0.5, duration=3.0, start=(0.3, 0.4),
                      end=(0.5, 0.42), size=(80.0, 150.0), seed=10)  # fmt: skip
    student = walker(ANN, people[ANN][3], 3.9, duration=3.0, start=(0.5, 0.42),
                     end=(0.6, 0.45), size=(150.0, 220.0), seed=11)  # fmt: skip
    clip = EntranceClip(SIZE, FPS, 7.5, [stranger, student], seed=11)
    marks, _, _ = play(make_monitor(engine, gallery), clip)
    assert [m.person for m in marks] == [ANN]
    assert 3.9 - 1e-6 <= marks[0].first_seen <= 3.9 + LOOK_EVERY + 1 / FPS, marks[0].first_seen


def test_someone_leaving_first_was_inside_before_counting_began() -> None:
    """One walks out, then two walk in: 2 are inside, not 1 (the first leave was kept as a
    debt that cancelled an entry, and a resume, starting from the clamped count, dropped it:
    the same clip gave 1 or 2; an entrance operator's review)."""
    from rollcall.analysis.entrance.occupancy import Occupancy

    def walk(occupancy: Occupancy, track: int, down: bool) -> None:
        for y in np.linspace(120, 240, 7) if down else np.linspace(240, 120, 7):
            occupancy.update(np.array([[300.0, y - 20, 40.0, 40.0]]), np.array([track]))

    line = (0.0, 180.0, 640.0, 180.0)  # walking down the picture is in
    counted = Occupancy(line)
    walk(counted, 1, down=False)
    assert counted.inside == 0 and counted.left == 1
    resumed = Occupancy(line, inside=counted.inside)  # a resume here starts from the count
    for occupancy in (counted, resumed):
        walk(occupancy, 2, down=True)
        walk(occupancy, 3, down=True)
    assert counted.inside == resumed.inside == 2


def test_a_visitors_second_pass_is_a_visitor_pass_not_already_marked() -> None:
    """Someone enrolled but not on the roster passing twice: the run said "passed again
    (already marked ...)" though they were never marked, the report counted an "already
    marked" pass, and the kiosk had nothing for the second pass (an entrance operator's
    review). Now it is another visitor pass, as the first was."""
    from rollcall.analysis.entrance.monitor import REPEAT, EntranceStep
    from rollcall.attendance.entrance import findings, news
    from rollcall.attendance.monitor import Event

    passes = [Event(10.5, REPEAT, "Gerhard", "already marked at t=0.5 s"),
              Event(10.5, REPEAT, "Ann", "already marked at t=2.0 s")]  # fmt: skip
    step = EntranceStep(t=10.5, visible=1, inside=None, events=passes)
    out = findings(step, {"Ann"})
    assert [(e.kind, e.person) for e in out.events] == [("visitor", "Gerhard"), (REPEAT, "Ann")]
    said = [words for _, words in news(step, {"Ann"})]
    assert said == ["Gerhard seen again: enrolled but not on this session's roster",
                    "Ann passed again (already marked at t=2.0 s)"]  # fmt: skip


def test_an_entrance_on_snapshots_a_minute_apart_is_refused(cli, tmp_path: Path) -> None:  # noqa: ANN001
    """A folder of snapshots with the meetings' default --folder-step (60 s) ran, tracked
    faces minutes apart as one person and missed passers (an entrance operator's review)."""
    folder = tmp_path / "snaps"
    folder.mkdir()
    refused = cli("run", "--session", "door", "--mode", "entrance", "--source", folder)
    said = " ".join(refused.output.split())
    assert refused.exit_code == 2 and "--folder-step 60" in said and "a second or less" in said


def test_one_picture_held_up_twice_is_one_attempt(engine, gallery, people) -> None:  # noqa: ANN001
    """A print lowered and raised again (the tracker loses it, two tracks): one event, one
    face for review and one kiosk line, not one per track (an entrance operator's review).
    The same picture held up again half an hour later is another attempt."""
    first = walker(ANN, people[ANN][3], 0.2, kind="print", yaw_amp=20.0, seed=7)
    again = walker(ANN, people[ANN][3], 5.2, kind="print", yaw_amp=20.0, seed=8)
    clip = EntranceClip(SIZE, FPS, 8.4, [first, again], seed=3)
    monitor = make_monitor(engine, gallery)
    marks, events, steps = play(monitor, clip)
    tracks = [f for f in monitor.finished if f.state == "attack"]
    assert marks == [] and len(tracks) == 2, [(f.track_id, f.state) for f in monitor.finished]
    attacks = [e for e in events if e.kind == ATTACK]
    assert [e.person for e in attacks] == [ANN]
    assert len([u for step in steps for u in step.unknowns]) == 1
    later = EntranceClip(SIZE, FPS, 3.2, [walker(ANN, people[ANN][3], 0.2, kind="print",
                                                yaw_amp=20.0, seed=9)], seed=4)  # fmt: skip
    _, events, _ = play(monitor, later, offset=1800.0)
    assert [e.person for e in events if e.kind == ATTACK] == [ANN]
    # Held up again 7 s after the last was lowered: another attempt, reported (the second
    # review: a window grown by each attempt it hid hid a stream of them).
    again = EntranceClip(SIZE, FPS, 12.0, [
        walker(ANN, people[ANN][3], 0.2, kind="print", yaw_amp=20.0, seed=10),
        walker(ANN, people[ANN][4], 9.2, kind="print", yaw_amp=20.0, seed=11),
    ], seed=5)  # fmt: skip
    _, events, _ = play(make_monitor(engine, gallery), again)
    assert [e.person for e in events if e.kind == ATTACK] == [ANN, ANN]
    # Held up 8 s (judged while still in view), lost 1.5 s, found again: one attempt (the
    # second review: the gap was counted from the verdict, not from when it was last seen).
    held = EntranceClip(SIZE, FPS, 12.0, [
        walker(ANN, people[ANN][3], 0.2, kind="print", yaw_amp=20.0, seed=12, duration=8.0),
        walker(ANN, people[ANN][3], 9.7, kind="print", yaw_amp=20.0, seed=13),
    ], seed=6)  # fmt: skip
    monitor = make_monitor(engine, gallery)
    _, events, _ = play(monitor, held)
    assert len([f for f in monitor.finished if f.state == "attack"]) == 2
    assert [e.person for e in events if e.kind == ATTACK] == [ANN]
