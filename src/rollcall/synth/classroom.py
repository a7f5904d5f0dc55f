"""A generated classroom camera frame: rows of small faces cut from real photos, with truth boxes.

Used by the tests and bench/bench_classroom.py to measure head counts of a full room, where the
back rows' faces are 10-25 px.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import cv2
import numpy as np

from rollcall.synth.people import read_photo


def seated_people(photos: Sequence[Path], detector) -> list[tuple[np.ndarray, np.ndarray]]:  # noqa: ANN001
    """Each photo with exactly one face found, as (head-and-shoulders crop, face box in it)."""
    people = []
    for path in photos:
        image = read_photo(path)
        found = detector.detect(image)
        if len(found) != 1:
            continue
        x, y, w, h = found.boxes[0]
        cx, cy, side = x + w / 2, y + h / 2, max(w, h) * 1.8
        x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
        x1, y1 = int(min(image.shape[1], cx + side / 2)), int(min(image.shape[0], cy + side / 2))
        people.append((image[y0:y1, x0:x1], np.array([x - x0, y - y0, w, h], np.float32)))
    return people


def classroom_frame(
    people: Sequence[tuple[np.ndarray, np.ndarray]],
    face_px: tuple[float, float],
    size: tuple[int, int] = (1280, 720),
    rows: int = 6,
    cols: int = 12,
    seed: int = 3,
) -> tuple[np.ndarray, np.ndarray]:
    """rows x cols people whose faces are face_px[0]-face_px[1] px (shorter side) on a dull
    noisy wall, slightly blurred and JPEG-compressed like a camera's frame; returns the frame
    and the faces' boxes [x, y, w, h]."""
    rng = np.random.default_rng(seed)
    width, height = size
    frame = np.clip(rng.normal(110, 12, (height, width, 3)), 0, 255).astype(np.uint8)
    frame = cv2.GaussianBlur(frame, (0, 0), 3)
    truth = []
    for k in range(rows * cols):
        crop, box = people[k % len(people)]
        scale = rng.uniform(*face_px) / min(box[2], box[3])
        small = cv2.resize(
            crop,
            (max(1, round(crop.shape[1] * scale)), max(1, round(crop.shape[0] * scale))),
            interpolation=cv2.INTER_AREA,
        )
        ox = int(40 + (k % cols) * (width - 80) / cols + rng.uniform(0, 20))
        oy = int(60 + (k // cols) * (height - 120) / rows + rng.uniform(0, 20))
        frame[oy : oy + small.shape[0], ox : ox + small.shape[1]] = small
        truth.append([ox + box[0] * scale, oy + box[1] * scale, box[2] * scale, box[3] * scale])
    frame = cv2.GaussianBlur(frame, (0, 0), 0.5)
    _, jpeg = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, 85])
    return cv2.imdecode(jpeg, cv2.IMREAD_COLOR), np.array(truth, np.float32)
