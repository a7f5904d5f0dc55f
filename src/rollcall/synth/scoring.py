"""Score what an attendance run reported against the script the recording was made from."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from rollcall.synth.gallery import TileTruth
from rollcall.synth.script import AttendanceScript


@dataclass(frozen=True, slots=True)
class AttendanceScore:
    """How a run's marks compare with who was really seen.

    A false present (marked, face never on screen) is the worst error; a miss (on screen long
    enough but not marked) is the next; first-seen errors are observed minus true, in seconds,
    so a positive value means the run noticed the person late.
    """

    true_present: list[str]
    false_present: list[str]
    missed: list[str]
    correct_absent: list[str]
    first_seen_errors: dict[str, float] = field(default_factory=dict)

    @property
    def median_first_seen_error(self) -> float | None:
        errors = list(self.first_seen_errors.values())
        return statistics.median(errors) if errors else None

    @property
    def max_first_seen_error(self) -> float | None:
        errors = list(self.first_seen_errors.values())
        return max(errors, key=abs) if errors else None

    @property
    def precision(self) -> float:
        marked = len(self.true_present) + len(self.false_present)
        return len(self.true_present) / marked if marked else 1.0

    @property
    def recall(self) -> float:
        due = len(self.true_present) + len(self.missed)
        return len(self.true_present) / due if due else 1.0

    def summary(self) -> str:
        median = self.median_first_seen_error
        late = "n/a" if median is None else f"{median:+.1f}s"
        return (
            f"{len(self.true_present)} present, {len(self.false_present)} false present, "
            f"{len(self.missed)} missed, {len(self.correct_absent)} correctly absent; "
            f"median first-seen error {late}"
        )


def score_attendance(
    script: AttendanceScript,
    expected: Iterable[str],
    observed: Mapping[str, float | None],
    *,
    min_visible_s: float = 0.0,
) -> AttendanceScore:
    """Compare ``observed`` (name -> first-seen time, None = not marked) with the script.

    ``expected`` is the roster being checked; names marked but not on it are scored too. People
    whose face was on screen for less than ``min_visible_s`` in total are not counted as missed
    when unmarked (nobody could be expected to catch them), but marking them is still right.
    """
    marked = {name: t for name, t in observed.items() if t is not None}
    names = list(dict.fromkeys([*expected, *marked]))
    true_present, false_present, missed, correct_absent = [], [], [], []
    errors: dict[str, float] = {}
    for name in names:
        truth = script.first_seen(name) if name in script.presence else None
        if name in marked:
            if truth is None:
                false_present.append(name)
            else:
                true_present.append(name)
                errors[name] = marked[name] - truth
        elif truth is not None and script.seen_duration(name) >= min_visible_s:
            missed.append(name)
        else:
            correct_absent.append(name)
    return AttendanceScore(true_present, false_present, missed, correct_absent, errors)


# -- sample by sample ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NamedFace:
    """A face a run named in one sample, where it was on the frame."""

    person: str
    box: tuple[int, int, int, int]


@dataclass(frozen=True, slots=True)
class SampleRecord:
    """What a run recorded for one sample: its time, its head count and the faces it named."""

    t: float
    count: int
    named: tuple[NamedFace, ...] = ()


@dataclass(frozen=True, slots=True)
class WrongName:
    t: float
    person: str  # the name the run gave
    shown: str  # what was really there: a name, "a poster of X", "a camera-off tile", ...


@dataclass
class SampleScore:
    """What a user would see, judged sample by sample against whose face was really where.

    *Credited seconds while absent*: at every sample, each person the run credits (named on a
    face, or inside one of their presence intervals) whose face is not on screen then adds the
    time until the next sample. It is 0 only if no identity was ever handed to the wrong face
    and no presence interval spans a sample in which its person was not there. Join errors are
    first credited minus first on screen; leave errors are last on screen minus last credited.
    """

    samples: int = 0
    named_faces: int = 0
    wrong_names: list[WrongName] = field(default_factory=list)
    credited_absent: dict[str, float] = field(default_factory=dict)
    join_errors: dict[str, float] = field(default_factory=dict)
    leave_errors: dict[str, float] = field(default_factory=dict)
    head_counts_exact: int = 0
    head_count_misses: list[tuple[float, int, int]] = field(default_factory=list)
    gaps: list[float] = field(default_factory=list)

    @property
    def credited_absent_s(self) -> float:
        return sum(self.credited_absent.values())

    @property
    def wrong_per_1000(self) -> float:
        return 1000.0 * len(self.wrong_names) / self.named_faces if self.named_faces else 0.0

    @property
    def median_gap(self) -> float | None:
        return statistics.median(self.gaps) if self.gaps else None

    def median_error_in_gaps(self, errors: Mapping[str, float]) -> float | None:
        gap = self.median_gap
        if not errors or not gap:
            return None
        return statistics.median(errors.values()) / gap

    def summary(self) -> str:
        join = self.median_error_in_gaps(self.join_errors)
        return (
            f"{self.samples} samples, {self.named_faces} named faces, "
            f"{len(self.wrong_names)} wrong names, "
            f"{self.credited_absent_s:.0f} s credited while absent, head counts exact "
            f"{self.head_counts_exact}/{self.samples}, median join error "
            f"{'n/a' if join is None else f'{join:.2f}'} gaps"
        )


TruthAt = Callable[[float], Sequence[TileTruth]]


def shown_at(tiles: Sequence[TileTruth], box: tuple[int, int, int, int]) -> tuple[str | None, str]:
    """Whose face a box on the frame shows: (participant name or None, what it is in words)."""
    x, y, w, h = box
    cx, cy = x + w / 2, y + h / 2

    def inside(rect: tuple[int, int, int, int]) -> bool:
        rx, ry, rw, rh = rect
        return rx <= cx < rx + rw and ry <= cy < ry + rh

    for tile in tiles:
        if tile.poster_rect is not None and inside(tile.poster_rect):
            return None, f"a poster of {tile.poster}"
    for tile in tiles:
        if inside(tile.rect):
            if tile.face is None:
                return None, f"{tile.name}'s tile with the camera off"
            return tile.face, tile.face
    return None, "no tile"


def score_samples(
    truth: TruthAt,
    samples: Sequence[SampleRecord],
    intervals: Mapping[str, Sequence[tuple[float, float]]],
    first_last: Mapping[str, tuple[float | None, float | None]],
    script: AttendanceScript,
    end_t: float,
) -> SampleScore:
    """Judge every named face of every sample, and every credited person at every sample.

    ``truth(t)`` gives the tiles of the frame a sample at ``t`` read (Recording.tiles_at);
    ``intervals`` the stored presence intervals per person as (start, end or last seen);
    ``first_last`` each person's reported first and last seen times.
    """
    out = SampleScore(samples=len(samples))
    eps = 1e-6
    for i, sample in enumerate(samples):
        nxt = samples[i + 1].t if i + 1 < len(samples) else end_t
        weight = max(0.0, nxt - sample.t)
        if i + 1 < len(samples):
            out.gaps.append(weight)
        tiles = truth(sample.t)
        # (A picture of someone used as a camera shows their face, not them.)
        on_screen = {tile.face for tile in tiles if tile.face is not None and not tile.picture}
        faces_here = sum(1 for tile in tiles if tile.face is not None)
        if sample.count == faces_here:
            out.head_counts_exact += 1
        else:
            out.head_count_misses.append((sample.t, sample.count, faces_here))
        credited = set()
        for face in sample.named:
            out.named_faces += 1
            who, what = shown_at(tiles, face.box)
            if who != face.person:
                out.wrong_names.append(WrongName(sample.t, face.person, what))
            credited.add(face.person)
        for person, spans in intervals.items():
            if any(a - eps <= sample.t <= b + eps for a, b in spans):
                credited.add(person)
        for person in credited - on_screen:
            out.credited_absent[person] = out.credited_absent.get(person, 0.0) + weight
    for person, (first, last) in first_last.items():
        true_first, true_last = script.first_seen(person), script.last_seen(person)
        if first is not None and true_first is not None:
            out.join_errors[person] = first - true_first
        if last is not None and true_last is not None:
            out.leave_errors[person] = true_last - last
    return out
