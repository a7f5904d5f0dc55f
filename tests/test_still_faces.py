"""vision.still: a face that never moves between samples is a picture, one that moves is live; the
verdicts weigh every comparison, and survive the monitor's state being stored and restored."""

from __future__ import annotations

import cv2
import numpy as np

from rollcall.analysis import state as monitor_state
from rollcall.attendance.monitor import AttendanceMonitor, MonitorConfig
from rollcall.vision.gallery import Gallery
from rollcall.vision.still import MIN_GAP, StillFaces, Verdict
from rollcall.vision.types import Faces

SIZE = (360, 640)


def texture(seed: int, side: int = 64) -> np.ndarray:
    """A face-sized patch of blurred noise: detail at the scales a face has."""
    rng = np.random.default_rng(seed)
    patch = cv2.GaussianBlur(rng.normal(128, 60, (side, side)).astype(np.float32), (0, 0), 2.5)
    return np.clip(patch, 0, 255).astype(np.uint8)


def camera(canvas: np.ndarray, rng: np.random.Generator, gain: float = 1.0) -> np.ndarray:
    """The scene through a camera: light, sensor noise, JPEG loss."""
    shot = np.clip(canvas.astype(np.float32) * gain + rng.normal(0, 3, canvas.shape), 0, 255)
    ok, data = cv2.imencode(".jpg", shot.astype(np.uint8), [cv2.IMWRITE_JPEG_QUALITY, 70])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_GRAYSCALE)


def scene(poster: np.ndarray, person: np.ndarray, nudge: tuple[int, int]) -> np.ndarray:
    canvas = np.full(SIZE, 140, np.uint8)
    canvas[40:104, 60:124] = poster  # on the wall, never moves
    y, x = 200 + nudge[1], 300 + nudge[0]
    canvas[y : y + 64, x : x + 64] = person
    return canvas


def faces(boxes: list[tuple[float, float, float, float]]) -> Faces:
    n = len(boxes)
    return Faces(np.array(boxes, np.float32), np.ones(n), np.zeros((n, 5, 2)))


def samples(count: int, gap: float = 20.0, seed: int = 0):  # noqa: ANN201
    """(t, image, faces): a poster and a person who turns (another look) and shifts each time."""
    rng = np.random.default_rng(seed)
    poster = texture(1)
    for k in range(count):
        nudge = (int(rng.integers(-6, 7)), int(rng.integers(-6, 7)))
        person = texture(100 + k)  # a head turned another way: other pixels at that place
        image = camera(scene(poster, person, nudge), rng, gain=1.0 + 0.15 * np.sin(k))
        # The detector's boxes jitter by a pixel or two; the person's follow them.
        jitter = rng.uniform(-2, 2, 2)
        boxes = [(60 + jitter[0], 40 + jitter[1], 64, 64), (300 + nudge[0], 200 + nudge[1], 64, 64)]
        yield k * gap, image, faces(boxes)


def test_a_poster_is_a_picture_and_a_moving_face_is_live() -> None:
    still = StillFaces()
    verdicts = [still.judge(t, image, found) for t, image, found in samples(6)]
    posters = [int(v[0]) for v in verdicts]
    people = [int(v[1]) for v in verdicts]
    # A new place is unsure; two unmoved comparisons make a picture, three moved ones live.
    assert posters == [Verdict.UNSURE, Verdict.UNSURE, *[Verdict.PICTURE] * 4], posters
    assert people == [Verdict.UNSURE] * 3 + [Verdict.LIVE] * 3, people


def test_frames_a_moment_apart_are_not_compared() -> None:
    """A real person barely changes in a second: only samples MIN_GAP apart are compared."""
    still = StillFaces()
    verdicts = [still.judge(t, image, f) for t, image, f in samples(8, gap=MIN_GAP / 4)]
    assert all(int(v[0]) == Verdict.UNSURE for v in verdicts[:4])


