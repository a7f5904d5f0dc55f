"""A meeting's participant list against the faces rollcall saw: who is verified, who joined
but was never seen, who was seen without joining, and what looks like a proxy.

An account is *verified* when its person's face is seen during its stays. A *proxy is
suspected* when the tile labelled with account A (Sighting.label, read from the gallery) shows
someone else (B, or a stranger) and not A, in at least PROXY_SAMPLES samples and in more
samples than it shows A (one misrecognised face is not a proxy), or in any sample when A's face
is never seen at all. An unnamed face that nearly matched A (vision.gallery.NEAR_MISS) counts
for neither, when A is recognised somewhere in the session: most likely A on a bad frame.
*Two accounts*: one person's face in two tiles of one sample (in at least TWO_TILE_SAMPLES
samples and TWO_TILE_SHARE of those they are seen in), or
one person matched by two accounts whose stays overlap, or one account in the meeting twice at
once (two devices signed in with one school account: its stays overlap). Suspected cases are
proposals for staff (MeetingReview): nothing here changes a mark.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.attendance.participants.match import name_key, similarity
from rollcall.storage.meetings import MeetingParticipant, MeetingReview, ParticipantStay
from rollcall.storage.models import AttendanceSession, Person, Template
from rollcall.storage.sessions import head_counts, session_events, sightings

STATUSES = ("verified", "joined_not_seen", "seen_not_joined", "proxy_suspected", "two_accounts")
REVIEW = ("proxy_suspected", "two_accounts", "seen_not_joined")
PROXY_SAMPLES = 2
# One face in two tiles must recur (a misrecognised face puts someone in two tiles now and
# then): in this many samples, and in this share of the samples the person is seen in.
TWO_TILE_SAMPLES = 3
TWO_TILE_SHARE = 0.2
# An account's own stays overlapping by more than this (seconds) are two logins at once, not a
# reconnect the report shows a few seconds early. Set by hand.
TWO_LOGINS_OVERLAP = 60.0
LABEL_SNAP = 0.8  # a label read with a letter wrong still names its account

Span = tuple[float, float]


@dataclass(frozen=True)
class Seen:
    """One face in one sample: who it was taken for (None: unknown), its tile and its label."""

    seq: int
    t: float
    person: str | None
    tile: int = -1
    label: str | None = None
    # Unnamed: the person it nearly matched (vision.gallery.NEAR_MISS), if anyone.
    candidate: str | None = None

    def near_miss_of(self, person: str) -> bool:
        """An unnamed face that is most likely ``person`` on a bad frame."""
        return self.person is None and self.candidate == person


@dataclass(frozen=True)
class Account:
    key: str
    name: str
    email: str | None
    person: str | None
    stays: tuple[tuple[float, float | None], ...]
    original_name: str | None = None
    proposed: str | None = None
    # False when the person has no face templates: their face can never be named, so an
    # unknown face in their tile says nothing against them.
    recognisable: bool = True
    proposed_recognisable: bool = True  # the same, of the proposed person


@dataclass
class Entry:
    """One line of the reconciliation; `evidence` holds the samples behind it."""

    name: str | None
    email: str | None
    person: str | None
    joined: list[Span]
    status: str
    detail: str
    case: str
    evidence: list[Seen] = field(default_factory=list)
    proposed: str | None = None
    review: MeetingReview | None = None

    def review_words(self) -> str:
        """Staff's decision on the case, as the pages and exports say it ("" if none)."""
        if self.review is None:
            return ""
        note = f": {self.review.note}" if self.review.note else ""
        return f"{self.review.decision} by {self.review.decided_by}{note}"

    @property
    def needs_review(self) -> bool:
        return self.status in REVIEW

    def to_json(self) -> dict[str, object]:
        return {
            "name": self.name,
            "email": self.email,
            "person": self.person,
            "joined": [[round(a, 1), round(b, 1)] for a, b in self.joined],
            "status": self.status,
            "detail": self.detail,
        }


