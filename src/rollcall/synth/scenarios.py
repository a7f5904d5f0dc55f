"""Hard meetings: the situations in which a face tracker hands one person's name to another.

A base script from `make_script` (late joiners, early leavers, rejoins, cameras off) is given,
seeded, every situation real meetings produce and a naive tracker gets wrong:

- ``reflow_leave``: people leave from the first, a middle and the last tile positions, and the
  tiles after them move up;
- ``stranger_takes_seat``: a participant leaves and the unenrolled participant whose tile came
  right after theirs slides into their old position;
- ``sit_in``: someone else sits at an enrolled participant's camera (the tile's label unchanged):
  an unenrolled stranger, and a classmate who is enrolled but not in the meeting;
- ``swap``: two tiles trade places (the host reorders the gallery);
- ``speaker_view``: a stretch in speaker view (one big tile and a strip of small ones);
- ``pagination``: more participants than one page holds, and a stretch showing page two;
- ``camera_toggle``: cameras switched off and on again;
- ``poster``: a picture of a face on the wall behind a participant, of an absent classmate;
- ``picture``: a student who does not come, though their account does, its camera showing a
  still photo of them (a virtual camera) all along.

The people who only sit in or hang on a wall are listed as extra strangers (never joining) or
are roster absentees, so the script can say whose face is where at every moment.

The proxy cases of issue 14 are asked for by name (they are not in the default set):

- ``proxy``: an absent student's account is in the meeting all along, its camera showing a
  friend's face (an unenrolled extra, or another absentee), the tile labelled with the absent
  student's name;
- ``two_logins``: a student logged in twice, their face in two tiles under two labels;
- ``nickname``: a student present under a nickname, not their roster name.
"""

from __future__ import annotations

import random
from collections.abc import Iterable, Sequence

from rollcall.synth.gallery import display_name
from rollcall.synth.script import AttendanceScript, Interval, make_script

SCENARIOS = (
    "reflow_leave",
    "stranger_takes_seat",
    "sit_in",
    "swap",
    "speaker_view",
    "pagination",
    "camera_toggle",
    "poster",
    "picture",
)
PROXY_SCENARIOS = ("proxy", "two_logins", "nickname")
# Short forms of first names, for the nickname case; others are cut to their first syllable.
NICKNAMES = {
    "Donald": "Don",
    "George": "Dubya",
    "Gerhard": "Gerd",
    "Jacques": "Jack",
    "Colin": "Col",
    "Hugo": "Hugh",
    "Robert": "Bob",
    "William": "Bill",
    "Alexander": "Sasha",
    "Vladimir": "Vova",
    "Joseph": "Joe",
    "Lionel": "Leo",
    "Roger": "Rog",
}


