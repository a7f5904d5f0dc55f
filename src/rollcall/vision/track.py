"""Following faces from one head-count sample to the next, so unchanged faces keep their identity.

Samples are tens of seconds apart, so motion models do not help; what does is that gallery tiles
and seated people mostly stay put. A face is the same track as before when its box overlaps the
old box and a small thumbnail of it still looks alike; the thumbnail check is what stops a new
person who takes over a reflowed tile from inheriting the previous occupant's name.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from rollcall.vision.types import Faces

THUMB = 24


def thumbnails(image: np.ndarray, faces: Faces) -> np.ndarray:
    """(N, THUMB*THUMB) zero-mean, unit-norm grey thumbnails of each face box."""
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    out = np.zeros((len(faces), THUMB * THUMB), np.float32)
    for i, (x, y, w, h) in enumerate(np.rint(faces.boxes).astype(int)):
        patch = gray[max(y, 0) : y + max(h, 1), max(x, 0) : x + max(w, 1)]
        if patch.size == 0:
            continue
        v = cv2.resize(patch, (THUMB, THUMB), interpolation=cv2.INTER_AREA).astype(np.float32)
        v = v.reshape(-1) - v.mean()
        out[i] = v / max(float(np.linalg.norm(v)), 1e-6)
    return out


def iou_matrix(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Intersection over union of every box in a (N,4 xywh) with every box in b (M,4)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), np.float32)
    ax0, ay0 = a[:, 0:1], a[:, 1:2]
    ax1, ay1 = ax0 + a[:, 2:3], ay0 + a[:, 3:4]
    bx0, by0 = b[:, 0], b[:, 1]
    bx1, by1 = bx0 + b[:, 2], by0 + b[:, 3]
    iw = np.clip(np.minimum(ax1, bx1) - np.maximum(ax0, bx0), 0, None)
    ih = np.clip(np.minimum(ay1, by1) - np.maximum(ay0, by0), 0, None)
    inter = iw * ih
    union = a[:, 2:3] * a[:, 3:4] + b[:, 2] * b[:, 3] - inter
    return (inter / np.maximum(union, 1e-6)).astype(np.float32)


@dataclass
class Track:
    """One face followed across samples, with every identity vote it has collected."""

    id: int
    box: np.ndarray
    thumb: np.ndarray
    first_t: float
    last_t: float
    embedding: np.ndarray | None = None
    # (person index, similarity, accepted, t) for each time this face was embedded.
    votes: list[tuple[int, float, bool, float]] = field(default_factory=list)
    missed: int = 0
    reported_unknown: bool = False


class FaceTracker:
    def __init__(
        self, min_iou: float = 0.4, min_appearance: float = 0.6, max_missed: int = 1
    ) -> None:
        self.min_iou = min_iou
        self.min_appearance = min_appearance
        # A face missed by the detector in one sample keeps its track for the next one.
        self.max_missed = max_missed
        self.tracks: dict[int, Track] = {}
        self._next_id = 1

    def reset(self) -> None:
        self.tracks.clear()

    def update(self, t: float, image: np.ndarray, faces: Faces) -> tuple[list[Track], np.ndarray]:
        """Assign each face to a track; returns (tracks per face, whether each was carried over)."""
        thumbs = thumbnails(image, faces)
        old = list(self.tracks.values())
        assigned: list[Track | None] = [None] * len(faces)
        carried = np.zeros(len(faces), bool)
        if old and len(faces):
            iou = iou_matrix(faces.boxes, np.stack([tr.box for tr in old]))
            looks = thumbs @ np.stack([tr.thumb for tr in old]).T
            ok = (iou >= self.min_iou) & (looks >= self.min_appearance)
            # Greedy on overlap: boxes in a gallery barely move, so the best overlap wins.
            score = np.where(ok, iou + looks, -np.inf)
            used_old: set[int] = set()
            for flat in np.argsort(-score, axis=None):
                i, j = np.unravel_index(flat, score.shape)
                if not np.isfinite(score[i, j]):
                    break
                if assigned[i] is not None or j in used_old:
                    continue
                assigned[i] = old[j]
                carried[i] = True
                used_old.add(j)
        for i in range(len(faces)):
            track = assigned[i]
            if track is None:
                track = Track(self._next_id, faces.boxes[i], thumbs[i], t, t)
                self._next_id += 1
                assigned[i] = track
            track.box = faces.boxes[i]
            track.thumb = thumbs[i]
            track.last_t = t
            track.missed = 0
        live = {tr.id for tr in assigned if tr is not None}
        for track in old:
            if track.id not in live:
                track.missed += 1
        self.tracks = {
            tid: tr
            for tid, tr in {**self.tracks, **{tr.id: tr for tr in assigned if tr}}.items()
            if tr.missed <= self.max_missed
        }
        return [tr for tr in assigned if tr is not None], carried