@dataclass(frozen=True)
class SampleCheck:
    """A sample's head count against the accounts in the meeting at that moment."""

    seq: int
    t: float
    faces: int
    participants: int

    @property
    def note(self) -> str:
        if self.faces < self.participants:
            return "fewer faces than accounts (cameras off, or someone away)"
        if self.faces > self.participants:
            return "more faces than accounts (people sharing a camera, or a visitor)"
        return ""

    def to_json(self) -> dict[str, object]:
        return {
            "t": round(self.t, 2),
            "faces": self.faces,
            "participants": self.participants,
            "note": self.note,
        }


@dataclass
class Reconciliation:
    entries: list[Entry]
    samples: list[SampleCheck]

    @property
    def to_review(self) -> list[Entry]:
        return [e for e in self.entries if e.needs_review]

    def by_person(self) -> dict[str, Entry]:
        """Each person's most telling entry (for exports next to their mark). A case on an
        account no one was matched to, whose name was proposed as someone (a guest "H.
        Chavez" showing another's face while Hugo Chavez was never seen), is that person's
        case too: the session CSV, one row a person, left it out."""
        rank = {s: i for i, s in enumerate(REVIEW + ("joined_not_seen", "verified"))}
        out: dict[str, Entry] = {}
        for e in self.entries:
            who = e.person or (e.proposed if e.status in REVIEW else None)
            if who and (who not in out or rank[e.status] < rank[out[who].status]):
                out[who] = e
        return out


def merge(stays: Iterable[tuple[float, float | None]], end: float) -> list[Span]:
    """Stays as sorted, non-overlapping spans; an open stay lasts to `end`."""
    spans = sorted((a, max(a, end if b is None else b)) for a, b in stays)
    out: list[Span] = []
    for a, b in spans:
        if out and a <= out[-1][1] + 1.0:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def _inside(t: float, spans: list[Span]) -> bool:
    return any(a - 1.0 <= t <= b + 1.0 for a, b in spans)


def _overlap(x: list[Span], y: list[Span]) -> float:
    return sum(max(0.0, min(b, d) - max(a, c)) for a, b in x for c, d in y)


def snap_label(label: str | None, accounts: list[Account]) -> int | None:
    """The account a tile's label names: its name or original name ignoring case, accents and
    spacing; a prefix when the platform cut the label with "…"; else a near spelling."""
    if not label or not label.strip():
        return None
    text = label.strip()
    cut = text.endswith(("…", "...")) and len(text.rstrip("….")) >= 3
    key = name_key(text.rstrip("….") if cut else text)
    names = [[n for n in (a.name, a.original_name) if n] for a in accounts]
    exact = [i for i, ns in enumerate(names) if any(name_key(n) == key for n in ns)]
    if len(exact) == 1:
        return exact[0]
    if cut:
        pre = [i for i, ns in enumerate(names) if any(name_key(n).startswith(key) for n in ns)]
        if len(pre) == 1:
            return pre[0]
    scored = sorted(
        ((max(similarity(text, n) for n in ns), i) for i, ns in enumerate(names) if ns),
        reverse=True,
    )
    if scored and scored[0][0] >= LABEL_SNAP and (len(scored) == 1 or scored[1][0] < scored[0][0]):
        return scored[0][1]
    return None


def _at_once(stays: Iterable[tuple[float, float | None]], end: float) -> tuple[Span, Span] | None:
    """Two of an account's stays that overlap by more than TWO_LOGINS_OVERLAP, or of which
    one lies inside the other (it began after it and ended before it), or None.

    Inside is what a reconnect never looks like, whatever the report's resolution: Meet gives
    minutes, so a second device's short stay within the first overlaps it by just 60 s. Only
    stays whose end is known count as an outer one: a webhook's leave that never came would
    make every later reconnect look inside it."""
    spans = sorted((a, end if b is None else max(a, b), b is not None) for a, b in stays)
    for k, (a, b, closed) in enumerate(spans):
        for c, d, _ in spans[k + 1 :]:
            inside = closed and a < c and d < b
            if inside or min(b, d) - max(a, c) > TWO_LOGINS_OVERLAP:
                return (a, b), (c, d)
    return None


