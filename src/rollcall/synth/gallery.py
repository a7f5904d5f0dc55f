"""Meeting-app gallery views composed from real photos, with the truth about every tile."""

from __future__ import annotations

import math
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import numpy as np

from rollcall.synth.labels import LabelStyle, draw_name_label
from rollcall.synth.motion import Pose, posed
from rollcall.synth.people import DEFAULT_FACE_FRACTION, frame_photo, framed_photo

Size = tuple[int, int]  # (width, height) in pixels
Rect = tuple[int, int, int, int]  # (x, y, w, h) on the canvas
TileKind = Literal["face", "camera_off", "empty"]

BACKGROUND = (26, 26, 26)  # BGR; the near-black canvas meeting apps draw behind the tiles
CAMERA_OFF_FILL = (40, 40, 40)
FONT = cv2.FONT_HERSHEY_SIMPLEX
# Muted avatar colours (BGR) like the initials circles of Teams or Meet.
AVATAR_COLOURS = [(140, 90, 60), (70, 120, 170), (120, 70, 130), (60, 130, 90), (150, 110, 40)]


def display_name(name: str) -> str:
    """The label a participant would type: folder names use underscores for spaces."""
    return name.replace("_", " ")


@dataclass(frozen=True, slots=True)
class GalleryLayout:
    """Where each of ``count`` tiles sits on a ``size`` canvas, choosing the grid like Zoom.

    The grid is the one that gives the largest tiles of the given aspect ratio; the grid block is
    centred on the canvas and a short last row is centred too.
    """

    count: int
    size: Size
    cols: int
    rows: int
    tile_size: Size
    gap: int

    @classmethod
    def for_count(
        cls, count: int, size: Size, aspect: float = 16 / 9, gap: int | None = None
    ) -> GalleryLayout:
        width, height = size
        if gap is None:
            gap = max(2, round(min(width, height) * 0.006))
        if count <= 0:
            return cls(0, size, 0, 0, (0, 0), gap)
        best_key: tuple[int, int] | None = None
        cols = 1
        for candidate in range(1, count + 1):
            rows = math.ceil(count / candidate)
            fit_w = (width - gap * (candidate + 1)) / candidate
            fit_h = (height - gap * (rows + 1)) / rows
            # Prefer bigger tiles, then fewer empty cells (4 people: 2x2 rather than 3x2).
            key = (int(min(fit_w, fit_h * aspect)), -(candidate * rows - count))
            if best_key is None or key > best_key:
                best_key, cols = key, candidate
        assert best_key is not None  # nosec B101 - type narrowing of an invariant, not input validation
        rows = math.ceil(count / cols)
        tile_w = max(2, best_key[0])
        tile_h = max(2, int(tile_w / aspect))
        return cls(count, size, cols, rows, (tile_w, tile_h), gap)

    def rects(self) -> list[Rect]:
        """Tile rectangles in reading order (left to right, top to bottom)."""
        width, height = self.size
        tile_w, tile_h = self.tile_size
        block_h = self.rows * tile_h + (self.rows - 1) * self.gap
        top = (height - block_h) // 2
        rects: list[Rect] = []
        for row in range(self.rows):
            in_row = min(self.cols, self.count - row * self.cols)
            row_w = in_row * tile_w + (in_row - 1) * self.gap
            left = (width - row_w) // 2
            y = top + row * (tile_h + self.gap)
            rects.extend((left + i * (tile_w + self.gap), y, tile_w, tile_h) for i in range(in_row))
        return rects


@dataclass(frozen=True, slots=True)
class Tile:
    """What one participant's tile shows: a photo as their webcam, or their name (camera off).

    ``photo`` is normally the owner's; while someone else sits at the owner's camera it is the
    sitter's (``face`` names them). ``poster`` is a photo hung on the wall behind the owner.
    """

    name: str
    photo: Path | np.ndarray | None = None
    label: str | None = None
    camera_off: bool = False
    face_fraction: float = DEFAULT_FACE_FRACTION
    face: str | None = None  # whose face the photo shows; default: the owner's
    poster: Path | None = None
    poster_name: str | None = None
    style: LabelStyle | None = None  # how the name label is drawn (default: Zoom's)
    # How the subject holds their head at this moment (synth.motion); None: as photographed.
    pose: Pose | None = None
    # The camera shows a picture of the face, not the person (a photo as the camera).
    picture: bool = False

    @property
    def kind(self) -> TileKind:
        return "camera_off" if self.camera_off or self.photo is None else "face"

    @property
    def text(self) -> str:
        return self.label if self.label is not None else display_name(self.name)

    @property
    def face_name(self) -> str | None:
        if self.kind != "face":
            return None
        return self.face if self.face is not None else self.name


