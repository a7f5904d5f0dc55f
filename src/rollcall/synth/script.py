"""A seeded meeting script: who joins, leaves, turns the camera off; the truth for scoring."""

from __future__ import annotations

import bisect
import json
import math
import random
import zlib
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

Interval = tuple[float, float]  # [start, end) in seconds from the start of the recording
SitIn = tuple[float, float, str]  # [start, end) while someone else sits at a tile's camera
Swap = tuple[float, str, str]  # from t on, two participants' tiles trade places
PageView = tuple[float, float, int]  # [start, end) while the viewer shows page n (0 = first)

SCRIPT_VERSION = 2
# The active speaker changes this often (seconds); speaker view shows them in the big tile.
SPEAKER_TURN_S = 6.0
GALLERY, SPEAKER = "gallery", "speaker"


@dataclass(frozen=True, slots=True)
class ScriptTile:
    """One participant's tile at some moment: whose face the camera shows, and what hangs behind.

    ``name`` owns the tile (its label); ``face`` is whose face the camera shows: the owner's
    own, someone else's while they sit at the owner's camera, or None with the camera off.
    ``poster`` is a picture of a face on the wall behind the owner (never a participant).
    """

    name: str
    camera_on: bool
    stranger: bool = False
    face: str | None = None
    poster: str | None = None
    face_is_stranger: bool = False
    label: str | None = None  # the display name on the tile; None: the owner's name
    picture: bool = False  # the camera shows a still picture of ``face``, who is not there

    def __post_init__(self) -> None:
        if not self.camera_on:
            object.__setattr__(self, "face", None)
            object.__setattr__(self, "picture", False)
        elif self.face is None:
            object.__setattr__(self, "face", self.name)
            object.__setattr__(self, "face_is_stranger", self.stranger)


@dataclass(frozen=True, slots=True)
class Screen:
    """What the viewer shows: a page of the gallery, or the speaker big above a strip."""

    view: str  # GALLERY | SPEAKER
    tiles: tuple[ScriptTile, ...]  # drawing order; in speaker view the first is the speaker


