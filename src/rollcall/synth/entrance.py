"""Entrance-camera clips generated from real photos: people walking up to the camera, and
presentation attacks (a printed photo, a phone screen) made from the same photos.

A passer's head is the photo's head (face, hair, ears, and whatever of the photo's background
lies inside the outline) pasted with a soft elliptical edge over a static corridor, growing from
~40 to ~220 px over 2-3 s with lateral motion. It is cut from a framing with the face a third of
the height, padded where the photo stops, so the whole outline lies inside it whatever the crop
(HeadOutline.fits). Head turns are rendered with a rough depth map (an ellipsoid head and a
protruding nose), so the nose moves against the eyes and mouth corners as a real head's does: a
plain perspective warp of the photo would be a plane, which is exactly what an attack looks
like. The outline, the depth map and the size are placed on the face as found in each framed
photo (SpriteFace). Attacks are the photo framed as a portrait (face about half the height),
its own background included, on paper (white border, fibre texture) or on a phone (black
bezel, glare, moire, reduced colour range), moved as one plane (tilt and hand-held shake).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import cv2
import numpy as np

from rollcall.synth.people import FRAMING_SIDE, framed_photo, framing_detector

# An attack's picture: the photo framed like a portrait, the face about half its height.
SPRITE = (200, 250)  # (w, h)
SPRITE_FACE = 0.5  # the face fraction asked of framed_photo (it keeps to 0.4-0.8)
# A person's head is cut from a roomier framing: the face always a third of the height, padded
# where the photo stops, so the head's outline with its hair lies wholly inside it. In a
# framing that zooms a tight crop's face to 0.8 of the height, the outline ran past the edge
# and the head was drawn with straight cut sides moving with the face.
HEAD_SPRITE = (260, 360)
HEAD_FACE = 0.33
# Where framed_photo aims to put the face: centred across, its centre 0.45 of the height down
# (where a photo's face is not found; otherwise SpriteFace says where it really is).
FACE_CX, FACE_CY = 0.5, 0.45
KINDS = ("person", "print", "phone")


@dataclass(frozen=True)
class Passer:
    """One face crossing the view: a person, or an attack held up by someone."""

    name: str
    photo: Path
    t0: float  # first frame it is in view (s)
    duration: float  # seconds in view
    kind: str = "person"  # person | print | phone
    start: tuple[float, float] = (0.3, 0.45)  # face centre at t0, fractions of the frame
    end: tuple[float, float] = (0.5, 0.4)
    size: tuple[float, float] = (40.0, 220.0)  # face height in px at t0 and at the end
    yaw_amp: float = 18.0  # degrees of head turn (people) or of tilt (attacks)
    yaw_period: float = 1.6
    phase: float = 0.0
    seed: int = 0

    def at(self, t: float) -> tuple[float, float, float, float] | None:
        """(cx, cy, face px, yaw degrees) at time t, None when out of view."""
        tau = (t - self.t0) / self.duration
        if tau < 0 or tau > 1:
            return None
        # Perspective: a face's size grows like 1/distance while walking at a steady pace.
        s0, s1 = self.size
        size = 1.0 / (1.0 / s0 + tau * (1.0 / s1 - 1.0 / s0))
        cx = self.start[0] + tau * (self.end[0] - self.start[0])
        cy = self.start[1] + tau * (self.end[1] - self.start[1])
        yaw = self.yaw_amp * np.sin(2 * np.pi * (t - self.t0) / self.yaw_period + self.phase)
        return cx, cy, size, float(yaw)


@dataclass
class EntranceClip:
    size: tuple[int, int]  # (w, h)
    fps: float
    duration: float
    passers: list[Passer]
    seed: int = 0
    _background: np.ndarray | None = field(default=None, repr=False)

    def times(self) -> list[float]:
        return [i / self.fps for i in range(int(round(self.duration * self.fps)))]

    def frames(self) -> Iterator[tuple[float, np.ndarray]]:
        for t in self.times():
            yield t, self.frame(t)

    def frame(self, t: float) -> np.ndarray:
        if self._background is None:
            self._background = corridor(self.size, self.seed)
        image = self._background.astype(np.float32)
        # Farther people first, so a nearer one occludes them.
        visible = [(p, p.at(t)) for p in self.passers]
        visible = sorted(((p, s) for p, s in visible if s is not None), key=lambda v: v[1][2])
        for passer, state in visible:
            draw_passer(image, passer, t, state)
        rng = np.random.default_rng((self.seed * 1_000_003 + int(t * 1000)) % 2**32)
        image += rng.normal(0.0, 2.0, image.shape).astype(np.float32)  # sensor noise
        return np.clip(image, 0, 255).astype(np.uint8)

    def face_box(self, passer: Passer, t: float) -> tuple[float, float, float, float] | None:
        """The face's box (x, y, w, h) in the frame at t, for scoring."""
        state = passer.at(t)
        if state is None:
            return None
        w, h = self.size
        cx, cy, size, _ = state
        return cx * w - 0.4 * size, cy * h - 0.5 * size, 0.8 * size, size

    def passer_at(self, t: float, x: float, y: float) -> Passer | None:
        """Whose face is at (x, y) in the frame at t: the nearest (largest) face whose box
        holds the point, None for none. Scores a mark by the face it was decided on."""
        held = []
        for p in self.passers:
            box = self.face_box(p, t)
            if box is None:
                continue
            bx, by, bw, bh = box
            if bx <= x <= bx + bw and by <= y <= by + bh:
                held.append((bh, p))
        return max(held, key=lambda v: v[0])[1] if held else None