@dataclass(frozen=True, slots=True)
class TileTruth:
    """Who was drawn where: name None and kind 'empty' for an unused slot.

    ``name`` owns the tile (its label); ``face`` is whose face is shown in it (None with the
    camera off); ``poster`` and ``poster_rect`` say whose picture hangs behind them, where.
    """

    name: str | None
    kind: TileKind
    rect: Rect
    label: str = ""
    face: str | None = None
    poster: str | None = None
    poster_rect: Rect | None = None
    drawn: str = ""  # the label as drawn: cut short with "…" when it did not fit
    # The face shown is a picture of ``face`` (a photo as the camera): they are not there.
    picture: bool = False

    @property
    def has_face(self) -> bool:
        return self.kind == "face"

    def to_dict(self) -> dict[str, object]:
        return {
            "name": self.name,
            "kind": self.kind,
            "rect": list(self.rect),
            "label": self.label,
            "face": self.face,
            "poster": self.poster,
            "poster_rect": None if self.poster_rect is None else list(self.poster_rect),
            "drawn": self.drawn,
            "picture": self.picture,
        }

    @classmethod
    def from_dict(cls, data: dict) -> TileTruth:
        poster_rect = data.get("poster_rect")
        return cls(
            data["name"],
            data["kind"],
            tuple(data["rect"]),
            data.get("label", ""),
            data.get("face"),
            data.get("poster"),
            None if poster_rect is None else tuple(poster_rect),
            data.get("drawn", ""),
            bool(data.get("picture", False)),
        )