def test_a_person_who_keeps_still_for_one_sample_is_no_picture() -> None:
    still = StillFaces()
    frames = list(samples(8))
    for t, image, found in frames[:5]:
        still.judge(t, image, found)
    # The person holds exactly the pose of the sample before: one unmoved comparison. They are
    # still counted (not taken for a picture), and live again once that still has faded.
    t, _, found = frames[5]
    _, image, _ = frames[4]
    assert int(still.judge(t, image, found)[1]) == Verdict.UNSURE
    verdicts = [int(still.judge(t, image, found)[1]) for t, image, found in frames[6:]]
    assert verdicts[-1] == Verdict.LIVE


def test_the_pictures_survive_a_stored_state() -> None:
    config = MonitorConfig(room_camera=True)
    gallery = Gallery([], np.zeros(0, int), np.zeros((0, 8), np.float32), 0.5, 0.05)
    monitor = AttendanceMonitor(gallery, [], config)
    frames = list(samples(6))

    def embed(subset: Faces) -> np.ndarray:
        return np.zeros((len(subset), 8), np.float32)

    outs = [monitor.observe(seq, t, image, found, embed) for seq, (t, image, found) in
            enumerate(frames[:4])]  # fmt: skip
    # The poster is set aside from the third sample on, with an event (and its crop) then.
    assert [o.count for o in outs] == [2, 2, 1, 1]
    [event] = [e for o in outs for e in o.events if e.kind == "pictures"]
    assert event.t == frames[2][0] and event.crop is not None and event.crop.size
    again = AttendanceMonitor(gallery, [], config)
    monitor_state.restore(again, monitor_state.snapshot(monitor))
    t, image, found = frames[4]
    assert again.observe(4, t, image, found, embed).count == 1
    fresh = AttendanceMonitor(gallery, [], config)  # a monitor that forgot the room
    assert fresh.observe(4, t, image, found, embed).count == 2


def test_the_counts_that_counted_a_picture_are_taken_back_also_after_a_resume() -> None:
    """The first two samples counted the poster (unsure then); the sample that finds it a
    picture takes it off their counts, once each, also when the run was stopped and resumed
    in between."""
    config = MonitorConfig(room_camera=True)
    gallery = Gallery([], np.zeros(0, int), np.zeros((0, 8), np.float32), 0.5, 0.05)

    def embed(subset: Faces) -> np.ndarray:
        return np.zeros((len(subset), 8), np.float32)

    frames = list(samples(5))
    monitor = AttendanceMonitor(gallery, [], config)
    outs = [monitor.observe(seq, t, image, found, embed) for seq, (t, image, found) in
            enumerate(frames)]  # fmt: skip
    assert [o.uncounted for o in outs] == [[], [], [0, 1], [], []]
    [event] = [e for o in outs for e in o.events if e.kind == "pictures"]
    assert "taken off the head counts of the 2 sample(s) before" in event.detail

    stopped = AttendanceMonitor(gallery, [], config)
    for seq, (t, image, found) in enumerate(frames[:2]):
        stopped.observe(seq, t, image, found, embed)
    resumed = AttendanceMonitor(gallery, [], config)
    monitor_state.restore(resumed, monitor_state.snapshot(stopped))
    t, image, found = frames[2]
    assert resumed.observe(2, t, image, found, embed).uncounted == [0, 1]


def only_alice():  # noqa: ANN201
    """A room camera's monitor expecting Alice, and an embedder for which every face is her:
    only motion decides who is named."""
    vector = np.ones((1, 8), np.float32) / np.sqrt(8)
    gallery = Gallery(["Alice"], np.zeros(1, int), vector, 0.5, 0.05)
    monitor = AttendanceMonitor(gallery, ["Alice"], MonitorConfig(room_camera=True))

    def embed(subset: Faces) -> np.ndarray:
        return np.repeat(vector, len(subset), axis=0)

    return monitor, embed


