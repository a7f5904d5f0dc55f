"""People in and out across a line drawn on the entrance camera's picture (--line x1,y1,x2,y2).

Crossings are counted by supervision's LineZone on each track's box centre; a track must be
seen on the new side in two consecutive frames to count, so a box jittering on the line is
not counted twice. "In" is a crossing to the right-hand side of the line, walking along it
from (x1, y1) to (x2, y2) on the picture: for a line drawn left to right, moving down the
picture (towards the camera, for a camera looking down a corridor). Draw the line the other
way round to swap in and out.
"""

from __future__ import annotations

import math

import cv2
import numpy as np
import supervision as sv

from rollcall.errors import RollcallError

MAX_COORDINATE = 1e6  # px: far beyond any camera, and within what OpenCV's integer geometry takes


def parse_line(text: str) -> tuple[float, float, float, float]:
    try:
        parts = [float(p) for p in text.split(",")]
    except ValueError:
        parts = []
    # float() also reads "nan" and "inf": a line through them could never be crossed.
    if (
        len(parts) != 4
        or not all(math.isfinite(v) and abs(v) <= MAX_COORDINATE for v in parts)
        or (parts[0], parts[1]) == (parts[2], parts[3])
    ):
        raise RollcallError(
            f"the line {text!r} is not understood: give two different points in the "
            "camera's pixels, x1,y1,x2,y2 (e.g. 0,500,1280,500 across a 1280x720 picture)"
        )
    return parts[0], parts[1], parts[2], parts[3]


def line_text(line: tuple[float, float, float, float] | None) -> str | None:
    """A parsed line as a session stores it ("0,500,1280,500"): one spelling per line, so a
    resume or an agent joining can tell the same line from another."""
    return ",".join(f"{v:g}" for v in line) if line else None


def line_in_picture(line: tuple[float, float, float, float], width: int, height: int) -> bool:
    """Whether any of the line lies in a width x height picture (a line given in another
    resolution's pixels, or mistyped, could never be crossed)."""
    x1, y1, x2, y2 = (round(v) for v in line)
    inside, _, _ = cv2.clipLine((0, 0, width, height), (x1, y1), (x2, y2))
    return bool(inside)


class Occupancy:
    def __init__(self, line: tuple[float, float, float, float], inside: int = 0) -> None:
        """``inside``: people already in when counting starts (a session taken over by
        another process, or resumed, goes on from its last known count)."""
        self.line = line
        self.base = max(0, inside)
        # Each open track's crossings so far (+1 in, -1 out), so the monitor can tell who is
        # inside once it knows whose face the track is (often only after the crossing).
        self.crossings: dict[int, int] = {}
        x1, y1, x2, y2 = line
        self.zone = sv.LineZone(
            # LineZone counts "in" towards the line's other side than ours: give it reversed.
            start=sv.Point(x2, y2),
            end=sv.Point(x1, y1),
            triggering_anchors=(sv.Position.CENTER,),
            minimum_crossing_threshold=2,
        )

    def update(self, boxes_xywh: np.ndarray, track_ids: np.ndarray) -> None:
        boxes = np.asarray(boxes_xywh, np.float32).reshape(-1, 4)
        xyxy = np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1)
        ids = np.asarray(track_ids, int)
        detections = sv.Detections(xyxy=xyxy, tracker_id=ids)
        crossed_in, crossed_out = self.zone.trigger(detections)
        for track_id, went_in, went_out in zip(ids, crossed_in, crossed_out, strict=True):
            if went_in or went_out:
                key = int(track_id)
                self.crossings[key] = self.crossings.get(key, 0) + (1 if went_in else -1)
        # Someone leaving with nobody counted inside was in before counting began: they add to
        # the base, not to a debt (a debt cancelled the next one to come in, and a resume,
        # which starts from the count, dropped it: the same clip gave 1 or 2 inside).
        self.base = max(self.base, self.left - self.entered)

    @property
    def entered(self) -> int:
        return int(self.zone.in_count)

    @property
    def left(self) -> int:
        return int(self.zone.out_count)

    @property
    def inside(self) -> int:
        return self.base + self.entered - self.left