def _spans_text(spans: list[Span]) -> str:
    return ", ".join(f"{_mmss(a)}–{_mmss(b)}" for a, b in spans) or "never"


def _mmss(t: float) -> str:
    t = max(0, int(round(t)))
    return (
        f"{t // 3600}:{t % 3600 // 60:02d}:{t % 60:02d}" if t >= 3600 else f"{t // 60}:{t % 60:02d}"
    )


def _who(person: str | None) -> str:
    return person or "an unknown face"


def attribute_duplicates(
    seen: list[Seen],
    duplicates: Iterable[tuple[float, str]],
    tile_of: dict[str, int | None],
    accounts: list[Account],
) -> list[Seen]:
    """The monitor never names one person in two tiles of a sample: it keeps the stronger face
    and records a "duplicate" event, leaving the other face unnamed. Give that face back its
    person when the sample has exactly one unnamed face in a tile of another account of theirs,
    else exactly one in any labelled tile that the monitor left with them as its candidate
    (the face it unnamed), so one person on two accounts is seen as such (and their second
    tile is not taken for a stranger). Until stop 33 the second rule took any one unnamed
    face: a guest's stranger became the person whose other tile's label was misread."""
    out = list(seen)
    for t, person in duplicates:
        at = [i for i, s in enumerate(out) if abs(s.t - t) < 0.01]
        if not any(out[i].person == person for i in at):
            continue
        unnamed = [
            i for i in at if out[i].person is None and tile_of.get(out[i].label or "") is not None
        ]
        # Best: the unnamed face in a tile of another account of theirs.
        theirs = [i for i in unnamed if accounts[tile_of[out[i].label or ""]].person == person]
        unnamed = theirs if len(theirs) == 1 else [i for i in unnamed if out[i].candidate == person]
        if len(unnamed) == 1:
            s = out[unnamed[0]]
            out[unnamed[0]] = Seen(s.seq, s.t, person, s.tile, s.label)  # named: no near miss
    return out


def _only_in_others_tiles(
    mine: list[Seen],
    tile_of: dict[str, int | None],
    owners: dict[int, str],
    own: int,
    accounts: list[Account],
    in_tile: dict[int, dict[int, list[Seen]]],
) -> str:
    """The accounts (quoted, joined) whose tiles held every sighting of an account's person,
    beside the tile's owner's own face in PROXY_SAMPLES samples or more, when none was in a
    tile of their own or an unlabelled one; "" otherwise. (A face named as them alone in
    another's tile is more likely that owner misrecognised than them: not counted.)"""
    hosts, beside = set(), set()
    for s in mine:
        j = tile_of.get(s.label) if s.label else None
        if j is None or j == own or owners.get(j) == s.person:
            return ""
        hosts.add(j)
        owner = owners.get(j)
        # (A tile nobody owns, a room's camera, is no one's to sit beside: its unknown faces
        # matched "no owner" and flagged the students seen in it.)
        if owner is not None and any(o.person == owner for o in in_tile[j].get(s.seq, [])):
            beside.add(s.seq)
    if len(beside) < PROXY_SAMPLES:
        return ""
    return ", ".join(repr(accounts[j].name or accounts[j].key) for j in sorted(hosts))