def test_a_face_is_named_once_seen_to_move_and_erasure_drops_the_rooms_patches() -> None:
    import json
    import zlib

    monitor, embed = only_alice()

    outs = [
        monitor.observe(seq, t, image, found, embed)
        for seq, (t, image, found) in enumerate(samples(5))
    ]
    # The poster is never named; the person only from the fourth sample (three comparisons),
    # their attendance starting at the first sample that matched them.
    assert [[f.person for f in o.faces] for o in outs[:3]] == [[None, None]] * 2 + [[None]]
    assert [f.person for f in outs[3].faces] == ["Alice"]
    assert [(m.person, m.first_seen) for m in outs[3].marks] == [("Alice", 0.0)]
    blob = monitor_state.snapshot(monitor)
    latest = json.loads(zlib.decompress(blob))["still"][-1]
    assert latest["history"] == ["ssss", "mmmm"] and "Alice" in latest["matched"][1]
    assert latest["embeddings"][1] is not None
    # Erasing Alice takes her place (patch, comparisons, matches, embedding) from the room's
    # memory, and leaves the poster's: it stays a picture, everyone else keeps their credit.
    erased = monitor_state.forget_person(blob, "Alice")
    assert erased is not None
    rows = json.loads(zlib.decompress(erased))["still"]
    assert all(row["history"][1] == "" and row["matched"][1] == {} for row in rows)
    assert rows[-1]["history"][0] == "ssss" and rows[-1]["embeddings"][1] is None
    again = AttendanceMonitor(monitor.gallery, ["Alice"], monitor.config)
    monitor_state.restore(again, erased)
    patches = again.still.samples[-1].patches
    assert not patches[1].any() and patches[0].any()


