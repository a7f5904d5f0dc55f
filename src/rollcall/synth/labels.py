"""Name labels drawn on generated tiles as Zoom, Teams and Meet draw them.

Each app writes the participant's display name at the bottom left of the tile in a light sans
font, 8-20 px depending on the tile's size: Zoom on a dark translucent box in the corner, Teams
on a rounded dark box set in from the corner, Meet straight on the video over a dark scrim. A
name that does not fit is cut short with "…". A muted microphone (red, slashed) and a raised
hand (yellow) sit beside the name. The text drawn is returned, so benchmarks and tests know
exactly what a reader should find.
"""

from __future__ import annotations

import subprocess  # nosec B404 - fc-match with fixed arguments, to find a system font
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Literal

import cv2
import numpy as np
from PIL import Image, ImageDraw, ImageFont

Platform = Literal["zoom", "teams", "meet"]
PLATFORMS: tuple[Platform, ...] = ("zoom", "teams", "meet")
ELLIPSIS = "…"
TEXT_COLOUR = (245, 245, 245)  # RGB, near white like the apps'
SHADOW_COLOUR = (20, 20, 20)
MUTE_COLOUR = (60, 60, 230)  # BGR red
HAND_COLOUR = (40, 200, 250)  # BGR yellow
MIN_PX, MAX_PX = 8, 20
FONT_CANDIDATES = (
    "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/dejavu/DejaVuSans.ttf",
    "/usr/share/fonts/TTF/DejaVuSans.ttf",
)


@dataclass(frozen=True, slots=True)
class LabelStyle:
    """How one tile's label is drawn. ``px`` None: from the tile's height, like the apps."""

    platform: Platform = "zoom"
    px: int | None = None
    muted: bool = False
    hand: bool = False


def label_px(tile_h: int) -> int:
    """The label's font size in a tile ``tile_h`` pixels high (8 px in a 7x7 grid at 720p,
    about 10 px at 5x5, 20 px in a speaker's big tile)."""
    return int(np.clip(round(tile_h * 0.08), MIN_PX, MAX_PX))