def reconcile(
    accounts: list[Account],
    seen: list[Seen],
    samples: list[tuple[int, float, int]],
    end: float,
    duplicates: Iterable[tuple[float, str]] = (),
    pictures: Iterable[tuple[float, str]] = (),
) -> Reconciliation:
    """The reconciliation of a session (see the module's docstring); `samples` are
    (seq, t, head count); `end` closes the stays still open; `duplicates` are the monitor's
    (t, person) "duplicate" events (one face left unnamed because its person was elsewhere);
    `pictures` its (t, person) "pictures" events (their face unmoved sample after sample in
    their own tile: a photo as their camera, not credited)."""
    pictured: dict[str, float] = {}
    for t, who in pictures:
        pictured[who] = min(t, pictured.get(who, t))
    end = max([end, *(s.t for s in seen), *(t for _, t, _ in samples)])
    spans = [merge(a.stays, end) for a in accounts]
    tile_of = {lab: snap_label(lab, accounts) for lab in {s.label for s in seen if s.label}}
    seen = attribute_duplicates(seen, duplicates, tile_of, accounts)
    # The faces in each account's tile, sample by sample.
    in_tile: dict[int, dict[int, list[Seen]]] = defaultdict(lambda: defaultdict(list))
    for s in seen:
        i = tile_of.get(s.label) if s.label else None
        if i is not None:
            in_tile[i][s.seq].append(s)
    by_person: dict[str, list[Seen]] = defaultdict(list)
    for s in seen:
        if s.person:
            by_person[s.person].append(s)

    # Accounts nobody matched, whose tile showed one enrolled person: that person under another
    # name (a nickname), or on a second device when they also have an account of their own (a
    # laptop with the camera off and a phone with it on: two logins, "two_accounts" below if
    # they were in at once). In their favour, so it is used, and proposed to staff to remember.
    # Not when the account's name was proposed as someone else, who could be recognised and
    # never was: then it may as well be someone sitting in for the person the name points to,
    # and staff decide which.
    own = {a.person for a in accounts if a.person}
    inferred: dict[int, str] = {}
    sat_in: dict[int, str] = {}
    for i, a in enumerate(accounts):
        if a.person is None and in_tile[i]:
            faces = Counter(s.person for seq in in_tile[i].values() for s in seq)
            top, n = faces.most_common(1)[0]
            if top and n > sum(faces.values()) / 2:
                if (
                    a.proposed
                    and a.proposed != top
                    and a.proposed_recognisable
                    and not by_person.get(a.proposed)
                ):
                    sat_in[i] = top
                else:
                    inferred[i] = top
    owners = {**{i: a.person for i, a in enumerate(accounts) if a.person}, **inferred}
    # Someone with no account whose face no label tied to a tile (labels unread, or none
    # drawn), seen only while exactly one account whose person is never seen was in: they
    # may be in that person's tile. With two such accounts, or faces outside the account's
    # stays, nothing points at anyone (cameras off and a visitor sharing a camera look alike).
    never_seen = [
        i
        for i, a in enumerate(accounts)
        if a.person and a.recognisable and not by_person.get(a.person) and not in_tile[i]
    ]
    stood_in_for: dict[int, list[str]] = defaultdict(list)
    for person, rows in by_person.items():
        if person in own or person in inferred.values():
            continue
        if any(tile_of.get(r.label) is not None for r in rows if r.label):
            continue
        during = [i for i in never_seen if all(_inside(r.t, spans[i]) for r in rows)]
        overlapping = [i for i in never_seen if any(_inside(r.t, spans[i]) for r in rows)]
        if len(during) == 1 and overlapping == during:
            stood_in_for[during[0]].append(person)

    # One person's face in two tiles of the same sample.
    two_tiles: dict[str, list[Seen]] = defaultdict(list)
    for person, rows in by_person.items():
        tiles_by_seq: dict[int, set[int]] = defaultdict(set)
        for s in rows:
            if s.tile >= 0:
                tiles_by_seq[s.seq].add(s.tile)
        doubled = [s for s in rows if len(tiles_by_seq[s.seq]) > 1]
        n_doubled, n_seen = len({s.seq for s in doubled}), len({s.seq for s in rows})
        if n_doubled >= TWO_TILE_SAMPLES and n_doubled >= TWO_TILE_SHARE * n_seen:
            two_tiles[person] = doubled
    # One person matched by two accounts in the meeting at the same time.
    accounts_of: dict[str, list[int]] = defaultdict(list)
    for i, person in owners.items():
        accounts_of[person].append(i)
    twice = {
        p
        for p, idx in accounts_of.items()
        if any(_overlap(spans[i], spans[j]) > 0 for i in idx for j in idx if i < j)
    }
    # One account in the meeting twice at once: a second device signed in with the same
    # school account (the report has two rows of one email whose times overlap). Imports key
    # accounts by email, so both logins are one account with overlapping stays.
    at_once = {i: pair for i, a in enumerate(accounts) if (pair := _at_once(a.stays, end))}
    twice |= {owners[i] for i in at_once if i in owners}

    entries: list[Entry] = []
    for i, a in enumerate(accounts):
        person = owners.get(i)
        label = a.name or a.email or a.key
        mine = [s for s in by_person.get(person, []) if _inside(s.t, spans[i])] if person else []
        ok = bad = 0
        intruders: Counter[str | None] = Counter()
        bad_rows: list[Seen] = []
        never = person is not None and not by_person.get(person)
        # A face that nearly matched the owner is most likely them on a bad frame, if they
        # were recognised at all in the session; if never, it may be a look-alike sitting in:
        # it counts against them, for staff to look at.
        nearly = person if person is not None and not never else None
        near = 0
        for rows in in_tile[i].values():
            if person and any(s.person == person for s in rows):
                ok += 1
            elif nearly and all(s.near_miss_of(nearly) for s in rows):
                near += 1
            else:
                bad += 1
                others = [s for s in rows if not (nearly and s.near_miss_of(nearly))]
                intruders.update(s.person for s in others)
                bad_rows += others
        notes = []
        if i in inferred:
            notes.append(
                f"matched by the face in its tile: {person} in {ok} sample(s); confirm to "
                f"remember {a.name!r} as their alias"
            )
        elif a.proposed and not a.person:
            notes.append(f"perhaps {a.proposed} (a proposal for staff to confirm)")
        if near:
            notes.append(
                f"a face much like {person}'s but not named in its tile in {near} sample(s)"
            )
        if not a.recognisable:
            # Someone without templates is never named, so "never seen" means nothing and an
            # unknown face in their tile is most likely them: only samples showing someone
            # named count against them, and as many as against anyone.
            named_samples = sum(
                any(s.person and s.person != person for s in rows) for rows in in_tile[i].values()
            )
            intruders = Counter({p: n for p, n in intruders.items() if p})
            bad_rows = [s for s in bad_rows if s.person]
            flagged = named_samples >= PROXY_SAMPLES and named_samples > ok
        else:
            flagged = bad >= 1 and ((bad >= PROXY_SAMPLES and bad > ok) or never)
        stood_in = sorted(stood_in_for.get(i, []))
        if i in sat_in:
            shown = sat_in[i]
            status = "proxy_suspected"
            detail = (
                f"its name is like {a.proposed}'s (not confirmed), but its tile showed "
                f"{shown} in {len(in_tile[i])} sample(s) and {a.proposed}'s face was never "
                f"seen: {shown} under a nickname, or sitting in for {a.proposed}"
            )
            evidence = [s for rows in in_tile[i].values() for s in rows if s.person == shown]
        elif person and person in pictured and not mine:
            # Their own face, but a picture of it: the account was there, they were not
            # seen to be. A proxy attempt for staff to judge, the picture as evidence (its
            # sightings are theirs as a candidate, in whichever tile it was).
            status = "proxy_suspected"
            shown = [r for r in seen if r.near_miss_of(person)]
            where = sorted({repr(r.label) for r in shown if r.label})
            detail = (
                f"a still picture of {person}'s face (a photo as a camera?)"
                + (f" in the tile(s) labelled {', '.join(where)}" if where else "")
                + f", found at {_mmss(pictured[person])}; never seen moving, so not credited"
            )
            evidence = shown[:1] + shown[-1:] if len(shown) > 1 else shown
        elif person and flagged:
            who = ", ".join(f"{_who(p)} ({n} sample(s))" for p, n in intruders.most_common())
            status = "proxy_suspected"
            detail = (
                f"the tile labelled {label!r} showed {who} and {person} in {ok} sample(s); "
                + (
                    f"{person} has no face templates to be recognised by"
                    if not a.recognisable
                    else f"{person}'s face was never seen"
                    if never
                    else f"{person} seen elsewhere"
                )
            )
            evidence = bad_rows
        elif person and (person in twice or person in two_tiles):
            status = "two_accounts"
            if person in twice:
                others = [
                    accounts[j].name or accounts[j].key for j in accounts_of[person] if j != i
                ]
                parts = [f"also in the meeting as {', '.join(map(repr, others))}"] if others else []
                if i in at_once:
                    parts.append(
                        "in the meeting twice at once on this account (stays "
                        f"{_spans_text(list(at_once[i]))})"
                    )
                elif not others:  # only another account of theirs was in twice
                    parts.append("in the meeting twice at once on another account")
                detail = f"{person} is {'; '.join(parts)}"
                evidence = mine
            else:
                n = len({s.seq for s in two_tiles[person]})
                detail = f"{person}'s face was in two tiles at once in {n} sample(s)"
                evidence = two_tiles[person]
        elif person is None and any(
            s.person in two_tiles for rows in in_tile[i].values() for s in rows
        ):
            doubled = sorted(
                {s.person for rows in in_tile[i].values() for s in rows} & set(two_tiles)
            )
            status = "two_accounts"
            detail = (
                f"not matched to an enrolled person, but its tile showed {', '.join(doubled)}, "
                "who was in another tile at the same time"
            )
            evidence = [s for rows in in_tile[i].values() for s in rows if s.person in doubled]
        elif stood_in:
            # A's account in the meeting, A never seen, B (who has no account) seen while A
            # was in, and no tile label saying where: the case the labels would settle.
            status = "proxy_suspected"
            detail = (
                f"{person}'s face was never seen while {', '.join(stood_in)}, who did not "
                "join, was seen during this account's stays (no tile label tied their face "
                "to an account)"
            )
            evidence = [r for p in stood_in for r in by_person[p]][:3]
        elif mine and (hosts := _only_in_others_tiles(mine, tile_of, owners, i, accounts, in_tile)):
            # Their face only ever in tiles of other accounts: their photo held up on a phone,
            # a poster or virtual background behind a friend, or sitting with them. The face
            # was there; whether they were is for staff (a proxy student's review: it was
            # "verified").
            status = "proxy_suspected"
            n = len({s.seq for s in mine})
            detail = (
                f"{person}'s face was seen only in the tile(s) of {hosts} ({n} sample(s)), "
                "never in a tile of their own: a photo held up or behind them, or sitting "
                "with them"
            )
            evidence = mine[:1] + mine[-1:] if len(mine) > 1 else mine
        elif mine:
            status = "verified"
            detail = f"{person}'s face seen in {len({s.seq for s in mine})} sample(s) while joined"
            evidence = mine[:1] + mine[-1:] if len(mine) > 1 else mine
        else:
            status = "joined_not_seen"
            if person is None:
                detail = "not matched to an enrolled person"
                if in_tile[i]:
                    faces = Counter(s.person for rows in in_tile[i].values() for s in rows)
                    shown = ", ".join(f"{_who(p)} ({n})" for p, n in faces.most_common())
                    detail += f"; its tile showed {shown} in {len(in_tile[i])} sample(s)"
                    evidence = [s for rows in in_tile[i].values() for s in rows]
                else:
                    evidence = []
            elif not a.recognisable:
                detail = f"{person} has no face templates, so their face cannot be verified"
                if in_tile[i]:
                    detail += f"; its tile showed an unknown face in {len(in_tile[i])} sample(s)"
                evidence = [s for rows in in_tile[i].values() for s in rows][:3]
            else:
                outside = by_person.get(person, [])
                detail = (
                    f"{person}'s face was seen only outside this account's stays"
                    if outside
                    else f"{person}'s face was not seen (camera off, away, or not in view)"
                )
                evidence = outside[:3]
        if person in pictured and status == "verified":
            notes.append(
                f"from {_mmss(pictured[person])} their tile showed a still picture of them, "
                "not credited"
            )
        if notes:
            detail = f"{detail}; {'; '.join(notes)}"
        entries.append(
            Entry(
                a.name or None,
                a.email,
                person,
                spans[i],
                status,
                detail,
                f"{status}:{a.key}",
                evidence,
                proposed=a.proposed or (person if i in inferred else None),
            )
        )

    for person, rows in sorted(by_person.items()):
        if person in accounts_of:
            continue
        labels = sorted({s.label for s in rows if s.label})
        where = f" in the tile(s) labelled {', '.join(map(repr, labels))}" if labels else ""
        status = "two_accounts" if person in two_tiles else "seen_not_joined"
        detail = (
            f"{person}'s face was in two tiles at once, with no account of their own"
            if status == "two_accounts"
            else f"{person}'s face seen in {len({s.seq for s in rows})} sample(s), "
            f"{_mmss(rows[0].t)}–{_mmss(rows[-1].t)}{where}, with no account in the meeting"
        )
        entries.append(
            Entry(
                None,
                None,
                person,
                [],
                status,
                detail,
                f"{status}:person:{person}",
                rows[:1] + rows[-1:],
            )
        )

    checks = [
        SampleCheck(seq, t, count, sum(_inside(t, sp) for sp in spans)) for seq, t, count in samples
    ]
    return Reconciliation(entries, checks)


