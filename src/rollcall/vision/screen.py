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
# How far (in brightness, 0-255) a pixel may be from the background and still be gutter:
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
    # The name label of each tile, as read (or snapped to an expected name); empty: not read.
    labels: list[str | None] = field(default_factory=list)

    @property
    def grid(self) -> bool:
        return len(self.tiles) > 0

    def label_of(self, i: int) -> str | None:
        """The label of the tile participant face ``i`` sat in (None: no tile, or unread)."""
        k = int(self.tile_of[i])
        return self.labels[k] if 0 <= k < len(self.labels) else None

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


# A row or column across a region is gutter when this share of it is background-coloured:
# video compression bleeds colour from bright tile edges into thin gutters in places (a clean
# connected-component split merged neighbouring tiles at 960x540), but never along most of them.
GUTTER_SHARE = 0.8
# Gutters are thin; a wider run of background-coloured rows is a margin (trimmed) or content.
MAX_GUTTER = 0.04  # of the frame's shorter side


# A gutter is the app's flat canvas: after compression nearly all of it stays within this many
# levels of the background (99.9% of the gutter pixels of the benchmark's 720p and 1080p
# recordings), while a picture's dark parts, within GUTTER_TOLERANCE of it, are this close only
# a third of the time. It tells a gutter from the dark edge of a picture beside it.
CLEAN_TOLERANCE = 3
# A line (row or column) is flat canvas when this share of it is: a gutter's lines are all but
# entirely (compression bleeds into the pixels beside a bright tile edge, not along the middle
# of the gutter), while the darkest picture columns of a 1080p recording reached 0.83.
CLEAN_SHARE = 0.95


@dataclass(frozen=True)
class _Masks:
    """What the XY-cut reads: background-coloured pixels, and those of a flat canvas."""

    gutter: np.ndarray  # float32 0/1: within GUTTER_TOLERANCE of the background
    clean: np.ndarray  # float32 0/1: within CLEAN_TOLERANCE of it
    max_gutter: int
    min_side: int


