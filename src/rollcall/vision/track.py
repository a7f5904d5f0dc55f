"""Following faces from one head-count sample to the next, so an unchanged face keeps its name.

Samples are tens of seconds apart, so motion models do not help; what does is that gallery tiles
and seated people mostly stay put. A face continues a track only when it is in the same place
(its box overlaps the old one, inside the same tile) and looks the same: its grey chip, aligned
on its five landmarks and high-passed, correlates with the last one at SAME_LOOK or more. A
different person at that camera (a sit-in, a reflow, a swap) never passes that (bench_track.py),
so a carried track's name can be reused without embedding the face again. When the gallery
reflows, a face that lost its place but is the only look-alike of a track that vanished from
elsewhere continues that track; it is verified like any face that moved, and keeps the track's
name only if the re-check of its own embedding agrees. Anything else starts a new track, and new
tracks are always embedded.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from rollcall.vision.embed import SFACE_CHIP_POINTS, similarity_transform, warp_chip
from rollcall.vision.types import Faces

THUMB = 24
LOOK_SIDE = 32
# Correlation of two aligned, high-passed 32 px chips at or above which a face "looks the same"
# (bench/bench_track.py, 6 gallery layouts from 640x480 to 1080p, compressed like recordings):
# different people in the same tile reached at most 0.69 (calibration half of the people) and
# 0.70 (the other half, ~800 pairs each); 0.80 leaves a margin of 0.10 above both. The same
# still picture nudged, re-lit and re-compressed passes 76% of the time, real webcam video 1 s
# apart 38% (the rest is embedded again: slower, never wrong).
SAME_LOOK = 0.80
# Across a reflow a face is compared with every vanished one, not one: over ~47,000 such pairs
# of different people the highest was 0.784 (calibration half; 0.737 the other half), so a
# moved face continues a track at 0.82 or more (that maximum plus the same-tile check's
# margin, 0.03). The same photo in its new tile passes 35% of the time (bench_track.py); a
# real face, which moves between samples, less often.
MOVED_LOOK = 0.82


def moved_pairs(same: np.ndarray, threshold: float) -> list[tuple[int, int]]:
    """(new face, vanished track) pairs that are each other's only look-alike: the pair's
    correlation reaches ``threshold`` and no other pair in its row or column does.

    A reflow moves and resizes every tile; the aligned chip does not care where a face sits,
    so a face that looks the same as a track that just left its place is that track's face.
    An ambiguous face (two candidates above the threshold) starts a new track."""
    above = same >= threshold
    rows = np.flatnonzero(above.sum(axis=1) == 1)
    return [
        (int(i), int(j)) for i in rows for j in np.flatnonzero(above[i]) if above[:, j].sum() == 1
    ]


def thumbnails(image: np.ndarray, faces: Faces) -> np.ndarray:
    """(N, THUMB*THUMB) zero-mean, unit-norm grey thumbnails of each face box (the check the
    tracker used before issue 11; bench_track.py compares it with `looks`)."""
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


def looks(
    image: np.ndarray, faces: Faces, side: int = LOOK_SIDE, highpass: bool = True
) -> np.ndarray:
    """(N, side*side) zero-mean, unit-norm grey chips of each face, aligned on its landmarks.

    Aligned, a face is compared feature to feature wherever it sits; high-passed (the chip minus
    its blur), brightness and shading drop out and what is left is the face's own detail. A face
    without usable landmarks is cut from its box instead.
    """
    gray = image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
    points = SFACE_CHIP_POINTS * (side / 112.0)
    out = np.zeros((len(faces), side * side), np.float32)
    for i, (marks, box) in enumerate(zip(faces.landmarks, faces.boxes, strict=True)):
        if np.ptp(marks[:, 0]) < 1.0:
            # No landmarks: the box stands in for them, mapped onto the chip's whole width.
            x, y, w, h = box
            src = np.array([[x, y], [x + w, y], [x, y + h]], np.float32)
            dst = np.array([[0, 0], [side, 0], [0, side]], np.float32)
            matrix = cv2.getAffineTransform(src, dst).astype(np.float64)
        else:
            matrix = similarity_transform(marks, points)
        chip = warp_chip(gray, matrix, side).astype(np.float32)
        if highpass:
            chip -= cv2.GaussianBlur(chip, (0, 0), side / 16)
        v = chip.reshape(-1) - chip.mean()
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


@dataclass(frozen=True, slots=True)
class Vote:
    """What one embedding of a track's face said."""

    person: int  # the gallery's best candidate (index into Gallery.names), -1 if none
    similarity: float
    accepted: bool  # the gallery named the face (threshold, margin and naming size passed)
    t: float


