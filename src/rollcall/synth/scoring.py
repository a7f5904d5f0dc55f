"""Score what an attendance run reported against the script the recording was made from."""

from __future__ import annotations

import statistics
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

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
