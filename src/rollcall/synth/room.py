"""A generated classroom camera recording: seated people who move, and pictures on the wall that
do not.

A fixed camera looks at a wall with posters and a row of seats. A seated person is shown from
their photos in turn (every few seconds another photo, as a real head turns, blinks and leans),
nudged and rescaled a little each time; people come and go by their spans, and a stranger can
take a seat someone left. A poster is one photo pasted on the wall for the whole recording, seen
through the same camera: the room's light drifts, the sensor adds noise, the encoder its loss.
Used by the tests of `rollcall run --mode classroom` (vision/still.py).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import av
import cv2
import numpy as np

from rollcall.synth.people import locate_face, read_photo
from rollcall.synth.video import _open_stream, pick_encoder


@dataclass(frozen=True)
class Seat:
    """Who sits in one seat when: each span (start, end, person) with the photos shown of them."""

    spans: list[tuple[float, float, str]]
    photos: dict[str, Sequence[Path]]

    def who_at(self, t: float) -> str | None:
        return next((p for a, b, p in self.spans if a <= t < b), None)


@dataclass
class RoomRecording:
    path: Path
    frame_times: list[float]
    seats: list[Seat]
    posters: list[tuple[str, tuple[int, int, int, int]]]  # whose photo, its face box
    faces: dict[float, list[tuple[str, tuple[int, int, int, int]]]] = field(default_factory=dict)

    def present_at(self, t: float) -> set[str]:
        return {p for seat in self.seats if (p := seat.who_at(t)) is not None}


def _portrait(path: Path, face_px: float) -> tuple[np.ndarray, np.ndarray]:
    """A head-and-shoulders cut of a photo whose face is ``face_px`` across, and the face box."""
    image = read_photo(path)
    x, y, w, h = locate_face(image)
    side = max(w, h) * 2.0
    cx, cy = x + w / 2, y + h / 2 + 0.15 * h
    x0, y0 = int(max(0, cx - side / 2)), int(max(0, cy - side / 2))
    x1 = int(min(image.shape[1], cx + side / 2))
    y1 = int(min(image.shape[0], cy + side / 2))
    scale = face_px / max(w, h)
    cut = cv2.resize(
        image[y0:y1, x0:x1],
        (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))),
        interpolation=cv2.INTER_AREA,
    )
    return cut, np.array([(x - x0) * scale, (y - y0) * scale, w * scale, h * scale], np.float32)


def _paste(canvas: np.ndarray, cut: np.ndarray, ox: int, oy: int) -> None:
    """``cut`` onto ``canvas`` at (ox, oy), clipped at every edge (a seat at the frame's side)."""
    h, w = canvas.shape[:2]
    x0, y0 = max(0, ox), max(0, oy)
    x1, y1 = min(w, ox + cut.shape[1]), min(h, oy + cut.shape[0])
    if x1 > x0 and y1 > y0:
        canvas[y0:y1, x0:x1] = cut[y0 - oy : y1 - oy, x0 - ox : x1 - ox]


def render_room(
    seats: list[Seat],
    posters: list[tuple[str, Path]],
    duration: float,
    path: Path,
    *,
    size: tuple[int, int] = (1280, 720),
    fps: float = 2.0,
    face_px: float = 72.0,
    move_every: float = 3.0,
    seed: int = 0,
) -> RoomRecording:
    """Write the room as an MP4 at ``path``: posters along the top of the wall, seats in a row
    below; each seated person changes photo, place (up to 11% of their face's side) and size
    (+-8%) every
    ``move_every`` seconds (each at their own phase), turning by up to 6 degrees."""
    rng = np.random.default_rng(seed)
    width, height = size
    wall = np.clip(rng.normal(150, 10, (height, width, 3)), 0, 255).astype(np.uint8)
    wall = cv2.GaussianBlur(wall, (0, 0), 4)
    poster_faces = []
    for k, (name, photo) in enumerate(posters):
        cut, box = _portrait(photo, face_px)
        framed = cv2.copyMakeBorder(cut, 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=(235, 235, 235))
        ox = int(60 + k * width / max(1, len(posters)) + rng.uniform(0, 40))
        oy = int(30 + rng.uniform(0, 20))
        _paste(wall, framed, ox, oy)
        bx, by, bw, bh = box
        poster_faces.append((name, (int(ox + 8 + bx), int(oy + 8 + by), int(bw), int(bh))))
    portraits = {
        (name, str(p)): _portrait(p, face_px)
        for seat in seats
        for name, photos in seat.photos.items()
        for p in photos
    }
    phase = rng.uniform(0, move_every, len(seats))
    times = [i / fps for i in range(int(duration * fps))]
    recording = RoomRecording(Path(path), [], seats, poster_faces)
    with av.open(str(path), "w") as container:
        stream = _open_stream(container, pick_encoder(), size, fps, False, 23, None, "ultrafast")
        for index, t in enumerate(times):
            canvas = wall.copy()
            shown = list(poster_faces)
            for s, seat in enumerate(seats):
                person = seat.who_at(t)
                if person is None:
                    continue
                step = int((t + phase[s]) / move_every)
                photos = seat.photos[person]
                pick = np.random.default_rng([seed, s, step])
                cut, box = portraits[(person, str(photos[step % len(photos)]))]
                # A head leans and turns between two samples: a few degrees, a few percent
                # nearer or farther, a few pixels aside (the same photo comes round again).
                scale = pick.uniform(0.92, 1.08)
                turn = cv2.getRotationMatrix2D(
                    (cut.shape[1] / 2, cut.shape[0] / 2), pick.uniform(-6, 6), scale
                )
                size_now = (round(cut.shape[1] * scale), round(cut.shape[0] * scale))
                turn[:, 2] += (np.array(size_now) - np.array(cut.shape[1::-1])) / 2
                cut = cv2.warpAffine(cut, turn, size_now, borderMode=cv2.BORDER_REPLICATE)
                lean = 0.11 * face_px  # 8 px at 72 px: the same share of a face at any size
                centre = (s + 0.5) * width / len(seats)
                ox = int(centre - cut.shape[1] / 2 + pick.uniform(-lean, lean))
                oy = int(height * 0.45 + pick.uniform(-lean, lean))
                _paste(canvas, cut, ox, oy)
                bx, by, bw, bh = box * scale
                shown.append((person, (int(ox + bx), int(oy + by), int(bw), int(bh))))
            # The camera: the room's light drifts slowly, the sensor adds noise.
            gain = 1.0 + 0.06 * np.sin(t / 7.0)
            image = canvas.astype(np.float32) * gain + rng.normal(0, 2.0, canvas.shape)
            image = np.clip(image, 0, 255).astype(np.uint8)
            yuv = cv2.cvtColor(image, cv2.COLOR_BGR2YUV_I420)
            frame = av.VideoFrame.from_ndarray(yuv, format="yuv420p")
            frame.pts = index
            frame.time_base = stream.codec_context.time_base
            for packet in stream.encode(frame):
                container.mux(packet)
            recording.frame_times.append(t)
            recording.faces[t] = shown
        for packet in stream.encode():
            container.mux(packet)
    return recording
