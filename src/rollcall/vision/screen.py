"""Reading a meeting screen: the tiles of the gallery, and which faces are participants.

Meeting apps draw each participant's camera in a tile, and tiles are separated by gutters of
one background colour. Counting faces per tile rather than per frame is what tells a
participant from a picture: a face much smaller than the tile's main face is a poster or a
photo on the wall behind them, and is neither counted nor named. A second face about as large
as the main one is someone sharing the camera: counted, and reported. Frames without such a
grid (a classroom camera, a full-screen share) are read as one scene, every face a participant.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from rollcall.vision.types import Faces

# A second face in a tile is a participant only when its shorter side is at least this share of
# the main face's. Posters drawn at 0.3-0.4 of the participant's face in the generated
# meetings, and people sharing one camera sit at 0.7-1.0 of each other.
SECOND_FACE_RATIO = 0.6
# How far (per channel, 0-255) a pixel may be from the background colour and still be gutter:
# above the noise video compression puts on a flat canvas, below the 14 levels that separate
# Zoom's camera-off tiles from its background.
GUTTER_TOLERANCE = 10
# Tiles are found on a copy whose shorter side is at most this (gutters of 1080p, 6 px, stay
# 3-4 px wide); it keeps the search under a few milliseconds.
WORK_SIDE = 720


@dataclass(frozen=True)
class ScreenReading:
    """One frame read as a meeting screen."""

    faces: Faces  # the participants' faces: counted, tracked and named
    tile_of: np.ndarray  # (N,) index into tiles for each participant face, -1 outside any tile
    tiles: np.ndarray  # (K, 4) tile rectangles x, y, w, h; empty when no grid was found
    background: Faces  # faces that are pictures behind a participant: never counted or named
    shared: list[int] = field(default_factory=list)  # tiles showing two participants

    @property
    def grid(self) -> bool:
        return len(self.tiles) > 0

    def tile_rects(self) -> np.ndarray:
        """(N, 4) the tile of each participant face (zeros where it has none)."""
        out = np.zeros((len(self.faces), 4), np.float32)
        inside = self.tile_of >= 0
        if inside.any():
            out[inside] = self.tiles[self.tile_of[inside]]
        return out


def background_colour(image: np.ndarray) -> np.ndarray | None:
    """The colour most of the frame's outer edge has, or None when the edge has no one colour
    (a camera picture, not an app's canvas)."""
    edge = np.concatenate([image[0], image[-1], image[:, 0], image[:, -1]]).astype(np.int16)
    quantised = edge // 8
    keys = quantised[:, 0] * 1024 + quantised[:, 1] * 32 + quantised[:, 2]
    values, counts = np.unique(keys, return_counts=True)
    top = values[int(np.argmax(counts))]
    members = edge[keys == top]
    colour = np.median(members, axis=0)
    near = np.all(np.abs(edge - colour) <= GUTTER_TOLERANCE, axis=1)
    return colour if near.mean() >= 0.4 else None


def find_tiles(image: np.ndarray) -> np.ndarray:
    """(K, 4) tile rectangles of a gallery or speaker view, in reading order; empty if none.

    Everything not of the background colour falls into connected regions; a tile is a region
    that fills most of its bounding rectangle and is not a sliver.
    """
    if image.ndim != 3 or min(image.shape[:2]) < 32:
        return np.zeros((0, 4), np.float32)
    colour = background_colour(image)
    if colour is None:
        return np.zeros((0, 4), np.float32)
    h, w = image.shape[:2]
    scale = min(1.0, WORK_SIDE / min(h, w))
    small = image
    if scale < 1.0:
        small = cv2.resize(
            image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_AREA
        )
    diff = cv2.absdiff(small, np.full_like(small, np.round(colour).astype(np.uint8)))
    b, g, r = cv2.split(diff)
    _, content = cv2.threshold(cv2.max(cv2.max(b, g), r), GUTTER_TOLERANCE, 1, cv2.THRESH_BINARY)
    n, _, stats, _ = cv2.connectedComponentsWithStats(content, connectivity=4)
    area = small.shape[0] * small.shape[1]
    tiles = []
    for x, y, bw, bh, pixels in stats[1:n]:
        if bw * bh < 0.002 * area or min(bw, bh) < 12:
            continue
        if pixels < 0.6 * bw * bh or not 0.3 <= bw / bh <= 4.0:
            continue
        tiles.append((x, y, bw, bh))
    if not tiles:
        return np.zeros((0, 4), np.float32)
    rects = np.asarray(tiles, np.float32) / scale
    order = np.lexsort((rects[:, 0], np.round(rects[:, 1] / 8)))
    return rects[order]


def read_screen(image: np.ndarray, faces: Faces) -> ScreenReading:
    """Split a frame's faces into participants and pictures behind them, tile by tile."""
    tiles = find_tiles(image)
    if not len(tiles) or not len(faces):
        return ScreenReading(faces, np.full(len(faces), -1), tiles, faces[np.zeros(0, int)])
    cx = faces.boxes[:, 0] + faces.boxes[:, 2] / 2
    cy = faces.boxes[:, 1] + faces.boxes[:, 3] / 2
    tx, ty, tw, th = (tiles[:, k][None, :] for k in range(4))
    inside = (cx[:, None] >= tx) & (cx[:, None] < tx + tw) & (cy[:, None] >= ty)
    inside &= cy[:, None] < ty + th
    tile_of = np.where(inside.any(axis=1), np.argmax(inside, axis=1), -1)
    keep = np.ones(len(faces), bool)
    shared = []
    sides = faces.min_side
    for k in np.unique(tile_of[tile_of >= 0]):
        members = np.flatnonzero(tile_of == k)
        main = sides[members].max()
        small = members[sides[members] < SECOND_FACE_RATIO * main]
        keep[small] = False
        if len(members) - len(small) > 1:
            shared.append(int(k))
    return ScreenReading(faces[keep], tile_of[keep], tiles, faces[~keep], shared)