def corridor(size: tuple[int, int], seed: int) -> np.ndarray:
    """A static, textured background: walls, a floor, a few doors and posters."""
    w, h = size
    rng = np.random.default_rng(seed)
    base = rng.uniform(90, 170, 3)
    ys = np.linspace(0.85, 1.15, h)[:, None, None]
    image = np.ones((h, w, 3), np.float32) * base * ys
    for _ in range(6):
        x0 = int(rng.uniform(0, w * 0.9))
        y0 = int(rng.uniform(0, h * 0.5))
        ww, hh = int(rng.uniform(0.05, 0.15) * w), int(rng.uniform(0.2, 0.6) * h)
        cv2.rectangle(image, (x0, y0), (x0 + ww, y0 + hh), rng.uniform(40, 220, 3).tolist(), -1)
    image[int(h * 0.8) :] *= 0.7  # the floor
    texture = cv2.GaussianBlur(rng.normal(0, 12, (h, w)).astype(np.float32), (0, 0), 2)
    image += texture[..., None]
    return np.clip(image, 0, 255).astype(np.uint8)


def _framing(head: bool) -> tuple[tuple[int, int], float]:
    """(sprite size, face fraction) of a person's head (roomy) or of an attack's picture."""
    return (HEAD_SPRITE, HEAD_FACE) if head else (SPRITE, SPRITE_FACE)


def _framed(photo: Path, head: bool) -> np.ndarray:
    """The sprite a photo is drawn from: a person's head, or an attack's picture."""
    return framed_photo(photo, *_framing(head), keep_fraction=head)


def _sprite(passer: Passer) -> np.ndarray:
    return _framed(passer.photo, passer.kind == "person")


@dataclass(frozen=True)
class SpriteFace:
    """Where the face is in a framed photo (sprite pixels): its box centre, its height (a
    YuNet box: brows to chin) and its nose tip."""

    cx: float
    cy: float
    height: float
    nose: tuple[float, float]


@lru_cache(maxsize=1024)
def sprite_face(photo: Path, head: bool) -> SpriteFace:
    """The face of a passer's framed photo, found once per photo. Before this, the renderer
    assumed every face sat at (FACE_CX, FACE_CY) at SPRITE_FACE of the height; framing keeps
    to 0.4-0.8, so a tight crop's chin and cheeks fell outside the head's outline (replaced by
    the corridor) and the depth map's nose stood between the eyes."""
    (w, h), fraction = _framing(head)
    found = largest_face(_framed(photo, head))
    if found is None:
        face_h = fraction * h
        nose = (FACE_CX * w, FACE_CY * h + 0.08 * face_h)
        return SpriteFace(FACE_CX * w, FACE_CY * h, face_h, nose)
    return found


def largest_face(image: np.ndarray) -> SpriteFace | None:
    """The largest face of a framed picture as a SpriteFace (None: no face found)."""
    from rollcall.vision.detect import detect_padded

    faces = detect_padded(framing_detector(), image, FRAMING_SIDE)
    if not len(faces):
        return None
    i = int(np.argmax(faces.boxes[:, 2] * faces.boxes[:, 3]))
    x, y, fw, fh = (float(v) for v in faces.boxes[i])
    nose = faces.landmarks[i][2]
    return SpriteFace(x + fw / 2, y + fh / 2, fh, (float(nose[0]), float(nose[1])))


