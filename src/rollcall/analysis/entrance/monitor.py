"""The entrance: every frame's faces -> tracks -> best shots -> a vote and a liveness check ->
one mark per person per session, at the time the person first appeared.

Pure logic, like attendance.monitor: it is handed each frame with its time and returns what
happened (marks, sightings, strangers, presentation attacks); storage and sources live
elsewhere, so a whole entrance can be tested on generated frames with any timestamps.

- A track is named by its best shots (vote.py) and only once its movement says it is a live
  head (liveness.py); until then it is watched, never marked.
- A person already marked in this session (by this run or an earlier one) is never marked
  again: seeing them again only updates their last sighting.
- A track that ends (or stays in view too long) with a name or a face but without passing the
  liveness check is recorded as a presentation attack, with its best shot for review, and
  names no one. A live track that no one matched is a stranger (kept with a crop).
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

from rollcall.analysis.entrance import DEFAULT_FPS
from rollcall.analysis.entrance.best_shots import (
    FULL_SIZE_PX,
    BestShots,
    Shot,
    frontal,
    make_shot,
)
from rollcall.analysis.entrance.liveness import LivenessProbe, LivenessRule
from rollcall.analysis.entrance.occupancy import Occupancy, line_in_picture, line_text
from rollcall.analysis.entrance.tracker import ByteTracker
from rollcall.analysis.entrance.vote import EmbedCrop, TrackVote, Verdict, VoteRules
from rollcall.attendance.monitor import (
    NO_MATCH,
    PICTURE,
    Event,
    Mark,
    Sighting,
    UnknownSighting,
)
from rollcall.vision.gallery import Gallery
from rollcall.vision.types import Faces

log = logging.getLogger(__name__)
Detect = Callable[[np.ndarray], Faces]
ATTACK = "presentation_attack"
REPEAT = "already_marked"
MAX_EMBEDDINGS = 6  # per track: the best 3-5 shots, and a spare when a better one arrives
# How often a better shot is looked at afterwards on a track none of whose shots named anyone
# (_newcomer): a stranger's own face improves as they come closer, so a count of looks ran out
# before anyone took their place.
LOOK_EVERY = 0.5
SEEN_EVERY = 1.0  # seconds between last-seen updates of one person
# A marked person named again this soon after they were last seen is on the same pass (a track
# split by a re-check, a face hidden for longer than the tracker waits): not a new pass, so no
# "already marked". Someone who walks out and back in takes longer.
SAME_PASS_S = 5.0
ATTACK_AFTER = 4.0  # seconds in view without passing the liveness check: report it
# A picture of one person found again this soon after the last track of it ended is the same
# attempt (a print lost and found by the tracker made three tracks, three events and three
# "please see staff" lines on the kiosk: an entrance operator's review). Longer gaps are new
# attempts, each reported: a window of 30 s from the last suppressed track kept growing and
# hid a stream of attempts (the second review).
ATTACK_SAME_S = 5.0
# A judged track that was lost and found again must show the same face: its next shots of
# naming size are matched, and this many in a row that name no one split it (one that names
# someone else splits it at once).
RECHECK_SHOTS = 2
# A marked track's evidence is replaced by a shot this many times larger, named again as them
# (see _better_evidence), at most this many times.
EVIDENCE_GAIN = 1.5
EVIDENCE_UPGRADES = 2


@dataclass(frozen=True)
class EntranceConfig:
    fps: float = DEFAULT_FPS
    best_shots: int = 5
    vote: VoteRules = field(default_factory=VoteRules)
    liveness: LivenessRule = field(default_factory=LivenessRule)
    # Frames a track may go unseen (a person hidden by another) before it ends.
    max_lost_seconds: float = 1.0
    # Measure every liveness cue, weighed or not (the calibration bench); otherwise only the
    # ones the rule weighs (LivenessRule.weighs_followed_points): a fifth of a frame's CPU.
    all_cues: bool = False


@dataclass
class TrackFile:
    """What the monitor knows about one track."""

    track_id: int
    first_t: float
    last_t: float
    last_frame: int
    shots: BestShots
    vote: TrackVote
    probe: LivenessProbe = field(default_factory=LivenessProbe)
    state: str = "watching"  # watching | marked | repeat | attack | stranger
    person: str | None = None
    live: bool | None = None
    left_view: bool = False  # judged once already as it left the view (see _left_view)
    attack_of: str | None = None  # judged a picture of this person (see _attack)
    # Lost and found again since it was judged (see _recheck): the crossings it had made by
    # then, and how many shots since have failed to show the same face.
    recheck: tuple[int, int] | None = None
    evidence_px: float = 0.0  # the face's size in the shot its mark's evidence is
    looked_at: float = -np.inf  # the last better shot looked at after its embeddings (_newcomer)
    evidence_upgrades: int = 0


@dataclass
class EntranceStep:
    """One frame's outcome."""

    t: float
    visible: int  # faces in view now
    inside: int | None  # people inside (with a line), else None
    marks: list[Mark] = field(default_factory=list)
    seen: list[Sighting] = field(default_factory=list)
    unknowns: list[UnknownSighting] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)
    evidence: list[Mark] = field(default_factory=list)  # better shots of marks made before
    named_visible: int = 0  # visible tracks with a name (marked or repeat)
    named_inside: int | None = None  # of the people inside (with a line), those recognised


