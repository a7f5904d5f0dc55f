"""Faces that never move: pictures on the walls of a room a fixed camera watches.

A classroom camera has no gallery tiles to tell a participant from a poster (vision.screen), so
the tell is time: samples are tens of seconds apart, and in that time a seated person turns,
blinks, leans and shifts, while a face printed on a poster or shown on a screen behind the class
gives the same pixels again. So every face's patch is kept, and a face whose patch, cut again at
the earlier face's very place (not at the new detection, whose box jitters), still correlates
with it at STILL_LIKENESS or more is a picture: neither counted nor named.

The patch is the face box's grey pixels, not landmark-aligned (alignment would take out the
head's own motion, the very signal), zero-mean and unit-norm, so a room's light going up or
down (a picture's brightness and contrast change) does not make a picture move. A mounted
camera can drift a pixel or two, so the cut is also tried shifted by up to SHIFT of the face's
side, and the best correlation counts.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import IntEnum

import cv2
import numpy as np

from rollcall.vision.types import Faces

PATCH = 16
# The patch is cut from the box's middle: the edges of a face box are background, which is as
# still behind a person as behind a poster.
INNER = 0.8
# Shifts (share of the face's side) the earlier place is tried at: a mounted camera's drift.
SHIFT = 0.06
# Correlation at or above which a face "has not moved" (bench/bench_still.py).
STILL_LIKENESS = 0.95
# A face is compared with faces seen at least this long before: two frames a moment apart show
# a real person nearly unchanged too.
MIN_GAP = 5.0
# Samples whose faces are remembered: a picture hidden for a sample by someone standing in
# front of it is still known when it reappears.
REMEMBERED = 3
# A place's verdict weighs its comparisons, each worth DECAY times the one after it: someone
# who sat still for ten minutes and then moved is judged mostly on what they do now, while a
# picture that camera noise made look moved a few times is still a picture (its stills keep
# outweighing those). At 0.89 a comparison counts half after six more. The latest RECENT decide
# the counts of "three moved" and "two still"; HISTORY are kept (older ones weigh nothing).
DECAY = 0.89
RECENT = 4
HISTORY = 30
# How many times a place's stills its moves must weigh for a live face: a picture that camera
# noise shows "moved" in 20% of comparisons (24 px, the worst real clip) becomes live at some
# point of 30 comparisons 1.3% of the time at 4 (2.4% at 3), while a real face unmoved in 8%
# of them is named at its third comparison either way (bench/bench_still.py).
LIVE_WEIGHT = 4.0
# Two faces are in the same place when their centres are within this share of the smaller
# face's side and their sizes within SAME_SIZE of each other (a box overlap test lost seated
# people who leaned, at 36 px several times a session; a poster never moves at all). Seated
# neighbours' faces are further apart than that, and the nearest face is taken.
SAME_SPOT = 0.8
SAME_SIZE = 1.45


def patch(gray: np.ndarray, box: np.ndarray, dx: float = 0.0, dy: float = 0.0) -> np.ndarray:
    """The zero-mean, unit-norm PATCH x PATCH grey patch of a face box's middle, the box moved by
    (dx, dy) pixels (zeros when the box lies off the image)."""
    x, y, w, h = (float(v) for v in box[:4])
    cx, cy = x + w / 2 + dx, y + h / 2 + dy
    half_w, half_h = w * INNER / 2, h * INNER / 2
    x0, y0 = round(cx - half_w), round(cy - half_h)
    x1, y1 = round(cx + half_w), round(cy + half_h)
    height, width = gray.shape[:2]
    x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, width), min(y1, height)
    if x1 - x0 < 4 or y1 - y0 < 4:
        return np.zeros(PATCH * PATCH, np.float32)
    cut = cv2.resize(gray[y0:y1, x0:x1], (PATCH, PATCH), interpolation=cv2.INTER_AREA)
    v = cut.astype(np.float32).ravel()
    v -= v.mean()
    norm = float(np.linalg.norm(v))
    return v / norm if norm > 1e-6 else np.zeros_like(v)


def likeness(gray: np.ndarray, box: np.ndarray, earlier: np.ndarray) -> float:
    """The best correlation of an earlier patch with the image cut again at its box, shifted by
    up to SHIFT of its side."""
    step = max(1.0, SHIFT * float(min(box[2], box[3])) / 2)
    best = -1.0
    for dy in (-2 * step, -step, 0.0, step, 2 * step):
        for dx in (-2 * step, -step, 0.0, step, 2 * step):
            best = max(best, float(patch(gray, box, dx, dy) @ earlier))
    return best


def grey(image: np.ndarray) -> np.ndarray:
    return image if image.ndim == 2 else cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)


class Verdict(IntEnum):
    UNSURE = 0  # not compared often enough yet: counted, not yet named
    LIVE = 1  # seen to move: counted and named
    PICTURE = 2  # seen unmoved: neither counted nor named


def weights(history: list[bool]) -> tuple[float, float]:
    """(unmoved, moved): a place's comparisons (True: unmoved), oldest first, each weighing
    DECAY times the next."""
    w = DECAY ** np.arange(len(history) - 1, -1, -1, dtype=np.float64)
    unmoved = np.asarray(history, bool)
    return float(w[unmoved].sum()), float(w[~unmoved].sum())


def verdict_of(history: list[bool]) -> Verdict:
    """A place's verdict from its comparisons (True: unmoved), oldest first.

    LIVE once three of its latest RECENT comparisons saw it move and its moves weigh
    LIVE_WEIGHT times its stills; PICTURE once two of the latest RECENT found it unmoved, the
    latest one too, and its stills weigh at least its moves (a picture never moves: when a
    place that looked still moves, someone is in front of it or in its place now, and that
    face is judged afresh)."""
    if not history:
        return Verdict.UNSURE
    recent = history[-RECENT:]
    unmoved, moved = weights(history)
    if len(recent) - sum(recent) >= 3 and moved >= LIVE_WEIGHT * unmoved:
        return Verdict.LIVE
    if sum(recent) >= 2 and history[-1] and unmoved >= moved:
        return Verdict.PICTURE
    return Verdict.UNSURE


def leaning_live(history: list[bool]) -> bool:
    """Moved in the latest comparison, and its moves weigh more than twice its stills."""
    unmoved, moved = weights(history)
    return bool(history) and not history[-1] and moved > 2 * unmoved


def _apart(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) distances between the centres of boxes a (N, 4 xywh) and b (M, 4)."""
    ca, cb = a[:, :2] + a[:, 2:4] / 2, b[:, :2] + b[:, 2:4] / 2
    return np.linalg.norm(ca[:, None] - cb[None], axis=2)


