"""A participant's own camera showing a picture: a still photo (or a frozen video) in their tile.

A meeting's tiles reflow, page and resize, so unlike a room camera's posters (vision.still) a
picture here is not found by its place on screen but by whose face it is: every named person's
latest face patch is kept, and at their next sample it is compared with their face now. A real
person turns, blinks, talks and shifts in the 20-90 s between two samples; a photo shown as a
virtual camera, or held still in front of the webcam, gives the same pixels again.

The earlier patch is compared with the frame cut at the earlier face's place carried into the
tile the face is in now (same share of the tile: a reflowed, resized tile scales its picture
with it; on a frame whose tiles were not found, the same place on screen). The patch and the
correlation are vision.still's (zero-mean, unit-norm, so a brightness change does not make a
picture move; shifted by a few pixels against box jitter).
Its threshold, STILL_LIKENESS, was chosen leave-one-clip-out on real faces (bench/bench_still.py):
at 48-64 px, the meeting tiles' sizes, a picture was unmoved in 86-100% of comparisons per clip
and a real face in 0-8% (17% on the clip with the fewest).

A single unmoved comparison can be a person who kept still: a picture is PICTURE_RUN of them in a
row (``FrozenLooks.picture``), and what follows is left to the monitor (attendance.monitor).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from rollcall.vision.still import MIN_GAP, STILL_LIKENESS, likeness, patch, same_places, weights

HISTORY = 30
# A picture is this many unmoved comparisons in a row. A real face kept still in up to 8% of
# comparisons on real clips (bench/bench_still.py): two in a row happen within an hour's 60
# samples for about one person in three at that rate, three in a row for about one in 35; a
# picture, unmoved in 86-100% of them, is found at its fourth sample.
PICTURE_RUN = 3
# Comparisons that saw a picture move, as a glitch does twice (into it and out of it), and it is
# still a picture from the start (FrozenLooks.always_still).
GLITCHES = 2


@dataclass
class Look:
    """A person's face at their latest sample: where it was, its patch, and their comparisons."""

    t: float
    box: np.ndarray  # (4,) float32 xywh
    tile: np.ndarray | None  # (4,) float32 xywh, or None when no tile was found
    patch: np.ndarray  # (PATCH*PATCH,) float32
    history: list[bool] = field(default_factory=list)  # True: unmoved; oldest first
    # The earlier look of the first of the latest run of unmoved comparisons: the picture was
    # there by then (None: the latest comparison saw the face move, or there was none).
    still_since: float | None = None
    moves: int = 0  # comparisons since the person's first look that saw the face move


def carried(box: np.ndarray, before: np.ndarray, now: np.ndarray) -> np.ndarray:
    """``box`` in tile ``before`` moved to the same share of tile ``now``."""
    bx, by, bw, bh = (float(v) for v in before[:4])
    nx, ny, nw, nh = (float(v) for v in now[:4])
    sx, sy = nw / max(bw, 1.0), nh / max(bh, 1.0)
    x, y, w, h = (float(v) for v in box[:4])
    return np.array([nx + (x - bx) * sx, ny + (y - by) * sy, w * sx, h * sy], np.float32)


@dataclass
class FrozenLooks:
    """Every named person's latest look, and whether their face has moved since."""

    looks: dict[str, Look] = field(default_factory=dict)

    def compare(
        self,
        person: str,
        t: float,
        gray: np.ndarray,
        box: np.ndarray,
        tile: np.ndarray | None,
    ) -> bool | None:
        """Whether ``person``'s face (at ``box``, in ``tile`` of the grey frame) is unmoved since
        their latest look (None: not compared, a first look or one too recent). The face is
        then their latest look."""
        box = np.asarray(box[:4], np.float32)
        tile = (
            None
            if tile is None or tile[2] <= 0 or tile[3] <= 0
            else np.asarray(tile[:4], np.float32)
        )
        earlier = self.looks.get(person)
        if earlier is not None and t - earlier.t < MIN_GAP:
            return None  # two frames a moment apart show a real person unchanged too
        unmoved: bool | None = None
        history: list[bool] = []
        still_since: float | None = None
        if earlier is not None:
            # Cut at the earlier face's place, not at the face's box now: a box follows the
            # head as it shifts and leans, and cut there a real face that moved looked unmoved
            # a third of the time (a picture carried with its tile: every time).
            if tile is not None and earlier.tile is not None:
                place = carried(earlier.box, earlier.tile, tile)
                unmoved = likeness(gray, place, earlier.patch) >= STILL_LIKENESS
            elif same_places(box[None], earlier.box[None])[0, 0]:
                unmoved = likeness(gray, earlier.box, earlier.patch) >= STILL_LIKENESS
            else:
                unmoved = False  # (no tiles to carry the place by) elsewhere on screen now
            history = [*earlier.history, unmoved][-HISTORY:]
            if unmoved:
                still_since = earlier.t if earlier.still_since is None else earlier.still_since
        moves = 0 if earlier is None else earlier.moves + (unmoved is False)
        self.looks[person] = Look(t, box, tile, patch(gray, box), history, still_since, moves)
        return unmoved

    def picture(self, person: str) -> bool:
        """Unmoved in the latest PICTURE_RUN comparisons in a row."""
        look = self.looks.get(person)
        return (
            look is not None
            and len(look.history) >= PICTURE_RUN
            and all(look.history[-PICTURE_RUN:])
        )

    def leaning_still(self, person: str) -> bool:
        """Unmoved at the latest comparison, or unmoved more than moved over the person's
        comparisons (the latest weighing most): a picture that camera noise once showed moved
        is not credited for that sample either."""
        look = self.looks.get(person)
        if look is None or not look.history:
            return False
        unmoved, moved = weights(look.history)
        return look.history[-1] or unmoved > moved

    def always_still(self, person: str) -> bool:
        """Unmoved since their first look but for one glitch: a picture from the start. A
        glitch (an icon over the face, a re-encoded frame) makes a picture look moved into it
        and out of it: two moved comparisons in a row, or one, the first, when the glitch was
        the first look. Someone who kept still for a while after moving is not a picture from
        the start, and keeps what they were credited before it; nor is a face that changed
        and stayed changed twice (two moves apart: a generated participant's head turns came
        out so, and a picture taken down and put up again is no longer the one that marked)."""
        look = self.looks.get(person)
        if look is None or look.moves > GLITCHES:
            return False
        moved = [k for k, unmoved in enumerate(look.history) if not unmoved]
        if len(moved) < look.moves:
            return False  # a move older than the history kept: not known to be a glitch
        if len(moved) == 2:
            return moved[1] == moved[0] + 1
        # (The first comparison kept is the first one only while the history is not full.)
        return not moved or (moved == [0] and len(look.history) < HISTORY)

    def likeness(self, person: str, gray: np.ndarray, box: np.ndarray) -> float:
        """How like ``person``'s latest look a face at ``box`` is (-1: no look)."""
        look = self.looks.get(person)
        return -1.0 if look is None else likeness(gray, np.asarray(box[:4], np.float32), look.patch)
