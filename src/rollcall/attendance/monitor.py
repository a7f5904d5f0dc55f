"""The attendance monitor: head count -> verify when it changes -> marks and presence intervals.

Pure logic: it is handed each sample's time, image and detected faces plus a function that
embeds faces, and returns what happened. Storage, sources and the clock live elsewhere, so the
whole behaviour can be tested with generated frames and a fake clock.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rollcall.vision.gallery import Gallery
from rollcall.vision.track import FaceTracker, Track
from rollcall.vision.types import Faces

Embed = Callable[[Faces], np.ndarray]


@dataclass(frozen=True)
class MonitorConfig:
    verify_every: float = 300.0
    leave_after: float = 180.0
    # A name is confirmed by this many agreeing samples of the same face...
    confirm_votes: int = 2
    # ...or at once by a single match this strong (cosine, on the embedder's own scale: the
    # runner passes gallery.STRONG_SIMILARITY; 0.55 is SFace's).
    strong_similarity: float = 0.55
    # Two unknown faces this alike are taken for the same stranger (one review entry, not one
    # per track); above where different people's faces sit.
    same_stranger: float = 0.55


@dataclass(frozen=True)
class Mark:
    """A person confirmed present for the first time in this session."""

    person: str
    first_seen: float
    confidence: float
    evidence_t: float
    evidence_box: tuple[int, int, int, int]
    evidence_crop: np.ndarray


@dataclass(frozen=True)
class Sighting:
    person: str
    t: float
    similarity: float
    box: tuple[int, int, int, int]


@dataclass(frozen=True)
class FaceSighting:
    """One face of a sample as the monitor judged it (kept per sample as evidence)."""

    box: tuple[int, int, int, int]
    person: str | None
    similarity: float | None  # of the embedding behind the name; None if never embedded
    fresh: bool  # embedded in this very sample
    tile: int = -1  # the gallery tile it sat in; -1 when no tile grid was found


@dataclass(frozen=True)
class UnknownSighting:
    t: float
    box: tuple[int, int, int, int]
    crop: np.ndarray
    best_similarity: float
    candidate: str | None


@dataclass(frozen=True)
class IntervalChange:
    person: str
    start: float
    last_seen: float
    end: float | None  # None: opened (or still open); a number: closed at that time


@dataclass(frozen=True)
class Event:
    t: float
    kind: str  # joined | left | visitor | disputed | duplicate
    person: str | None
    detail: str = ""


@dataclass
class SampleOutcome:
    seq: int
    t: float
    count: int
    recognized: int
    unknown: int
    verified: bool
    embedded: int
    marks: list[Mark] = field(default_factory=list)
    seen: list[Sighting] = field(default_factory=list)
    intervals: list[IntervalChange] = field(default_factory=list)
    unknowns: list[UnknownSighting] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    faces: list[FaceSighting] = field(default_factory=list)


@dataclass
class OpenInterval:
    start: float
    last_seen: float


def crop_with_context(image: np.ndarray, box: np.ndarray, context: float = 0.4) -> np.ndarray:
    """The face and a margin around it: enough to judge the evidence, not the whole frame."""
    h, w = image.shape[:2]
    x, y, bw, bh = box
    mx, my = bw * context, bh * context
    x0, y0 = int(max(0, x - mx)), int(max(0, y - my))
    x1, y1 = int(min(w, x + bw + mx)), int(min(h, y + bh + my))
    return image[y0:y1, x0:x1].copy()


def _box(box: np.ndarray) -> tuple[int, int, int, int]:
    x, y, w, h = (int(round(float(v))) for v in box)
    return x, y, w, h


class AttendanceMonitor:
    def __init__(
        self,
        gallery: Gallery,
        expected: list[str],
        config: MonitorConfig | None = None,
        tracker: FaceTracker | None = None,
    ) -> None:
        self.gallery = gallery
        self.expected = set(expected)
        self.config = config or MonitorConfig()
        self.tracker = tracker or FaceTracker()
        self.marked: dict[str, float] = {}  # person -> first_seen
        self.open: dict[str, OpenInterval] = {}
        self.visitors: set[str] = set()
        self.queued_unknowns: list[np.ndarray] = []
        self.last_count: int | None = None
        self.last_verified: float | None = None
        self.last_full: float | None = None

    # -- resuming ----------------------------------------------------------------------------

    def restore(self, marked: dict[str, float], open_intervals: dict[str, OpenInterval]) -> None:
        """Continue a session from what was committed; the next sample verifies everyone."""
        self.marked = dict(marked)
        self.open = {p: OpenInterval(iv.start, iv.last_seen) for p, iv in open_intervals.items()}
        self.tracker.reset()
        self.last_count = self.last_verified = self.last_full = None

    # -- one sample --------------------------------------------------------------------------

    def observe(
        self, seq: int, t: float, image: np.ndarray, faces: Faces, embed: Embed
    ) -> SampleOutcome:
        cfg = self.config
        tracks, carried = self.tracker.update(t, image, faces)
        count = len(faces)
        full = self.last_full is None or t - self.last_full >= cfg.verify_every
        verify = (
            full
            or count != self.last_count
            or not carried.all()
            or any(self._pending(tr) for tr in tracks)
        )
        embedded = 0
        if verify and count:
            # Reuse a face's embedding only when it was tracked in place, looks the same and
            # its identity is settled; a periodic full verification re-embeds everyone.
            todo = [
                i
                for i, tr in enumerate(tracks)
                if full or not carried[i] or tr.embedding is None or self._pending(tr)
            ]
            if todo:
                vectors = embed(faces[np.asarray(todo)])
                matches = self.gallery.match(vectors)
                for k, i in enumerate(todo):
                    tr = tracks[i]
                    tr.embedding = vectors[k]
                    p = int(matches.candidate[k]) if len(self.gallery) else -1
                    accepted = bool(matches.person[k] >= 0)
                    tr.votes.append((p, float(matches.similarity[k]), accepted, t))
                embedded = len(todo)
        out = SampleOutcome(seq, t, count, 0, 0, bool(verify), embedded)
        identities = self._identities(tracks, t, out)
        self._mark_and_track_presence(t, image, tracks, identities, out)
        self._report_unknowns(t, image, tracks, identities, out, fresh=verify)
        for tr, name in zip(tracks, identities, strict=True):
            last = tr.votes[-1] if tr.votes else None
            out.faces.append(
                FaceSighting(
                    _box(tr.box),
                    name,
                    None if last is None else last[1],
                    last is not None and last[3] == t,
                )
            )
        out.recognized = sum(1 for p in identities if p is not None)
        out.unknown = count - out.recognized
        self.last_count = count
        if verify:
            self.last_verified = t
        if full:
            self.last_full = t
        return out

    def finish(self) -> list[IntervalChange]:
        """Close every open interval at the last time its person was seen (session end)."""
        closed = [
            IntervalChange(p, iv.start, iv.last_seen, iv.last_seen) for p, iv in self.open.items()
        ]
        self.open.clear()
        return closed

    # -- decisions ---------------------------------------------------------------------------

    def _votes_for(self, track: Track) -> tuple[set[int], list[tuple[int, float, bool, float]]]:
        accepted = [v for v in track.votes if v[2]]
        return {v[0] for v in accepted}, accepted

    def _pending(self, track: Track) -> bool:
        """A face that matched someone, but not yet convincingly enough to name them."""
        people, accepted = self._votes_for(track)
        if len(people) != 1:
            return False
        return self._decide(track) is None

    def _decide(self, track: Track) -> str | None:
        people, accepted = self._votes_for(track)
        if len(people) != 1:
            return None  # never matched anyone, or matched different people: not trusted
        name = self.gallery.names[next(iter(people))]
        # The latest look must agree too: a face that stopped matching is not named.
        if not track.votes[-1][2]:
            return None
        best = max(v[1] for v in accepted)
        if (
            len(accepted) >= self.config.confirm_votes
            or best >= self.config.strong_similarity
            or name in self.marked
        ):
            return name
        return None

    def _identities(self, tracks: list[Track], t: float, out: SampleOutcome) -> list[str | None]:
        names = [self._decide(tr) for tr in tracks]
        for tr in tracks:
            people, _ = self._votes_for(tr)
            if len(people) > 1 and not tr.reported_unknown:
                who = ", ".join(sorted(self.gallery.names[p] for p in people))
                out.events.append(Event(t, "disputed", None, f"one face matched {who}"))
                tr.reported_unknown = True
        # One person cannot sit in two tiles: keep the stronger face, leave the other unnamed.
        best: dict[str, int] = {}
        for i, name in enumerate(names):
            if name is None:
                continue
            strength = max(v[1] for v in tracks[i].votes if v[2])
            j = best.get(name)
            if j is None:
                best[name] = i
                continue
            other = max(v[1] for v in tracks[j].votes if v[2])
            loser = i if strength <= other else j
            if loser == j:
                best[name] = i
            names[loser] = None
            out.events.append(Event(t, "duplicate", name, "the same person in two places"))
        return names

    def _mark_and_track_presence(
        self,
        t: float,
        image: np.ndarray,
        tracks: list[Track],
        names: list[str | None],
        out: SampleOutcome,
    ) -> None:
        seen: set[str] = set()
        for tr, name in zip(tracks, names, strict=True):
            if name is None:
                continue
            sims = [v[1] for v in tr.votes if v[2]]
            out.seen.append(Sighting(name, t, max(sims), _box(tr.box)))
            if name not in self.expected:
                if name not in self.visitors:
                    self.visitors.add(name)
                    out.events.append(Event(t, "visitor", name, "enrolled but not expected"))
                continue
            seen.add(name)
            if name not in self.marked:
                first = min(v[3] for v in tr.votes if v[2])
                self.marked[name] = first
                out.marks.append(
                    Mark(
                        person=name,
                        first_seen=first,
                        confidence=float(np.mean(sims)),
                        evidence_t=t,
                        evidence_box=_box(tr.box),
                        evidence_crop=crop_with_context(image, tr.box),
                    )
                )
            interval = self.open.get(name)
            if interval is None:
                # A newly confirmed person was there since their first matching sample.
                start = self.marked[name] if name in {m.person for m in out.marks} else t
                self.open[name] = OpenInterval(start, t)
                out.intervals.append(IntervalChange(name, start, t, None))
                out.events.append(Event(start, "joined", name))
            else:
                interval.last_seen = t
                out.intervals.append(IntervalChange(name, interval.start, t, None))
        for name, interval in list(self.open.items()):
            if name in seen:
                continue
            if t - interval.last_seen >= self.config.leave_after:
                del self.open[name]
                out.intervals.append(
                    IntervalChange(name, interval.start, interval.last_seen, interval.last_seen)
                )
                out.events.append(Event(t, "left", name, f"unseen since {interval.last_seen:.0f}s"))

    def _already_queued(self, embedding: np.ndarray | None) -> bool:
        """Whether this stranger's face is already in the review queue for this session.

        Tiles reflow when people join or leave, so one stranger's face can start several
        tracks; comparing with the faces already queued keeps the queue to one entry each.
        """
        if embedding is None:
            return False
        if self.queued_unknowns and max(float(embedding @ q) for q in self.queued_unknowns) >= (
            self.config.same_stranger
        ):
            return True
        self.queued_unknowns.append(embedding)
        return False

    def _report_unknowns(
        self,
        t: float,
        image: np.ndarray,
        tracks: list[Track],
        names: list[str | None],
        out: SampleOutcome,
        fresh: bool,
    ) -> None:
        """Keep one crop per face that matched no one, for staff to review."""
        if not fresh:
            return
        for tr, name in zip(tracks, names, strict=True):
            if name is not None or tr.reported_unknown or not tr.votes:
                continue
            people, _ = self._votes_for(tr)
            if people:  # pending or disputed, not a stranger
                continue
            p, sim, _, _ = tr.votes[-1]
            tr.reported_unknown = True
            if self._already_queued(tr.embedding):
                continue
            out.unknowns.append(
                UnknownSighting(
                    t, _box(tr.box), crop_with_context(image, tr.box), sim, self.gallery.name_of(p)
                )
            )