class EntranceMonitor:
    def __init__(
        self,
        gallery: Gallery,
        detect: Detect,
        embed_crop: EmbedCrop,
        config: EntranceConfig | None = None,
        marked: dict[str, float] | None = None,
        line: tuple[float, float, float, float] | None = None,
        inside: int = 0,
        named_inside: int = 0,
        last_seen: dict[str, float] | None = None,
    ) -> None:
        self.gallery = gallery
        self.detect = detect
        self.embed_crop = embed_crop
        self.config = config or EntranceConfig()
        # Everyone marked in this session so far: name -> the time they first appeared.
        self.marked: dict[str, float] = dict(marked or {})
        max_lost = max(1, round(self.config.max_lost_seconds * self.config.fps))
        self.tracker = ByteTracker(max_lost=max_lost)
        self.occupancy = Occupancy(line, inside) if line else None
        # Who is inside by name: net crossings of each person's ended tracks. People counted
        # in before this monitor started (a resumed session) are known only by number.
        self._crossed: dict[str, int] = {}
        self._named_base = max(0, min(named_inside, inside))
        self.tracks: dict[int, TrackFile] = {}
        self.frame_index = -1
        self._prev_gray: np.ndarray | None = None
        # When each named person was last seen; from before this monitor (last_seen) too, so
        # a person still in view when a session is taken up again is on the same pass.
        self._last_seen: dict[str, float] = dict(last_seen or {})
        self._attacked: dict[str, float] = {}  # person -> when a picture of them was last seen
        self.finished: list[TrackFile] = []  # ended tracks (for scoring)

    def observe(self, t: float, image: np.ndarray) -> EntranceStep:
        self.frame_index += 1
        if self.frame_index == 0 and self.occupancy is not None:
            height, width = image.shape[:2]
            if not line_in_picture(self.occupancy.line, width, height):
                log.warning(
                    "the counting line %s lies outside the %dx%d picture: nobody can cross it",
                    line_text(self.occupancy.line),
                    width,
                    height,
                )
        faces = self.detect(image)
        gray = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)
        ids = self.tracker.update(faces)
        step = EntranceStep(t, len(faces), None)
        if self.occupancy is not None:
            self.occupancy.update(faces.boxes, ids)
            step.inside = self.occupancy.inside
        for i, track_id in enumerate(ids):
            self._follow(int(track_id), faces, i, t, image, gray, step)
        for track_id in self.tracker.ended:
            self._end(self.tracks.pop(track_id), step)
        for file in self.tracks.values():
            if file.last_frame == self.frame_index - 1 and file.state == "watching":
                self._left_view(file, step)
        step.named_visible = sum(
            1
            for f in self.tracks.values()
            if f.last_frame == self.frame_index and f.state in ("marked", "repeat")
        )
        self._count_inside(step)
        self._prev_gray = gray
        return step

    def _count_inside(self, step: EntranceStep) -> None:
        """The step's counts by the line (none without one): how many are inside, and how many
        of them were recognised (a person is inside when their tracks crossed in more often
        than out).

        A person named leaving who was never seen coming in was inside before counting began:
        one more there then than the count knew (the count was one low, and a stranger who came
        in meanwhile was taken for them: no mismatch said); they were one of those counted
        before this monitor began, not someone recognised inside."""
        if self.occupancy is None:
            step.named_inside = None
            return
        net = self._net_crossings()
        came_in = sum(1 for n in net.values() if n > 0)
        left_from_before = sum(1 for n in net.values() if n < 0)
        self.occupancy.base = max(self.occupancy.base, left_from_before)
        step.inside = inside = self.occupancy.inside
        step.named_inside = min(inside, came_in + max(0, self._named_base - left_from_before))

    def _net_crossings(self) -> dict[str, int]:
        """Each named person's crossings in minus out, ended tracks and live ones."""
        net = dict(self._crossed)
        for file in self.tracks.values():
            if file.person is not None:
                crossed = self._crossed_as_named(file)
                net[file.person] = net.get(file.person, 0) + crossed
        return net

    def finish(self, t: float) -> EntranceStep:
        """The source ended: every track still open ends now."""
        step = EntranceStep(t, 0, self.occupancy.inside if self.occupancy else None)
        self.tracker.close()
        for track_id in list(self.tracks):
            self._end(self.tracks.pop(track_id), step)
        self._count_inside(step)
        return step

    # -- one track ---------------------------------------------------------------------------

    def _follow(
        self,
        track_id: int,
        faces: Faces,
        i: int,
        t: float,
        image: np.ndarray,
        gray: np.ndarray,
        step: EntranceStep,
    ) -> None:
        file = self.tracks.get(track_id)
        contiguous = file is not None and file.last_frame == self.frame_index - 1
        if file is None:
            file = self.tracks[track_id] = self._new_file(track_id, t)
        elif not contiguous and file.state in ("marked", "repeat", "stranger"):
            # Lost for a moment and found again, where someone was leaving and another may be
            # arriving: until a shot shows the same face, nothing is credited to the name.
            file.recheck = file.recheck or (self._crossings_of(track_id), 0)
        if file.recheck is not None:
            file = self._recheck(file, faces, i, t, image, step)
            if file.recheck is not None:
                return
        file.last_t, file.last_frame = t, self.frame_index
        file.probe.update(self._prev_gray, gray, faces.boxes[i], faces.landmarks[i], contiguous)
        if file.state in ("marked", "repeat"):
            self._seen(file, t, faces.boxes[i], step)
            if file.state == "marked":
                self._better_evidence(file, faces, i, t, image, step)
            return
        if file.state not in ("watching", "stranger"):
            return
        shot = make_shot(image, faces, i, t)
        nameable = shot.face_px >= self.gallery.min_naming_px
        added = file.state == "watching" and nameable and file.shots.add(shot)
        if added and file.vote.embedded < MAX_EMBEDDINGS:
            file.vote.add(shot, self.gallery, self.embed_crop)
        elif (
            nameable
            and file.vote.embedded >= MAX_EMBEDDINGS
            and t - file.looked_at >= LOOK_EVERY
            and not file.vote.verdict(self.gallery).named_any
        ):
            # (Whatever the shot's rank: a stranger's own best shots, close to the camera,
            # outrank the newcomer's.)
            file = self._newcomer(file, shot, t, step)
        if file.state == "watching":
            self._decide(file, t, step)

    def _newcomer(self, file: TrackFile, shot: Shot, t: float, step: EntranceStep) -> TrackFile:
        """A track whose every shot so far named no one, with its shots embedded: a better
        shot now is looked at too, as someone who walked in behind a stranger takes over the
        stranger's track when the stranger steps aside (the tracker hands the box on, and a
        student was never named). When it names someone, the stranger's story ends here and
        the newcomer's begins with this shot; their own shots then decide, as for anyone."""
        file.looked_at = t
        look = TrackVote(self.config.vote)  # embedded once: the newcomer's first vote if named
        look.add(shot, self.gallery, self.embed_crop)
        if not look.verdict(self.gallery).named_any:
            return file
        fresh = self._begin_anew(file, t, step)
        fresh.last_t, fresh.last_frame = t, self.frame_index
        fresh.shots.add(shot)
        fresh.vote = look
        return fresh

    def _begin_anew(
        self, file: TrackFile, t: float, step: EntranceStep, since: int = 0
    ) -> TrackFile:
        """Someone else on the track from ``t``: its story so far ends (with its crossings),
        and the newcomer's begins, with the ``since`` crossings made since they took over."""
        self._end(file, step)
        if self.occupancy is not None and since:
            self.occupancy.crossings[file.track_id] = since
        fresh = self.tracks[file.track_id] = self._new_file(file.track_id, t)
        return fresh

    def _crossings_of(self, track_id: int) -> int:
        return self.occupancy.crossings.get(track_id, 0) if self.occupancy is not None else 0

    def _recheck(
        self,
        file: TrackFile,
        faces: Faces,
        i: int,
        t: float,
        image: np.ndarray,
        step: EntranceStep,
    ) -> TrackFile:
        """Is the face found again on a judged track still the one it was judged on? The
        tracker joins a person who leaves the view to someone who appears where they left
        within a second; without this the newcomer would count as them inside the door (and a
        person could not be named on a stranger's track). Returns the file to go on with: the
        same one, still waiting (recheck set) or confirmed, or a new one for the newcomer."""
        shot = make_shot(image, faces, i, t)
        if shot.face_px < self.gallery.min_naming_px:
            return file  # too small to tell: wait for a better shot
        named, _ = self._named(shot)
        crossed, failures = file.recheck or (0, 0)
        if named == file.person:
            file.recheck = None
            return file
        if named is None and file.person is not None and failures + 1 < RECHECK_SHOTS:
            file.recheck = (crossed, failures + 1)
            return file
        if named is None and file.person is None:
            file.recheck = None  # a stranger's track, still no one we know
            return file
        # Someone else: the track's story so far ends here (with the crossings it made before
        # it was lost: _crossed_as_named), and the newcomer's begins with those made since.
        since = self._crossings_of(file.track_id) - crossed
        file.recheck = None
        return self._begin_anew(file, t, step, since)

    def _new_file(self, track_id: int, t: float) -> TrackFile:
        followed = self.config.all_cues or self.config.liveness.weighs_followed_points
        return TrackFile(
            track_id,
            t,
            t,
            self.frame_index,
            BestShots(self.config.best_shots),
            TrackVote(self.config.vote),
            LivenessProbe(followed=followed),
        )

    def _decide(self, file: TrackFile, t: float, step: EntranceStep) -> None:
        verdict = file.vote.verdict(self.gallery)
        if verdict.person is None:
            if t - file.first_t >= ATTACK_AFTER and file.vote.embedded:
                self._judge_unnamed(file, step, verdict)
            return
        features = file.probe.features()
        file.live = self.config.liveness.is_live(features)
        if file.live:
            self._name(file, verdict.person, verdict.similarity, verdict.shot, t, step)
        elif t - file.first_t >= ATTACK_AFTER and file.live is False:
            self._attack(file, step, verdict)

    def _name(
        self,
        file: TrackFile,
        person: str,
        similarity: float,
        shot: Shot | None,
        t: float,
        step: EntranceStep,
    ) -> None:
        file.person = person
        best = shot or file.shots.best
        assert best is not None  # nosec B101 - a name comes from a shot
        if person in self.marked:
            file.state = "repeat"
            if t - self._last_seen.get(person, -np.inf) >= SAME_PASS_S:
                step.events.append(
                    Event(t, REPEAT, person, f"already marked at t={self.marked[person]:.1f} s")
                )
        else:
            file.state = "marked"
            self.marked[person] = file.first_t
            file.evidence_px = best.face_px
            step.marks.append(Mark(person, file.first_t, similarity, best.t, best.box, best.crop))
        step.seen.append(Sighting(person, t, similarity, best.box))
        self._last_seen[person] = t

    def _better_evidence(
        self,
        file: TrackFile,
        faces: Faces,
        i: int,
        t: float,
        image: np.ndarray,
        step: EntranceStep,
    ) -> None:
        """A mark is decided as soon as a face is named and moves like a head, often while
        it is still far (a crop of 50-70 px that staff and the kiosk must read). As the person
        comes closer, a shot EVIDENCE_GAIN times larger, named again as them, replaces the
        evidence: at most EVIDENCE_UPGRADES embeddings a track, none once the face has the
        embedder's full size."""
        if (
            file.evidence_upgrades >= EVIDENCE_UPGRADES
            or file.evidence_px >= FULL_SIZE_PX
            or float(faces.min_side[i]) < EVIDENCE_GAIN * file.evidence_px
        ):
            return
        if frontal(faces.landmarks[i]) < 0.5:
            return  # a face turned away is no better evidence, however large
        shot = make_shot(image, faces, i, t)
        file.evidence_upgrades += 1
        named, similarity = self._named(shot)
        person = file.person
        if person is None or named != person:
            return
        file.evidence_px = shot.face_px
        step.evidence.append(Mark(person, self.marked[person], similarity, t, shot.box, shot.crop))

    def _named(self, shot: Shot) -> tuple[str | None, float]:
        """Whom one shot names on its own (the gallery's open-set rules), and how alike:
        the re-check of a track found again, and a marked face's better evidence."""
        m = self.gallery.match(self.embed_crop(shot.crop, shot.faces), np.float32([shot.face_px]))
        return self.gallery.name_of(int(m.person[0])), float(m.similarity[0])

    def _seen(self, file: TrackFile, t: float, box: np.ndarray, step: EntranceStep) -> None:
        person = file.person
        if person is None or t - self._last_seen.get(person, -np.inf) < SEEN_EVERY:
            return
        self._last_seen[person] = t
        x, y, w, h = (int(round(v)) for v in box)
        step.seen.append(Sighting(person, t, 0.0, (x, y, w, h)))

    def _left_view(self, file: TrackFile, step: EntranceStep) -> None:
        """A named face not found in this frame has left the view, or is hidden for a moment.
        Its cues cannot grow while it is gone, so it is judged now on everything it gave (as
        at the track's end, a second later): a short visit that passes is marked as it
        leaves (with the shipped rule it must have given one nose span: four frames).
        Once per track: hiding and showing a picture again must not buy more tries. A face
        that fails here is not reported yet; it may come back and move like a head."""
        file.probe.finish()
        if file.left_view or not file.vote.embedded:
            return
        file.left_view = True
        verdict = file.vote.verdict(self.gallery)
        if verdict.person is None:
            return
        if self.config.liveness.is_live(file.probe.features(), final=True):
            file.live = True
            self._name(file, verdict.person, verdict.similarity, verdict.shot, file.last_t, step)

    def _end(self, file: TrackFile, step: EntranceStep) -> None:
        if file.attack_of is not None:
            # Judged while still in view (after ATTACK_AFTER): the picture was last seen when
            # the track ended, and "found again" counts from then (the second review: a print
            # held up 10 s, lost 1.5 s, was two attempts).
            last = self._attacked.get(file.attack_of, file.last_t)
            self._attacked[file.attack_of] = max(last, file.last_t)
        file.probe.finish()
        if file.state == "watching" and file.vote.embedded:
            verdict = file.vote.verdict(self.gallery)
            features = file.probe.features()
            file.live = self.config.liveness.is_live(features, final=True)
            if verdict.person is None:
                self._judge_unnamed(file, step, verdict, final=True)
            elif file.live:
                # The track's last flow span is measured only now: a short visit can pass
                # the check here and still be marked, at its first sight.
                self._name(
                    file, verdict.person, verdict.similarity, verdict.shot, file.last_t, step
                )
            elif file.live is False:
                self._attack(file, step, verdict)
        if self.occupancy is not None:
            crossed = self._crossed_as_named(file)
            self.occupancy.crossings.pop(file.track_id, None)
            if file.person is not None and crossed:
                self._crossed[file.person] = self._crossed.get(file.person, 0) + crossed
        self.finished.append(file)

    def _crossed_as_named(self, file: TrackFile) -> int:
        """The track's crossings that are its person's: while a re-check is pending, only
        those made before it was lost (a newcomer's crossing since is no one's yet)."""
        if file.recheck is not None:
            return file.recheck[0]
        return self._crossings_of(file.track_id)

    def _judge_unnamed(
        self, file: TrackFile, step: EntranceStep, verdict: Verdict, final: bool = False
    ) -> None:
        """A track no one was matched to: a stranger if it moved like a head, else an attack."""
        file.live = self.config.liveness.is_live(file.probe.features(), final)
        if file.live is False:
            self._attack(file, step, verdict)
            return
        if not verdict.stranger or file.live is None:
            return  # too little seen to say anything
        file.state = "stranger"
        step.unknowns.append(_for_review(file, verdict, verdict.best_candidate, NO_MATCH))

    def _attack(self, file: TrackFile, step: EntranceStep, verdict: Verdict) -> None:
        """No one is credited. The event goes on the timeline, with the person the picture
        was recognised as, if it was (whose attendance someone tried to take; erased with
        them); the face goes to the review of unknown faces (and the kiosk's "please see
        staff"), because a real person the liveness check got wrong (a head that hardly
        turned, a far face, anyone gone within half a second) looks exactly like this,
        and only staff can tell. A picture that merely resembled someone keeps no candidate:
        it is no one's (privacy.faces_of)."""
        file.state = "attack"
        if verdict.person is not None:
            file.attack_of = verdict.person
            last = self._attacked.get(verdict.person)
            self._attacked[verdict.person] = max(file.last_t, last or file.last_t)
            if last is not None and file.first_t - last < ATTACK_SAME_S:
                return  # the same picture again: one attempt, one event, one face to review
        cues = file.probe.features()
        detail = f"{cues.failed(self.config.liveness.shift_rank)}: {cues.describe()}"
        step.events.append(Event(file.first_t, ATTACK, verdict.person, detail))
        if file.shots.best is not None:
            step.unknowns.append(_for_review(file, verdict, verdict.person, PICTURE))


def _for_review(
    file: TrackFile, verdict: Verdict, candidate: str | None, reason: str
) -> UnknownSighting:
    """A track's best shot as a face for staff to review."""
    best = file.shots.best
    assert best is not None  # nosec B101 - callers check; a vote embeds a shot
    return UnknownSighting(
        file.first_t,
        best.box,
        best.crop,
        verdict.best_similarity,
        candidate,
        verdict.embedding,
        reason=reason,
    )