def test_a_marked_student_who_moves_seats_is_named_again_and_a_new_poster_of_them_is_not() -> None:
    monitor, embed = only_alice()

    rng = np.random.default_rng(4)
    poster = texture(7)
    named = []
    for k in range(9):
        canvas = np.full(SIZE, 140, np.uint8)
        # Alice sits at (300, 200) for five samples, then at (480, 220); her poster goes up
        # on the wall at (60, 40) when she moves.
        x, y = (300, 200) if k < 5 else (480, 220)
        x, y = x + int(rng.integers(-5, 6)), y + int(rng.integers(-5, 6))
        canvas[y : y + 64, x : x + 64] = texture(200 + k)
        boxes = [(x, y, 64, 64)]
        if k >= 5:
            canvas[40:104, 60:124] = poster
            boxes.append((60, 40, 64, 64))
        out = monitor.observe(k, 20.0 * k, camera(canvas, rng), faces(boxes), embed)
        where = {0: "wall", 1: "seat 1", 2: "seat 1", 3: "seat 1", 4: "seat 2", 5: "seat 2"}
        named.append(sorted((where[f.box[0] // 100], f.person or "-") for f in out.faces))
    # Named from the fourth sample in her first seat; in the new one a sample after she sat
    # down (she was marked already); the poster never.
    assert named[:5] == [[("seat 1", "-")]] * 3 + [[("seat 1", "Alice")]] * 2
    assert named[5] == [("seat 2", "-"), ("wall", "-")]
    assert named[6] == [("seat 2", "Alice"), ("wall", "-")]
    assert named[7:] == [[("seat 2", "Alice")]] * 2  # the poster: a picture from then on


class Room:
    """Samples 20 s apart of a scene whose faces say who they are: each (x, y, look, who) is a
    64 px patch at (x, y), ``look`` its texture (a new one each sample: a moving person; the
    same one: a picture), ``who`` whom the embedder takes it for (None: a stranger)."""

    PEOPLE = ["Alice", "Bob", "Donald", "George"]

    def __init__(self, strong: float = 0.55) -> None:
        self.vectors = np.eye(len(self.PEOPLE), 8, dtype=np.float32)
        gallery = Gallery(list(self.PEOPLE), np.arange(len(self.PEOPLE)), self.vectors, 0.5, 0.05)
        config = MonitorConfig(room_camera=True, strong_similarity=strong)
        self.monitor = AttendanceMonitor(gallery, list(self.PEOPLE), config)
        self.rng = np.random.default_rng(9)
        self.k = 0

    def sample(self, *faces_there: tuple[int, int, int, str | None]):  # noqa: ANN201
        canvas = np.full(SIZE, 140, np.uint8)
        boxes, who = [], {}
        for x, y, look, name in faces_there:
            canvas[y : y + 64, x : x + 64] = texture(look)
            boxes.append((x, y, 64, 64))
            who[(x, y)] = name

        def embed(subset: Faces) -> np.ndarray:
            out = np.zeros((len(subset), 8), np.float32)
            for row, (x, y, _, _) in enumerate(subset.boxes):
                name = who[(int(round(x)), int(round(y)))]
                out[row] = self.vectors[self.PEOPLE.index(name)] if name else np.ones(8) / 8**0.5
            return out

        out = self.monitor.observe(self.k, 20.0 * self.k, camera(canvas, self.rng), faces(boxes),
                                   embed)  # fmt: skip
        self.k += 1
        return out


def test_a_photo_propped_in_a_seat_someone_left_is_never_named() -> None:
    """Donald sits and moves; at the fifth sample George's photo is in his seat (George is
    enrolled and absent): the place is judged afresh, and the photo never named."""
    room = Room()
    named = []
    for k in range(10):
        look = 300 + k if k < 4 else 77  # Donald moving, then the same photo
        out = room.sample((300, 200, look, "Donald" if k < 4 else "George"))
        named.append([f.person for f in out.faces])
    assert named[3] == ["Donald"]
    assert all(names in ([], [None]) for names in named[4:]), named
    assert "George" not in room.monitor.marked and room.monitor.last_seen["Donald"] == 60.0


def test_a_students_own_photo_left_in_their_seat_is_credited_no_sample_after_the_next() -> None:
    """Donald props his own photo in his seat and leaves after the fourth sample: it is named
    at the sample it appears in (its pixels changed from his last ones: one sampling gap,
    the rule's limit), not at the next ones (unmoved since), and set aside as a picture once
    its stills outweigh his moves."""
    room = Room()
    outs = [room.sample((300, 200, 300 + k if k < 4 else 55, "Donald")) for k in range(10)]
    assert [o.count for o in outs] == [1] * 7 + [0] * 3
    named = [[f.person for f in o.faces] for o in outs[3:7]]
    assert named == [["Donald"], ["Donald"], [None], [None]]
    assert room.monitor.last_seen["Donald"] == 80.0  # credited to the fifth sample at most


def test_a_student_sitting_in_front_of_a_poster_counts_at_once_and_is_named() -> None:
    room = Room()
    outs = [room.sample((300, 200, 41, None)) for _ in range(4)]  # a poster of a stranger
    assert [o.count for o in outs] == [1, 1, 0, 0]
    # Alice sits down in front of it: a picture never moves, so that place is a face again,
    # counted at once; she is not whom the poster's embedding was, so her place is judged
    # afresh (named at her fourth sample, as in a fresh seat), marked from her first.
    outs = [room.sample((300, 200, 500 + k, "Alice")) for k in range(6)]
    assert [o.count for o in outs] == [1] * 6
    named = [o.faces[0].person for o in outs]
    assert named == [None] * 3 + ["Alice"] * 3, named
    assert room.monitor.marked["Alice"] == 80.0


def test_someone_who_sat_still_a_while_is_judged_on_what_they_do_now() -> None:
    room = Room()
    outs = [room.sample((300, 200, 12, "Bob")) for _ in range(6)]  # dozing: unmoved
    assert [o.count for o in outs] == [1, 1, 0, 0, 0, 0] and "Bob" not in room.monitor.marked
    outs = [room.sample((300, 200, 600 + k, "Bob")) for k in range(12)]  # awake
    assert [o.count for o in outs] == [1] * 12  # counted from the first sample he moved in
    # Named once his moves outweigh his dozing four times (it fades, half in six samples).
    named = [o.faces[0].person for o in outs]
    assert named[:5] == [None] * 5 and named[-1] == "Bob", named


def test_each_new_picture_has_its_own_event_and_no_poster_is_reviewed_as_a_stranger() -> None:
    room = Room()
    outs = [room.sample((60, 40, 41, None), (300, 200, 700 + k, None)) for k in range(4)]
    outs += [
        room.sample((60, 40, 41, None), (300, 200, 704 + k, None), (480, 40, 42, None))
        for k in range(4)
    ]  # fmt: skip  (a second poster goes up at the fifth sample)
    events = [(o.t, e) for o in outs for e in o.events if e.kind == "pictures"]
    assert [t for t, _ in events] == [40.0, 120.0]

    # Each event shows its own poster: the first the one at the left, the second the other.
    def likeness_to(crop: np.ndarray, look: int) -> float:
        middle = crop[26:90, 26:90].astype(np.float32)  # the face inside its 40% margin
        a, b = middle - middle.mean(), texture(look).astype(np.float32)
        b = b - b.mean()
        return float((a * b).sum() / np.linalg.norm(a) / np.linalg.norm(b))

    first, second = (e.crop for _, e in events)
    assert likeness_to(first, 41) > 0.9 and likeness_to(second, 42) > 0.9
    # The moving stranger is queued for review once (when seen to move), the posters never.
    unknowns = [(o.t, u.box[0]) for o in outs for u in o.unknowns]
    assert unknowns == [(60.0, 300)]


def test_a_small_face_that_leans_between_samples_keeps_its_place() -> None:
    """At 36 px a lean of 14 px right and down (half the face) is still the same seat: its
    place's comparisons go on, and the student is named at the fourth sample."""
    still = StillFaces()
    rng = np.random.default_rng(2)
    verdicts = []
    for k in range(5):
        dx = 14 * (k % 2)
        canvas = np.full(SIZE, 140, np.uint8)
        canvas[200 + dx : 236 + dx, 300 + dx : 336 + dx] = texture(800 + k, side=36)
        box = faces([(300 + dx, 200 + dx, 36, 36)])
        verdicts.append(int(still.judge(20.0 * k, camera(canvas, rng), box)[0]))
    assert verdicts == [Verdict.UNSURE] * 3 + [Verdict.LIVE] * 2


def test_a_photo_propped_where_a_stranger_sat_is_never_named() -> None:
    """A stranger (no one's name) sits and moves; from the fifth sample George's photo stands
    in that seat: the place is someone else's now by its embedding, judged afresh."""
    room = Room()
    outs = [room.sample((300, 200, 900 + k if k < 4 else 77, None if k < 4 else "George"))
            for k in range(10)]  # fmt: skip
    assert all(f.person is None for o in outs for f in o.faces)
    assert "George" not in room.monitor.marked


def test_a_poster_a_stranger_sat_in_front_of_is_not_named_when_he_leaves() -> None:
    """George's poster at seat height, matched while it was unsure; a stranger sits in front
    of it and moves, then leaves: the poster, seen again, is judged afresh, never named, and
    no mark is dated from its early matches."""
    room = Room()
    for k in range(12):
        if 2 <= k < 8:
            room.sample((300, 200, 950 + k, None))
        else:
            room.sample((300, 200, 66, "George"))
    assert "George" not in room.monitor.marked


def test_two_samples_of_someone_in_their_seat_confirm_them_as_two_votes_would() -> None:
    """Each sample her turned head starts a new track (one vote each), and no match of hers
    is strong: her seat's run of matches names her once the place is live."""
    room = Room(strong=1.1)  # no single match is strong enough
    outs = [room.sample((300, 200, 1000 + k, "Alice")) for k in range(6)]
    named = [o.faces[0].person for o in outs]
    assert named[:3] == [None] * 3 and named[3:] == ["Alice"] * 3, named
    assert room.monitor.marked["Alice"] == 0.0