@dataclass
class AttendanceScript:
    """Who is in the meeting when, in what tile order, and with the camera on or off.

    ``people`` is the enrolled roster (what attendance is expected against); ``strangers`` join
    but are not enrolled. ``presence`` holds every participant's [join, leave) intervals (an empty
    list means absent) and ``camera_off`` the stretches inside them with no face to see. Tiles
    follow join order like meeting apps: a (re)joiner goes to the end, and tiles reflow when
    someone leaves; only the first ``page_size`` tiles are on screen, or page n of them while
    ``pages`` says the viewer turned to it.

    The hard cases of real meetings are scripted too: ``sit_ins`` (someone else at a
    participant's camera, the tile's label unchanged), ``swaps`` (two tiles trade places, as when
    the host reorders the gallery), ``posters`` (a picture of a face behind a participant) and
    ``speaker_view`` stretches (the active speaker in one big tile, ``strip_size`` others in a
    strip above). A sitter or a poster's subject must be a listed person with a photo.

    Accounts are participants too: ``labels`` gives a participant's display name when it is not
    their own name (a nickname), and ``accounts`` an account whose camera shows someone else's
    face for its whole stay: a friend in an absent student's tile (the proxy case), or a student
    logged in twice, whose second account shows their own face in a second tile. ``pictures``
    are accounts whose camera shows a still picture of their owner (a photo as a virtual
    camera) for their whole stay: the owner is not there, and their face is never "seen".
    """

    duration_s: float
    seed: int
    people: list[str]
    strangers: list[str] = field(default_factory=list)
    presence: dict[str, list[Interval]] = field(default_factory=dict)
    camera_off: dict[str, list[Interval]] = field(default_factory=dict)
    page_size: int = 49
    sit_ins: dict[str, list[SitIn]] = field(default_factory=dict)
    swaps: list[Swap] = field(default_factory=list)
    posters: dict[str, str] = field(default_factory=dict)
    speaker_view: list[Interval] = field(default_factory=list)
    pages: list[PageView] = field(default_factory=list)
    strip_size: int = 5
    labels: dict[str, str] = field(default_factory=dict)
    accounts: dict[str, str] = field(default_factory=dict)
    pictures: list[str] = field(default_factory=list)
    _starts: list[float] = field(init=False, repr=False, compare=False)
    _screens: list[Screen] = field(init=False, repr=False, compare=False)
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
        self._check_events(set(names))
        self._build_timeline()

    def _check_events(self, names: set[str]) -> None:
        self.sit_ins = {
            owner: sorted((float(a), float(b), who) for a, b, who in spans)
            for owner, spans in self.sit_ins.items()
            if spans
        }
        for owner, spans in self.sit_ins.items():
            _clean([(a, b) for a, b, _ in spans], owner)
            for a, b, who in spans:
                if owner not in names or who not in names or who == owner:
                    raise ValueError(f"sit-in at {owner}'s camera by {who}: unknown people")
                if not any(pa <= a and b <= pb for pa, pb in self.presence[owner]):
                    raise ValueError(f"{who} sits at {owner}'s camera while {owner} is not in")
                if any(pa < b and a < pb for pa, pb in self.presence[who]):
                    raise ValueError(f"{who} sits at {owner}'s camera while in the meeting too")
        self.swaps = sorted((float(t), a, b) for t, a, b in self.swaps)
        for _, a, b in self.swaps:
            if a not in names or b not in names or a == b:
                raise ValueError(f"swap of {a} and {b}: unknown people")
        for account, face in self.accounts.items():
            if account not in names or face not in names or account == face:
                raise ValueError(f"account {account} showing {face}'s face: unknown people")
        self.pictures = sorted(set(self.pictures))
        for owner in self.pictures:
            if owner not in names or owner in self.accounts:
                raise ValueError(f"a picture as {owner}'s camera: unknown or someone else's face")
        for owner in self.labels:
            if owner not in names:
                raise ValueError(f"label for {owner}, who is not a participant")
        for owner, subject in self.posters.items():
            if owner not in names or subject not in names or owner == subject:
                raise ValueError(f"poster of {subject} behind {owner}: unknown people")
        self.speaker_view = _clean(self.speaker_view, "speaker view")
        self.pages = sorted((float(a), float(b), int(n)) for a, b, n in self.pages)
        _clean([(a, b) for a, b, _ in self.pages], "pages")

    # -- ground truth -------------------------------------------------------------------------

    @property
    def participants(self) -> list[str]:
        return self.people + self.strangers

    @property
    def absent(self) -> list[str]:
        """Roster names who never join."""
        return [n for n in self.people if not self.presence[n]]

    def change_times(self) -> list[float]:
        """Times at which the screen changes (the first is 0)."""
        return list(self._starts)

    def screen_at(self, t: float) -> Screen:
        """What is on screen at ``t``: the view and its tiles in drawing order."""
        if t < 0 or t >= self.duration_s:
            return Screen(GALLERY, ())
        return self._screens[bisect.bisect_right(self._starts, t) - 1]

    def tiles_at(self, t: float) -> tuple[ScriptTile, ...]:
        """The tiles on screen at ``t``, in drawing order."""
        return self.screen_at(t).tiles

    def present_at(self, t: float) -> list[str]:
        """The participants whose tile is on screen at ``t``, camera on or off."""
        return [tile.name for tile in self.tiles_at(t)]

    def visible_at(self, t: float, include_strangers: bool = True) -> list[str]:
        """Whose faces are on screen at ``t`` as participants (never posters), in tile order."""
        return [
            tile.face
            for tile in self.tiles_at(t)
            if tile.face is not None and (include_strangers or not tile.face_is_stranger)
        ]

    def posters_at(self, t: float) -> list[str]:
        """Whose pictures hang behind participants on screen at ``t``."""
        return [tile.poster for tile in self.tiles_at(t) if tile.poster and tile.face]

    def present_intervals(self, name: str) -> list[Interval]:
        """When ``name`` was in the meeting (camera on or off)."""
        return list(self.presence[name])

    def seen_intervals(self, name: str) -> list[Interval]:
        """When ``name``'s face was on screen as a participant: in a tile on screen with the
        camera on, their own or someone else's (a sit-in)."""
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

    def speaker_at(self, t: float) -> str | None:
        """The active speaker at ``t``: one participant with the camera on, per turn."""
        on = [
            n
            for n in self._order_at(t)
            if not _inside(self.camera_off.get(n, ()), t) and self._sitter(n, t) is None
        ]
        if not on:
            return None
        turn = int(t // SPEAKER_TURN_S)
        return on[zlib.crc32(f"{self.seed}:{turn}".encode()) % len(on)]

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
            "sit_ins": {n: [list(s) for s in v] for n, v in self.sit_ins.items()},
            "swaps": [list(s) for s in self.swaps],
            "posters": dict(self.posters),
            "speaker_view": [list(iv) for iv in self.speaker_view],
            "pages": [list(p) for p in self.pages],
            "strip_size": self.strip_size,
            "labels": dict(self.labels),
            "accounts": dict(self.accounts),
            "pictures": list(self.pictures),
        }

    @classmethod
    def from_dict(cls, data: dict) -> AttendanceScript:
        if data.get("version") not in (1, SCRIPT_VERSION):
            raise ValueError(f"unsupported script version {data.get('version')!r}")
        return cls(
            duration_s=float(data["duration_s"]),
            seed=int(data["seed"]),
            people=list(data["people"]),
            strangers=list(data.get("strangers", [])),
            presence={n: [tuple(iv) for iv in v] for n, v in data["presence"].items()},
            camera_off={n: [tuple(iv) for iv in v] for n, v in data.get("camera_off", {}).items()},
            page_size=int(data.get("page_size", 49)),
            sit_ins={n: [tuple(s) for s in v] for n, v in data.get("sit_ins", {}).items()},
            swaps=[tuple(s) for s in data.get("swaps", [])],
            posters=dict(data.get("posters", {})),
            speaker_view=[tuple(iv) for iv in data.get("speaker_view", [])],
            pages=[tuple(p) for p in data.get("pages", [])],
            strip_size=int(data.get("strip_size", 5)),
            labels=dict(data.get("labels", {})),
            accounts=dict(data.get("accounts", {})),
            pictures=list(data.get("pictures", [])),
        )

    def to_json(self, indent: int | None = 2) -> str:
        return json.dumps(self.to_dict(), indent=indent)

    @classmethod
    def from_json(cls, text: str) -> AttendanceScript:
        return cls.from_dict(json.loads(text))

    # -- internals ----------------------------------------------------------------------------

    def _order_at(self, t: float) -> list[str]:
        """Everyone in the meeting at ``t`` in gallery order: by the join time of their current
        stay, then as listed; swaps made before ``t`` trade two participants' places."""
        rank = {n: i for i, n in enumerate(self.participants)}
        keys: dict[str, tuple[float, int]] = {}
        for name, intervals in self.presence.items():
            joined = next((ja for ja, jb in intervals if ja <= t < jb), None)
            if joined is not None:
                keys[name] = (joined, rank[name])
        for when, a, b in self.swaps:
            if when <= t and a in keys and b in keys:
                keys[a], keys[b] = keys[b], keys[a]
        return sorted(keys, key=keys.__getitem__)

    def _sitter(self, owner: str, t: float) -> str | None:
        return next((who for a, b, who in self.sit_ins.get(owner, ()) if a <= t < b), None)

    def _screen(self, t: float) -> Screen:
        strangers = set(self.strangers)

        def tile(name: str) -> ScriptTile:
            camera = not _inside(self.camera_off.get(name, ()), t)
            sitter = (self._sitter(name, t) or self.accounts.get(name)) if camera else None
            return ScriptTile(
                name,
                camera,
                name in strangers,
                face=sitter,
                poster=self.posters.get(name),
                face_is_stranger=(sitter or name) in strangers,
                label=self.labels.get(name),
                picture=name in self.pictures,
            )

        order = self._order_at(t)
        if _inside(self.speaker_view, t):
            speaker = self.speaker_at(t)
            if speaker is not None:
                rest = [n for n in order if n != speaker][: self.strip_size]
                return Screen(SPEAKER, tuple(tile(n) for n in [speaker, *rest]))
        page = next((n for a, b, n in self.pages if a <= t < b), 0)
        # Asked for a page past the last, a viewer shows the last one.
        page = min(page, max(0, math.ceil(len(order) / self.page_size) - 1))
        first = page * self.page_size
        return Screen(GALLERY, tuple(tile(n) for n in order[first : first + self.page_size]))

    def _build_timeline(self) -> None:
        """Precompute the screen of every stretch between two events; everything else reads it."""
        bounds = {0.0, float(self.duration_s)}
        for intervals in (*self.presence.values(), *self.camera_off.values()):
            for a, b in intervals:
                bounds.update((a, b))
        for spans in self.sit_ins.values():
            for a, b, _ in spans:
                bounds.update((a, b))
        bounds.update(t for t, _, _ in self.swaps)
        for a, b, _ in self.pages:
            bounds.update((a, b))
        for a, b in self.speaker_view:
            bounds.update((a, b))
            turn = math.floor(a / SPEAKER_TURN_S) + 1
            while turn * SPEAKER_TURN_S < b:
                bounds.add(turn * SPEAKER_TURN_S)
                turn += 1
        edges = sorted(b for b in bounds if 0 <= b <= self.duration_s)
        self._starts, self._screens, self._seen = [], [], {}
        for a in edges[:-1]:
            screen = self._screen(a)
            if self._screens and self._screens[-1] == screen:
                continue
            self._starts.append(a)
            self._screens.append(screen)
        for i, screen in enumerate(self._screens):
            start = self._starts[i]
            end = self._starts[i + 1] if i + 1 < len(self._starts) else float(self.duration_s)
            for t in screen.tiles:
                if t.face is not None and not t.picture:
                    seen = self._seen.setdefault(t.face, [])
                    if seen and seen[-1][0] <= start and seen[-1][1] >= end:
                        continue  # in two tiles at once (logged in twice)
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
