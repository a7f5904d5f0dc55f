"""Reading the name label of each gallery tile: find the strip, recognise only that strip.

Zoom, Teams and Meet write the participant's display name at the bottom left of the tile in
near-white letters, on a dark translucent box (Zoom, Teams) or a dark scrim (Meet). The strip is
found from the letters themselves: small near-white, colourless blobs in the tile's bottom band
that line up on one baseline with dark pixels around them. Icons beside the name (a red muted
microphone, a yellow raised hand) are coloured, so they are left out of the strip rather than
read as letters. A tile whose strip looks as it did in the previous sample keeps its text: the
label only changes when the tile does, and recognition is the costly step.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

import cv2
import numpy as np

from rollcall.vision.ocr import TEXT_HEIGHT, ReadText, TextLineReader

# The label sits in this bottom share of the tile (at least BAND_MIN_PX), left of RIGHT_SHARE.
BAND_SHARE = 0.3
BAND_MIN_PX = 40
RIGHT_SHARE = 0.95
# Letters are near white and colourless; the box around them is dark.
LETTER_GREY = 120
LETTER_CHROMA = 60
LABEL_CONTRAST = 50
STROKE_CONTRAST = 30
_KERNEL = cv2.getStructuringElement(cv2.MORPH_RECT, (7, 7))
# Letters are 4-40 px tall (8-20 px fonts, capitals about 0.73 of the size, descenders more).
MIN_LETTER_H, MAX_LETTER_H = 3, 40
# A strip is kept when at least this share of the pixels around its letters is dark.
MIN_DARK_SHARE = 0.6
# Margins around the letters in the strip handed to the recognizer (shares of letter height).
PAD_Y, PAD_X = 0.45, 0.3
# How far left of a found tile (share of its width) its label may start.
LEFT_REACH = 0.12
# The strip's contrast is stretched from this percentile of its pixels (the ground) to that one
# (the ink) before recognition.
STRETCH_LOW, STRETCH_HIGH = 10, 97
# A cached strip is read again when, at its best alignment (a speaker's nudge, the strip found a
# pixel or two wider), some stretch of it as wide as half its height has more than
# CHANGED_SHARE of its pixels changed by more than INK_CHANGE grey levels: a letter changed.
# Measured on labels drawn like each platform's at 8-20 px over noisy video, JPEG'd: redrawn the
# same, or nudged one pixel, 0 of those pixels in every stretch but a strip found at another
# size; one letter changed ("Li Wei"/"Li Wen", "yale subject01"/"02"), 1.3-10% of a stretch; an
# accent dropped, 1.0-4.2%. (The mean difference over the whole strip, the rule before, was
# 5-13 for one letter changed and up to 35 for the same label redrawn: a name one letter
# apart kept the previous name.)
INK_CHANGE = 64
CHANGED_SHARE = 0.005
ALIGN_X, ALIGN_Y = 3, 1


@dataclass(frozen=True)
class LabelStrip:
    """Where a tile's name label is, in frame coordinates (x, y, w, h), and its letter height."""

    rect: tuple[int, int, int, int]
    letter_h: int


