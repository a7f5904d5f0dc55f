"""A webcam's subject alive: small head turns, tilts and shifts from one moment to the next.

A generated meeting drew every participant as the same still photo all along, which is exactly
what a photo used as one's camera looks like (vision.frozen finds those). Real participants
turn their heads, lean and shift between two samples, so each tile's photo is posed afresh
every MOVE_S seconds, seeded per person: a head turn rendered with a depth map (the nose moves
against the cheeks, as synth.entrance's passers do), a roll, a zoom and a shift. A picture
(``Pose.still``) is drawn the same way every time.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import cv2
import numpy as np

# A participant's pose changes this often (seconds); samples are 20-90 s apart.
MOVE_S = 5.0
YAW_DEG = 18.0
ROLL_DEG = 5.0
SHIFT = (0.04, 0.03)  # share of the tile's width, height
ZOOM = 0.05


@dataclass(frozen=True, slots=True)
class Pose:
    yaw: float = 0.0  # degrees, about the vertical axis
    roll: float = 0.0  # degrees, in the image plane
    dx: float = 0.0  # share of the tile's width
    dy: float = 0.0  # share of the tile's height
    zoom: float = 1.0

    @property
    def still(self) -> bool:
        return self == STILL


STILL = Pose()


def pose_at(seed: int, name: str, t: float) -> Pose:
    """``name``'s pose at ``t``: the same within each MOVE_S stretch, seeded per person."""
    rng = random.Random(f"{seed}:pose:{name}:{int(t // MOVE_S)}")  # nosec B311 - synthetic data
    return Pose(
        rng.uniform(-YAW_DEG, YAW_DEG),
        rng.uniform(-ROLL_DEG, ROLL_DEG),
        rng.uniform(-SHIFT[0], SHIFT[0]),
        rng.uniform(-SHIFT[1], SHIFT[1]),
        rng.uniform(1 - ZOOM, 1 + ZOOM),
    )


def posed(view: np.ndarray, face_fraction: float, pose: Pose) -> np.ndarray:
    """A framed webcam view (synth.people.frame_photo: the face about ``face_fraction`` of the
    height) with its subject in ``pose``, turned about the face as found in the view."""
    if pose.still:
        return view
    from rollcall.synth.entrance import SpriteFace, turn_head

    h, w = view.shape[:2]
    face = _face_of(view)
    if face is None:  # (none found: where frame_photo puts it)
        face_h = float(np.clip(face_fraction, 0.4, 0.8)) * h
        face = SpriteFace(w / 2, 0.45 * h, face_h, (w / 2, 0.45 * h + 0.08 * face_h))
    out = turn_head(view, face, pose.yaw)
    matrix = cv2.getRotationMatrix2D((face.cx, face.cy), pose.roll, pose.zoom)
    matrix[0, 2] += pose.dx * w
    matrix[1, 2] += pose.dy * h
    return cv2.warpAffine(
        out, matrix, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )


def _face_of(view: np.ndarray):  # noqa: ANN202 - a SpriteFace or None
    """The largest face of a framed view, its box centre, height and nose tip (the depth map's
    place: put elsewhere, the turn bulged a cheek and the face was no one's), found once per
    view (a recording reuses each view many times)."""
    key = (view.shape, hashlib.blake2b(view.tobytes(), digest_size=16).digest())
    if key not in _FACES:
        from rollcall.synth.entrance import largest_face

        if len(_FACES) > 2048:
            _FACES.clear()
        _FACES[key] = largest_face(view)
    return _FACES[key]


_FACES: dict[tuple, object] = {}