def find_tiles(image: np.ndarray) -> np.ndarray:
    """(K, 4) tile rectangles of a gallery or speaker view, in reading order; empty if none.

    An XY-cut, as for page layouts: the frame is trimmed of its background margins, split at
    rows that are gutter across the whole region (bands of tiles), each band split at its
    gutter columns, and so on until a region has no gutter left: that region is a tile.
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
        size = (round(w * scale), round(h * scale))
        small = cv2.resize(image, size, interpolation=cv2.INTER_AREA)
    # Brightness only: video and JPEG keep colour at half resolution, so a saturated tile
    # edge tints a thin gutter beside it, while its brightness stays the background's.
    grey = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    level = cv2.cvtColor(np.round(colour).astype(np.uint8).reshape(1, 1, 3), cv2.COLOR_BGR2GRAY)
    diff = cv2.absdiff(grey, np.full_like(grey, int(level[0, 0])))
    sh, sw = diff.shape
    masks = _Masks(
        gutter=(diff <= GUTTER_TOLERANCE).astype(np.float32),
        clean=(diff <= CLEAN_TOLERANCE).astype(np.float32),
        max_gutter=max(2, round(MAX_GUTTER * min(sh, sw))),
        min_side=max(12, round(0.03 * min(sh, sw))),
    )
    tiles: list[tuple[int, int, int, int]] = []
    _xy_cut(masks, 0, 0, sw, sh, True, tiles, 0)
    tiles = _split_at_aligned_gutters(tiles, masks)
    tiles = _mend_slivers(tiles, masks)
    tiles = _snap_to_grid(tiles, masks, (sw, sh))
    if not tiles:
        return np.zeros((0, 4), np.float32)
    rects = np.asarray(tiles, np.float32) / scale
    order = np.lexsort((rects[:, 0], np.round(rects[:, 1] / 8)))
    return rects[order]


def _clean_gap(masks: _Masks, a: tuple[int, ...], b: tuple[int, ...], across: bool) -> bool:
    """Whether the gap between pieces a and b (side by side when ``across``, else one above
    the other) holds a line of flat canvas: a gutter, not a dark stripe inside a picture."""
    pos, size, other, other_size = (0, 2, 1, 3) if across else (1, 3, 0, 2)
    g0 = min(a[pos] + a[size], b[pos] + b[size])
    g1 = max(a[pos], b[pos])
    o0 = max(a[other], b[other])
    o1 = min(a[other] + a[other_size], b[other] + b[other_size])
    if g1 <= g0 or o1 <= o0:
        return False
    if across:
        share = masks.clean[o0:o1, g0:g1].mean(axis=0)
    else:
        share = masks.clean[g0:g1, o0:o1].mean(axis=1)
    return bool((share >= CLEAN_SHARE).any())


def _overlap(a: tuple[int, ...], b: tuple[int, ...], across: bool) -> int:
    """How far pieces a and b overlap along x (``across``) or y."""
    k = 0 if across else 1
    return max(0, min(a[k] + a[k + 2], b[k] + b[k + 2]) - max(a[k], b[k]))


def _typical(sizes: list[int]) -> float:
    """The size of the piece in the middle of a row's (column's) length: a median weighted by
    size. A plain median is dragged down by slivers (a lamp-lit strip cut off a dim picture
    counts as much as a whole tile) until a piece cut off the next tile, a poster in it, passes
    for a tile of its own."""
    ordered = np.sort(np.asarray(sizes, np.float64))
    reach = np.cumsum(ordered)
    return float(ordered[int(np.searchsorted(reach, reach[-1] / 2))])


# A partly covered gutter: this share of its line is still background. A notification, a chat
# toast or a pointer's tooltip drawn across a gutter covers a stretch of it, and the XY-cut,
# which wants GUTTER_SHARE, does not cut there.
COVERED_GUTTER_SHARE = 0.5
# How near (px, on the working copy) a cut must lie to another tile's edge to be the same
# gutter line.
ALIGNED = 3


def _split_at_aligned_gutters(
    tiles: list[tuple[int, int, int, int]], masks: _Masks
) -> list[tuple[int, int, int, int]]:
    """Split pieces at a gutter something is drawn across: a line of the piece, no wider than a
    gutter and at least COVERED_GUTTER_SHARE background, in line with the edges of tiles in
    other rows (columns) on both its sides. A gallery's gutters run straight through the grid, so
    the other rows say where this one's is; a dark stripe inside a picture is not in line with
    them. (Unsplit, the two tiles and a third joined to them across the next gutter made a
    piece too wide to be a tile: the whole row was lost, and a poster in it counted and named.)"""
    out = list(tiles)
    for across in (True, False):  # split widths at columns, then heights at rows
        k = 0 if across else 1
        done: list[tuple[int, int, int, int]] = []
        for piece in out:
            done.extend(_split_piece(piece, out, masks, across, k))
        out = done
    return out


def _split_piece(
    piece: tuple[int, int, int, int],
    tiles: list[tuple[int, int, int, int]],
    masks: _Masks,
    across: bool,
    k: int,
) -> list[tuple[int, int, int, int]]:
    x, y, w, h = piece
    start, size = piece[k], piece[k + 2]
    # Edges of the tiles in other rows (columns): those not level with this piece.
    others = [t for t in tiles if t != piece and _overlap(t, piece, not across) == 0]
    ends = np.array([t[k] + t[k + 2] for t in others], np.float64)
    starts = np.array([t[k] for t in others], np.float64)
    if not len(others):
        return [piece]
    region = masks.gutter[y : y + h, x : x + w]
    share = region.mean(axis=0 if across else 1)
    flags = share >= COVERED_GUTTER_SHARE
    for a, b in _runs(flags):
        if b - a > masks.max_gutter or a < masks.min_side or size - b < masks.min_side:
            continue
        left, right = start + a, start + b
        if (np.abs(ends - left) <= ALIGNED).any() and (np.abs(starts - right) <= ALIGNED).any():
            first = (x, y, a, h) if across else (x, y, w, a)
            rest = (x + b, y, w - b, h) if across else (x, y + b, w, h - b)
            return [first, *_split_piece(rest, tiles, masks, across, k)]
    return [piece]


def _mend_slivers(
    tiles: list[tuple[int, int, int, int]], masks: _Masks
) -> list[tuple[int, int, int, int]]:
    """Join back the pieces that a dark stripe inside a picture cut off its tile.

    The tiles of a row of a gallery (or of the speaker view's strip) are all alike in width,
    and those of a column alike in height; a piece much narrower (shorter) than its row's
    (column's) typical tile joins its neighbour across the thin gap, the one that brings the
    joined width nearest the typical one, preferring a gap that is not flat canvas: a picture
    as dark as the gutter beside it is cut at its own dark stripes, and its pieces belong with
    each other, not with the tile across the real gutter.
    """
    max_gutter = masks.max_gutter
    tiles = list(tiles)
    for across in (True, False):  # widths within rows, then heights within columns
        changed = True
        while changed:
            changed = False
            for i, (x, y, w, h) in enumerate(tiles):
                pos, size, other_pos, other_size = (x, w, y, h) if across else (y, h, x, w)
                # Its row (column): the pieces level with it, give or take a dark top or
                # bottom trimmed off a dim picture (not the strip above a speaker's tile).
                line = [
                    j
                    for j, t in enumerate(tiles)
                    if _overlap(t, tiles[i], not across)
                    >= 0.8 * max(t[3] if across else t[2], other_size)
                ]
                typical = _typical([tiles[j][2 if across else 3] for j in line])
                if size >= 0.6 * typical:
                    continue
                best = None
                for j in line:
                    if j == i:
                        continue
                    p2, s2 = (tiles[j][0], tiles[j][2]) if across else (tiles[j][1], tiles[j][3])
                    gap = min(abs(pos + size - p2), abs(p2 + s2 - pos))
                    if gap > max_gutter:
                        continue
                    joined = max(pos + size, p2 + s2) - min(pos, p2)
                    key = (_clean_gap(masks, tiles[i], tiles[j], across), abs(joined - typical))
                    if best is None or key < best[0]:
                        best = (key, j)
                if best is None:
                    continue
                j = best[1]
                x2, y2, w2, h2 = tiles[j]
                x0, y0 = min(x, x2), min(y, y2)
                x1, y1 = max(x + w, x2 + w2), max(y + h, y2 + h2)
                tiles[j] = (x0, y0, x1 - x0, y1 - y0)
                del tiles[i]
                changed = True
                break
    return [t for t in tiles if 0.25 <= t[2] / t[3] <= 4.0]


Rect = tuple[int, int, int, int]
# A gallery's tiles are one size: alike within this share of their size (plus ALIGNED px) are
# the grid's, and it takes GRID_TILES of them to trust a grid.
GRID_SIZE_SHARE = 0.03
GRID_TILES = 3
# A grid cell's pieces are its tile unless the cell outside them is flat canvas: a small window
# of its own (a floating self view) is ringed by canvas, all but every pixel of it within
# CLEAN_TOLERANCE, while the rest of a tile cut up is picture the XY-cut took for canvas (as
# dark as it, so about half of it within CLEAN_TOLERANCE: 40-61% in the benchmark's meetings).
CELL_CANVAS_SHARE = 0.9


def _snap_to_grid(tiles: list[Rect], masks: _Masks, frame: tuple[int, int]) -> list[Rect]:
    """Put back together the tiles the XY-cut cut into pieces inside a gallery's grid.

    A tile whose picture is dark at its edge (as dark as the canvas, a speaker's frame around
    it) or holds a poster is cut into pieces that are not gutters apart: a piece too short and
    too narrow for _mend_slivers to join, or a poster cut off as a tile of its own, whose face
    is then its tile's main face, counted and named. When most tiles share one size, their
    rows and columns (and their pitch, for a row centred on its own, as Meet and Teams centre
    the last one) give the grid's cells; the pieces that fit in a cell no tile holds, on
    picture rather than canvas, are that cell's tile.
    """
    if len(tiles) <= GRID_TILES:
        return tiles
    sizes = np.asarray([(t[2], t[3]) for t in tiles], np.float64)
    slack = ALIGNED + GRID_SIZE_SHARE * sizes
    alike = np.all(np.abs(sizes[:, None, :] - sizes[None, :, :]) <= slack[:, None, :], axis=2)
    seed = int(np.argmax(alike.sum(axis=1)))
    members = [tiles[j] for j in np.flatnonzero(alike[seed])]
    if len(members) < GRID_TILES:
        return tiles
    cw, ch = (int(round(v)) for v in np.median([(t[2], t[3]) for t in members], axis=0))
    # A piece inside a tile of the grid is part of it (found twice, as a margin's tile).
    inner = [t for t in tiles if any(_area(t, m) == t[2] * t[3] for m in members if m != t)]
    lone = [t for t in tiles if t not in members and t not in inner]
    tiles = [t for t in tiles if t in members or t in lone]
    if not lone:
        return tiles
    rows = _levels([t[1] for t in members])
    cols = _levels([t[0] for t in members])
    pitch_x = _pitch(members, 0, cw, masks.max_gutter)
    pitch_y = _pitch(members, 1, ch, masks.max_gutter)
    # A grid with one row (column) of whole tiles: the apps draw gutters alike both ways.
    if pitch_y is None and pitch_x is not None:
        pitch_y = ch + pitch_x - cw
    if pitch_x is None and pitch_y is not None:
        pitch_x = cw + pitch_y - ch
    # Rows carried on by the pitch: a row no whole tile is in.
    if pitch_y:
        rows = _levels([r + k * pitch_y for r in rows for k in range(-8, 9)])
        rows = [r for r in rows if r + ch > 0 and r < frame[1]]

    def place(part: Rect, row: int) -> list[tuple[tuple[int, int], Rect]] | None:
        """The cells of ``row`` a piece (or its share of the row) lies in, cut at the grid's
        own gutters when it runs on across one (the dark edges of two tiles side by side hide
        the gutter between them from the XY-cut); None when it fits none."""
        x, _, w, _ = part
        # The row's own columns first (its tiles and their pitch), then the grid's (a row
        # whose every tile was cut), then cells the piece itself is flush with (such a row
        # centred on its own, as Meet and Teams centre the last one).
        level = [t[0] for t in members if abs(t[1] - row) <= ALIGNED]
        own = [*level, *(c + k * pitch_x for c in level for k in range(-8, 9) if pitch_x)]
        xs = [*own, *cols]
        for c in [*xs, x, x + w - cw]:
            if c - ALIGNED <= x and x + w <= c + cw + ALIGNED:
                return [((c, row), part)]
        spanned = _chain(_levels([c for c in own or cols if c < x + w and c + cw > x]), x, w, cw)
        if spanned:
            cut = [(c, max(x, c), min(x + w, c + cw)) for c in spanned]
            return [((c, row), (a, part[1], b - a, part[3])) for c, a, b in cut if b - a >= 2]
        return None

    # Each piece's share of the cells it lies in; one running on across a row's gutter too is
    # cut there first.
    shares: dict[Rect, list[tuple[tuple[int, int], Rect]]] = {}
    for piece in lone:
        x, y, w, h = piece
        row = next((r for r in rows if r - ALIGNED <= y and y + h <= r + ch + ALIGNED), None)
        if row is not None:
            placed = place(piece, row)
        else:
            placed = None
            if spanned := _chain(rows, y, h, ch):
                parts = [(r, max(y, r), min(y + h, r + ch)) for r in spanned]
                each = [place((x, a, w, b - a), r) for r, a, b in parts if b - a >= 2]
                if each and all(p is not None for p in each):
                    placed = [cell for p in each if p is not None for cell in p]
        # A piece of two cells is two tiles whose gutter hid (a dark edge on either side); one
        # of more is no piece of the grid (the speaker view's big tile below its strip).
        if placed and len(placed) <= 2:
            shares[piece] = placed
    kept = [t for t in tiles if t not in shares]
    while True:
        cells: dict[tuple[int, int], list[Rect]] = {}
        for share in shares.values():
            for key, part in share:
                cells.setdefault(key, []).append(part)
        failed = {
            key
            for key, parts in cells.items()
            if not _fits_cell(key, (cw, ch), parts, kept, masks, frame)
        }
        # A piece cut across a cell that is no tile stays whole: the cut was not a gutter.
        undone = [
            p
            for p, share in shares.items()
            if len(share) > 1 and any(k in failed for k, _ in share)
        ]
        if not undone:
            break
        for piece in undone:
            del shares[piece]
            kept.append(piece)
    snapped = [
        (cx, cy, min(cw, frame[0] - cx), min(ch, frame[1] - cy))
        for cx, cy in cells
        if (cx, cy) not in failed
    ]
    loose = [part for key, parts in cells.items() if key in failed for part in parts]
    return [*kept, *snapped, *loose]


def _fits_cell(
    key: tuple[int, int],
    size: tuple[int, int],
    parts: list[Rect],
    others: list[Rect],
    masks: _Masks,
    frame: tuple[int, int],
) -> bool:
    """Whether a grid cell holding ``parts`` is a tile: inside the frame, clear of the tiles
    found whole (``others``), and on picture, not flat canvas, outside its parts."""
    (cx, cy), (cw, ch) = key, size
    sw, sh = frame
    if cx < 0 or cy < 0 or cx + cw > sw + ALIGNED or cy + ch > sh + ALIGNED:
        return False
    cell = (cx, cy, cw, ch)
    if any(_area(t, cell) > ALIGNED * max(cw, ch) for t in others):
        return False
    inside = np.zeros((ch, cw), bool)
    for x, y, w, h in parts:
        inside[max(0, y - cy) : max(0, y - cy + h), max(0, x - cx) : max(0, x - cx + w)] = True
    canvas = masks.clean[cy : cy + ch, cx : cx + cw]
    outside = ~inside[: canvas.shape[0], : canvas.shape[1]]
    # Not the cell's rim: a piece a pixel or two off the grid leaves a line of gutter there.
    a = ALIGNED
    canvas, outside = canvas[a:-a, a:-a], outside[a:-a, a:-a]
    return not outside.any() or float(canvas[outside].mean()) <= CELL_CANVAS_SHARE


def _chain(levels: list[int], start: int, length: int, size: int) -> list[int] | None:
    """The grid's rows (columns) at ``levels`` that a piece from ``start``, ``length`` long,
    runs across, each a tile past the one before; None unless it runs across more than one
    and lies within them (a piece over a gutter the XY-cut did not see)."""
    chain: list[int] = []
    for v in levels:
        if v < start + length and v + size > start and (not chain or v >= chain[-1] + size):
            chain.append(v)
    if len(chain) < 2 or not chain[0] - ALIGNED <= start:
        return None
    return chain if start + length <= chain[-1] + size + ALIGNED else None


def _levels(values: list[float]) -> list[int]:
    """Positions within ALIGNED px of each other taken as one (their median), in order."""
    out: list[list[float]] = []
    for v in sorted(values):
        if out and v - out[-1][-1] <= ALIGNED:
            out[-1].append(v)
        else:
            out.append([v])
    return [int(round(float(np.median(group)))) for group in out]


def _pitch(members: list[Rect], k: int, size: int, max_gutter: int) -> int | None:
    """The step from a tile to the next along x (k=0) or y (k=1), tile plus gutter, from
    neighbours in one row (column): a row centred on its own is off the others' columns."""
    lines: dict[int, list[int]] = {}
    for t in members:
        lines.setdefault(round(t[1 - k] / (ALIGNED + 1)), []).append(t[k])
    steps = [
        b - a
        for line in lines.values()
        for a, b in zip(sorted(line), sorted(line)[1:], strict=False)
        if size <= b - a <= size + max_gutter
    ]
    return int(round(float(np.median(steps)))) if steps else None


def _area(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    """The area pieces a and b share."""
    return _overlap(a, b, True) * _overlap(a, b, False)


def _runs(flags: np.ndarray) -> list[tuple[int, int]]:
    """[start, end) of each run of True."""
    padded = np.concatenate([[False], flags, [False]])
    edges = np.flatnonzero(padded[1:] != padded[:-1])
    return list(zip(edges[0::2].tolist(), edges[1::2].tolist(), strict=True))


def _xy_cut(
    masks: _Masks,
    x0: int,
    y0: int,
    x1: int,
    y1: int,
    rows_first: bool,
    out: list[tuple[int, int, int, int]],
    depth: int,
) -> None:
    region = masks.gutter[y0:y1, x0:x1]
    if region.size == 0:
        return
    max_gutter, min_side = masks.max_gutter, masks.min_side
    rows = region.mean(axis=1) >= GUTTER_SHARE
    cols = region.mean(axis=0) >= GUTTER_SHARE
    # Trim background margins around the region.
    keep_r, keep_c = np.flatnonzero(~rows), np.flatnonzero(~cols)
    if not len(keep_r) and not len(keep_c):
        return
    if len(keep_r):
        ty0, ty1 = y0 + int(keep_r[0]), y0 + int(keep_r[-1]) + 1
    if len(keep_c):
        tx0, tx1 = x0 + int(keep_c[0]), x0 + int(keep_c[-1]) + 1
    if not len(keep_r) or not len(keep_c):
        # Every row (column) is mostly background, yet something is there: a tile far
        # narrower than the region, such as a lone tile in a row or the speaker view's strip
        # of one. Narrow the region along the other axis and look again.
        if not len(keep_r):
            ty0, ty1 = y0, y1
        else:
            tx0, tx1 = x0, x1
        if (ty0, ty1, tx0, tx1) == (y0, y1, x0, x1):
            return
    if min(tx1 - tx0, ty1 - ty0) < min_side:
        return
    if (ty0, ty1, tx0, tx1) != (y0, y1, x0, x1):
        kept = (tx0, ty0, tx1 - tx0, ty1 - ty0)
        bands = [
            (x0, y0, x1, ty0),  # above
            (x0, ty1, x1, y1),  # below
            (x0, ty0, tx0, ty1),  # left
            (tx1, ty0, x1, ty1),  # right
        ]
        for band in bands:
            out.extend(_tiles_in_margin(masks, band, kept, depth))
        _xy_cut(masks, tx0, ty0, tx1, ty1, rows_first, out, depth)
        return
    for axis_rows in (rows_first, not rows_first):
        flags = rows if axis_rows else cols
        cuts = [(a, b) for a, b in _runs(flags) if b - a <= max_gutter]
        clean = masks.clean[y0:y1, x0:x1].mean(axis=1 if axis_rows else 0) >= CLEAN_SHARE
        for a, b in _runs(flags):
            if b - a > max_gutter:
                # Too wide for a gutter: a gutter beside a picture whose edge is as dark as
                # the canvas, or dark content. Only the flat canvas in it is a gutter.
                cuts += [(a + c, a + d) for c, d in _runs(clean[a:b]) if d - c <= max_gutter]
        cuts.sort()
        if not cuts or depth > 8:
            continue
        start = 0
        length = len(flags)
        for a, b in [*cuts, (length, length)]:
            if a - start >= min_side:
                if axis_rows:
                    args = (x0, y0 + start, x1, y0 + a)
                else:
                    args = (x0 + start, y0, x0 + a, y1)
                _xy_cut(masks, *args, not axis_rows, out, depth + 1)
            start = b
        return
    out.append((x0, y0, x1 - x0, y1 - y0))


def _tiles_in_margin(
    masks: _Masks,
    band: tuple[int, int, int, int],
    kept: tuple[int, int, int, int],
    depth: int,
) -> list[tuple[int, int, int, int]]:
    """Tiles in a margin trimmed off a region (x0, y0, x1, y1): those its rows or columns were
    too wide to notice (the speaker view's strip of one, a lone tile in the last row).

    A piece counts only where a gutter separates it from the region kept: no wider than a
    gutter, and not none (the top of a dim picture, trimmed off its own tile, touches the rest
    of it). Not flat canvas: compression bleeds across most of a thin gutter between two bright
    tiles (0.4-0.7 of each line of a JPEG at quality 45).
    """
    x0, y0, x1, y1 = band
    if min(x1 - x0, y1 - y0) < masks.min_side:
        return []
    found: list[tuple[int, int, int, int]] = []
    _xy_cut(masks, x0, y0, x1, y1, True, found, depth + 1)
    kx, ky, kw, kh = kept
    out = []
    for tile in found:
        tx, ty, tw, th = tile
        if ty + th <= ky:  # above: the rows between it and the region, over its columns
            gap = masks.gutter[ty + th : ky, tx : tx + tw].mean(axis=1)
        elif ty >= ky + kh:
            gap = masks.gutter[ky + kh : ty, tx : tx + tw].mean(axis=1)
        elif tx + tw <= kx:
            gap = masks.gutter[ty : ty + th, tx + tw : kx].mean(axis=0)
        else:
            gap = masks.gutter[ty : ty + th, kx + kw : tx].mean(axis=0)
        if 0 < len(gap) <= masks.max_gutter and (gap >= GUTTER_SHARE).any():
            out.append(tile)
    return out


def read_screen(image: np.ndarray, faces: Faces) -> ScreenReading:
    """Split a frame's faces into participants and pictures behind them, tile by tile."""
    tiles, tile_of, keep, shared = _participants(image, faces)
    return ScreenReading(faces[keep], tile_of[keep], tiles, faces[~keep], shared)


def pictures_on_screen(image: np.ndarray, faces: Faces) -> np.ndarray:
    """(N,) bool: which faces of a meeting screenshot are pictures behind the participants
    (all False unless two tiles or more hold a face: a photo with a plain border reads as
    one tile, a dark one as a tile and slivers of its dark edge, and a group photo's back rows
    are not posters)."""
    _, tile_of, keep, _ = _participants(image, faces)
    if len(np.unique(tile_of[tile_of >= 0])) < 2:
        return np.zeros(len(faces), bool)
    return ~keep


def _participants(
    image: np.ndarray, faces: Faces
) -> tuple[np.ndarray, np.ndarray, np.ndarray, list[int]]:
    """(tiles, each face's tile or -1, which faces are participants, tiles shared by two)."""
    tiles = find_tiles(image)
    if not len(tiles) or not len(faces):
        return tiles, np.full(len(faces), -1), np.ones(len(faces), bool), []
    cx = faces.boxes[:, 0] + faces.boxes[:, 2] / 2
    cy = faces.boxes[:, 1] + faces.boxes[:, 3] / 2
    tx, ty, tw, th = (tiles[:, k][None, :] for k in range(4))
    inside = (cx[:, None] >= tx) & (cx[:, None] < tx + tw) & (cy[:, None] >= ty)
    inside &= cy[:, None] < ty + th
    tile_of = np.where(inside.any(axis=1), np.argmax(inside, axis=1), -1)
    keep = np.ones(len(faces), bool)
    shared = []
    sides = faces.min_side
    mains = []
    for k in np.unique(tile_of[tile_of >= 0]):
        members = np.flatnonzero(tile_of == k)
        main = sides[members].max()
        mains.append(main)
        small = members[sides[members] < SECOND_FACE_RATIO * main]
        keep[small] = False
        if len(members) - len(small) > 1:
            shared.append(int(k))
    outside = np.flatnonzero(tile_of < 0)
    # (Also beside one tile with a face: the lecturer's camera while slides are shared, a
    # student's photo on a slide. identify and count ask for two: pictures_on_screen.)
    if len(outside) and mains:
        # A face in no tile of a gallery (a tile not found, a shared screen's picture) is
        # held to the tiles' own faces: one far smaller than theirs is a picture too.
        keep[outside[sides[outside] < SECOND_FACE_RATIO * float(np.median(mains))]] = False
    return tiles, tile_of, keep, shared