def find_label_strip(tile: np.ndarray) -> LabelStrip | None:
    """The name label strip of one BGR tile image, or None when it has none."""
    h, w = tile.shape[:2]
    if h < 16 or w < 24:
        return None
    band_h = min(h, max(BAND_MIN_PX, round(h * BAND_SHARE)))
    y_off = h - band_h
    band = tile[y_off:, : max(8, round(w * RIGHT_SHARE))]
    grey = cv2.cvtColor(band, cv2.COLOR_BGR2GRAY)
    chroma = band.max(axis=2).astype(np.int16) - band.min(axis=2)
    # Strokes are thin and brighter than what is right around them; a bright shirt or wall is
    # wide and smooth, and an opening keeps it while erasing the letters.
    strokes = cv2.subtract(grey, cv2.morphologyEx(grey, cv2.MORPH_OPEN, _KERNEL))
    letters = (grey >= LETTER_GREY) & (chroma <= LETTER_CHROMA) & (strokes >= STROKE_CONTRAST)
    letters = letters.astype(np.uint8)
    count, _, stats, _ = cv2.connectedComponentsWithStats(letters, connectivity=8)
    blobs = [
        (int(x), int(y), int(bw), int(bh))
        for x, y, bw, bh, area in stats[1:count]
        if MIN_LETTER_H <= bh <= MAX_LETTER_H and bw <= 12 * bh and area >= 2
    ]
    best: tuple[float, LabelStrip] | None = None
    for line in _lines(blobs):
        x0, y0, x1, y1, letter_h = _extent(line)
        # Small letters blur into pieces that group badly: take the whole run of letter
        # pixels along the line's rows instead, left and right of the seed.
        # A column bright above, through and below the line is a bar of video between the
        # tile's edge and the box, or a window frame: no letter rises and descends both.
        above = letters[max(0, y0 - letter_h) : y0].sum(axis=0) >= 2
        below = letters[y1 : y1 + letter_h].sum(axis=0) >= 2
        bar = above & below & (letters[y0:y1].mean(axis=0) >= 0.85)
        # A muted microphone or a raised hand beside the name ends the strip: its pale,
        # blurred edge would otherwise pass for a letter.
        icon = (chroma[y0:y1] > 1.5 * LETTER_CHROMA).any(axis=0)
        icon = cv2.dilate(icon.astype(np.uint8)[None, :], np.ones((1, 5), np.uint8))[0] > 0
        columns = letters[y0:y1].any(axis=0) & ~bar & ~icon
        x0, x1 = _span(columns, x0, x1, max(3, round(1.5 * letter_h)))
        # Accents and descenders broken off their letters still belong to the line.
        ny0, ny1 = _span(letters[:, x0:x1].sum(axis=1) >= 2, y0, y1, 1)
        y0, y1 = max(ny0, y0 - letter_h // 2), min(ny1, y1 + letter_h // 2)
        pad = max(2, round(letter_h * PAD_Y))
        side = max(2, round(letter_h * PAD_X))
        rx0, ry0 = max(0, x0 - side), max(0, y0 - pad)
        rx1, ry1 = min(band.shape[1], x1 + side), min(band_h, y1 + pad)
        ring = np.ones((ry1 - ry0, rx1 - rx0), bool)
        ring[y0 - ry0 : y1 - ry0, x0 - rx0 : x1 - rx0] = False
        around = grey[ry0:ry1, rx0:rx1]
        inside = letters[y0:y1, x0:x1]
        ink_level = float(np.median(grey[y0:y1, x0:x1][inside > 0])) if inside.any() else 0.0
        # Labels are light on dark: a box (Zoom, Teams) or a scrim and a shadow (Meet).
        darker = ink_level - LABEL_CONTRAST
        dark_share = float((around[ring] <= darker).mean()) if ring.any() else 0.0
        # Or dark below and beside the letters only: Meet's scrim begins at the label's top,
        # and over a white wall the video right above the name is as bright as the letters.
        ring[: y0 - ry0] = False
        if ring.any():
            dark_share = max(dark_share, float((around[ring] <= darker).mean()))
        # Text covers 15-50% of its own box; a bright patch of shirt or wall covers most of it.
        ink = float(inside.mean())
        if dark_share < MIN_DARK_SHARE or not 0.08 <= ink <= 0.7 or x1 - x0 < 2 * letter_h:
            continue
        # The apps put the label at the bottom left: prefer the line nearest that corner.
        score = dark_share - 0.5 * (band_h - y1) / band_h - 0.5 * x0 / band.shape[1]
        if best is None or score > best[0]:
            strip = LabelStrip((rx0, y_off + ry0, rx1 - rx0, ry1 - ry0), letter_h)
            best = (score, strip)
    return best[1] if best is not None else None


def _lines(blobs: list[tuple[int, int, int, int]]) -> list[list[tuple[int, int, int, int]]]:
    """Group letter blobs into lines of text: alike in height, centred on one line, and no
    further apart than a word space or two."""
    lines: list[list[tuple[int, int, int, int]]] = []
    # Each line's median letter height, median centre and right end, updated as it grows
    # (computed afresh for every blob against every line, they took ~2 ms a tile).
    stats: list[tuple[float, float, int]] = []
    for blob in sorted(blobs, key=lambda b: b[0]):
        x, y, bw, bh = blob
        if bh > 2 * bw + 4 and bh > 8:
            continue  # a tall thin stroke: a tile edge, not a letter (an "l" is found by _span)
        cy = y + bh / 2
        for k, line in enumerate(lines):
            mh, mcy, right = stats[k]
            if (
                abs(cy - mcy) <= 0.5 * mh + 1
                and x - right <= 2.0 * mh + 1
                and 0.4 * mh - 1 <= bh <= 2.2 * mh + 1
            ):
                line.append(blob)
                stats[k] = _line_stats(line)
                break
        else:
            lines.append([blob])
            stats.append(_line_stats(lines[-1]))
    return [line for line in lines if len(line) >= 2]


def _line_stats(line: list[tuple[int, int, int, int]]) -> tuple[float, float, int]:
    heights = sorted(b[3] for b in line)
    centres = sorted(b[1] + b[3] / 2 for b in line)
    return _median(heights), _median(centres), max(b[0] + b[2] for b in line)


def _median(ordered: list) -> float:
    """np.median of an ordered list, without numpy's overhead on a few numbers."""
    n = len(ordered)
    mid = n // 2
    return float(ordered[mid]) if n % 2 else (ordered[mid - 1] + ordered[mid]) / 2.0


def _span(columns: np.ndarray, x0: int, x1: int, max_gap: int) -> tuple[int, int]:
    """Widen [x0, x1) over the columns holding letter pixels, across gaps up to max_gap."""
    filled = np.flatnonzero(columns)
    if not len(filled):
        return x0, x1
    left = filled[filled < x0][::-1]
    for c in left:
        if x0 - c > max_gap:
            break
        x0 = int(c)
    for c in filled[filled >= x1]:
        if c - (x1 - 1) > max_gap:
            break
        x1 = int(c) + 1
    return x0, x1


def _extent(line: list[tuple[int, int, int, int]]) -> tuple[int, int, int, int, int]:
    """x0, y0, x1, y1 of a line's letters (stray tall blobs left out) and its letter height."""
    mh = float(np.median([b[3] for b in line]))
    core = [b for b in line if b[3] <= 1.8 * mh + 1] or line
    x0 = min(b[0] for b in line)
    x1 = max(b[0] + b[2] for b in line)
    y0 = min(b[1] for b in core)
    y1 = max(b[1] + b[3] for b in core)
    return x0, y0, x1, y1, round(mh)


@dataclass
class _Cached:
    rect: tuple[int, int, int, int]
    pixels: np.ndarray
    read: ReadText


@dataclass
class TileLabels:
    """The labels read in one frame: the text of each tile (None: no label found)."""

    texts: list[str | None]
    read: int = 0  # strips recognised in this frame (the others came from the cache)
    cached: int = 0


@dataclass
class LabelReader:
    """Reads tiles' name labels, remembering each tile's strip between samples of one meeting.

    Keep one per meeting (session): the cache is keyed by tile position.
    """

    reader: TextLineReader
    min_score: float = 0.5  # recognitions less sure than this are treated as unread
    _cache: dict[tuple[int, int, int, int], _Cached] = field(default_factory=dict)

    def read(
        self, image: np.ndarray, tiles: np.ndarray, wanted: Sequence[int] | None = None
    ) -> TileLabels:
        """The label of each tile in ``tiles`` (K, 4), reading only those in ``wanted``."""
        texts: list[str | None] = [None] * len(tiles)
        todo: list[tuple[int, tuple[int, int, int, int], np.ndarray, tuple]] = []
        result = TileLabels(texts)
        keep: dict[tuple[int, int, int, int], _Cached] = {}
        indices = range(len(tiles)) if wanted is None else sorted(set(wanted))
        for k in indices:
            x, y, w, h = (int(round(v)) for v in tiles[k])
            # A tile whose picture has a dark left edge is found narrower than it is (the
            # edge looks like gutter), and the label starts in that edge: look a little left.
            reach = min(x, round(LEFT_REACH * w))
            x, w = x - reach, w + reach
            tile = image[max(0, y) : y + h, max(0, x) : x + w]
            strip = find_label_strip(tile)
            if strip is None:
                continue
            sx, sy, sw, sh = strip.rect
            rect = (x + sx, y + sy, sw, sh)
            pixels = cv2.cvtColor(tile[sy : sy + sh, sx : sx + sw], cv2.COLOR_BGR2GRAY)
            key = _tile_key(tiles[k])
            hit = self._cache.get(key)
            if hit is not None and _same_strip(hit, rect, pixels):
                keep[key] = hit
                texts[k] = hit.read.text if hit.read.score >= self.min_score else None
                result.cached += 1
                continue
            todo.append((k, rect, pixels, key))
        if todo:
            crops = [
                _for_recognizer(_plain(image[r[1] : r[1] + r[3], r[0] : r[0] + r[2]]))
                for _, r, _, _ in todo
            ]
            reads = self.reader.read(crops)
            for (k, rect, pixels, key), got in zip(todo, reads, strict=True):
                # The recognizer has no "…": it reads the apps' ellipsis as three dots.
                got = ReadText(_ellipsis(got.text), got.score)
                keep[key] = _Cached(rect, pixels, got)
                texts[k] = got.text if got.score >= self.min_score and got.text else None
            result.read = len(todo)
        # Tiles not looked at this time keep their entry: they may be read next sample.
        self._cache = {**{k: v for k, v in self._cache.items() if k not in keep}, **keep}
        return result


def _plain(strip: np.ndarray) -> np.ndarray:
    """The strip with coloured pixels (a red muted microphone, a yellow hand at the edge of the
    strip) painted over with the box's dark: the recognizer would read them as letters."""
    chroma = strip.max(axis=2).astype(np.int16) - strip.min(axis=2)
    coloured = chroma > 1.5 * LETTER_CHROMA
    if not coloured.any():
        return strip
    # Video compression blurs an icon's edge into paler pixels: take them too.
    coloured = cv2.dilate(coloured.astype(np.uint8), np.ones((3, 3), np.uint8)) > 0
    # ... but never a letter's own pixels: over a red curtain or a yellow wall (Meet draws on
    # the video) a thin letter's anti-aliased edge is coloured too, and painting it over broke
    # an "l" into an "i". White ink keeps every channel high; an icon has one channel low.
    coloured &= strip.min(axis=2) < LETTER_GREY
    out = strip.copy()
    grey = cv2.cvtColor(strip, cv2.COLOR_BGR2GRAY)
    # The darker half (at least the median: a strip of one brightness has no pixel below it).
    out[coloured] = np.median(strip[grey <= np.median(grey)], axis=0).astype(np.uint8)
    return out


def _for_recognizer(strip: np.ndarray) -> np.ndarray:
    """The strip as the recognizer reads best: grey, its ground black and its ink white, and
    already at the recognizer's input height.

    The recognizer stretches every strip to TEXT_HEIGHT with a bilinear filter; a 9 px label
    enlarged five times that way blurs an accent or the dot of an "i" away, a cubic filter
    keeps more of it. The stretch takes out the colour and the brightness of the video behind
    a translucent box or Meet's scrim. (Percentiles chosen on half of the benchmark's names,
    see bench/bench_labels.py.)"""
    grey = cv2.cvtColor(strip, cv2.COLOR_BGR2GRAY)
    lo, hi = np.percentile(grey, (STRETCH_LOW, STRETCH_HIGH))
    if hi - lo >= LABEL_CONTRAST / 2:
        scaled = (grey.astype(np.float32) - float(lo)) * (255.0 / float(hi - lo))
        grey = np.clip(scaled, 0, 255).astype(np.uint8)
    if grey.shape[0] != TEXT_HEIGHT:
        f = TEXT_HEIGHT / grey.shape[0]
        size = (max(1, round(grey.shape[1] * f)), TEXT_HEIGHT)
        grey = cv2.resize(grey, size, interpolation=cv2.INTER_CUBIC)
    return cv2.cvtColor(grey, cv2.COLOR_GRAY2BGR)


def _ellipsis(text: str) -> str:
    # A sliver of the tile's edge or an icon at either end reads as a bar or a bracket.
    text = text.strip().strip("|[]").strip()
    for dots in ("...", ".."):
        if text.endswith(dots) and len(text) > len(dots):
            return text[: -len(dots)].rstrip() + "…"
    return text


def _tile_key(rect: np.ndarray) -> tuple[int, int, int, int]:
    # Tile rectangles found in compressed frames wobble by a pixel or two between samples.
    return tuple(int(round(float(v) / 4)) for v in rect)  # type: ignore[return-value]


def _same_strip(hit: _Cached, rect: tuple[int, int, int, int], pixels: np.ndarray) -> bool:
    if abs(hit.rect[2] - rect[2]) > ALIGN_X or abs(hit.rect[3] - rect[3]) > 2:
        return False
    old, new = hit.pixels.astype(np.int16), pixels.astype(np.int16)
    window = max(2, min(old.shape[0], new.shape[0]) // 2)
    for dx, dy in _OFFSETS:  # nearest first: an unchanged strip usually matches at once
        a = old[max(0, dy) :, max(0, dx) :]
        b = new[max(0, -dy) :, max(0, -dx) :]
        h, w = min(a.shape[0], b.shape[0]), min(a.shape[1], b.shape[1])
        if w < window:
            continue
        changed = (np.abs(a[:h, :w] - b[:h, :w]) > INK_CHANGE).sum(axis=0)
        stretches = np.convolve(changed, np.ones(window), mode="valid")
        if stretches.max() <= CHANGED_SHARE * window * h:
            return True
    return False


_OFFSETS = sorted(
    ((dx, dy) for dx in range(-ALIGN_X, ALIGN_X + 1) for dy in range(-ALIGN_Y, ALIGN_Y + 1)),
    key=lambda o: abs(o[0]) + abs(o[1]),
)