def speaker_rects(count: int, size: Size, aspect: float = 16 / 9) -> list[Rect]:
    """Speaker view like Zoom's: the speaker's big tile, then a strip of ``count - 1`` small
    tiles centred along the top. The big tile fills the rest of the canvas at ``aspect``."""
    width, height = size
    gap = max(2, round(min(width, height) * 0.006))
    strip_w = max(16, width // 8)
    strip_h = int(strip_w / aspect)
    others = max(0, count - 1)
    strip_top = gap
    row_w = others * strip_w + max(0, others - 1) * gap
    left = (width - row_w) // 2
    strip = [(left + i * (strip_w + gap), strip_top, strip_w, strip_h) for i in range(others)]
    top = strip_top + strip_h + gap if others else gap
    room_w, room_h = width - 2 * gap, height - top - gap
    big_w = int(min(room_w, room_h * aspect))
    big_h = int(big_w / aspect)
    big = ((width - big_w) // 2, top + (room_h - big_h) // 2, big_w, big_h)
    return [big, *strip]


def compose_gallery(
    tiles: Sequence[Tile | None],
    size: Size = (1280, 720),
    *,
    aspect: float = 16 / 9,
    layout: GalleryLayout | None = None,
    rects: Sequence[Rect] | None = None,
) -> tuple[np.ndarray, list[TileTruth]]:
    """Draw a gallery view of ``tiles`` (None = empty slot) on a ``size`` (w, h) BGR canvas.

    ``rects`` places the tiles explicitly (speaker view: ``speaker_rects``); by default they
    follow the gallery grid for their count.
    """
    width, height = size
    if rects is None:
        layout = layout or GalleryLayout.for_count(len(tiles), size, aspect)
        rects = layout.rects()
    canvas = np.empty((height, width, 3), dtype=np.uint8)
    canvas[:] = BACKGROUND
    truths: list[TileTruth] = []
    for tile, rect in zip(tiles, rects, strict=True):
        if tile is None:
            truths.append(TileTruth(None, "empty", rect))
            continue
        x, y, w, h = rect
        view = canvas[y : y + h, x : x + w]
        poster_rect = None
        if tile.kind == "face":
            view[:] = _webcam_view(tile, (w, h))
            if tile.poster is not None:
                px, py, pw, ph = _hang_poster(view, tile)
                poster_rect = (x + px, y + py, pw, ph)
        else:
            _draw_camera_off(view, tile)
        drawn = draw_name_label(view, tile.text, tile.style)
        truths.append(
            TileTruth(
                tile.name,
                tile.kind,
                rect,
                tile.text,
                tile.face_name,
                tile.poster_name if poster_rect else None,
                poster_rect,
                drawn,
                tile.picture and tile.kind == "face",
            )
        )
    return canvas, truths


def gallery_frame(
    photos: Sequence[Path],
    size: Size = (1280, 720),
    labels: Sequence[str] | None = None,
    *,
    aspect: float = 16 / 9,
) -> tuple[np.ndarray, list[TileTruth]]:
    """A gallery of one face tile per photo; the name is the photo's folder (benchmarks)."""
    if labels is not None and len(labels) != len(photos):
        raise ValueError(f"{len(labels)} labels for {len(photos)} photos")
    tiles = [
        Tile(Path(p).parent.name, Path(p), None if labels is None else labels[i])
        for i, p in enumerate(photos)
    ]
    return compose_gallery(tiles, size, aspect=aspect)


def _webcam_view(tile: Tile, size: Size) -> np.ndarray:
    if isinstance(tile.photo, np.ndarray):
        view = frame_photo(tile.photo, size, tile.face_fraction)
    else:
        assert tile.photo is not None  # nosec B101 - type narrowing of an invariant, not input validation
        view = framed_photo(Path(tile.photo), size, tile.face_fraction)
    return view if tile.pose is None else posed(view, tile.face_fraction, tile.pose)


# A poster on the wall behind a participant: this share of the tile's height, in the upper
# corner away from the face. Its face is then about a third of the participant's (0.55 of the
# tile) and never overlaps it in a 16:9 tile.
POSTER_HEIGHT = 0.42
POSTER_FACE_FRACTION = 0.5


def _hang_poster(view: np.ndarray, tile: Tile) -> Rect:
    """Draw ``tile.poster`` as a framed portrait in an upper corner of ``view``; its rect."""
    assert tile.poster is not None  # nosec B101 - type narrowing of an invariant, not input validation
    h, w = view.shape[:2]
    ph = max(8, int(h * POSTER_HEIGHT))
    pw = max(6, int(ph * 0.75))
    border = max(1, ph // 25)
    inner = framed_photo(
        Path(tile.poster), (pw - 2 * border, ph - 2 * border), POSTER_FACE_FRACTION
    )
    margin = max(1, h // 25)
    left = zlib.crc32(f"{tile.name}:{tile.poster_name}".encode()) % 2 == 0
    x = margin if left else w - pw - margin
    y = margin
    view[y : y + ph, x : x + pw] = (235, 235, 230)  # the print's white border
    view[y + border : y + ph - border, x + border : x + pw - border] = inner
    return x, y, pw, ph


def _text_scale(tile_h: int, share: float, lo: float, hi: float) -> float:
    """Font scale giving text about ``share`` of the tile height, within [lo, hi] pixels."""
    (_, ref_h), _ = cv2.getTextSize("Ag", FONT, 1.0, 1)
    return float(np.clip(tile_h * share, lo, hi)) / ref_h


def _initials(text: str) -> str:
    parts = [p for p in text.replace("-", " ").split() if p]
    return "".join(p[0] for p in parts[:2]).upper() or "?"


def _draw_camera_off(view: np.ndarray, tile: Tile) -> None:
    """A dark tile with an initials avatar: someone in the meeting but with no face to see."""
    h, w = view.shape[:2]
    view[:] = CAMERA_OFF_FILL
    colour = AVATAR_COLOURS[zlib.crc32(tile.name.encode()) % len(AVATAR_COLOURS)]
    radius = max(4, int(h * 0.2))
    centre = (w // 2, int(h * 0.45))
    cv2.circle(view, centre, radius, colour, -1, cv2.LINE_AA)
    initials = _initials(tile.text)
    scale = _text_scale(radius, 0.8, 4, 60)
    (text_w, text_h), _ = cv2.getTextSize(initials, FONT, scale, 1)
    thickness = max(1, round(scale * 1.5))
    org = (centre[0] - text_w // 2, centre[1] + text_h // 2)
    cv2.putText(view, initials, org, FONT, scale, (245, 245, 245), thickness, cv2.LINE_AA)