@dataclass
class Track:
    """One face followed across samples while it looks unchanged, with its identity."""

    id: int
    box: np.ndarray
    look: np.ndarray
    tile: np.ndarray  # the tile rectangle it sits in (zeros: no tile grid)
    first_t: float
    last_t: float
    # The first of the samples, up to the latest, in every one of which this face was found: a
    # track survives a sample without its face (max_missed), but that sample saw nobody there.
    seen_since: float = 0.0
    embedding: np.ndarray | None = None
    # Votes since the track's identity was last settled or lost (oldest first).
    votes: list[Vote] = field(default_factory=list)
    identity: int | None = None  # a confirmed person index
    disputed: bool = False  # matched different people: never named
    missed: int = 0
    reported_unknown: bool = False
    # The name label of its tile as last read (labels are read on verifying samples only: a
    # face that kept its place and look between two samples keeps its tile's label).
    label: str | None = None

    @property
    def accepted(self) -> list[Vote]:
        return [v for v in self.votes if v.accepted]


class FaceTracker:
    def __init__(
        self,
        min_iou: float = 0.5,
        same_look: float = SAME_LOOK,
        max_missed: int = 1,
        moved_look: float = MOVED_LOOK,
    ) -> None:
        self.min_iou = min_iou
        self.same_look = same_look
        self.moved_look = moved_look
        # A face missed by the detector in one sample keeps its track for the next one.
        self.max_missed = max_missed
        self.tracks: dict[int, Track] = {}
        self.next_id = 1

    def reset(self) -> None:
        self.tracks.clear()

    def update(
        self, t: float, image: np.ndarray, faces: Faces, tiles: np.ndarray | None = None
    ) -> tuple[list[Track], np.ndarray]:
        """Assign each face to a track; returns (tracks per face, whether each was carried over).

        ``tiles`` (N, 4) gives each face's tile rectangle (zeros: none). A face carried over
        kept its place, tile and look. A face whose tile changed size or place (the gallery
        reflowed) continues the track that vanished from elsewhere when it is that track's only
        look-alike (``moved_pairs``); it is not carried over, so it is verified.
        """
        tiles = np.zeros((len(faces), 4), np.float32) if tiles is None else tiles
        looks_now = looks(image, faces)
        old = list(self.tracks.values())
        assigned: list[Track | None] = [None] * len(faces)
        carried = np.zeros(len(faces), bool)
        if old and len(faces):
            iou = iou_matrix(faces.boxes, np.stack([tr.box for tr in old]))
            same = looks_now @ np.stack([tr.look for tr in old]).T
            old_tiles = np.stack([tr.tile for tr in old])
            tile_iou = iou_matrix(tiles, old_tiles)
            no_tiles = (tiles[:, 2:3] == 0) & (old_tiles[None, :, 2] == 0)
            same_tile = no_tiles | (tile_iou >= 0.9)
            ok = (iou >= self.min_iou) & (same >= self.same_look) & same_tile
            # Greedy on overlap plus likeness: boxes in a gallery barely move.
            score = np.where(ok, iou + same, -np.inf)
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
            # Then faces that moved (the gallery reflowed): matched on look alone, they keep
            # their track's identity but are not "carried": the sample verifies them, and a
            # named one keeps its name only if its own embedding agrees (the re-check).
            free = [i for i in range(len(faces)) if assigned[i] is None]
            gone = [j for j in range(len(old)) if j not in used_old]
            if free and gone:
                for a, b in moved_pairs(same[np.ix_(free, gone)], self.moved_look):
                    assigned[free[a]] = old[gone[b]]
        for i in range(len(faces)):
            track = assigned[i]
            if track is None:
                track = Track(self.next_id, faces.boxes[i], looks_now[i], tiles[i], t, t, t)
                self.next_id += 1
                assigned[i] = track
            elif track.missed:
                track.seen_since = t
            track.box = faces.boxes[i]
            track.look = looks_now[i]
            track.tile = tiles[i]
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
