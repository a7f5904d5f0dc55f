"""Presentation-attack cues over a track: does this face move like a head, or like a picture?

A printed photo or a phone held up to the camera is one plane: whatever way it is tilted or
shaken, every point of it moves by one perspective transform (a homography), and the photo's
own background or the phone's bezel moves with the face. A real head is not flat (the nose
stands out of the eyes-and-mouth plane, so it shifts against them as the head turns: parallax)
and the scene behind it stays still while the person walks. Five cues, each measured over the
track rather than on one frame:

- ``landmark_parallax``: the nose tip's distance from where the homography of the four other
  YuNet points (eyes, mouth corners) between two frames puts it, in inter-ocular distances;
- ``flow_parallax``: the same for up to 60 corner points followed by optical flow inside the
  face box, over spans of several frames (median distance from the best homography, LMedS);
- ``nose_parallax``: points followed on the nose itself, against the homography of the face's
  points away from it: as a head turns the nose tip shifts against the cheeks and forehead by
  its depth, while most of a face's points lie close to one plane, so the median over the whole
  face (flow_parallax) barely sees it. Sub-pixel optical flow measures it far more finely than
  YuNet's nose landmark, whose jitter on a picture is as large as a real nose's parallax;
- ``nose_shift``: the same depth seen densely, on the pictures alone: over each span of
  FLOW_SPAN frames the face is cut out of the span's first and last frames by the detector's
  boxes, the dense optical flow (DIS) between the two cuts is fitted with one homography over
  the face away from the nose, and what that homography leaves over the nose's disc,
  averaged, is the cue. A picture's flow is one homography, whatever way it is tilted, and
  leaves only noise, which averages out over the disc's pixels; a turning head leaves the
  nose's shift against its cheeks, which does not. Needing no followed points, it is measured
  on small and plain faces too (until stop 32 the warp came from the followed points, so a
  far passer's nose went unmeasured, and a translation, not a homography, was taken off);
- ``context_follows``: the share of points tracked just outside the face (beside and above
  it) that move with the face's homography while the face itself moves: a picture's border
  does, a corridor behind a head does not.

The score combines them (see ``LivenessRule.score``); its threshold is calibrated on generated
attacks and people, one half of the identities, and reported on the other half
(bench/bench_entrance.py). The shipped rule weighs only the dense nose shift, read in a
track's second largest span; a face gone after one span (a visit of half a second at 8 fps) is
judged on that one against a higher bar, and one seen in fewer than four frames is not judged
at all (no mark, no event). RGB liveness is a deterrent,
not a guarantee: a 3D mask, a video replayed on a large screen held close enough to hide the
bezel, or a photo cut along the head's outline and bent defeat some or all of these cues. A
mesh-based blink check (mediapipe's face mesh) was not possible: mediapipe 0.10.14 needs
protobuf<5 where onnx 1.23 needs >=6.31.1, and under protobuf 7 its FaceMesh fails on start
(README, Entrance).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import cv2
import numpy as np

# Frames apart for the landmark homography: one frame of a head turning at walking pace moves
# the nose by less than YuNet's own jitter.
MIN_SPAN = 2
FLOW_SPAN = 3  # frames a set of flow points is followed before it is measured and re-seeded
LANDMARK_WINDOW = 16  # frames (2 s at 8 fps) the landmark cue looks back over
MIN_FACE_MOTION = 2.0  # px of face motion below which the context says nothing
# Eyes at least this far apart (px) in both frames of a landmark pair: YuNet's points wander
# by about a pixel, which on a smaller face is as much as a real nose's parallax, so a small
# printed face shaken in the hand looked as deep as a head.
MIN_IOD = 12.0
# px a followed point may miss its start by when followed back. 1 px dropped much of the
# texture of real faces 100-180 px wide (their flow parallax fell by 28-60%); 4 px
# kept the points a picture swept across the view loses (tests/entrance).
FB_ERROR = 2.0
# A flow span whose median residual is over this share of the face is a tracking failure,
# not evidence: a head's parallax over three frames is about 1% of its size (generated
# passers at the end of their tracks: 5th-95th percentile 0.6-1.7%).
MAX_FLOW_RESIDUAL = 0.1
# The nose's points: up to NOSE_POINTS corners within NOSE_RADIUS inter-ocular distances of the
# nose landmark; the face's plane is fitted to the face points farther than PLANE_CLEARANCE.
NOSE_POINTS = 16
NOSE_RADIUS = 0.35
PLANE_CLEARANCE = 0.6
# nose_shift compares the face at this height (px): small enough to be cheap (DIS on about
# 80 x 96 px), large enough for a nose a few pixels wide. (DIS's medium preset: the one the
# diagnostics measured; the cue is calibrated with it.)
SHIFT_HEIGHT = 96
EDGE = 8  # px of a cut (DIS's patch) the nose keeps clear of the frame's edge
_DIS = cv2.DISOpticalFlow_create(cv2.DISOPTICAL_FLOW_PRESET_MEDIUM)


@dataclass
class LivenessProbe:
    """Collects the cues of one track frame by frame. followed: also the cues of followed
    points and landmark pairs (landmark, flow, nose parallax, context), which the shipped
    rule does not weigh; without them a frame costs the track its landmarks and, every
    FLOW_SPAN frames, one dense nose shift."""

    followed: bool = True
    landmarks: list[np.ndarray] = field(default_factory=list)
    # (frames seen when measured, value): so the cues can be read as they stood at any frame.
    flow: list[tuple[int, float]] = field(default_factory=list)
    context: list[tuple[int, float]] = field(default_factory=list)
    nose: list[tuple[int, float]] = field(default_factory=list)
    shift: list[tuple[int, float]] = field(default_factory=list)  # the nose's, densely
    _points0: np.ndarray | None = None
    _points: np.ndarray | None = None
    _ring: np.ndarray | None = None
    _ring0: np.ndarray | None = None
    _age: int = 0
    _size: float = 1.0
    _box: np.ndarray | None = None  # the face's box in the last frame
    _nose0: np.ndarray | None = None
    _nose: np.ndarray | None = None
    _nose_at: np.ndarray | None = None  # the nose landmark when the points were seeded
    _iod: float = 0.0  # and the distance between the eyes then
    # nose_shift's span: its first frame, the face's box and landmarks in it
    _span0: tuple[np.ndarray, np.ndarray, np.ndarray] | None = None
    _span_age: int = 0

    def update(
        self,
        prev_gray: np.ndarray | None,
        gray: np.ndarray,
        box: np.ndarray,
        landmarks: np.ndarray,
        contiguous: bool,
    ) -> None:
        """One frame of the track. contiguous: the track was also seen in the previous frame
        (optical flow needs two consecutive pictures of the face)."""
        self.landmarks.append(np.asarray(landmarks, np.float32).copy())
        self._size = float(max(box[2], box[3], 1.0))
        box = np.asarray(box, np.float32)
        prev_box, self._box = self._box, box
        self._shift_span(gray, box, prev_gray is not None and contiguous)
        if not self.followed:
            return
        if prev_gray is None or not contiguous or self._points is None or prev_box is None:
            self._seed(gray, box)
            return
        # The face's points are looked for where the detector's box says the face went (its
        # shift and change of size): a face crossing the view fast moves further between two
        # frames than optical flow can search, and the flow need only find what the box does
        # not explain (the parallax). The points around the face are looked for where they
        # were: the wall behind a head stays put.
        motion = _box_motion(prev_box, box)
        pts, ok = _follow(prev_gray, gray, self._points, motion)
        if self._nose is not None and len(self._nose):
            nose, nose_ok = _follow(prev_gray, gray, self._nose, motion)
            self._nose0, self._nose = self._nose0[nose_ok], nose[nose_ok]
        ring, ring_ok = (
            _follow(prev_gray, gray, self._ring) if self._ring is not None else (None, None)
        )
        keep = ok
        self._points0, self._points = self._points0[keep], pts[keep]
        if ring is not None:
            self._ring0, self._ring = self._ring0[ring_ok], ring[ring_ok]
        self._age += 1
        if self._age >= FLOW_SPAN or len(self._points) < 12:
            self._measure()
            self._seed(gray, box)

    def _seed(self, gray: np.ndarray, box: np.ndarray) -> None:
        x, y, w, h = (float(v) for v in box)
        inner = _corners(gray, x + 0.15 * w, y + 0.1 * h, 0.7 * w, 0.85 * h, 60)
        ring = np.concatenate(
            [
                _corners(gray, x - 0.7 * w, y - 0.2 * h, 0.6 * w, 1.0 * h, 20),  # beside
                _corners(gray, x + 1.1 * w, y - 0.2 * h, 0.6 * w, 1.0 * h, 20),
                _corners(gray, x - 0.3 * w, y - 0.7 * h, 1.6 * w, 0.55 * h, 20),  # above
            ]
        )
        self._points0, self._points = inner, inner.copy()
        self._ring0, self._ring = ring, ring.copy()
        self._age = 0
        marks = self.landmarks[-1]  # update() keeps this frame's landmarks before seeding
        self._iod = float(np.linalg.norm(marks[1] - marks[0]))
        self._nose_at = marks[2].copy()
        r = NOSE_RADIUS * self._iod
        found = _corners(gray, marks[2][0] - r, marks[2][1] - r, 2 * r, 2 * r, NOSE_POINTS, 2)
        near = np.linalg.norm(found - marks[2], axis=1) <= r
        self._nose0, self._nose = found[near], found[near].copy()

    def _measure(self) -> None:
        if self._points is None or len(self._points) < 8 or self._age < 2:
            return
        h, _ = cv2.findHomography(self._points0, self._points, cv2.LMEDS)
        if h is None:
            return
        moved = cv2.perspectiveTransform(self._points0[:, None], h)[:, 0]
        residual = float(np.median(np.linalg.norm(moved - self._points, axis=1))) / self._size
        if residual > MAX_FLOW_RESIDUAL:
            return
        self.flow.append((len(self.landmarks), residual))
        self._measure_nose()
        motion = float(np.median(np.linalg.norm(self._points - self._points0, axis=1)))
        if self._ring is None or len(self._ring) < 6 or motion < MIN_FACE_MOTION:
            return
        ring_moved = cv2.perspectiveTransform(self._ring0[:, None], h)[:, 0]
        follows = np.linalg.norm(ring_moved - self._ring, axis=1) < max(1.0, 0.25 * motion)
        self.context.append((len(self.landmarks), float(np.mean(follows))))

    def _measure_nose(self) -> None:
        # (_nose and _nose_at are seeded and cleared together.)
        if self._nose is None or len(self._nose) < 3 or self._iod < MIN_IOD:
            return
        away = np.linalg.norm(self._points0 - self._nose_at, axis=1) > PLANE_CLEARANCE * self._iod
        if away.sum() < 8:
            return
        h, _ = cv2.findHomography(self._points0[away], self._points[away], cv2.LMEDS)
        if h is None:
            return
        moved = cv2.perspectiveTransform(self._nose0[:, None], h)[:, 0]
        residual = float(np.median(np.linalg.norm(moved - self._nose, axis=1))) / self._size
        if residual <= MAX_FLOW_RESIDUAL:
            self.nose.append((len(self.landmarks), residual))

    def _shift_span(self, gray: np.ndarray, box: np.ndarray, contiguous: bool) -> None:
        """nose_shift's own spans: every FLOW_SPAN frames of a face seen without a gap, on
        the pictures alone (no followed points, which a small or plain face does not give)."""
        if not contiguous or self._span0 is None:
            self._span0, self._span_age = (gray, box, self.landmarks[-1]), 0
            return
        self._span_age += 1
        if self._span_age < FLOW_SPAN:
            return
        shift = _nose_shift(*self._span0, gray, box)
        if shift is not None:
            self.shift.append((len(self.landmarks), shift))
        self._span0, self._span_age = (gray, box, self.landmarks[-1]), 0

    def finish(self) -> None:
        """The face is gone (for now): measure the span in progress. If it comes back, its
        flow starts afresh (the next update seeds new points)."""
        if self.followed:
            self._measure()
        self._points0 = self._points = None
        self._nose0 = self._nose = self._nose_at = None
        self._span0 = None

    def landmark_parallax(self, upto: int | None = None) -> list[float]:
        """Nose-tip residuals (in inter-ocular distances) over frame pairs MIN_SPAN+ apart,
        among the last LANDMARK_WINDOW frames up to frame ``upto``."""
        marks = self.landmarks[:upto][-LANDMARK_WINDOW:]
        iods = [float(np.linalg.norm(m[1] - m[0])) for m in marks]
        out = []
        for i in range(len(marks)):
            if iods[i] < MIN_IOD:
                continue
            for j in range(i + MIN_SPAN, len(marks)):
                if iods[j] < MIN_IOD:
                    continue
                try:
                    h = cv2.getPerspectiveTransform(marks[i][[0, 1, 3, 4]], marks[j][[0, 1, 3, 4]])
                except cv2.error:
                    continue
                nose = cv2.perspectiveTransform(marks[i][None, [2]], h)[0, 0]
                out.append(float(np.linalg.norm(nose - marks[j][2])) / iods[j])
        return out

    def features(self, upto: int | None = None) -> LivenessFeatures:
        """The cues as they stood after ``upto`` frames of the track (None: now)."""
        n = len(self.landmarks) if upto is None else min(upto, len(self.landmarks))
        pairs = self.landmark_parallax(n) if self.followed else []
        flow = [v for k, v in self.flow if k <= n]
        context = [v for k, v in self.context if k <= n]
        nose = [v for k, v in self.nose if k <= n]
        shift = [v for k, v in self.shift if k <= n]
        return LivenessFeatures(
            frames=n,
            landmark_parallax=float(np.percentile(pairs, 75)) if pairs else 0.0,
            flow_parallax=float(np.median(flow)) if flow else 0.0,
            context_follows=float(np.mean(context)) if context else -1.0,
            flow_spans=len(flow),
            # The upper quartile: a head shows its depth only while it turns, and a track of a
            # few spans has only some where it does. (With one or two spans measured, it is
            # mostly the larger: a running track waits for flow spans, not for nose spans.)
            nose_parallax=float(np.percentile(nose, 75)) if nose else 0.0,
            # The largest and the second largest span: the nose stood out at least this far
            # in one span, in two (LivenessRule.shift_rank picks). Both only grow as a track
            # runs, where a median or a quartile over a running track's first spans let
            # pictures through (stop 31's diagnostics).
            nose_shift=sorted(shift)[-2] if len(shift) >= 2 else 0.0,
            nose_shift_max=max(shift, default=0.0),
            shift_spans=len(shift),
            followed=self.followed,
        )


@dataclass(frozen=True)
class LivenessFeatures:
    frames: int
    landmark_parallax: float
    flow_parallax: float
    context_follows: float  # -1: not measurable (the face hardly moved)
    flow_spans: int = 0  # flow measurements behind flow_parallax
    nose_parallax: float = 0.0
    nose_shift: float = 0.0  # in the second largest span
    shift_spans: int = 0  # spans behind nose_shift
    nose_shift_max: float = 0.0  # in the largest span
    followed: bool = True  # the followed points' cues were measured (LivenessProbe.followed)

    def failed(self, spans: int) -> str:
        """For staff, why a track that was not judged live (on ``spans`` nose spans) was
        not: its nose never measured, or a picture's motion (over the one span measured,
        when it gave fewer than the rule reads)."""
        if self.frames < FLOW_SPAN + 1:  # not with the shipped rule (min_frames 4)
            return "seen too briefly to tell"
        if self.shift_spans == 0:
            return "its nose could not be measured (too small a face, or not seen steadily)"
        if self.shift_spans < spans:
            return "moved like a flat picture in the one span measured"
        return "moved like a flat picture"

    def describe(self) -> str:
        """For staff: what the track gave, in words (the numbers are as_dict's)."""
        dense = (
            f"{self.nose_shift_max:.4f} at most, {self.nose_shift:.4f} in the second largest "
            f"of {self.shift_spans} span(s)"
        )
        if not self.followed:
            return f"{self.frames} frames; the nose off the face's plane {dense}"
        follows = (
            "not measurable"
            if self.context_follows < 0
            else f"{self.context_follows:.0%} of the surroundings moved with the face"
        )
        return (
            f"{self.frames} frames; nose off the face's plane {self.landmark_parallax:.3f}, "
            f"depth in its motion {self.flow_parallax:.4f} over {self.flow_spans} span(s), "
            f"of the nose {self.nose_parallax:.4f} (densely {dense}); {follows}"
        )

    def as_dict(self) -> dict[str, float]:
        dense = {
            "nose_shift": round(self.nose_shift, 5),
            "nose_shift_max": round(self.nose_shift_max, 5),
            "shift_spans": self.shift_spans,
        }
        if not self.followed:
            return {"frames": self.frames, **dense}
        return {
            "frames": self.frames,
            "flow_spans": self.flow_spans,
            "landmark_parallax": round(self.landmark_parallax, 4),
            "flow_parallax": round(self.flow_parallax, 5),
            "context_follows": round(self.context_follows, 3),
            "nose_parallax": round(self.nose_parallax, 5),
            **dense,
        }


@dataclass(frozen=True)
class LivenessRule:
    """How the cues are combined. The numbers are bench/bench_entrance.py's calibration
    procedure (`--clips 6 --own-rule`, 2026-12-07, stop 32) on the first half of its 48
    people: 144 live passers drawn with their whole head and 288 printed-photo and phone
    attacks at 720p, 8 fps; the weights and threshold with the lowest balanced error,
    max(APCER, BPCER), ties going to the rule with fewer cues: 0.0% / 0.0% there, the
    second largest span's shift of every live passer above every picture's (4.9 against 4.2
    thousandths of the face's height at the closest). On the other half (144 live, 288
    attacks) APCER 0.3% (one phone, at 4.6 thousandths) at BPCER 0.0% (the closest live
    passer at 6.5). Stop 31's rule (its shift taken off the followed points' warp with a
    translation) gave 5.9% at 16.0% there. In effect: live once the nose stood out of the
    face's plane by 0.46% of the face's height in two spans, or, for a face gone after one
    span, 0.64% in that one (the threshold of the same weights read in the largest span).
    Only ratios matter: all scales times c, the thresholds and the context weight divided
    by c, give the same verdicts."""

    min_frames: int = 4
    min_flow_spans: int = 2
    # Infinite: the cue weighed down to nothing. The calibration leaves out the landmark cue,
    # the whole face's flow, the nose's followed points and (since stop 32) the context: the
    # dense shift says what they say, less noisily.
    landmark_scale: float = np.inf
    flow_scale: float = np.inf
    context_weight: float = 0.0
    threshold: float = 9.127
    nose_scale: float = np.inf
    shift_scale: float = 0.0005
    shift_rank: int = 2  # the nose's dense shift in its largest span (1) or second (2)
    # A track gone before it gave shift_rank spans is judged on its largest span against this
    # (see is_live).
    brief_threshold: float = 12.794

    def __post_init__(self) -> None:
        if self.shift_rank not in (1, 2):
            raise ValueError(f"shift_rank is 1 or 2, not {self.shift_rank}")

    def score(self, f: LivenessFeatures, rank: int | None = None) -> float:
        """Higher is more like a live head: parallax (any cue) less picture-like context.
        rank: read the dense shift in this span (largest 1, second 2) instead of shift_rank."""
        shift = f.nose_shift_max if (rank or self.shift_rank) == 1 else f.nose_shift
        parallax = max(
            f.landmark_parallax / self.landmark_scale,
            f.flow_parallax / self.flow_scale,
            f.nose_parallax / self.nose_scale,
            shift / self.shift_scale,
        )
        context = max(0.0, f.context_follows) * self.context_weight
        return parallax - context

    def is_live(self, f: LivenessFeatures, final: bool = False) -> bool | None:
        """True / False, or None while the track is too short to tell (fewer than
        min_frames, or, running, fewer nose spans than the rule reads). While a track runs,
        a live verdict also waits for min_flow_spans flow measurements, or for the nose
        spans the dense shift is read from (shift_rank): the cues of its first frames rest
        on one or two frame pairs, and a picture tilted in the hand can look deep in those
        (the early maximum let phone screens through). A track that has
        ended (final) is judged on everything it gave, so a short visit is still decided."""
        if f.frames < self.min_frames:
            return None
        if f.shift_spans < self.shift_rank:
            if final:
                # Gone before the spans the rule reads (a visit of half a second gives one):
                # judged on the largest span it gave, against the threshold a rule reading
                # the largest span was calibrated to, which sits above the largest span of
                # nearly every calibration picture's whole track.
                return self.score(f, rank=1) >= self.brief_threshold
            if self.score(f) < self.threshold:
                return None  # its nose not read yet: judged once it is, or at its end
        elif self.score(f) < self.threshold:
            return False
        return True if final or self.settled(f) else None

    @property
    def weighs_followed_points(self) -> bool:
        """Whether any cue of followed points or landmark pairs counts (else a probe need
        not measure them: LivenessProbe.followed)."""
        scales = (self.landmark_scale, self.flow_scale, self.nose_scale)
        return bool(np.isfinite(scales).any()) or self.context_weight > 0

    def settled(self, f: LivenessFeatures) -> bool:
        """Whether a running track has given the evidence a live verdict waits for."""
        return f.flow_spans >= self.min_flow_spans or f.shift_spans >= self.shift_rank


def _nose_shift(
    before: np.ndarray,
    before_box: np.ndarray,
    marks: np.ndarray,
    after: np.ndarray,
    box: np.ndarray,
) -> float | None:
    """How far the nose moved off the plane of the rest of the face over one span, as a share
    of the face's height. Both pictures are cut to the face's box at SHIFT_HEIGHT px (the
    detector's boxes take out the face's own shift and change of size), the DIS flow between
    them is fitted with one homography over the face away from the nose (LMedS: a picture's
    flow is one homography, whatever way it is tilted), and what the homography leaves over
    the nose's disc, averaged, is the cue. A picture leaves noise, which averages out over
    the disc's pixels; a turning head leaves its nose's shift against its cheeks, which does
    not. ``marks`` are the span's first frame's landmarks: the flow is laid out on the first
    cut. None when the face is too small for the disc to mean anything, or when the nose is
    near the frame's edge in either frame (beyond it the cut is black, and a black edge
    moving across a picture's cut is not one homography)."""
    iod = float(np.linalg.norm(marks[1] - marks[0]))
    if iod < MIN_IOD:
        return None
    size = (max(8, int(round(box[2] * SHIFT_HEIGHT / max(box[3], 1.0)))), SHIFT_HEIGHT)
    ys, xs = np.mgrid[0 : size[1], 0 : size[0]]
    crops, scales, inside = [], [], np.ones(xs.shape, bool)
    for image, (x, y, w, h) in ((before, before_box), (after, box)):
        kx, ky = size[0] / max(float(w), 1.0), SHIFT_HEIGHT / max(float(h), 1.0)
        to_crop = np.array([[kx, 0, -kx * x], [0, ky, -ky * y]], np.float64)
        crops.append(cv2.warpAffine(image, to_crop, size, flags=cv2.INTER_LINEAR))
        scales.append((kx, ky))
        # Where this cut shows the frame, EDGE px clear of its edge (DIS's patches reach
        # that far), in the first cut's layout (the boxes differ by little over a span).
        fx, fy = xs / kx + x, ys / ky + y
        height, width = image.shape[:2]
        inside &= (fx >= EDGE / kx) & (fx <= width - 1 - EDGE / kx)
        inside &= (fy >= EDGE / ky) & (fy <= height - 1 - EDGE / ky)
    flow = _DIS.calc(crops[0], crops[1], None)
    nose = (marks[2] - before_box[:2]) * scales[0]  # on the first cut, where the flow is laid
    scale = iod * scales[0][1]
    off = np.hypot(xs - nose[0], ys - nose[1])
    disc = off <= NOSE_RADIUS * scale
    # The rest of the face: away from the nose and from the box's edges (the background).
    rest = (
        (off > PLANE_CLEARANCE * scale)
        & (xs > 0.1 * size[0])
        & (xs < 0.9 * size[0])
        & (ys > 0.1 * size[1])
        & (ys < 0.95 * size[1])
        & inside
    )
    if disc.sum() < 10 or not inside[disc].all() or rest.sum() < 50:
        return None
    # Every other pixel of the rest: plenty for one homography, half the cost.
    src = np.ascontiguousarray(np.stack([xs[rest], ys[rest]], 1)[::2], np.float32)
    plane, _ = cv2.findHomography(src, src + flow[rest][::2], cv2.LMEDS)
    if plane is None:
        return None
    at = np.stack([xs[disc], ys[disc]], 1).astype(np.float32)
    expected = cv2.perspectiveTransform(at[:, None], plane)[:, 0] - at
    return float(np.linalg.norm((flow[disc] - expected).mean(axis=0))) / SHIFT_HEIGHT


def _corners(
    gray: np.ndarray, x: float, y: float, w: float, h: float, n: int, spacing: int = 0
) -> np.ndarray:
    """Up to n corners in the rectangle, at least ``spacing`` px apart (0: a twelfth of its
    width, at least 3)."""
    gh, gw = gray.shape[:2]
    x0, y0 = int(max(0, x)), int(max(0, y))
    x1, y1 = int(min(gw, x + w)), int(min(gh, y + h))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return np.zeros((0, 2), np.float32)
    spacing = spacing or max(3, (x1 - x0) // 12)
    found = cv2.goodFeaturesToTrack(gray[y0:y1, x0:x1], n, 0.01, spacing)
    if found is None:
        return np.zeros((0, 2), np.float32)
    return (found[:, 0] + np.float32([x0, y0])).astype(np.float32)


def _box_motion(before: np.ndarray, after: np.ndarray) -> Callable[[np.ndarray], np.ndarray]:
    """Where a point moving with a face box goes: the box's shift and change of size."""
    c0 = before[:2] + before[2:] / 2
    c1 = after[:2] + after[2:] / 2
    scale = float(np.sqrt(after[2] * after[3] / max(before[2] * before[3], 1.0)))
    return lambda points: ((points - c0) * scale + c1).astype(np.float32)


def _follow(
    prev: np.ndarray,
    gray: np.ndarray,
    points: np.ndarray | None,
    motion: Callable[[np.ndarray], np.ndarray] | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Points followed from prev to gray, and which of them can be trusted: found both ways,
    and followed back from gray they land within FB_ERROR px of where they started (the
    forward-backward check). Without it a face crossing the frame fast (80 px a frame) lost
    its points, and the lost points' scatter read as a head's parallax, 30 times a real one."""
    if points is None or not len(points):
        return np.zeros((0, 2), np.float32), np.zeros(0, bool)
    lk = dict(winSize=(15, 15), maxLevel=3, flags=cv2.OPTFLOW_USE_INITIAL_FLOW)
    start = np.ascontiguousarray(points.reshape(-1, 1, 2), np.float32)
    guess = start.copy() if motion is None else motion(points).reshape(-1, 1, 2)
    nxt, status, _ = cv2.calcOpticalFlowPyrLK(prev, gray, start, guess, **lk)
    back, status_back, _ = cv2.calcOpticalFlowPyrLK(gray, prev, nxt, start.copy(), **lk)
    round_trip = np.linalg.norm(back[:, 0] - points, axis=1)
    ok = (status[:, 0] == 1) & (status_back[:, 0] == 1) & (round_trip < FB_ERROR)
    return nxt[:, 0], ok