# -- from the database -------------------------------------------------------------------------


def _one_record_per_stay(
    stays: Iterable[ParticipantStay],
) -> tuple[tuple[float, float | None], ...]:
    """An account's stays, each once: a stay the platform's report gives that a webhook also
    told live is one stay recorded twice, not a second login at the same time (a helper's
    meeting: the same 85 s from both sources flagged "in the meeting twice at once"). The
    report's record wins; a webhook's stay that no reported one overlaps is kept."""
    reported = [(st.join_t, st.leave_t) for st in stays if st.source != "webhook"]
    out = list(reported)
    for st in stays:
        if st.source != "webhook":
            continue
        end = st.leave_t if st.leave_t is not None else float("inf")
        if not any(st.join_t < (b if b is not None else float("inf")) and a < end
                   for a, b in reported):  # fmt: skip
            out.append((st.join_t, st.leave_t))
    return tuple(sorted(out, key=lambda span: span[0]))


def accounts_of_session(s: Session, session_id: int) -> list[Account]:
    names = dict(s.execute(select(Person.id, Person.name)).all())
    with_templates = set(s.scalars(select(Template.person_id).distinct()))
    out = []
    for p in s.scalars(
        select(MeetingParticipant)
        .where(MeetingParticipant.session_id == session_id)
        .order_by(MeetingParticipant.name, MeetingParticipant.id)
    ):
        out.append(
            Account(
                p.account_key,
                p.name,
                p.email,
                names.get(p.person_id) if p.person_id else None,
                _one_record_per_stay(p.stays),
                p.original_name,
                names.get(p.proposed_id) if p.proposed_id else None,
                p.person_id is None or p.person_id in with_templates,
                p.proposed_id is None or p.proposed_id in with_templates,
            )
        )
    return out


def reconcile_session(s: Session, row: AttendanceSession) -> Reconciliation | None:
    """The session's reconciliation, with staff reviews attached; None without participants."""
    accounts = accounts_of_session(s, row.id)
    if not accounts:
        return None
    names = dict(s.execute(select(Person.id, Person.name)).all())
    seen = [
        Seen(
            sg.seq,
            sg.t,
            name,
            sg.tile,
            sg.label,
            names.get(sg.candidate_id) if sg.candidate_id else None,
        )
        for sg, name in sightings(s, row.id)
    ]
    samples = [(h.seq, h.t, h.count) for h in head_counts(s, row.id)]
    end = row.duration or row.processed_until or 0.0
    named_events = [e for e in session_events(s, row.id) if e.person_id in names]
    duplicates = [(e.t, names[e.person_id]) for e in named_events if e.kind == "duplicate"]
    pictures = [(e.t, names[e.person_id]) for e in named_events if e.kind == "pictures"]
    result = reconcile(accounts, seen, samples, end, duplicates, pictures)
    reviews = {
        r.case_key: r
        for r in s.scalars(select(MeetingReview).where(MeetingReview.session_id == row.id))
    }
    for e in result.entries:
        e.review = reviews.get(e.case)
    return result