@cache
def font_file() -> str | None:
    """A TrueType sans font on this machine (DejaVu Sans), or None: labels then fall back to
    OpenCV's Hershey font, which has no accents."""
    for path in FONT_CANDIDATES:
        if Path(path).is_file():
            return path
    try:
        found = subprocess.run(  # nosec B603, B607 - fc-match by name with fixed arguments, no shell
            ["fc-match", "-f", "%{file}", "DejaVu Sans"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        return None
    return found if found.lower().endswith((".ttf", ".otf")) and Path(found).is_file() else None


@cache
def _font(px: int) -> ImageFont.FreeTypeFont:
    path = font_file()
    assert path is not None  # nosec B101 - callers check font_file() first
    return ImageFont.truetype(path, px)


def _text_width(text: str, px: int) -> int:
    return int(np.ceil(_font(px).getlength(text)))


def fit_text(text: str, px: int, room: int) -> str:
    """``text`` as drawn in ``room`` pixels: whole, or cut short with "…" (empty if not even
    one letter fits)."""
    if _text_width(text, px) <= room:
        return text
    while text and _text_width(text.rstrip() + ELLIPSIS, px) > room:
        text = text[:-1]
    return text.rstrip() + ELLIPSIS if text.strip() else ""


def draw_name_label(view: np.ndarray, text: str, style: LabelStyle | None = None) -> str:
    """Draw ``text`` as the tile's name label on the BGR ``view`` in place; the text drawn."""
    style = style or LabelStyle()
    if font_file() is None:
        return _draw_hershey(view, text)
    h, w = view.shape[:2]
    px = style.px or label_px(h)
    ascent, descent = _font(px).getmetrics()
    line_h = ascent + descent
    pad = max(2, round(px * 0.35))
    icon = round(px * 0.9)
    margin = 0 if style.platform == "zoom" else max(2, round(px * 0.5))
    icons_w = (icon + pad) * (style.muted + style.hand)
    room = w - 2 * margin - 2 * pad - icons_w
    drawn = fit_text(text, px, room)
    if not drawn:
        return ""
    text_w = _text_width(drawn, px)
    box_h = line_h + 2 * pad
    y1 = h - margin
    y0 = max(0, y1 - box_h)
    x0 = margin
    x1 = min(w, x0 + 2 * pad + text_w + icons_w)
    x = x0 + pad
    if style.platform == "meet":
        # Meet has no box: a scrim darkens the bottom of the video under white text.
        band = view[max(0, y0 - pad) : h]
        ramp = np.linspace(0.85, 0.5, len(band), dtype=np.float32)[:, None, None]
        band[:] = (band * ramp).astype(np.uint8)
    else:
        box = view[y0:y1, x0:x1]
        video = box.copy()
        box[:] = (box * (0.35 if style.platform == "teams" else 0.4)).astype(np.uint8)
        if style.platform == "teams":
            # Teams rounds the box's corners: the video shows outside the arcs.
            box[_outside_round_corners(box.shape[0], box.shape[1], max(2, pad))] = video[
                _outside_round_corners(box.shape[0], box.shape[1], max(2, pad))
            ]
    if style.muted and style.platform == "zoom":
        # Zoom puts the muted microphone before the name.
        _draw_mute(view, x, y0 + pad, icon)
        x += icon + pad
    if style.platform == "meet":
        _draw_text(view, drawn, (x + 1, y0 + pad + 1), px, SHADOW_COLOUR)  # Meet's drop shadow
    _draw_text(view, drawn, (x, y0 + pad), px)
    x += text_w + pad
    if style.muted and style.platform != "zoom":
        _draw_mute(view, x, y0 + pad, icon)
        x += icon + pad
    if style.hand:
        _draw_hand(view, x, y0 + pad, icon)
    return drawn


def _draw_text(
    view: np.ndarray,
    text: str,
    origin: tuple[int, int],
    px: int,
    rgb: tuple[int, int, int] = TEXT_COLOUR,
) -> None:
    """Anti-aliased text on the BGR view, drawn only over its own small region (fast)."""
    x, y = origin
    ascent, descent = _font(px).getmetrics()
    w = min(view.shape[1] - x, _text_width(text, px) + 2)
    h = min(view.shape[0] - y, ascent + descent)
    if w <= 0 or h <= 0:
        return
    region = view[y : y + h, x : x + w]
    mask = Image.new("L", (w, h), 0)
    ImageDraw.Draw(mask).text((0, 0), text, font=_font(px), fill=255)
    alpha = np.asarray(mask, np.float32)[:, :, None] / 255.0
    colour = np.array(rgb[::-1], np.float32)
    region[:] = (region * (1 - alpha) + colour * alpha).astype(np.uint8)


@cache
def _outside_round_corners(h: int, w: int, r: int) -> np.ndarray:
    """(h, w) mask of the pixels of a box outside its rounded corners of radius r."""
    yy, xx = np.mgrid[0:h, 0:w]
    cx = np.clip(xx, r, w - 1 - r)
    cy = np.clip(yy, r, h - 1 - r)
    return (xx - cx) ** 2 + (yy - cy) ** 2 > r * r


def _draw_mute(view: np.ndarray, x: int, y: int, size: int) -> None:
    """A red microphone, slashed."""
    w = max(3, size // 2)
    cx = x + size // 2
    cv2.rectangle(view, (cx - w // 2, y), (cx + w // 2, y + size * 2 // 3), MUTE_COLOUR, -1)
    cv2.line(view, (cx, y + size * 2 // 3), (cx, y + size), MUTE_COLOUR, 1)
    cv2.line(view, (x, y), (x + size, y + size), MUTE_COLOUR, max(1, size // 8))


def _draw_hand(view: np.ndarray, x: int, y: int, size: int) -> None:
    """A yellow raised hand: a palm and four fingers."""
    palm_top = y + size * 2 // 5
    cv2.rectangle(view, (x, palm_top), (x + size - 1, y + size), HAND_COLOUR, -1)
    finger = max(1, size // 5)
    for k in range(4):
        fx = x + k * (size // 4)
        cv2.rectangle(view, (fx, y), (fx + finger - 1, palm_top), HAND_COLOUR, -1)


HERSHEY = cv2.FONT_HERSHEY_SIMPLEX


def _draw_hershey(view: np.ndarray, text: str) -> str:
    """No TrueType font on this machine: OpenCV's built-in font (ASCII only)."""
    h, w = view.shape[:2]
    (_, ref_h), _ = cv2.getTextSize("Ag", HERSHEY, 1.0, 1)
    scale = label_px(h) * 0.75 / ref_h
    (_, text_h), _ = cv2.getTextSize("Ag", HERSHEY, scale, 1)
    pad = max(1, text_h // 2)
    room = w - 2 * pad
    drawn = text
    while drawn and cv2.getTextSize(drawn + "..", HERSHEY, scale, 1)[0][0] > room:
        drawn = drawn[:-1]
    if drawn != text:
        drawn = drawn.rstrip() + ".." if drawn else ""
    if not drawn:
        return ""
    (text_w, _), base = cv2.getTextSize(drawn, HERSHEY, scale, 1)
    y0 = max(0, h - text_h - base - 2 * pad)
    box = view[y0:h, 0 : text_w + 2 * pad]
    box[:] = (box * 0.4).astype(np.uint8)
    cv2.putText(
        view, drawn, (pad, h - pad - base // 2), HERSHEY, scale, TEXT_COLOUR, 1, cv2.LINE_AA
    )
    return drawn
