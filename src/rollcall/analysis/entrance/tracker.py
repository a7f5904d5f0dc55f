"""Follows faces from frame to frame at an entrance: ByteTrack's two-stage association.

supervision 0.31 no longer ships ByteTrack (it moved to roboflow's separate `trackers`
package, which is not installed here), so this is the same algorithm in a few lines: each
track's box is predicted one frame ahead from its velocity; confident detections are matched
first, by IoU with the Hungarian method, then the less confident ones are matched to the
tracks still unmatched (a face half hidden by someone passing in front keeps its track);
tracks unmatched for ``max_lost`` frames end. The prediction is what keeps two people who
cross each other on their own tracks: at the crossing their boxes overlap, but each track's
predicted box overlaps its own person's next box more.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from rollcall.vision.types import Faces

HIGH_SCORE = 0.85  # YuNet scores a clear face 0.9+; 0.7-0.85 is half hidden or turned away
MATCH_IOU = 0.2
LOW_MATCH_IOU = 0.4
NEAR_CENTRES = -1.0  # marks the third stage: centre distance instead of IoU
MAX_JUMP = 1.5  # face widths a face may move between two processed frames
SIZE_RATIO = 1.5


@dataclass
class TrackState:
    track_id: int
    box: np.ndarray  # [x0, y0, x1, y1] of the last detection
    velocity: np.ndarray = field(default_factory=lambda: np.zeros(4, np.float32))
    hits: int = 1
    lost: int = 0

    def predicted(self) -> np.ndarray:
        return self.box + self.velocity * (self.lost + 1)


def xyxy(boxes: np.ndarray) -> np.ndarray:
    boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of xyxy boxes."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), np.float32)
    lt = np.maximum(a[:, None, :2], b[None, :, :2])
    rb = np.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = np.prod(np.clip(rb - lt, 0, None), axis=2)
    area_a = np.prod(a[:, 2:] - a[:, :2], axis=1)
    area_b = np.prod(b[:, 2:] - b[:, :2], axis=1)
    return inter / np.maximum(area_a[:, None] + area_b[None, :] - inter, 1e-6)


def nearness(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) closeness of xyxy boxes of a similar size: 1 - centre distance in
    MAX_JUMP face widths, 0 when farther or when the sizes differ by more than SIZE_RATIO."""
    ca = (a[:, None, :2] + a[:, None, 2:]) / 2
    cb = (b[None, :, :2] + b[None, :, 2:]) / 2
    wa = (a[:, 2] - a[:, 0])[:, None]
    wb = (b[:, 2] - b[:, 0])[None, :]
    width = np.maximum(np.maximum(wa, wb), 1e-6)
    close = 1.0 - np.linalg.norm(ca - cb, axis=2) / (MAX_JUMP * width)
    alike = np.maximum(wa, wb) / np.maximum(np.minimum(wa, wb), 1e-6) <= SIZE_RATIO
    return np.where(alike, np.clip(close, 0.0, 1.0), 0.0).astype(np.float32)


class ByteTracker:
    """Track ids for each frame's faces (see the module docstring)."""

    def __init__(self, max_lost: int = 8, smoothing: float = 0.5) -> None:
        self.max_lost = max_lost
        self.smoothing = smoothing
        self.tracks: list[TrackState] = []
        self.ended: list[int] = []  # ids ended by the last update
        self._next_id = 1

    def update(self, faces: Faces) -> np.ndarray:
        """One frame: the track id of each face (same order as faces)."""
        boxes = xyxy(faces.boxes)
        ids = np.full(len(faces), -1, np.int64)
        high = np.flatnonzero(faces.scores >= HIGH_SCORE)
        low = np.flatnonzero(faces.scores < HIGH_SCORE)
        free = list(range(len(self.tracks)))
        free = self._associate(boxes, high, free, MATCH_IOU, ids)
        free = self._associate(boxes, low, free, LOW_MATCH_IOU, ids)
        # A face crossing the view quickly can move more than its own width between two
        # processed frames (a walker at 8 fps): no IoU left, so what is still unmatched is
        # matched by the distance of centres, in face widths, to the predicted boxes.
        free = self._associate(boxes, np.flatnonzero(ids < 0), free, NEAR_CENTRES, ids)
        for k in free:
            self.tracks[k].lost += 1
        for i in np.flatnonzero(ids < 0):
            # Any face that matched nothing starts a track, whatever its score: the detector's
            # own threshold has already judged it a face.
            track = TrackState(self._next_id, boxes[i].copy())
            self._next_id += 1
            self.tracks.append(track)
            ids[i] = track.track_id
        self.ended = [t.track_id for t in self.tracks if t.lost > self.max_lost]
        self.tracks = [t for t in self.tracks if t.lost <= self.max_lost]
        return ids

    def _associate(
        self, boxes: np.ndarray, rows: np.ndarray, free: list[int], min_iou: float, ids: np.ndarray
    ) -> list[int]:
        if not len(rows) or not free:
            return free
        predicted = np.stack([self.tracks[k].predicted() for k in free])
        if min_iou == NEAR_CENTRES:
            overlap = nearness(boxes[rows], predicted)
            min_iou = 1e-6
        else:
            overlap = iou(boxes[rows], predicted)
        r, c = linear_sum_assignment(-overlap)
        taken = set()
        for i, j in zip(r, c, strict=True):
            if overlap[i, j] < min_iou:
                continue
            track = self.tracks[free[j]]
            box = boxes[rows[i]]
            step = (box - track.box) / (track.lost + 1)
            track.velocity = self.smoothing * track.velocity + (1 - self.smoothing) * step
            track.box = box.copy()
            track.hits += 1
            track.lost = 0
            ids[rows[i]] = track.track_id
            taken.add(j)
        return [k for n, k in enumerate(free) if n not in taken]

    def close(self) -> list[int]:
        """End every track (the source ended): their ids."""
        ended = [t.track_id for t in self.tracks]
        self.tracks = []
        return ended
