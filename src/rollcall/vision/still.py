"""Faces that never move: pictures on the walls of a room a fixed camera watches.

A classroom camera has no gallery tiles to tell a participant from a poster (vision.screen), so
the tell is time: samples are tens of seconds apart, and in that time a seated person turns,
blinks, leans and shifts, while a face printed on a poster or shown on a screen behind the class
gives the same pixels again. So every face's patch is kept, and a face whose patch, cut again at
the earlier face's very place (not at the new detection, whose box jitters), still correlates
with it at STILL_LIKENESS or more is a picture: neither counted nor named.

The patch is the face box's grey pixels, not landmark-aligned (alignment would take out the
head's own motion, the very signal), zero-mean and unit-norm, so a room's light going up or
down (a picture's brightness and contrast change) does not make a picture move. A mounted
camera can drift a pixel or two, so the cut is also tried shifted by up to SHIFT of the face's
side, and the best correlation counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import cv2
import numpy as np

from rollcall.vision.track import iou_matrix
from rollcall.vision.types import Faces

PATCH = 16
# The patch is cut from the box's middle: the edges of a face box are background, which is as
# still behind a person as behind a poster.
INNER = 0.8
# Shifts (share of the face's side) the earlier place is tried at: a mounted camera's drift.
SHIFT = 0.06
# Correlation at or above which a face "has not moved" (bench/bench_still.py).
STILL_LIKENESS = 0.95
# A face is compared with faces seen at least this long before: two frames a moment apart show
# a real person nearly unchanged too.
MIN_GAP = 5.0
# Samples whose faces are remembered: a picture hidden for a sample by someone standing in
# front of it is still known when it reappears.
REMEMBERED = 3
SAME_PLACE = 0.5  # box overlap (IoU) at which an earlier face is in the same place


def patch(gray: np.ndarray, box: np.ndarray, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """The zero-mean, unit-norm PATCH x PATCH grey patch of a face box's middle, the box moved by
    (dx, dy) pixels (zeros when the box lies off the image)."""
    x, y, w, h = (float(v) for v in box[:4])
    cx, cy = x + w / 2 + dx, y + h / 2 + dy
    half_w, half_h = w * INNER / 2, h * INNER / 2
    x0, y0 = round(cx - half_w), round(cy - half_h)
    x1, y1 = round(cx + half_w), round(cy + half_h)
    height, width = gray.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return np.zeros(PATCH * PATCH, np.float32)
    cut = cv2.resize(gray[y0:y1, x0:x1], (PATCH, PATCH), interpolation=cv2.INTER_AREA)
    v = cut.astype(np.float32).ravel()
    v -= v.mean()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-6 else np.zeros_like(v)


def likeness(gray: np.ndarray, box: np.ndarray, earlier: np.ndarray) -> float:
    """The best correlation of an earlier patch with the image cut again at its box, shifted by
    up to SHIFT of its side."""
    step = max(1.0, SHIFT * float(min(box[2], box[3])) / 2)
    best = -1.0
    for dy in (-2 * step, -step, 0.0, step, 2 * step):
        for dx in (-2 * step, -step, 0.0, step, 2 * step):
            best = max(best, float(patch(gray, box, dx, dy) @ earlier))
    return best


def grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


class Verdict(IntEnum):
    UNSURE = 0  # not compared often enough yet: counted, not yet named
    LIVE = 1  # seen to move: counted and named
    PICTURE = 2  # seen unmoved: neither counted nor named


@dataclass
class Remembered:
    """The faces of one earlier sample: where they were, their patches, and how often the face
    at each place was found moved or unmoved so far."""

    t: float
    boxes: np.ndarray  # (N, 4) float32
    patches: np.ndarray  # (N, PATCH*PATCH) float32
    still: np.ndarray  # (N,) int: comparisons that found that place's face unmoved
    moved: np.ndarray  # (N,) int: comparisons that found it moved
    # Per face: who the face at that place was matched to: [first match, start of the run of
    # samples that all matched them there, last match] (see StillFaces.since).
    matched: list[dict[str, list[float]]] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.matched:
            self.matched = [{} for _ in range(len(self.boxes))]


@dataclass
class StillFaces:
    """The faces of the last REMEMBERED samples, and what a new sample's faces are.

    One comparison can err either way (a person who kept very still, a small picture under
    camera noise), so a place's verdict weighs all of its comparisons (``live``, ``picture``):
    naming waits for three comparisons that saw the face move, a sample or two more than a
    single one would take, because a picture taken for a live face is how a poster would be
    credited (bench/bench_still.py). A face in a new place starts UNSURE: counted, not named.
    """

    samples: list[Remembered] = field(default_factory=list)

    def judge(self, t: float, image: np.ndarray, faces: Faces) -> np.ndarray:
        """(N,) Verdict of each face; the sample is then remembered."""
        gray = grey(image)
        boxes = faces.boxes[:, :4].astype(np.float32)
        still = np.zeros(len(faces), int)
        moved = np.zeros(len(faces), int)
        matched: list[dict[str, list[float]]] = [{} for _ in range(len(faces))]
        compared = np.zeros(len(faces), bool)
        placed = np.zeros(len(faces), bool)
        # Newest first: a place's counts come from its latest sighting, and it is compared
        # with the latest sighting at least MIN_GAP older.
        for earlier in reversed(self.samples):
            if not len(earlier.boxes) or not len(faces):
                continue
            overlap = iou_matrix(boxes, earlier.boxes)
            for i in range(len(faces)):
                j = int(np.argmax(overlap[i]))
                if compared[i] or overlap[i, j] < SAME_PLACE:
                    continue
                if not placed[i]:
                    still[i], moved[i] = earlier.still[j], earlier.moved[j]
                    matched[i] = {p: list(v) for p, v in earlier.matched[j].items()}
                    placed[i] = True
                if t - earlier.t < MIN_GAP:
                    continue
                if likeness(gray, earlier.boxes[j], earlier.patches[j]) >= STILL_LIKENESS:
                    still[i] += 1
                else:
                    moved[i] += 1
                compared[i] = True
        patches = np.stack([patch(gray, b) for b in boxes]) if len(faces) else _none()
        latest = Remembered(t, boxes, patches, still, moved, matched)
        self.samples = [*self.samples, latest]
        self.samples = self.samples[-REMEMBERED:]
        verdict = np.full(len(faces), Verdict.UNSURE, int)
        verdict[live(still, moved)] = Verdict.LIVE
        verdict[picture(still, moved)] = Verdict.PICTURE
        return verdict

    def note(self, i: int, person: str, t: float) -> None:
        """The latest sample's face ``i`` matched ``person`` (an accepted vote, named or not).
        A match of someone else means the seat changed hands: the earlier person's time there
        is forgotten."""
        seen = self.samples[-1].matched[i]
        for other in [p for p in seen if p != person]:
            del seen[other]
        previous = self.samples[-2].t if len(self.samples) > 1 else None
        first, run, last = seen.get(person, (t, t, t))
        if last != previous and last != t:
            run = t  # a sample in between did not match them here: the run starts again
        seen[person] = [first, run, t]

    def since(self, i: int, person: str) -> tuple[float, float] | None:
        """When the face at the latest sample's place ``i`` was first matched to ``person``,
        and since when every sample matched them there (None: never matched).

        Naming waits for the face to move, and a head that turns between two samples starts a
        new track (vision.track), so the place remembers its matches: a student in their seat
        from the start is marked and credited from the start, not from the sample that finally
        saw them move."""
        if not self.samples:
            return None
        seen = self.samples[-1].matched[i].get(person)
        return None if seen is None else (seen[0], seen[1])


def live(still: np.ndarray | int, moved: np.ndarray | int) -> np.ndarray | bool:
    """A place whose face was seen to move in three comparisons or more, and in at least twice
    as many as it stayed still (so a picture that noise made look moved once or twice is not)."""
    return (np.asarray(moved) >= 3) & (np.asarray(moved) >= 2 * np.asarray(still))


def picture(still: np.ndarray | int, moved: np.ndarray | int) -> np.ndarray | bool:
    """A place whose face stayed still in two comparisons or more, and at least as often as it
    moved."""
    return (np.asarray(still) >= 2) & (np.asarray(still) >= np.asarray(moved))


def _none() -> np.ndarray:
    return np.zeros((0, PATCH * PATCH), np.float32)