def hard_meeting(
    people: Sequence[str],
    duration_s: float,
    seed: int,
    strangers: Sequence[str] = (),
    *,
    extras: Sequence[str] = (),
    scenarios: Iterable[str] = SCENARIOS,
    page_size: int = 49,
) -> AttendanceScript:
    """A seeded meeting for ``people`` (the roster) and ``strangers`` with ``scenarios`` in it.

    ``extras`` are unenrolled people who never join: they sit in at someone's camera or hang on
    a wall as a poster. Situations that the cast is too small for are left out; the script
    says what it holds (`describe`).
    """
    wanted = set(scenarios)
    unknown = wanted - set(SCENARIOS) - set(PROXY_SCENARIOS)
    if unknown:
        raise ValueError(f"unknown scenarios: {', '.join(sorted(unknown))}")
    rng = random.Random(f"hard:{seed}")  # nosec B311 - seeded synthetic data, not security
    d = float(duration_s)
    base = make_script(
        people,
        d,
        seed,
        strangers,
        camera_off_fraction=0.2 if "camera_toggle" in wanted else 0.0,
        page_size=page_size,
    )
    presence = {n: list(v) for n, v in base.presence.items()}
    camera_off = {n: list(v) for n, v in base.camera_off.items()}
    extras = [e for e in extras if e not in presence]
    all_strangers = [*base.strangers, *extras]
    for name in extras:
        presence[name] = []
    sit_ins: dict[str, list[tuple[float, float, str]]] = {}
    swaps: list[tuple[float, str, str]] = []
    posters: dict[str, str] = {}
    speaker: list[Interval] = []
    pages: list[tuple[float, float, int]] = []
    rank = {n: i for i, n in enumerate([*people, *all_strangers])}

    def order_at(t: float) -> list[str]:
        joined = {
            n: next(a for a, b in spans if a <= t < b)
            for n, spans in presence.items()
            if any(a <= t < b for a, b in spans)
        }
        return sorted(joined, key=lambda n: (joined[n], rank[n]))

    def stay_whole(name: str, join: float | None = None) -> None:
        """In from the start of the meeting to its end, camera on throughout."""
        first = presence[name][0][0] if presence[name] else 0.0
        presence[name] = [(round(min(first, 0.05 * d) if join is None else join, 3), d)]
        camera_off.pop(name, None)

    attending = [n for n in people if presence[n]]
    rng.shuffle(attending)
    absentees = [n for n in people if not presence[n]]
    if {"sit_in", "poster"} & wanted and not absentees and len(attending) >= 3:
        # An enrolled classmate who skips the meeting: their face turns up at someone else's
        # camera or on the wall, which must credit them only for the sit-in.
        gone = attending.pop()
        presence[gone] = []
        camera_off.pop(gone, None)
        absentees.append(gone)
    proxy_owner = proxy_friend = None
    if "proxy" in wanted and len(attending) >= 3:
        # A student who does not come, though their account will, with a friend's face: an
        # unenrolled extra, else an enrolled classmate who skips the meeting.
        proxy_owner = attending.pop()
        camera_off.pop(proxy_owner, None)
        presence[proxy_owner] = []
        if extras:
            proxy_friend = extras[-1]
        elif len(attending) >= 3:
            proxy_friend = attending.pop()
            presence[proxy_friend] = []
            camera_off.pop(proxy_friend, None)
    pictured = None
    if "picture" in wanted and len(attending) >= 4:
        pictured = attending.pop()
        camera_off.pop(pictured, None)
        presence[pictured] = [(round(rng.uniform(0.01, 0.05) * d, 3), d)]
    stayers = attending[: max(1, min(3, len(attending) - 1))]
    for name in stayers:
        stay_whole(name)
    movers = attending[len(stayers) :]

    if "stranger_takes_seat" in wanted and base.strangers and movers:
        departing, newcomer = movers.pop(0), base.strangers[0]
        stay_whole(departing)
        # The stranger joins just after the departing person, so their tile follows theirs;
        # when the departing person leaves, the stranger's tile moves into their place.
        join = presence[departing][0][0]
        leave = round(rng.uniform(0.3, 0.45) * d, 3)
        presence[departing] = [(join, leave)]
        presence[newcomer] = [(round(join + 0.25, 3), d)]
        camera_off.pop(newcomer, None)

    if "reflow_leave" in wanted and movers:
        for name in movers:
            stay_whole(name)
        order = [n for n in order_at(0.5 * d) if n in movers]
        picks = sorted({order[0], order[len(order) // 2], order[-1]}, key=order.index)
        for k, name in enumerate(picks):
            start = presence[name][0][0]
            presence[name] = [(start, round((0.5 + 0.08 * k) * d + rng.uniform(0, 5), 3))]

    if "swap" in wanted and len(stayers) >= 2:
        swaps.append((round(rng.uniform(0.55, 0.6) * d, 3), stayers[0], stayers[-1]))

    sitters = [e for e in extras if e != proxy_friend]
    if "sit_in" in wanted:
        visitors = [sitters.pop(0) if sitters else None, absentees[0] if absentees else None]
        slots = [(0.62, 0.72), (0.76, 0.86)]
        for k, (visitor, (a, b)) in enumerate(zip(visitors, slots, strict=True)):
            owner = stayers[k % len(stayers)]
            if visitor is not None and owner not in sit_ins:
                sit_ins[owner] = [(round(a * d, 3), round(b * d, 3), visitor)]
            elif visitor is not None:
                sit_ins[owner].append((round(a * d, 3), round(b * d, 3), visitor))

    if "poster" in wanted:
        subject = absentees[0] if absentees else (sitters[0] if sitters else None)
        if subject is not None:
            posters[stayers[-1]] = subject

    labels: dict[str, str] = {}
    accounts: dict[str, str] = {}
    if proxy_owner is not None and proxy_friend is not None:
        # The absent student's account joins early and stays; their friend's face is in it.
        accounts[proxy_owner] = proxy_friend
        presence[proxy_owner] = [(round(rng.uniform(0.01, 0.05) * d, 3), d)]

    if "two_logins" in wanted and stayers:
        student = stayers[0]
        second = f"{student} (2)"
        all_strangers.append(second)
        rank[second] = len(rank)
        accounts[second] = student
        labels[second] = f"{display_name(student)}'s iPad"
        presence[second] = [
            (round(rng.uniform(0.3, 0.4) * d, 3), round(rng.uniform(0.7, 0.8) * d, 3))
        ]

    if "nickname" in wanted and len(stayers) >= 2:
        student = stayers[1]
        labels[student] = nickname(student)

    if "speaker_view" in wanted:
        speaker.append((round(0.9 * d, 3), round(0.97 * d, 3)))

    if "pagination" in wanted and len(order_at(0.25 * d)) > page_size:
        pages.append((round(0.2 * d, 3), round(0.28 * d, 3), 1))

    return AttendanceScript(
        duration_s=d,
        seed=seed,
        people=list(people),
        strangers=all_strangers,
        presence=presence,
        camera_off=camera_off,
        page_size=page_size,
        sit_ins=sit_ins,
        swaps=swaps,
        posters=posters,
        speaker_view=speaker,
        pages=pages,
        labels=labels,
        accounts=accounts,
        pictures=[pictured] if pictured else [],
    )


def nickname(name: str) -> str:
    """What a student might call themselves in a meeting: 'Donald_Rumsfeld' -> 'Don R.'."""
    parts = display_name(name).replace("-", " ").split()
    first = parts[0] if parts else name
    short = NICKNAMES.get(first, first[:3])
    return f"{short} {parts[-1][0]}." if len(parts) > 1 else short


def describe(script: AttendanceScript) -> list[str]:
    """The situations a script holds, in words (for benchmark notes and test messages)."""
    out = []
    for owner, spans in script.sit_ins.items():
        for a, b, who in spans:
            out.append(f"{who} sits at {owner}'s camera {a:.0f}-{b:.0f} s")
    for t, a, b in script.swaps:
        out.append(f"{a} and {b} swap tiles at {t:.0f} s")
    for owner, subject in script.posters.items():
        out.append(f"a poster of {subject} behind {owner}")
    for account, face in script.accounts.items():
        shown = script.labels.get(account, display_name(account))
        out.append(f"{face}'s face in the tile of account {account} (labelled {shown!r})")
    for owner, shown in script.labels.items():
        if owner not in script.accounts:
            out.append(f"{owner} joins as {shown!r}")
    for owner in script.pictures:
        out.append(f"a still photo of {owner} as {owner}'s camera (not there)")
    for a, b in script.speaker_view:
        out.append(f"speaker view {a:.0f}-{b:.0f} s")
    for a, b, n in script.pages:
        out.append(f"page {n + 1} shown {a:.0f}-{b:.0f} s")
    return out