def _same(apart: np.ndarray, a: np.ndarray, b: np.ndarray) -> np.ndarray:
    sa, sb = a[:, 2:4].min(axis=1), b[:, 2:4].min(axis=1)
    small = np.minimum(sa[:, None], sb[None])
    ratio = np.maximum(sa[:, None], sb[None]) / np.maximum(small, 1)
    return (apart <= SAME_SPOT * small) & (ratio <= SAME_SIZE)


def same_places(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(N, M) bool: which boxes of a (N, 4 xywh) are in the same place as which of b."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)), bool)
    return _same(_apart(a, b), a, b)


def nearest(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """For each box of a, the index of the nearest box of b in the same place (-1: none)."""
    out = np.full(len(a), -1)
    if not len(a) or not len(b):
        return out
    apart = _apart(a, b)
    dist = np.where(_same(apart, a, b), apart, np.inf)
    found = np.isfinite(dist).any(axis=1)
    out[found] = np.argmin(dist[found], axis=1)
    return out


@dataclass
class Remembered:
    """The faces of one earlier sample: where they were, their patches, and each place's
    latest comparisons and matches."""

    t: float
    boxes: np.ndarray  # (N, 4) float32
    patches: np.ndarray  # (N, PATCH*PATCH) float32
    # Per face: the place's latest comparisons, oldest first (True: unmoved); at most HISTORY.
    history: list[list[bool]] = field(default_factory=list)
    # Per face: who the face at that place was matched to: [first match, start of the run of
    # samples that all matched them there, last match] (see StillFaces.since).
    matched: list[dict[str, list[float]]] = field(default_factory=list)
    # Per face: whether this sample compared it with an earlier one (not kept in the state:
    # it only matters while the sample is judged).
    compared: np.ndarray = field(default_factory=lambda: np.zeros(0, bool))
    # Per face: the embedding of whoever was last seen at that place (None: not embedded yet),
    # to tell when someone else is there now.
    embeddings: list[np.ndarray | None] = field(default_factory=list)
    # Per face: the samples (seq) whose head count counted the face at that place while it was
    # UNSURE; when it turns out a picture, those counts are taken back (see StillFaces.judge).
    counted: list[list[int]] = field(default_factory=list)
    seq: int = -1  # the sample's seq (-1: not known)
    # Per face this sample found a picture: the samples (seq) that had counted it (not kept in
    # the state: the sample that found it records the correction).
    uncounted: dict[int, list[int]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.history:
            self.history = [[] for _ in range(len(self.boxes))]
        if not self.matched:
            self.matched = [{} for _ in range(len(self.boxes))]
        if not self.embeddings:
            self.embeddings = [None] * len(self.boxes)
        if not self.counted:
            self.counted = [[] for _ in range(len(self.boxes))]

    def verdicts(self) -> np.ndarray:
        return np.array([verdict_of(h) for h in self.history], int)


@dataclass
class StillFaces:
    """The faces of the last REMEMBERED samples, and what a new sample's faces are.

    One comparison can err either way (a person who kept very still, a small picture under
    camera noise), so a place's verdict weighs its comparisons, the latest most (``verdict_of``):
    naming waits for three comparisons that saw the face move, a sample or two more than a
    single one would take, because a picture taken for a live face is how a poster would be
    credited (bench/bench_still.py). A face in a new place starts UNSURE: counted, not named.

    A place's history goes on only from the sample just before (a face there then): a seat
    empty for a sample, then taken, starts afresh. Only a picture's goes on across a sample
    it was hidden in. Whoever takes a seat someone else was matched in starts afresh too
    (``restart``, from the monitor, which knows who a face matched).
    """

    samples: list[Remembered] = field(default_factory=list)

    def judge(self, t: float, image: np.ndarray, faces: Faces, seq: int = -1) -> np.ndarray:
        """(N,) Verdict of each face; the sample is then remembered.

        A face is counted while UNSURE, since most faces in a room are people, and a picture is
        known only from its second or third comparison. The samples that counted a face now
        found a picture are the latest Remembered's ``uncounted`` (with ``seq`` given): their
        head counts are then corrected, back to where the place was last unseen (a poster
        hidden while still unsure keeps the counts before)."""
        gray = grey(image)
        boxes = faces.boxes[:, :4].astype(np.float32)
        history: list[list[bool]] = [[] for _ in range(len(faces))]
        matched: list[dict[str, list[float]]] = [{} for _ in range(len(faces))]
        embeddings: list[np.ndarray | None] = [None] * len(faces)
        counted: list[list[int]] = [[] for _ in range(len(faces))]
        placed = np.zeros(len(faces), bool)
        compared = np.zeros(len(faces), bool)
        for age, earlier in enumerate(reversed(self.samples)):
            where = nearest(boxes, earlier.boxes)
            pictures = earlier.verdicts() if age else None
            for i in np.flatnonzero(where >= 0):
                j = int(where[i])
                if not placed[i] and (age == 0 or pictures[j] == Verdict.PICTURE):
                    history[i] = list(earlier.history[j])
                    if not age:  # (a picture's place, across a gap, matched nobody)
                        matched[i] = {p: list(v) for p, v in earlier.matched[j].items()}
                        embeddings[i] = earlier.embeddings[j]
                        counted[i] = list(earlier.counted[j])
                    placed[i] = True
                if compared[i] or t - earlier.t < MIN_GAP:
                    continue
                still = likeness(gray, earlier.boxes[j], earlier.patches[j]) >= STILL_LIKENESS
                history[i] = [*history[i], bool(still)][-HISTORY:]
                compared[i] = True
        patches = np.stack([patch(gray, b) for b in boxes]) if len(faces) else _none()
        latest = Remembered(t, boxes, patches, history, matched, compared, embeddings, seq=seq)
        self.samples = [*self.samples, latest][-REMEMBERED:]
        verdicts = latest.verdicts()
        for i, verdict in enumerate(verdicts):
            if verdict == Verdict.PICTURE:
                # A picture's matches date no one's attendance (a poster matched while it was
                # unsure would otherwise date a mark of its own). Its embedding stays: whoever
                # sits down in front of it is told from it, and judged afresh.
                latest.matched[i] = {}
                if counted[i]:
                    latest.uncounted[i] = counted[i]
                counted[i] = []
            elif verdict == Verdict.LIVE:
                counted[i] = []  # a person: the counts that counted them were right
            elif seq >= 0:
                counted[i] = [*counted[i], seq][-HISTORY:]
        latest.counted = counted
        return verdicts

    def restart(self, i: int) -> None:
        """The latest sample's face ``i`` is not whoever was at its place before: its place's
        comparisons and matches start afresh (its embedding is already the face's own: see
        someone_else)."""
        latest = self.samples[-1]
        latest.history[i], latest.matched[i] = [], {}
        # Only this sample counted the face now there (whoever was there before is not it).
        latest.counted[i] = [latest.seq] if latest.seq >= 0 else []

    def someone_else(self, i: int, embedding: np.ndarray, same: float) -> bool:
        """Whether face ``i``'s embedding is of someone other than whoever was last embedded at
        its place (their cosine under ``same``, the gallery's threshold: different people
        rarely reach it). Whatever the answer, it is now the place's embedding."""
        latest = self.samples[-1]
        before = latest.embeddings[i]
        vector = np.asarray(embedding, np.float32)
        norm = float(np.linalg.norm(vector))
        if norm < 1e-6:
            return False  # no embedding to judge by
        vector = vector / norm
        latest.embeddings[i] = vector
        return before is not None and float(before @ vector) < same

    def matched_before(self, i: int, person: str, t: float) -> bool:
        """Whether face ``i``'s place matched ``person`` in every sample since an earlier one:
        two samples of theirs in that seat (as two agreeing votes would be, where each sample's
        turned head starts a new track)."""
        seen = self.samples[-1].matched[i].get(person)
        return seen is not None and seen[1] < t

    def unmoved_now(self, i: int) -> bool:
        """Whether this sample's comparison of face ``i`` found it unmoved."""
        latest = self.samples[-1]
        return bool(latest.compared[i] and latest.history[i] and latest.history[i][-1])

    def matched_others(self, i: int, person: str) -> bool:
        """Whether face ``i``'s place was matched to someone other than ``person``."""
        return any(p != person for p in self.samples[-1].matched[i])

    def note(self, i: int, person: str, t: float) -> None:
        """The latest sample's face ``i`` matched ``person`` (an accepted vote, named or not).
        A match of someone else means the seat changed hands: the earlier person's time there
        is forgotten."""
        seen = self.samples[-1].matched[i]
        for other in [p for p in seen if p != person]:
            del seen[other]
        previous = self.samples[-2].t if len(self.samples) > 1 else None
        first, run, last = seen.get(person, (t, t, t))
        if last != previous and last != t:
            run = t  # a sample in between did not match them here: the run starts again
        seen[person] = [first, run, t]

    def since(self, i: int, person: str) -> tuple[float, float] | None:
        """When the face at the latest sample's place ``i`` was first matched to ``person``,
        and since when every sample matched them there (None: never matched).

        Naming waits for the face to move, and a head that turns between two samples starts a
        new track (vision.track), so the place remembers its matches: a student in their seat
        from the start is marked and credited from the start, not from the sample that finally
        saw them move."""
        if not self.samples:
            return None
        seen = self.samples[-1].matched[i].get(person)
        return None if seen is None else (seen[0], seen[1])


def _none() -> np.ndarray:
    return np.zeros((0, PATCH * PATCH), np.float32)
