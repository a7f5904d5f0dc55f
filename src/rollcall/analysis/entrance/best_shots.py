"""A track's best shots: the few frames worth recognising (large, frontal, sharp).

Recognising every frame of every track would cost an embedding per face per frame; the
embedder runs only on the best few shots of each track (see vote.py). A shot keeps a crop
around the face (not the whole frame) with its landmarks in the crop's pixels, enough to align
and embed it later and to serve as evidence.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from rollcall.attendance.monitor import crop_with_context
from rollcall.vision.quality import sharpness
from rollcall.vision.types import Faces

FULL_SIZE_PX = 112.0  # SFace's chip: a larger face adds nothing to recognition
SHARP_ENOUGH = 150.0  # Laplacian variance of a 112 px chip above which blur no longer matters
MAX_YAW = 0.6  # nose offset from the eyes' midpoint, in inter-ocular distances: ~45 degrees


@dataclass(frozen=True)
class Shot:
    t: float
    quality: float
    face_px: float
    box: tuple[int, int, int, int]  # in the frame
    crop: np.ndarray  # the face with a margin (crop_with_context)
    faces: Faces  # the one face, in the crop's pixels (for the embedder)


def frontal(landmarks: np.ndarray) -> float:
    """1 for a face looking at the camera, 0 from about 45 degrees of yaw, from the five
    YuNet points: the nose tip's offset from the eyes' midpoint along the eye line."""
    right_eye, left_eye, nose = landmarks[0], landmarks[1], landmarks[2]
    axis = left_eye - right_eye
    iod = float(np.hypot(*axis))
    if iod < 1e-3:
        return 0.0
    offset = float(np.dot(nose - (right_eye + left_eye) / 2, axis / iod)) / iod
    return float(max(0.0, 1.0 - abs(offset) / MAX_YAW))


def make_shot(image: np.ndarray, faces: Faces, i: int, t: float) -> Shot:
    box = faces.boxes[i]
    crop = crop_with_context(image, box, context=0.4)
    x0 = max(0, int(box[0] - box[2] * 0.4))
    y0 = max(0, int(box[1] - box[3] * 0.4))
    one = faces[[i]]
    local = Faces(
        boxes=one.boxes - np.float32([x0, y0, 0, 0]),
        scores=one.scores,
        landmarks=one.landmarks - np.float32([x0, y0]),
    )
    px = float(one.min_side[0])
    x, y, w, h = (int(round(v)) for v in box)
    face = crop[max(0, y - y0) : y - y0 + h, max(0, x - x0) : x - x0 + w]
    sharp = sharpness(face) if face.size else 0.0
    quality = (
        min(1.0, px / FULL_SIZE_PX)
        * (0.25 + 0.75 * frontal(one.landmarks[0]))
        * min(1.0, 0.3 + 0.7 * sharp / SHARP_ENOUGH)
        * float(one.scores[0])
    )
    return Shot(t, quality, px, (x, y, w, h), crop, local)


class BestShots:
    """The k best shots of one track so far."""

    def __init__(self, keep: int = 5) -> None:
        self.keep = keep
        self.shots: list[Shot] = []
        self.added = 0

    def add(self, shot: Shot) -> bool:
        """True when the shot made it into the best k (the vote may change)."""
        self.added += 1
        if len(self.shots) < self.keep or shot.quality > self.shots[-1].quality:
            self.shots.append(shot)
            self.shots.sort(key=lambda s: -s.quality)
            del self.shots[self.keep :]
            return True
        return False

    @property
    def best(self) -> Shot | None:
        return self.shots[0] if self.shots else None
