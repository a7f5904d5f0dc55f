"""A seeded meeting script: who joins, leaves, turns the camera off; the truth for scoring."""

from __future__ import annotations

import bisect
import json
import random
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Interval = tuple[float, float]  # [start, end) in seconds from the start of the recording

SCRIPT_VERSION = 1


@dataclass(frozen=True, slots=True)
class ScriptTile:
    """One participant's tile at some moment: whether their face can be seen, and if enrolled."""

    name: str
    camera_on: bool
    stranger: bool = False


@dataclass
class AttendanceScript:
    """Who is in the meeting when, in what tile order, and with the camera on or off.

    ``people`` is the enrolled roster (what attendance is expected against); ``strangers`` join
    but are not enrolled. ``presence`` holds every participant's [join, leave) intervals (an empty
    list means absent) and ``camera_off`` the stretches inside them with no face to see. Tiles
    follow join order like meeting apps: a (re)joiner goes to the end, and tiles reflow when
    someone leaves; only the first ``page_size`` tiles are on screen.
    """

    duration_s: float
    seed: int
    people: list[str]
    strangers: list[str] = field(default_factory=list)
    presence: dict[str, list[Interval]] = field(default_factory=dict)
    camera_off: dict[str, list[Interval]] = field(default_factory=dict)
    page_size: int = 49
    _starts: list[float] = field(init=False, repr=False, compare=False)
    _tiles: list[tuple[ScriptTile, ...]] = field(init=False, repr=False, compare=False)
    _seen: dict[str, list[Interval]] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        self.people = list(self.people)
        self.strangers = list(self.strangers)
        names = self.people + self.strangers
        if len(set(names)) != len(names):
            raise ValueError("a name appears twice among people and strangers")
        self.presence = {n: _clean(self.presence.get(n, ()), n) for n in names}
        self.camera_off = {n: _clean(v, n) for n, v in self.camera_off.items() if v}
        for name, intervals in self.presence.items():
            if intervals and (intervals[0][0] < 0 or intervals[-1][1] > self.duration_s):
                raise ValueError(f"{name} is present outside [0, {self.duration_s}]")
        for name, intervals in self.camera_off.items():
            if name not in self.presence:
                raise ValueError(f"camera_off names {name}, who is not a participant")
            for a, b in intervals:
                if not any(pa <= a and b <= pb for pa, pb in self.presence[name]):
                    raise ValueError(f"{name} has the camera off while not in the meeting")
        self._build_timeline()

    # -- ground truth -------------------------------------------------------------------------

    @property
    def participants(self) -> list[str]:
        return self.people + self.strangers

    @property
    def absent(self) -> list[str]:
        """Roster names who never join."""
        return [n for n in self.people if not self.presence[n]]

    def change_times(self) -> list[float]:
        """Times at which the tiles on screen change (the first is 0)."""
        return list(self._starts)

    def tiles_at(self, t: float) -> tuple[ScriptTile, ...]:
        """The tiles on screen at ``t``, in gallery order."""
        if t < 0 or t >= self.duration_s:
            return ()
        return self._tiles[bisect.bisect_right(self._starts, t) - 1]

    def present_at(self, t: float) -> list[str]:
        """Everyone in the meeting at ``t`` on screen, camera on or off."""
        return [tile.name for tile in self.tiles_at(t)]

    def visible_at(self, t: float, include_strangers: bool = True) -> list[str]:
        """Names whose face is on screen at ``t``, in tile order."""
        return [
            tile.name
            for tile in self.tiles_at(t)
            if tile.camera_on and (include_strangers or not tile.stranger)
        ]

    def present_intervals(self, name: str) -> list[Interval]:
        """When ``name`` was in the meeting (camera on or off)."""
        return list(self.presence[name])

    def seen_intervals(self, name: str) -> list[Interval]:
        """When ``name``'s face was on screen: present, camera on, on the first page."""
        return list(self._seen.get(name, ()))

    def seen_duration(self, name: str) -> float:
        return sum(b - a for a, b in self.seen_intervals(name))

    def first_seen(self, name: str) -> float | None:
        seen = self._seen.get(name)
        return seen[0][0] if seen else None

    def last_seen(self, name: str) -> float | None:
        """The end (exclusive) of the last stretch in which ``name``'s face was on screen."""
        seen = self._seen.get(name)
        return seen[-1][1] if seen else None

    # -- serialisation ------------------------------------------------------------------------

    def to_dict(self) -> dict:
        return {
            "version": SCRIPT_VERSION,
            "duration_s": self.duration_s,
            "seed": self.seed,
            "page_size": self.page_size,
            "people": self.people,
            "strangers": self.strangers,
            "presence": {n: [list(iv) for iv in v] for n, v in self.presence.items()},
            "camera_off": {n: [list(iv) for iv in v] for n, v in self.camera_off.items()},
        }

    @classmethod
    def from_dict(cls, data: dict) -> AttendanceScript:
        if data.get("version") != SCRIPT_VERSION:
            raise ValueError(f"unsupported script version {data.get('version')!r}")
        return cls(
            duration_s=float(data["duration_s"]),
            seed=int(data["seed"]),
            people=list(data["people"]),
            strangers=list(data.get("strangers", [])),
            presence={n: [tuple(iv) for iv in v] for n, v in data["presence"].items()},
            camera_off={n: [tuple(iv) for iv in v] for n, v in data.get("camera_off", {}).items()},
            page_size=int(data.get("page_size", 49)),
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> AttendanceScript:
        return cls.from_dict(json.loads(text))

    # -- internals ----------------------------------------------------------------------------

    def _build_timeline(self) -> None:
        """Precompute the tiles of every stretch between two events; everything else reads it."""
        bounds = {0.0, float(self.duration_s)}
        for intervals in (*self.presence.values(), *self.camera_off.values()):
            for a, b in intervals:
                bounds.update((a, b))
        edges = sorted(b for b in bounds if 0 <= b <= self.duration_s)
        strangers = set(self.strangers)
        rank = {n: i for i, n in enumerate(self.participants)}
        self._starts, self._tiles, self._seen = [], [], {}
        for a, b in zip(edges, edges[1:], strict=False):
            mid = (a + b) / 2
            here = []
            for name, intervals in self.presence.items():
                joined = next((ja for ja, jb in intervals if ja <= mid < jb), None)
                if joined is not None:
                    here.append((joined, rank[name], name))
            here.sort()
            tiles = tuple(
                ScriptTile(n, not _inside(self.camera_off.get(n, ()), mid), n in strangers)
                for _, _, n in here[: self.page_size]
            )
            if self._tiles and self._tiles[-1] == tiles:
                continue
            self._starts.append(a)
            self._tiles.append(tiles)
        for i, tiles in enumerate(self._tiles):
            start = self._starts[i]
            end = self._starts[i + 1] if i + 1 < len(self._starts) else float(self.duration_s)
            for tile in tiles:
                if tile.camera_on:
                    seen = self._seen.setdefault(tile.name, [])
                    if seen and seen[-1][1] == start:
                        seen[-1] = (seen[-1][0], end)
                    else:
                        seen.append((start, end))


def _inside(intervals: Iterable[Interval], t: float) -> bool:
    return any(a <= t < b for a, b in intervals)


def _clean(intervals: Iterable[Sequence[float]], name: str) -> list[Interval]:
    """Sorted, non-empty, non-overlapping intervals as float tuples; anything else is a bug."""
    out = sorted((float(a), float(b)) for a, b in intervals)
    for a, b in out:
        if not a < b:
            raise ValueError(f"{name} has an empty or reversed interval [{a}, {b})")
    for (_, b1), (a2, _) in zip(out, out[1:], strict=False):
        if a2 < b1:
            raise ValueError(f"{name} has overlapping intervals")
    return out


def make_script(
    people: Sequence[str],
    duration_s: float,
    seed: int,
    strangers: Sequence[str] = (),
    *,
    absent_fraction: float = 0.1,
    late_fraction: float = 0.2,
    early_leave_fraction: float = 0.15,
    rejoin_fraction: float = 0.15,
    camera_off_fraction: float = 0.15,
    join_window_s: float | None = None,
    page_size: int = 49,
) -> AttendanceScript:
    """A realistic meeting for ``people`` (the roster) plus unenrolled ``strangers``.

    Most people join within ``join_window_s`` (default: the first 10%, at most 3 minutes); the
    fractions say how many never come, come late, leave early, drop out and rejoin, or turn the
    camera off for a while. The same arguments always give the same script.
    """
    if duration_s <= 0:
        raise ValueError("duration_s must be positive")
    rng = random.Random(seed)  # nosec B311 - seeded for reproducible synthetic data, not security
    d = float(duration_s)
    window = join_window_s if join_window_s is not None else min(180.0, 0.1 * d)
    roster = list(people)
    order = roster[:]
    rng.shuffle(order)
    n_absent = round(len(roster) * absent_fraction)
    absent = set(order[:n_absent])
    attending = [n for n in roster if n not in absent]

    def pick(fraction: float) -> set[str]:
        return set(rng.sample(attending, min(len(attending), round(len(attending) * fraction))))

    late, early, rejoin, camera = (
        pick(late_fraction),
        pick(early_leave_fraction),
        pick(rejoin_fraction),
        pick(camera_off_fraction),
    )
    presence: dict[str, list[Interval]] = {n: [] for n in roster}
    camera_off: dict[str, list[Interval]] = {}
    for name in attending:
        join = rng.uniform(0.15 * d, 0.6 * d) if name in late else rng.uniform(0, window)
        leave = d
        if name in early and max(join + 0.15 * d, 0.55 * d) < 0.92 * d:
            leave = rng.uniform(max(join + 0.15 * d, 0.55 * d), 0.92 * d)
        intervals = [(join, leave)]
        if name in rejoin:
            drop = rng.uniform(join + 0.2 * (leave - join), join + 0.6 * (leave - join))
            back = drop + rng.uniform(0.03 * d, 0.12 * d)
            if back < leave - 0.05 * d:
                intervals = [(join, drop), (back, leave)]
        presence[name] = _ms_all(intervals)
        if name in camera and presence[name]:
            a, b = presence[name][0]
            length = rng.uniform(0.1, 0.5) * (b - a)
            # Joining with the camera off is common and delays when the face is first seen.
            start = a if rng.random() < 0.4 else rng.uniform(a, b - length)
            camera_off[name] = _ms_all([(start, start + length)])
    for name in strangers:
        join = rng.uniform(0, 0.7 * d)
        presence[name] = _ms_all([(join, min(d, join + rng.uniform(0.1, 0.5) * d))])
    return AttendanceScript(
        duration_s=d,
        seed=seed,
        people=roster,
        strangers=list(strangers),
        presence=presence,
        camera_off=camera_off,
        page_size=page_size,
    )


def _ms_all(intervals: Iterable[Interval]) -> list[Interval]:
    """Round to whole milliseconds so the JSON reads cleanly; drop what rounds to nothing."""
    rounded = [(round(a, 3), round(b, 3)) for a, b in intervals]
    return [(a, b) for a, b in rounded if a < b]
