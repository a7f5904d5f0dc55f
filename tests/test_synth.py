"""Synthetic meeting data: gallery layout and tiles, seeded scripts, recordings and scoring."""

from __future__ import annotations

import json
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
import pytest
from PIL import Image

from rollcall.synth import (
    AttendanceScript,
    GalleryLayout,
    Tile,
    choose_photos,
    compose_gallery,
    frame_times,
    gallery_frame,
    load_people,
    make_script,
    read_photo,
    render_recording,
    score_attendance,
)

ROSTER = [f"Person_{i:02d}" for i in range(20)]
STRANGERS = ["Stranger_A", "Stranger_B"]


@pytest.fixture(scope="module")
def real_people(faces: Path) -> dict[str, list[Path]]:
    """Real photos per person; conftest's ``faces`` skips when ROLLCALL_FACES is absent."""
    return load_people(faces / "identities" / "photos")


@pytest.fixture(scope="module")
def fake_photos(tmp_path_factory: pytest.TempPathFactory) -> dict[str, list[Path]]:
    """Two plain coloured 'photos' per participant, so recordings can be tested without faces."""
    root = tmp_path_factory.mktemp("photos")
    rng = np.random.default_rng(0)
    photos: dict[str, list[Path]] = {}
    for name in ROSTER + STRANGERS:
        (root / name).mkdir()
        photos[name] = []
        for i in range(2):
            path = root / name / f"{i}.png"
            colour = rng.integers(40, 220, size=3).tolist()
            cv2.imwrite(str(path), np.full((120, 100, 3), colour, np.uint8))
            photos[name].append(path)
    return photos


def hand_script(**overrides: object) -> AttendanceScript:
    """A small meeting whose truth is easy to state: A on time, B late, C drops and rejoins."""
    args: dict = dict(
        duration_s=10.0,
        seed=0,
        people=["A", "B", "C", "D"],
        strangers=["X"],
        presence={"A": [(0, 10)], "B": [(2, 10)], "C": [(1, 3), (4, 10)], "X": [(5, 6)]},
        camera_off={"B": [(2, 5)]},
    )
    args.update(overrides)
    return AttendanceScript(**args)


# -- gallery layout (pure) --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("count", "size", "grid"),
    [
        (1, (1280, 720), (1, 1)),
        (2, (1280, 720), (2, 1)),
        (4, (640, 480), (2, 2)),
        (4, (1280, 720), (2, 2)),
        (9, (1280, 720), (3, 3)),
        (25, (1280, 720), (5, 5)),
        (25, (1920, 1080), (5, 5)),
        (49, (640, 480), (7, 7)),
        (49, (1920, 1080), (7, 7)),
    ],
)
def test_layout_picks_a_near_square_grid(count: int, size: tuple[int, int], grid: tuple) -> None:
    layout = GalleryLayout.for_count(count, size)
    assert (layout.cols, layout.rows) == grid
    rects = layout.rects()
    assert len(rects) == count
    tile_w, tile_h = layout.tile_size
    assert abs(tile_w / tile_h - 16 / 9) < 0.05
    for x, y, w, h in rects:
        assert (w, h) == layout.tile_size
        assert x >= 0 and y >= 0 and x + w <= size[0] and y + h <= size[1]
    # Tiles never overlap: each one starts at least a gap after its left/upper neighbour.
    for (x1, y1, _, _), (x2, y2, _, _) in zip(rects, rects[1:], strict=False):
        assert (y2 == y1 and x2 >= x1 + tile_w + layout.gap) or y2 >= y1 + tile_h + layout.gap


def test_layout_centres_a_short_last_row() -> None:
    rects = GalleryLayout.for_count(3, (1280, 720)).rects()
    (x0, _, w, _), (x1, _, _, _), (x2, _, _, _) = rects
    assert x2 + w // 2 == pytest.approx(640, abs=1)  # the lone tile sits in the middle
    assert x0 < x2 < x1 + w


def test_layout_with_4_3_tiles() -> None:
    layout = GalleryLayout.for_count(4, (1280, 720), aspect=4 / 3)
    assert abs(layout.tile_size[0] / layout.tile_size[1] - 4 / 3) < 0.05


# -- composing tiles --------------------------------------------------------------------------


