"""The attendance monitor: head count -> verify when it changes -> marks and presence intervals.

Pure logic: it is handed each sample's time, image and participant faces (vision.screen has
already set pictures on walls aside) plus a function that embeds faces, and returns what
happened. Storage, sources and the clock live elsewhere, so the whole behaviour can be tested
with generated frames and a fake clock.

A person is credited only for samples in which their own face was named, on evidence:

- **Verification embeds every face.** When the head count changes, a face is new (it moved,
  or looks different), a name is pending, or the periodic check is due, every face on screen is
  embedded and judged on that sample's embedding plus its track's history. A track whose new
  embedding no longer matches its name loses it at once. A named face is first re-checked
  with the cheap half of the embedder (dlib's network, a fifth of the cost): it keeps its
  name when that alone scores it for the same person far above where strangers reach
  (vision.gallery.RECHECK_THRESHOLD); any other face is embedded and judged in full.
- **Between verifications** a face keeps its name only while its track carries over: same
  place, same tile, and the same look by a check a different person never passes
  (vision.track.SAME_LOOK, measured in bench/bench_track.py).
- **Presence intervals** run from sample to sample while the person is named in each; a sample
  without them closes the interval at the last sample they were seen in, and a later sighting
  opens a new one. Time between two samples is credited only when both saw the person.
- **A room's fixed camera** (classroom mode, ``MonitorConfig.room_camera``) has no tiles: its
  faces that stay unmoved from sample to sample are pictures, set aside before anything else
  (vision.still); a face is named once seen to move, and not credited for a sample that found
  it unmoved (see ``_in_room``).
- **A picture in one's own tile** (a photo as a virtual camera, or held still in front of the
  webcam): every named person's face is compared with their face at their previous sample
  (vision.frozen). A face unmoved three comparisons in a row is a picture: not credited from
  then on, its time taken back to where it began, announced for review, and a mark made on
  nothing but that picture withdrawn (``_own_cameras``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from rollcall.vision.frozen import FrozenLooks
from rollcall.vision.gallery import Gallery
from rollcall.vision.screen import ScreenReading
from rollcall.vision.still import StillFaces, Verdict, grey, leaning_live, same_places
from rollcall.vision.track import FaceTracker, Track, Vote
from rollcall.vision.types import Faces

Embed = Callable[[Faces], np.ndarray]
# Whom a room camera's face may be named as (AttendanceMonitor._in_room).
NOBODY, RETURNING, ANYONE = 0, 1, 2
# The name label of each tile of a screen reading (None: not read, or none found), reading
# only the tiles asked for, snapped to the session's names.
ReadLabels = Callable[[ScreenReading, list[int]], list[str | None]]


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
    # A room's fixed camera (classroom mode): no gallery tiles, every face is in one scene, and
    # faces that stay unmoved from sample to sample are pictures on the wall (vision.still).
    # A face is named only once it has been seen to move: a poster of a student never is.
    room_camera: bool = False
    # Look for a picture in a participant's own tile (vision.frozen): a named face unmoved
    # sample after sample is not credited. Off only where frames are drawn rather than
    # filmed, so nothing moves (tests of the monitor's other decisions).
    own_camera_pictures: bool = True


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
    label: str | None = None  # the name label of that tile, as read; None: not read
    # An unnamed face that nearly matched someone (vision.gallery.NEAR_MISS): that person. In
    # the reconciliation, a near miss of a tile's owner is not someone else in their tile.
    candidate: str | None = None


# Why a face was credited to no one (UnknownSighting.reason, stored on UnknownFace).
NO_MATCH = "no_match"  # like no one enrolled
PICTURE = "picture"  # an entrance track that moved like a photo or a screen held up


@dataclass(frozen=True)
class UnknownSighting:
    t: float
    box: tuple[int, int, int, int]
    crop: np.ndarray
    best_similarity: float
    candidate: str | None
    # The face's embedding: stored sealed, so one stranger is grouped across sessions.
    embedding: np.ndarray | None = None
    reason: str = NO_MATCH


@dataclass(frozen=True)
class IntervalChange:
    person: str
    start: float
    last_seen: float
    end: float | None  # None: opened (or still open); a number: closed at that time


@dataclass(frozen=True)
class Event:
    t: float
    kind: str  # joined | left | visitor | disputed | duplicate | identity_lost | shared_camera
    # | pictures
    person: str | None
    detail: str = ""
    crop: np.ndarray | None = None  # an image to keep with it (stored as the event's crop)


@dataclass
class SampleOutcome:
    seq: int
    t: float
    count: int
    recognized: int
    unknown: int
    verified: bool
    embedded: int  # faces embedded in full
    rechecked: int = 0  # named faces that kept their name on the re-check alone
    marks: list[Mark] = field(default_factory=list)
    seen: list[Sighting] = field(default_factory=list)
    intervals: list[IntervalChange] = field(default_factory=list)
    unknowns: list[UnknownSighting] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    faces: list[FaceSighting] = field(default_factory=list)
    # Marks made before whose evidence a larger shot of the same face, named again, replaces
    # (an entrance decides a mark while the face is still far: see analysis.entrance.monitor).
    evidence: list[Mark] = field(default_factory=list)
    # Earlier samples (seq) whose head count counted a face this sample found to be a picture,
    # once per such face: their counts are one lower (a room camera's, see vision.still).
    uncounted: list[int] = field(default_factory=list)
    # People whose mark was made on a picture in their own tile and nothing else: marked
    # absent again, their presence and sightings taken back (see AttendanceMonitor._own_cameras).
    withdrawn: list[str] = field(default_factory=list)
    # (person, t): their face was a picture from t on: no interval of theirs runs past it.
    trimmed: list[tuple[str, float]] = field(default_factory=list)


@dataclass
class PendingPlace:
    """A face of the previous sample that matched someone on its own embedding that sample
    without being named yet (see AttendanceMonitor._pending_here)."""

    box: np.ndarray  # (4,) float32
    person: str
    t: float
    similarity: float
    embedding: np.ndarray  # made unit-norm here, once (it is compared with every new face)
    track: int  # its track's id: a face whose track carried over is judged by its own votes

    def __post_init__(self) -> None:
        self.embedding = _unit(self.embedding)


@dataclass
class OpenInterval:
    start: float
    last_seen: float


def crop_with_context(
    image: np.ndarray,
    box: np.ndarray,
    context: float = 0.4,
    within: np.ndarray | None = None,
) -> np.ndarray:
    """The face and a margin around it: enough to judge the evidence, not the whole frame.
    ``within`` (x, y, w, h), the face's gallery tile, bounds the margin: a neighbour's face or
    name label at the edge of the evidence would say someone else was there."""
    h, w = image.shape[:2]
    x, y, bw, bh = box
    mx, my = bw * context, bh * context
    x0, y0 = int(max(0, x - mx)), int(max(0, y - my))
    x1, y1 = int(min(w, x + bw + mx)), int(min(h, y + bh + my))
    if within is not None and within[2] > 0 and within[3] > 0:
        tx, ty, tw, th = (float(v) for v in within)
        cx0, cy0 = max(x0, int(tx)), max(y0, int(ty))
        cx1, cy1 = min(x1, int(tx + tw)), min(y1, int(ty + th))
        if cx1 > cx0 and cy1 > cy0:  # (a face box outside its tile: kept unbounded)
            x0, y0, x1, y1 = cx0, cy0, cx1, cy1
    return image[y0:y1, x0:x1].copy()


def _unit(vector: np.ndarray) -> np.ndarray:
    v = np.asarray(vector, np.float32)
    return v / max(float(np.linalg.norm(v)), 1e-6)


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
        # Only people named in the latest sample have an open interval.
        self.open: dict[str, OpenInterval] = {}
        self.last_seen: dict[str, float] = {}
        self.gone: set[str] = set()  # announced as having left
        self.visitors: set[str] = set()
        self.queued_unknowns: list[np.ndarray] = []
        self.last_count: int | None = None
        self.last_verified: float | None = None
        self.last_full: float | None = None
        self.last_shared = 0
        # When faces came back on screen after samples with none (slides shared): nobody is
        # judged gone for time the screen showed no one (_mark_and_track_presence).
        self.observed_from = 0.0
        self.still = StillFaces()  # a room camera's faces, to find the pictures among them
        self._in_still: np.ndarray | None = None  # this sample's faces' index in self.still
        # Every named face's latest look, to find a picture in a participant's own tile.
        self.frozen = FrozenLooks()
        self.pictured: set[str] = set()  # announced as a picture, not seen moving since
        # People whose mark a picture made and lost: when they were next seen moving. A new
        # mark dates from then, not from the track's votes on the picture.
        self.live_from: dict[str, float] = {}
        # People marked while their looks were kept (a state from before looks were kept has
        # marks made unwatched: a picture then cannot be told to be all there ever was).
        self.watched: set[str] = set()
        # The previous sample's faces that matched someone without being named yet. The same
        # face matching the same person at the same place in the next sample is that second
        # agreeing vote, also when its track did not carry over (a head that turned between
        # the samples looks different, which starts a new track).
        self.pending_places: list[PendingPlace] = []

        # -- resuming ----------------------------------------------------------------------------
        self._duplicate_of: dict[int, str] = {}  # this sample's unnamed duplicates
        self._uncredited: dict[int, str] = {}  # this sample's named faces found unmoved

    def restore(self, marked: dict[str, float], open_intervals: dict[str, OpenInterval]) -> None:
        """Continue a session from what was committed; the next sample verifies everyone."""
        self.marked = dict(marked)
        self.open = {p: OpenInterval(iv.start, iv.last_seen) for p, iv in open_intervals.items()}
        self.last_seen = {p: iv.last_seen for p, iv in self.open.items()}
        self.tracker.reset()
        self.last_count = self.last_verified = self.last_full = None

    # -- one sample --------------------------------------------------------------------------

    def observe(
        self,
        seq: int,
        t: float,
        image: np.ndarray,
        faces: Faces | ScreenReading,
        embed: Embed,
        read_labels: ReadLabels | None = None,
        recheck: Embed | None = None,
    ) -> SampleOutcome:
        """Judge one sample. ``faces`` are the participants' faces, or a ScreenReading of the
        frame (participants, their tiles, tiles with two people at one camera). ``recheck``
        embeds faces for the gallery's re-check (None, or a gallery without one: every face
        verified is embedded with ``embed``).

        ``read_labels`` reads the tiles' name labels (finding a tile's strip ~5 ms, OCR ~50 ms
        when it changed), at the periodic full check for every face, otherwise only for faces
        that are new in their place or have no label yet: a face that carried over (same
        place, same tile, same look) keeps the label its track was given, also when someone
        else joined or left. A label moves with its participant's tile, so a track keeps its
        label through a read that found none (a frame caught mid-reflow)."""
        cfg = self.config
        reading = faces if isinstance(faces, ScreenReading) else None
        live: np.ndarray | None = None  # a room camera's faces that may be named (see _in_room)
        room_events: list[Event] = []
        if cfg.room_camera:
            reading, live = self._in_room(seq, t, image, faces, room_events)
        faces = reading.faces if reading is not None else faces
        tiles = reading.tile_rects() if reading is not None else None
        tracks, carried = self.tracker.update(t, image, faces, tiles)
        count = len(faces)
        full = self.last_full is None or t - self.last_full >= cfg.verify_every
        verify = full or count != self.last_count or not carried.all()
        # Faces that matched someone without being named yet are embedded again at every
        # sample until they are (or are not). When nothing else changed, only they are: the
        # others kept place and look, as in any sample that verifies nothing.
        pending = np.array([self._pending(tr) for tr in tracks], bool)
        embeds = verify or bool(pending.any())
        out = SampleOutcome(seq, t, count, 0, 0, bool(verify), 0)
        out.events.extend(room_events)
        if cfg.room_camera:
            out.uncounted = [q for seqs in self.still.samples[-1].uncounted.values() for q in seqs]
        fresh = np.zeros(count, bool)
        if embeds and count:
            # On a verification every face, not only the new ones: a face that kept its
            # place can still be someone else's now, and only its own embedding can say so.
            kept = self._recheck(faces, tracks, recheck, t) if verify else ~pending
            judged = np.flatnonzero(~kept)
            if len(judged):
                vectors = embed(faces[judged])
                matches = self.gallery.match(vectors, face_px=faces.min_side[judged])
                for k, i in enumerate(judged):
                    tr = tracks[i]
                    tr.embedding = vectors[k]
                    p = int(matches.candidate[k]) if len(self.gallery) else -1
                    vote = Vote(p, float(matches.similarity[k]), bool(matches.person[k] >= 0), t)
                    if live is None:
                        before = self._pending_here(tr, vote, {x.id for x in tracks})
                        if before is not None and len(tr.accepted) == 0:
                            # The same face's match a sample ago: its first vote (and its time).
                            tr.votes.insert(0, Vote(vote.person, before.similarity, True, before.t))
                    may_name, seated = (
                        (True, False)
                        if live is None
                        else self._room_may_name(i, live[i], vote, vectors[k])
                    )
                    self._judge(tr, vote, t, out, may_name=may_name, seated=seated)
            fresh[:] = verify
            fresh[judged] = True
            out.embedded = len(judged)
            out.rechecked = int(kept.sum()) if verify else 0
        names = self._names(tracks, t, out, image)
        if self._in_still is not None:
            # A named face that did not move since the last sample is not credited for this
            # one: a student who propped their own photo in their seat and left is credited
            # for no sample after (a real one who sat still loses this sample's time only).
            names = [None if self.still.unmoved_now(int(self._in_still[i])) else name
                     for i, name in enumerate(names)]  # fmt: skip
        within = tiles if tiles is not None else np.zeros((len(tracks), 4), np.float32)
        if not cfg.room_camera and cfg.own_camera_pictures:
            names = self._own_cameras(t, image, tracks, names, within, out)
        self._mark_and_track_presence(t, image, tracks, names, out, within)
        # A room's face is reported as a stranger only once seen to move (not a poster).
        report = None if live is None else live == ANYONE
        self._report_unknowns(t, image, tracks, names, out, within, embeds, report)
        tile_of = reading.tile_of if reading is not None else np.full(count, -1)
        if read_labels is not None and reading is not None and reading.grid:
            wanted = {
                int(tile_of[i])
                for i, tr in enumerate(tracks)
                if full or not carried[i] or tr.label is None
            }
            wanted.discard(-1)
            if wanted:
                reading = dataclasses.replace(reading, labels=read_labels(reading, sorted(wanted)))
        for i, (tr, name) in enumerate(zip(tracks, names, strict=True)):
            read = reading.label_of(i) if reading is not None else None
            if read is not None:
                tr.label = read
            last = tr.votes[-1] if tr.votes else None
            # (A face unmoved in its own tile is its person's: a candidate, not a stranger.)
            candidate = (
                self._duplicate_of.get(i) or self._uncredited.get(i) if name is None else None
            )
            # (An accepted vote not yet confirmed by a second one is a near miss too.)
            if name is None and last is not None and candidate is None:
                side = float(min(tr.box[2], tr.box[3]))
                candidate = self.gallery.near_miss_of(last.person, last.similarity, side)
            out.faces.append(
                FaceSighting(
                    _box(tr.box),
                    name,
                    None if last is None else last.similarity,
                    bool(fresh[i]),
                    int(tile_of[i]),
                    tr.label,
                    candidate,
                )
            )
        if reading is not None and len(reading.shared) > self.last_shared:
            out.events.append(
                Event(t, "shared_camera", None, f"{len(reading.shared)} tile(s) show two people")
            )
        self.last_shared = len(reading.shared) if reading is not None else 0
        out.recognized = sum(1 for p in names if p is not None)
        out.unknown = count - out.recognized
        if count == 0 and self.last_count and not cfg.room_camera:
            out.events.append(
                Event(
                    t,
                    "no_faces",
                    None,
                    f"no face on screen, after {self.last_count} in the sample before (slides "
                    "shared, another window, every camera off?): nobody is seen leaving until "
                    "faces are back",
                )
            )
        if not cfg.room_camera:
            # Only faces whose own embedding this sample matched (a match from samples ago may
            # be of someone who left that place since).
            self.pending_places = [
                PendingPlace(
                    np.asarray(tr.box[:4], np.float32).copy(),
                    self.gallery.names[tr.votes[-1].person],
                    t,
                    tr.votes[-1].similarity,
                    tr.embedding,
                    tr.id,
                )
                for tr in tracks
                if self._pending(tr)
                and tr.votes[-1].accepted
                and tr.votes[-1].t == t
                and tr.embedding is not None
            ]
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

    def _recheck(
        self, faces: Faces, tracks: list[Track], recheck: Embed | None, t: float
    ) -> np.ndarray:
        """Which named faces keep their name on the re-check alone (the others, and every
        face without a name, are embedded in full). A kept face's vote carries the similarity
        of the full match behind its name: the re-check's own score is on another scale."""
        kept = np.zeros(len(tracks), bool)
        checker = self.gallery.recheck
        named = np.flatnonzero([tr.identity is not None and not tr.disputed for tr in tracks])
        if recheck is None or checker is None or not len(named):
            return kept
        subset = faces[named]
        matches = checker.match(recheck(subset), face_px=subset.min_side)
        for k, i in enumerate(named):
            tr = tracks[i]
            if int(matches.person[k]) != tr.identity:
                continue
            behind = [v.similarity for v in tr.accepted if v.person == tr.identity]
            if not behind:
                continue
            tr.votes = [*tr.votes[-3:], Vote(tr.identity, max(behind), True, t)]
            kept[i] = True
        return kept

    def _pending_here(self, track: Track, vote: Vote, on_screen: set[int]) -> PendingPlace | None:
        """The previous sample's pending face that this one is, seen again: at this place,
        matched to the vote's person on its own embedding, and like this face's embedding as
        one stranger is like himself (MonitorConfig.same_stranger, above where different
        people's faces sit). Two such samples are the evidence two votes of one track are: a
        head that turned between them starts a new track (vision.track), and a weak match was
        otherwise never confirmed. Not a face whose own track is still on screen (it moved to
        another tile in a reflow; its own votes decide), nor a named one's.
        """
        if not vote.accepted or vote.person < 0 or track.embedding is None:
            return None
        name = self.gallery.names[vote.person]
        here = np.asarray(track.box[:4], np.float32)[None]
        now = _unit(track.embedding)
        for before in self.pending_places:
            if before.person != name or before.t >= vote.t or before.track in on_screen:
                continue
            if not same_places(here, before.box[None])[0, 0]:
                continue
            if float(before.embedding @ now) >= self.config.same_stranger:
                return before
        return None

    def _at_place(self, i: int, name: str) -> tuple[float, float] | None:
        """A room camera's memory of face ``i``'s place: when it first matched ``name``, and
        since when every sample did (None: no room camera, or never)."""
        if self._in_still is None:
            return None
        return self.still.since(int(self._in_still[i]), name)

    def _room_may_name(
        self, i: int, may: int, vote: Vote, embedding: np.ndarray
    ) -> tuple[bool, bool]:
        """Whether a room camera's face ``i`` may be named by this vote (see _in_room), and
        whether its place matched the same person in the sample before too (two samples of
        them in their seat confirm a name as two agreeing votes of one track do).

        A face that is someone else than whoever was last embedded at its place (a photo
        propped where a student or a stranger sat, a student in front of a poster), or matched
        to someone other than whom the place matched, is someone else in that seat: its place
        is judged afresh, and it is named by nobody yet. Its match is remembered."""
        assert self._in_still is not None  # nosec B101 - set by _in_room
        place = int(self._in_still[i])
        if self.still.someone_else(place, embedding, self.gallery.threshold):
            self.still.restart(place)
            may = NOBODY
        if not vote.accepted or vote.person < 0:
            return may == ANYONE, False
        person = self.gallery.names[vote.person]
        if self.still.matched_others(place, person):
            self.still.restart(place)
            may = NOBODY
        seated = self.still.matched_before(place, person, vote.t)
        self.still.note(place, person, vote.t)
        return may == ANYONE or (may == RETURNING and person in self.marked), seated

    def _in_room(
        self,
        seq: int,
        t: float,
        image: np.ndarray,
        faces: Faces | ScreenReading,
        events: list[Event],
    ) -> tuple[ScreenReading, np.ndarray]:
        """A room camera's frame as one scene without its pictures, and who each face left
        may be named as: ANYONE once seen to move (Verdict.LIVE); only someone already marked
        (RETURNING) once it moved more often than not, from one comparison on (a marked
        student who changed seats is named again a sample after they sat down, where a
        poster, unmoved at its first comparison, is not); else NOBODY yet."""
        every = (
            Faces.concat([faces.faces, faces.background])
            if isinstance(faces, ScreenReading)
            else faces
        )
        before = self.still.samples[-1] if self.still.samples else None
        verdict = self.still.judge(t, image, every, seq)
        picture = verdict == Verdict.PICTURE
        new = np.flatnonzero(picture)
        if before is not None and len(new):
            # Pictures already set aside in the sample before are not news.
            known = before.boxes[before.verdicts() == Verdict.PICTURE]
            new = new[~same_places(every.boxes[new, :4], known).any(axis=1)]
        taken_back = self.still.samples[-1].uncounted
        for k in new:
            earlier = len(taken_back.get(int(k), []))
            back = (
                f"; taken off the head counts of the {earlier} sample(s) before, which counted "
                "it while it was not yet known"
                if earlier
                else ""
            )
            events.append(
                Event(
                    t,
                    "pictures",
                    None,
                    f"a face unmoved from sample to sample, taken for a picture (a poster, a "
                    f"photo, a screen): not counted or named; {int(picture.sum())} in the room"
                    f"{back}",
                    crop=crop_with_context(image, every.boxes[int(k), :4]),
                )
            )
        n = int((~picture).sum())
        self._in_still = np.flatnonzero(~picture)
        reading = ScreenReading(
            every[~picture], np.full(n, -1), np.zeros((0, 4), np.float32), every[picture]
        )
        history = self.still.samples[-1].history
        may = np.array(
            [ANYONE if v == Verdict.LIVE else RETURNING if leaning_live(h) else NOBODY
             for v, h in zip(verdict, history, strict=True)], int,
        )  # fmt: skip
        return reading, may[~picture]

    def _judge(
        self,
        track: Track,
        vote: Vote,
        t: float,
        out: SampleOutcome,
        may_name: bool = True,
        seated: bool = False,
    ) -> None:
        """Update a track's identity with one fresh embedding's verdict (``may_name`` False: a
        room camera's face not yet seen to move keeps its votes and waits for that; ``seated``:
        its place matched the same person in the sample before, a second agreeing vote)."""
        if track.identity is not None:
            if vote.accepted and vote.person == track.identity:
                track.votes = [*track.votes[-3:], vote]
                return
            # The face no longer matches its name: it loses it now, and what it matches from
            # here on is judged afresh.
            lost = self.gallery.names[track.identity]
            track.identity = None
            track.votes = [vote]
            detail = "no longer matches" if not vote.accepted else "now matches someone else"
            out.events.append(Event(t, "identity_lost", lost, f"a face named {lost} {detail}"))
            if vote.accepted:
                # An unchanged-looking face that switches between two people is not trusted.
                track.disputed = True
            return
        track.votes.append(vote)
        people = {v.person for v in track.accepted}
        if len(people) > 1 and not track.disputed:
            track.disputed = True
            who = ", ".join(sorted(self.gallery.names[p] for p in people))
            out.events.append(Event(t, "disputed", None, f"one face matched {who}"))
        if track.disputed or not vote.accepted:
            return
        name = self.gallery.names[vote.person]
        best = max(v.similarity for v in track.accepted)
        if may_name and (
            len(track.accepted) >= self.config.confirm_votes
            or seated
            or best >= self.config.strong_similarity
            or name in self.marked
        ):
            track.identity = vote.person

    def _own_cameras(
        self,
        t: float,
        image: np.ndarray,
        tracks: list[Track],
        names: list[str | None],
        within: np.ndarray,
        out: SampleOutcome,
    ) -> list[str | None]:
        """The names credited for this sample: not a named face found unmoved sample after
        sample (FrozenLooks.picture), until it is seen moving more than not.

        One unmoved comparison is not enough: a real participant sometimes keeps still between
        two samples (a real face was unmoved in up to 8% of comparisons, bench/bench_still.py).
        A picture is announced once, with its crop, for staff to review, and its person's time
        ends where the picture was first seen; if the face never moved since the person was
        first seen, the mark it made is withdrawn: a photo shown as one's camera marks no one.
        The face keeps its name (its track is not someone else's), so it is not reported as a
        stranger either."""
        credited = list(names)
        self._uncredited = {}
        gray: np.ndarray | None = None
        for i, name in enumerate(names):
            if name is None:
                continue
            gray = grey(image) if gray is None else gray
            self.frozen.compare(name, t, gray, tracks[i].box, within[i])
            if name in self.pictured and not self.frozen.leaning_still(name):
                self.pictured.discard(name)  # seen moving more than not: a person again
                if name not in self.marked:
                    self.live_from[name] = t
            if name not in self.pictured and not self.frozen.picture(name):
                continue
            credited[i] = None
            self._uncredited[i] = name
            if name in self.pictured:
                continue  # announced already
            self.pictured.add(name)
            crop = crop_with_context(image, tracks[i].box, within=within[i])
            detail = (
                f"{name}'s face unchanged from sample to sample in their tile (a photo or a "
                "frozen video as their camera?): not credited while it stays so"
            )
            if name in self.marked and name in self.watched and self.frozen.always_still(name):
                detail += (
                    f"; their mark at {self.marked[name]:.0f}s was made on it and is withdrawn"
                )
                del self.marked[name]
                self.watched.discard(name)
                self.last_seen.pop(name, None)
                self.open.pop(name, None)
                self.gone.discard(name)
                # Marked again only from a vote after this one (a face that moves).
                tracks[i].votes = tracks[i].votes[-1:]
                out.withdrawn.append(name)
            else:
                # Credited until the picture was first seen, not through the samples it took
                # to tell it from someone keeping still (also time already closed, when a
                # sample in between missed the face).
                since = self.frozen.looks[name].still_since
                interval = self.open.pop(name, None)
                if interval is not None:
                    end = interval.last_seen if since is None else max(interval.start, since)
                    end = min(end, interval.last_seen)
                    out.intervals.append(IntervalChange(name, interval.start, end, end))
                if since is not None:
                    out.trimmed.append((name, since))
                    self.last_seen[name] = min(self.last_seen.get(name, since), since)
                    detail += f"; credited until {since:.0f}s"
            out.events.append(Event(t, "pictures", name, detail + "; for review", crop=crop))
        return credited

    def _pending(self, track: Track) -> bool:
        """A face that matched someone, but not yet convincingly enough to name them."""
        return track.identity is None and not track.disputed and bool(track.accepted)

    def _names(
        self, tracks: list[Track], t: float, out: SampleOutcome, image: np.ndarray | None = None
    ) -> list[str | None]:
        names = [None if tr.identity is None else self.gallery.names[tr.identity] for tr in tracks]
        # One person cannot sit in two tiles: keep the stronger face; the other loses the name,
        # and keeps them as its candidate (attendance.reconcile gives it back to a second
        # account of theirs; a stranger's face is never taken for them there).
        self._duplicate_of = {}
        best: dict[str, int] = {}
        for i, name in enumerate(names):
            if name is None:
                continue
            j = best.get(name)
            if j is None:
                best[name] = i
                continue
            strength = tracks[i].votes[-1].similarity
            other = tracks[j].votes[-1].similarity
            loser = i if strength <= other else j
            if name in self.pictured and image is not None:
                # Their picture in one tile, themselves in another (a second device): the face
                # more like the picture loses, whatever its match (a frontal photo's is high).
                gray = grey(image)
                like = [self.frozen.likeness(name, gray, tracks[k].box) for k in (i, j)]
                loser = i if like[0] >= like[1] else j
            if loser == j:
                best[name] = i
            names[loser] = None
            self._duplicate_of[loser] = name
            tracks[loser].identity = None
            tracks[loser].votes = []
            out.events.append(Event(t, "duplicate", name, "the same person in two places"))
        return names

    def _mark_and_track_presence(
        self,
        t: float,
        image: np.ndarray,
        tracks: list[Track],
        names: list[str | None],
        out: SampleOutcome,
        within: np.ndarray,
    ) -> None:
        seen: set[str] = set()
        for i, (tr, name, tile) in enumerate(zip(tracks, names, within, strict=True)):
            if name is None:
                continue
            sims = [v.similarity for v in tr.accepted] or [tr.votes[-1].similarity]
            out.seen.append(Sighting(name, t, max(sims), _box(tr.box)))
            if name not in self.expected:
                if name not in self.visitors:
                    self.visitors.add(name)
                    # With their face: a sit-in by someone enrolled elsewhere was confirmed
                    # by staff who never saw the face (only roster members had crops).
                    crop = crop_with_context(image, tr.box, within=tile)
                    out.events.append(
                        Event(t, "visitor", name, "enrolled but not expected", crop=crop)
                    )
                continue
            seen.add(name)
            self.last_seen[name] = t
            new_mark = name not in self.marked
            # A room camera's memory of this seat: since when it matched them (None: none).
            at_place = self._at_place(i, name) if new_mark else None
            if new_mark:
                first = min((v.t for v in tr.accepted), default=t)
                if at_place is not None:
                    first = min(first, at_place[0])
                # (After a picture's mark was withdrawn: from when they were seen moving.)
                first = max(first, self.live_from.pop(name, first))
                self.marked[name] = first
                if self.config.own_camera_pictures and not self.config.room_camera:
                    self.watched.add(name)
                out.marks.append(
                    Mark(
                        person=name,
                        first_seen=first,
                        confidence=float(np.mean(sims)),
                        evidence_t=t,
                        evidence_box=_box(tr.box),
                        evidence_crop=crop_with_context(image, tr.box, within=tile),
                    )
                )
            interval = self.open.get(name)
            if interval is None:
                # A newly confirmed person was there since their first matching sample, if
                # every sample since then saw their face; anyone else since now. A sample the
                # face was missing from (another page of the gallery, a missed detection)
                # splits the time: the first match stands alone, the interval starts after.
                joined = start = t
                if new_mark:
                    joined = self.marked[name]
                    since = tr.seen_since if at_place is None else min(tr.seen_since, at_place[1])
                    start = max(joined, since)
                    if joined < start:
                        out.intervals.append(IntervalChange(name, joined, joined, joined))
                self.open[name] = OpenInterval(start, t)
                out.intervals.append(IntervalChange(name, start, t, None))
                if new_mark or name in self.gone:
                    self.gone.discard(name)
                    out.events.append(Event(joined, "joined", name))
            else:
                interval.last_seen = t
                out.intervals.append(IntervalChange(name, interval.start, t, None))
        for name, interval in list(self.open.items()):
            if name not in seen:
                # Not in this sample: their time ends at the last sample that saw them.
                del self.open[name]
                out.intervals.append(
                    IntervalChange(name, interval.start, interval.last_seen, interval.last_seen)
                )
        if not self.config.room_camera:
            if not len(tracks):
                # No face on screen at all (slides shared over the gallery, another window,
                # every camera off): nobody is seen leaving while nobody is seen. (An empty
                # classroom is seen: its people left.)
                return
            if self.last_count == 0:
                self.observed_from = t  # faces are back: the leave clock starts again here
        leave_after = self.config.leave_after
        for name, last in self.last_seen.items():
            if (
                name not in seen
                and name not in self.gone
                and t - max(last, self.observed_from) >= leave_after
            ):
                self.gone.add(name)
                out.events.append(Event(t, "left", name, f"unseen since {last:.0f}s"))

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
        within: np.ndarray,
        fresh: bool,
        report: np.ndarray | None = None,
    ) -> None:
        """Keep one crop per face that matched no one, for staff to review (``report``: only
        those faces)."""
        if not fresh:
            return
        for i, (tr, name, tile) in enumerate(zip(tracks, names, within, strict=True)):
            if report is not None and not report[i]:
                continue
            if name is not None or tr.reported_unknown or not tr.votes:
                continue
            if tr.accepted or tr.disputed:  # pending or disputed, not a stranger
                continue
            last = tr.votes[-1]
            tr.reported_unknown = True
            if self._already_queued(tr.embedding):
                continue
            out.unknowns.append(
                UnknownSighting(
                    t,
                    _box(tr.box),
                    crop_with_context(image, tr.box, within=tile),
                    last.similarity,
                    self.gallery.name_of(last.person),
                    tr.embedding,
                )
            )