def turn_head(sprite: np.ndarray, face: SpriteFace, yaw_deg: float) -> np.ndarray:
    """The sprite's head turned by yaw_deg about a vertical axis, with a depth map: the head an
    ellipsoid, the nose standing out of it (orthographic rotation, inverse-mapped). The
    ellipsoid is the face's; the hair above it and at its sides, inside the head's outline,
    has no depth and turns as a flat band (a simplification: real hair has depth too)."""
    h, w = sprite.shape[:2]
    r = 0.5 * face.height  # head half-width
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    u = (xs - face.cx) / r
    v = (ys - face.cy) / (0.7 * face.height)
    depth = np.sqrt(np.clip(1 - u**2 - v**2, 0, 1)) * r
    # The nose: about a third of the head's half-width in front of the cheeks.
    nose_v = (ys - face.nose[1]) / (0.16 * face.height)
    nose_u = (xs - face.nose[0]) / (0.09 * face.height)
    depth += 0.35 * r * np.exp(-(nose_u**2 + nose_v**2))
    a = np.radians(yaw_deg)
    # x' = cx + (x - cx) cos a + d sin a; inverse with d taken at the destination pixel.
    map_x = (face.cx + (xs - face.cx - depth * np.sin(a)) / np.cos(a)).astype(np.float32)
    return cv2.remap(sprite, map_x, ys, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def draw_passer(
    image: np.ndarray, passer: Passer, t: float, state: tuple[float, float, float, float]
) -> None:
    fh, fw = image.shape[:2]
    cx, cy, size, yaw = state
    sprite = _sprite(passer)
    face = sprite_face(passer.photo, passer.kind == "person")
    scale = size / face.height  # the face is drawn ``size`` px high, as face_box has it
    if passer.kind == "person":
        picture = turn_head(sprite, face, yaw)
        mask = _head_mask(sprite.shape[:2], face)
        # A torso under the head, in a colour of the person's own.
        rng = np.random.default_rng(passer.seed)
        colour = rng.uniform(30, 200, 3)
        tx0, tx1 = cx * fw - 1.1 * size, cx * fw + 1.1 * size
        ty0 = cy * fh + 0.75 * size
        cv2.rectangle(image, (int(tx0), int(ty0)), (int(tx1), int(fh)), colour.tolist(), -1)
        # The head itself moves as a whole: no plane warp beyond scale and translation.
        matrix = np.array(
            [
                [scale, 0, cx * fw - face.cx * scale],
                [0, scale, cy * fh - face.cy * scale],
                [0, 0, 1],
            ]
        )
    else:
        picture, mask, inner = _attack_picture(sprite, passer)
        # The picture's own corners, tilted in perspective and shaken by the hand holding it.
        rng = np.random.default_rng(passer.seed * 7919 + int(t * 1000))
        ph, pw = picture.shape[:2]
        a = np.radians(yaw)
        src = np.float32([[0, 0], [pw, 0], [pw, ph], [0, ph]])
        # The face's place inside the picture, relative to the picture's centre.
        ox = inner[0] + face.cx - pw / 2
        oy = inner[1] + face.cy - ph / 2
        dst = []
        for x, y in src:
            px, py = (x - pw / 2 - ox) * scale, (y - ph / 2 - oy) * scale
            # Rotate the card about its vertical axis, then project (focal ~ 3 card widths).
            z = px * np.sin(a)
            f = 3.0 * pw * scale
            k = f / (f + z)
            dst.append([cx * fw + px * np.cos(a) * k, cy * fh + py * k])
        dst = np.float32(dst) + rng.normal(0, 0.004 * size, (4, 2)).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
    warped = cv2.warpPerspective(picture, matrix, (fw, fh), flags=cv2.INTER_LINEAR)
    alpha = cv2.warpPerspective(mask, matrix, (fw, fh), flags=cv2.INTER_LINEAR)[..., None]
    image *= 1 - alpha
    image += warped.astype(np.float32) * alpha


@dataclass(frozen=True)
class HeadOutline:
    """The ellipse of a head (face and hair, not the shoulders) in sprite pixels, and the
    blur of its soft edge."""

    centre: tuple[float, float]
    axes: tuple[float, float]  # half-width, half-height
    sigma: float

    @staticmethod
    def of(face: SpriteFace) -> HeadOutline:
        return HeadOutline(
            (face.cx, face.cy - 0.15 * face.height),
            (0.55 * face.height, 0.72 * face.height),
            max(1.0, face.height / 30),
        )

    def within(self, shape: tuple[int, int]) -> HeadOutline:
        """The outline shrunk, if need be, to fade out inside a sprite of this (h, w), soft
        edge included: a side cut by the sprite's edge would move with the face. (Never below
        a pixel: a face found near the edge, a bystander, must not break the drawing.)"""
        h, w = shape
        (cx, cy), (ax, ay) = self.centre, self.axes
        margin = 3 * self.sigma
        ax = max(1.0, min(ax, min(cx, w - cx) - margin))
        ay = max(1.0, min(ay, min(cy, h - cy) - margin))
        return HeadOutline(self.centre, (ax, ay), self.sigma)

    def fits(self, shape: tuple[int, int]) -> bool:
        """Whether it fades out inside a sprite of this (h, w) as it is, unshrunk."""
        return self.within(shape) == self


def _head_mask(shape: tuple[int, int], face: SpriteFace) -> np.ndarray:
    """The head's outline as an opacity mask of a sprite of this (h, w). The head sprite's
    framing leaves room for the whole outline; ``within`` is for a face found off its mark."""
    outline = HeadOutline.of(face).within(shape)
    (cx, cy), (ax, ay), sigma = outline.centre, outline.axes, outline.sigma
    mask = np.zeros(shape, np.float32)
    cv2.ellipse(mask, (int(cx), int(cy)), (int(ax), int(ay)), 0, 0, 360, 1.0, -1)
    return cv2.GaussianBlur(mask, (0, 0), sigma)


def _attack_picture(
    sprite: np.ndarray, passer: Passer
) -> tuple[np.ndarray, np.ndarray, tuple[int, int]]:
    """The attack's whole picture, its opacity mask, and where the photo sits inside it."""
    rng = np.random.default_rng(passer.seed)
    h, w = sprite.shape[:2]
    photo = sprite.astype(np.float32)
    if passer.kind == "print":
        border = int(0.08 * w)
        card = np.full((h + 2 * border, w + 2 * border, 3), 235.0, np.float32)
        card[border : border + h, border : border + w] = photo * 0.9 + 12  # ink on paper
        fibre = cv2.GaussianBlur(rng.normal(0, 10, card.shape[:2]).astype(np.float32), (0, 0), 1)
        card += fibre[..., None]
        return (
            np.clip(card, 0, 255).astype(np.uint8),
            np.ones(card.shape[:2], np.float32),
            (
                border,
                border,
            ),
        )
    # A phone: the screen's narrower colour range, a moire beat, a glare, a black bezel.
    grey = photo.mean(axis=2, keepdims=True)
    screen = 0.75 * (0.8 * photo + 0.2 * grey) + 35
    ys, xs = np.mgrid[0:h, 0:w].astype(np.float32)
    f1, f2 = rng.uniform(0.15, 0.3, 2)
    screen *= (1 + 0.07 * np.sin(2 * np.pi * (f1 * xs + f2 * ys)))[..., None]
    gx, gy = rng.uniform(0.2, 0.8) * w, rng.uniform(0.1, 0.5) * h
    glare = np.exp(-(((xs - gx) / (0.25 * w)) ** 2 + ((ys - gy) / (0.15 * h)) ** 2))
    screen += 90 * glare[..., None]
    side, top = int(0.05 * w), int(0.12 * h)
    phone = np.full((h + 2 * top, w + 2 * side, 3), 15.0, np.float32)
    phone[top : top + h, side : side + w] = screen
    return (
        np.clip(phone, 0, 255).astype(np.uint8),
        np.ones(phone.shape[:2], np.float32),
        (
            side,
            top,
        ),
    )


def gallery_from_photos(engine: object, people: dict[str, list[Path]]) -> object:
    """A Gallery of these people's photos with the embedder's calibrated settings (no database),
    for generated entrances; photos the enrollment rules refuse are skipped."""
    from rollcall.errors import RollcallError
    from rollcall.synth.people import read_photo
    from rollcall.vision.gallery import (
        DEFAULT_MARGIN,
        DEFAULT_THRESHOLD,
        MIN_NAMING_PX,
        SINGLE_TEMPLATE_COSINE,
        Gallery,
    )
    from rollcall.vision.quality import EnrollmentPolicy

    names: list[str] = []
    owner: list[int] = []
    vectors: list[np.ndarray] = []
    policy = EnrollmentPolicy()
    for name, photos in people.items():
        index = len(names)
        names.append(name)
        for photo in photos:
            try:
                face = engine.enrollment_face(read_photo(photo), policy)  # type: ignore[attr-defined]
            except RollcallError:
                continue
            owner.append(index)
            vectors.append(face.embedding)
    kind = engine.embedder.name  # type: ignore[attr-defined]
    return Gallery(
        names,
        np.array(owner, np.int64),
        np.array(vectors, np.float32),
        threshold=DEFAULT_THRESHOLD[kind],
        margin=DEFAULT_MARGIN[kind],
        min_naming_px=MIN_NAMING_PX[kind],
        single_template_cosine=SINGLE_TEMPLATE_COSINE[kind],
    )


def write_clip(clip: EntranceClip, path: Path) -> Path:
    """The clip as an MP4 file at its own frame rate (for the command line)."""
    import av

    container = av.open(str(path), mode="w")
    try:
        stream = container.add_stream("mpeg4", rate=int(round(clip.fps)))
        stream.width, stream.height = clip.size
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = 4_000_000
        for _, image in clip.frames():
            frame = av.VideoFrame.from_ndarray(image, format="bgr24")
            for packet in stream.encode(frame):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    finally:
        container.close()
    return path