def test_compose_gallery_records_every_tile() -> None:
    photo = np.full((200, 160, 3), (30, 160, 220), np.uint8)
    tiles = [Tile("Ann_Lee", photo), Tile("Bob", None), Tile("Cy", photo, camera_off=True), None]
    image, truths = compose_gallery(tiles, (640, 360))
    assert image.shape == (360, 640, 3) and image.dtype == np.uint8
    assert [t.kind for t in truths] == ["face", "camera_off", "camera_off", "empty"]
    assert [t.name for t in truths] == ["Ann_Lee", "Bob", "Cy", None]
    assert truths[0].label == "Ann Lee"
    x, y, w, h = truths[0].rect
    # The photo's colour fills the face tile; a camera-off tile is dark grey.
    assert np.abs(image[y + h // 3, x + w // 2].astype(int) - (30, 160, 220)).max() < 10
    cx, cy, cw, ch = truths[2].rect
    assert image[cy + 3, cx + 3].max() < 60


def test_gallery_frame_checks_labels(tmp_path: Path) -> None:
    path = tmp_path / "Zed" / "a.png"
    path.parent.mkdir()
    cv2.imwrite(str(path), np.full((50, 50, 3), 128, np.uint8))
    image, truths = gallery_frame([path, path], (320, 240), labels=["Zed", "Zed (2)"])
    assert image.shape == (240, 320, 3)
    assert [t.label for t in truths] == ["Zed", "Zed (2)"]
    assert [t.name for t in truths] == ["Zed", "Zed"]
    with pytest.raises(ValueError):
        gallery_frame([path], (320, 240), labels=["a", "b"])


def test_load_people_and_gif_fallback(tmp_path: Path) -> None:
    (tmp_path / "b_person").mkdir()
    (tmp_path / "a_person").mkdir()
    (tmp_path / "empty").mkdir()
    Image.new("RGB", (30, 20), (255, 0, 0)).save(tmp_path / "b_person" / "x.gif")
    Image.new("RGB", (30, 20), (0, 0, 255)).save(tmp_path / "a_person" / "y.PNG")
    (tmp_path / "a_person" / "notes.txt").write_text("not a photo")
    people = load_people(tmp_path)
    assert list(people) == ["a_person", "b_person"]
    assert [p.name for p in people["a_person"]] == ["y.PNG"]
    gif = read_photo(people["b_person"][0])
    assert gif.shape == (20, 30, 3)
    assert tuple(gif[0, 0]) == (0, 0, 255)  # BGR


# -- the script -------------------------------------------------------------------------------


def test_same_seed_gives_the_same_script() -> None:
    a = make_script(ROSTER, 600, seed=3, strangers=STRANGERS)
    b = make_script(ROSTER, 600, seed=3, strangers=STRANGERS)
    c = make_script(ROSTER, 600, seed=4, strangers=STRANGERS)
    assert a.to_json() == b.to_json()
    assert a.to_json() != c.to_json()


@pytest.mark.parametrize("seed", range(8))
def test_generated_script_invariants(seed: int) -> None:
    duration = 600.0
    script = make_script(ROSTER, duration, seed=seed, strangers=STRANGERS, absent_fraction=0.1)
    assert len(script.absent) == 2
    for name in script.participants:
        intervals = script.present_intervals(name)
        for a, b in intervals:
            assert 0 <= a < b <= duration
        for (_, b1), (a2, _) in zip(intervals, intervals[1:], strict=False):
            assert b1 < a2
        for a, b in script.camera_off.get(name, []):
            assert any(pa <= a and b <= pb for pa, pb in intervals)
        seen = script.seen_intervals(name)
        if seen:
            assert script.first_seen(name) >= intervals[0][0]
            assert script.last_seen(name) <= intervals[-1][1]
            assert sum(b - a for a, b in seen) > 0
    on_time = [n for n in script.people if script.presence[n] and script.presence[n][0][0] <= 60]
    assert len(on_time) >= len(ROSTER) // 2  # most join in the first minute
    for t in np.linspace(0, duration - 0.01, 97):
        present, visible = script.present_at(t), script.visible_at(t)
        assert set(visible) <= set(present)
        assert visible == [n for n in present if n in visible]  # same order as the tiles
        joins = [next(a for a, b in script.presence[n] if a <= t < b) for n in present]
        assert joins == sorted(joins)  # tiles follow join order
        for name in visible:
            assert any(a <= t < b for a, b in script.seen_intervals(name))
        assert not set(script.visible_at(t, include_strangers=False)) & set(STRANGERS)


def test_tiles_follow_join_order_and_reflow() -> None:
    script = hand_script()
    assert script.present_at(0.5) == ["A"]
    assert script.present_at(2.5) == ["A", "C", "B"]
    assert script.present_at(3.5) == ["A", "B"]  # C left; B moves up
    assert script.present_at(4.5) == ["A", "B", "C"]  # C rejoined at the end
    assert script.present_at(5.5) == ["A", "B", "C", "X"]
    assert script.visible_at(2.5) == ["A", "C"]  # B's camera is off
    assert script.visible_at(5.5, include_strangers=False) == ["A", "B", "C"]
    assert script.present_at(10.0) == [] and script.present_at(-1) == []


def test_first_and_last_seen_follow_the_camera() -> None:
    script = hand_script()
    assert script.first_seen("B") == 5.0  # joined at 2 with the camera off until 5
    assert script.seen_intervals("C") == [(1.0, 3.0), (4.0, 10.0)]
    assert script.last_seen("C") == 10.0
    assert script.first_seen("D") is None and script.absent == ["D"]
    assert script.present_intervals("B") == [(2.0, 10.0)]


def test_page_size_hides_overflow_tiles() -> None:
    script = hand_script(page_size=2, camera_off={})
    assert script.present_at(2.5) == ["A", "C"]
    assert script.first_seen("B") == 3.0  # on page one once C drops out
    assert script.seen_intervals("C") == [(1.0, 3.0)]  # rejoined onto page two


def test_script_rejects_impossible_truth() -> None:
    with pytest.raises(ValueError):
        hand_script(camera_off={"B": [(0, 1)]})  # camera off before joining
    with pytest.raises(ValueError):
        hand_script(presence={"A": [(0, 5), (4, 8)]})
    with pytest.raises(ValueError):
        hand_script(presence={"A": [(0, 11)]})


def test_script_json_round_trip() -> None:
    script = make_script(ROSTER, 300, seed=11, strangers=STRANGERS)
    text = script.to_json()
    json.loads(text)
    again = AttendanceScript.from_json(text)
    assert again == script
    assert again.change_times() == script.change_times()
    for t in np.linspace(0, 299, 50):
        assert again.tiles_at(t) == script.tiles_at(t)


# -- scoring ----------------------------------------------------------------------------------


def test_score_attendance() -> None:
    script = hand_script()
    observed = {"A": 0.5, "B": 6.0, "C": None, "D": 2.0}
    score = score_attendance(script, ["A", "B", "C", "D"], observed)
    assert score.true_present == ["A", "B"]
    assert score.false_present == ["D"]
    assert score.missed == ["C"]
    assert score.first_seen_errors == {"A": 0.5, "B": 1.0}
    assert score.median_first_seen_error == 0.75
    assert score.precision == pytest.approx(2 / 3) and score.recall == pytest.approx(2 / 3)
    brief = hand_script(presence={"A": [(0, 10)], "C": [(1, 1.5)]}, camera_off={})
    excused = score_attendance(brief, ["C"], {}, min_visible_s=1.0)
    assert excused.missed == [] and excused.correct_absent == ["C"]


# -- recordings -------------------------------------------------------------------------------


def test_frame_times() -> None:
    assert frame_times(2.0, 4.0) == [0, 0.25, 0.5, 0.75, 1.0, 1.25, 1.5, 1.75]
    vfr = frame_times(30.0, 4.0, vfr=True, seed=1)
    gaps = np.diff(vfr)
    assert vfr[0] == 0 and vfr[-1] < 30 and (gaps > 0).all()
    assert gaps.std() > 0.02  # really irregular
    assert all(round(t, 3) == t for t in vfr)
    assert vfr == frame_times(30.0, 4.0, vfr=True, seed=1)


def _decode(path: Path) -> tuple[list[float], list[int], tuple[int, int], str]:
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        frames = list(container.decode(stream))
        times = [float(f.pts * stream.time_base) for f in frames]
        return times, [f.pts for f in frames], (stream.width, stream.height), stream.codec.name


def test_render_constant_frame_rate(tmp_path: Path, fake_photos: dict[str, list[Path]]) -> None:
    script = make_script(ROSTER, 4.0, seed=5, strangers=STRANGERS)
    rec = render_recording(script, fake_photos, tmp_path / "cfr.mp4", (320, 180), fps=5)
    times, pts, size, codec = _decode(rec.path)
    assert rec.frame_count == 20 and len(times) == 20
    assert size == (320, 180)
    assert codec == {"libx264": "h264", "mpeg4": "mpeg4"}[rec.codec]
    assert all(b > a for a, b in zip(pts, pts[1:], strict=False))
    assert times == pytest.approx(rec.frame_times, abs=1e-3)
    assert times == pytest.approx([i / 5 for i in range(20)], abs=1e-3)
    for name, photo in rec.photos.items():
        assert photo in fake_photos[name]


def test_render_variable_frame_rate(tmp_path: Path, fake_photos: dict[str, list[Path]]) -> None:
    script = make_script(ROSTER, 6.0, seed=6, strangers=STRANGERS)
    rec = render_recording(script, fake_photos, tmp_path / "vfr.mp4", (320, 180), fps=4, vfr=True)
    times, pts, _, _ = _decode(rec.path)
    assert len(times) == rec.frame_count
    assert all(b > a for a, b in zip(pts, pts[1:], strict=False))
    assert times == pytest.approx(rec.frame_times, abs=1e-3)
    assert np.diff(times).std() > 0.01


def test_render_with_mpeg4_and_bitrate(tmp_path: Path, fake_photos: dict[str, list[Path]]) -> None:
    script = make_script(ROSTER[:4], 1.0, seed=1)
    rec = render_recording(
        script, fake_photos, tmp_path / "m4.mp4", (160, 90), fps=Fraction(5, 2), codec="mpeg4"
    )
    times, _, _, codec = _decode(rec.path)
    assert codec == "mpeg4" and times == pytest.approx([0.0, 0.4, 0.8], abs=1e-3)


def test_choose_photos_is_seeded_per_person(fake_photos: dict[str, list[Path]]) -> None:
    a = choose_photos(ROSTER, fake_photos, seed=1)
    assert a == choose_photos(ROSTER, fake_photos, seed=1)
    assert choose_photos(ROSTER[:3], fake_photos, seed=1) == {n: a[n] for n in ROSTER[:3]}
    with pytest.raises(ValueError):
        choose_photos(["Nobody"], fake_photos, seed=1)


# -- with the real photos ---------------------------------------------------------------------


@pytest.mark.faces
def test_real_gallery_frame(real_people: dict[str, list[Path]]) -> None:
    names = sorted(real_people)[:25]
    photos = [real_people[n][0] for n in names]
    image, truths = gallery_frame(photos, (1280, 720))
    assert image.shape == (720, 1280, 3)
    assert [t.name for t in truths] == names
    assert all(t.kind == "face" for t in truths)
    for t in truths:
        x, y, w, h = t.rect
        assert image[y : y + h, x : x + w].std() > 10  # a photo, not a flat fill


@pytest.mark.faces
def test_real_recording_keeps_enrollment_photos_apart(
    tmp_path: Path, real_people: dict[str, list[Path]]
) -> None:
    names = sorted(real_people)
    roster, strangers = names[:8], names[-2:]
    # Hold out the first photo of each person for enrollment; the video uses one of the rest.
    video_photos = {n: p[1:] or p for n, p in real_people.items()}
    script = make_script(roster, 3.0, seed=2, strangers=strangers)
    rec = render_recording(script, video_photos, tmp_path / "real.mp4", (640, 360), fps=4)
    times, _, _, _ = _decode(rec.path)
    assert len(times) == 12
    for name, photo in rec.photos.items():
        assert photo in video_photos[name]
        if len(real_people[name]) > 1:
            assert photo != real_people[name][0]


@pytest.mark.parametrize(
    "photo",
    [
        "photos/John_Salley/dlibjohns__000197_02159525.jpg",  # Haar: a box on one eye
        "photos/Ariel_Sharon/lfw__Ariel_Sharon_0004.jpg",  # Haar: a bystander's face
        "photos/Vladimir_Putin/lfw__Vladimir_Putin_0004.jpg",  # Haar: a box twice the face
    ],
)
def test_tiles_are_framed_on_the_main_face(faces: Path, photo: str) -> None:
    from rollcall.synth.people import locate_face
    from rollcall.vision.engine import FaceEngine

    image = read_photo(faces / "identities" / photo)
    found = FaceEngine().detect(image, pad_retry=True)
    x, y, w, h = found.boxes[int(np.argmax(found.boxes[:, 2] * found.boxes[:, 3]))]
    fx, fy, fw, fh = locate_face(image)
    # The framing box is centred on the face and about its size (Haar's square convention).
    assert abs((fx + fw / 2) - (x + w / 2)) < 0.25 * h
    assert abs((fy + fh / 2) - (y + h / 2)) < 0.25 * h
    assert 0.7 * h < fh < 1.2 * h
