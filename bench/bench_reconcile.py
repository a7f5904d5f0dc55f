"""Meeting participants: report imports, account-to-person matching, proxy detection.

    PYTHONPATH=src python bench/bench_reconcile.py [--meetings 24] [--roster 30] [--seed 1]

1. Import: for every generated meeting, a Zoom (English with the meeting block and a BOM, or
   German without), a Teams (UTF-16, with and without the activities section) and a Meet report
   are written for the same script (synth.reports) and read back; a report is exact when every
   account's every stay comes back to the second.
2. Matching: generated rosters with accents, nicknames, initials, typos, meeting emails and
   aliases, and guests who are nobody on the roster. Reported: accounts matched at once and how
   many of those are wrong (the target is none), correct proposals, guests given a person.
   The thresholds (match.PROPOSE_AT, MARGIN) were set by hand before this bench was written and
   not tuned on it.
3. Proxies: the reconciliation over simulated sightings of the same meetings (no video: each
   sample shows each camera-on participant's face in their tile, named right with 0.95
   probability, as an unknown face 0.04, as a random other roster member 0.01), with scripted
   sit-ins (a friend, or a stranger, at an absent student's camera), one student logged in
   twice (two tiles) and a student under a nickname. Reported: scripted cases flagged and
   false proxy flags.

No face data is needed: it measures the bookkeeping, not recognition (for that see
bench_attendance.py).
"""

from __future__ import annotations

import argparse
import random
import unicodedata
from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from rollcall.attendance.participants import parse_report
from rollcall.attendance.participants.clock import stays_of
from rollcall.attendance.participants.match import NICKNAMES, Candidate, Matcher, name_key
from rollcall.attendance.reconcile import Account, Seen, reconcile
from rollcall.synth.reports import Attendee, meet_report, teams_report, zoom_report

FIRST = ["José", "María", "Robert", "William", "Elizabeth", "Zoë", "François", "Ana",
         "Thomas", "Katherine", "Jürgen", "Siobhán", "Michael", "Daniel", "Ignacio",
         "Margaret", "Anthony", "Chloé", "Łukasz", "Nicholas", "Samuel", "Ingrid", "Kenji",
         "Amélie", "Joseph", "Björn", "Fatima", "Olusegun", "Priya", "Matthew"]  # fmt: skip
LAST = ["Núñez", "García", "Smith", "O'Brien", "Müller", "Dubois", "Kowalski", "Nakamura",
        "Okafor", "Sharma", "Johansson", "Rossi", "Novák", "Hernández", "Lefèvre", "Walker",
        "Brennan", "Castillo", "Fischer", "Yamamoto", "Silva", "Ivanova", "Andersen", "Moreau",
        "Costa", "Schäfer", "Lindqvist", "Haddad", "Mensah", "Kaur"]  # fmt: skip
ZONES = ["Europe/Paris", "America/New_York", "Asia/Tokyo", "Australia/Sydney", "UTC"]
SHORT = {}
for short, full in NICKNAMES.items():
    SHORT.setdefault(full, []).append(short)


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFKD", text) if not unicodedata.combining(c))


# -- 1. imports ------------------------------------------------------------------------------


def meeting_accounts(rng: random.Random, names: list[str], duration: float) -> list[Attendee]:
    out = []
    for i, name in enumerate(names):
        stays, t = [], rng.uniform(0, 300)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):  # some rejoin
            end = min(duration, t + rng.uniform(300, duration))
            stays.append((float(int(t)), float(int(end))))
            t = end + rng.uniform(30, 300)
            if t >= duration - 60:
                break
        email = f"{name_key(_plain(name))}@school.example" if i % 4 else None  # guests: none
        renamed = name.split()[0] if i % 7 == 3 else None
        shown = renamed or name
        out.append(Attendee(shown, email, tuple(stays), original_name=name if renamed else None))
    return out


def bench_imports(meetings: int, roster: int, seed: int) -> None:
    exact = total = 0
    failures: list[str] = []
    for m in range(meetings):
        rng = random.Random(seed * 1000 + m)
        names = [f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(roster)]
        names = list(dict.fromkeys(names))
        zone = ZoneInfo(ZONES[m % len(ZONES)])
        start = datetime(2026, 3, 2, 8, 0, tzinfo=UTC) + timedelta(days=m * 9, minutes=m * 7)
        people = meeting_accounts(rng, names, 3600.0)
        samples = {
            "zoom-en": (zoom_report(people, start, zone), True),
            "zoom-de": (
                zoom_report(people, start, zone, language="de", preamble=False, bom=False),
                True,
            ),  # fmt: skip
            "teams": (teams_report(people, start, zone), True),
            "teams-no-activities": (teams_report(people, start, zone, activities=False), False),
            "meet": (meet_report(people, start, zone), False),
            # Headers in languages rollcall has no words for: read by the table's shape.
            "zoom-ja": (zoom_report(people, start, zone, language="ja"), True),
            "zoom-pt": (zoom_report(people, start, zone, language="pt", preamble=False), True),
            "zoom-ko": (zoom_report(people, start, zone, language="ko"), True),
            "teams-de": (teams_report(people, start, zone, language="de"), True),
            "meet-ja": (meet_report(people, start, zone, language="ja"), False),
        }
        for fmt, (data, per_stay) in samples.items():
            truth = sorted(
                (p.name, p.email or "", a, b)
                for p in people
                for a, b in (p.stays if per_stay else ((p.stays[0][0], p.stays[-1][1]),))
            )
            try:
                got = sorted(
                    (s.name, s.email or "", s.join_t, s.leave_t)
                    for s in stays_of(parse_report(data, f"{fmt}.csv"), start, zone)
                )
            except Exception as exc:  # noqa: BLE001 - a bench reports, it does not stop
                got = [repr(exc)]
            total += 1
            if got == truth:
                exact += 1
            else:
                failures.append(f"meeting {m} {fmt}")
    formats = total // max(1, meetings)
    print(f"import: {exact}/{total} reports exact ({meetings} meetings x {formats} formats)")
    for f in failures[:10]:
        print("  not exact:", f)


# -- 2. matching -----------------------------------------------------------------------------


def variants(rng: random.Random, name: str) -> tuple[str, str]:
    """(kind, display name) of how someone shows up in a meeting without their email."""
    first, last = name.split(" ", 1)
    kind = rng.choice(["exact", "case", "nickname", "initial", "typo", "reversed"])
    if kind == "case":
        shown = rng.choice([_plain(name).lower(), name.replace(" ", "_"), name.upper()])
    elif kind == "nickname" and _plain(first).lower() in SHORT:
        shown = f"{rng.choice(SHORT[_plain(first).lower()]).title()} {last}"
    elif kind == "initial":
        shown = f"{first[0]}. {last}"
    elif kind == "typo" and len(last) > 4:
        i = rng.randrange(1, len(last) - 2)
        shown = f"{first} {last[:i]}{last[i + 1]}{last[i]}{last[i + 2 :]}"
    elif kind == "reversed":
        shown = f"{last}, {first}"
    else:
        kind, shown = "exact", name
    return kind, shown


def bench_matching(meetings: int, roster: int, seed: int) -> None:
    auto = auto_wrong = proposed_right = proposed_wrong = unmatched = 0
    guests = guests_matched = guests_proposed = 0
    per_kind: dict[str, list[int]] = {}
    accounts = 0
    for m in range(meetings):
        rng = random.Random(seed * 7919 + m)
        names = list(
            dict.fromkeys(f"{rng.choice(FIRST)} {rng.choice(LAST)}" for _ in range(roster))
        )
        people, expected = [], []
        for pid, name in enumerate(names):
            email = f"{name_key(_plain(name))}{pid}@school.example"
            alias = f"{name.split()[0][:3]}{pid}" if pid % 5 == 0 else None
            people.append(Candidate(pid, name, emails=(email,),
                                    aliases=(name_key(alias),) if alias else ()))  # fmt: skip
            how = rng.random()
            if how < 0.35:  # signed in with the school account: the email is in the report
                expected.append(("email", rng.choice([name, name.split()[0]]), email, pid))
            elif alias and how < 0.5:
                expected.append(("alias", alias, None, pid))
            else:
                kind, shown = variants(rng, name)
                expected.append((kind, shown, None, pid))
        for g in range(3):  # guests: a parent, a tutor, a phone number
            expected.append(("guest", rng.choice(["iPhone", f"Guest {g}", "Mum's laptop",
                                                  "+33 6 12 34 56 78"]), None, None))  # fmt: skip
        matcher = Matcher(people)
        for kind, shown, email, pid in expected:
            accounts += 1
            got = matcher.match(shown, email)
            stats = per_kind.setdefault(kind, [0, 0, 0, 0])  # n, auto right, proposed right, wrong
            stats[0] += 1
            if pid is None:
                guests += 1
                guests_matched += got.person_id is not None
                guests_proposed += got.proposed_id is not None
                stats[3] += got.person_id is not None
                continue
            if got.person_id is not None:
                auto += 1
                wrong = got.person_id != pid
                auto_wrong += wrong
                stats[1] += not wrong
                stats[3] += wrong
            elif got.proposed_id is not None:
                right = got.proposed_id == pid
                proposed_right += right
                proposed_wrong += not right
                stats[2] += right
                stats[3] += not right
            else:
                unmatched += 1
    people_accounts = accounts - guests
    print(
        f"matching: {accounts} accounts ({people_accounts} of roster members, {guests} guests); "
        f"matched at once {auto} ({auto_wrong} wrong), proposals right {proposed_right}, "
        f"proposals wrong {proposed_wrong}, left for staff {unmatched}; guests matched "
        f"{guests_matched}, guests given a proposal {guests_proposed}"
    )
    right_total = auto - auto_wrong + proposed_right
    print(f"  right person at once or proposed: {right_total / people_accounts:.1%}")
    for kind, (n, a, p, w) in sorted(per_kind.items()):
        print(f"  {kind:9s} {n:5d}: at once {a / n:6.1%}, proposed {p / n:6.1%}, wrong {w}")


# -- 3. proxies ------------------------------------------------------------------------------


def bench_proxies(meetings: int, roster: int, seed: int) -> None:
    scripted = flagged = false_flags = nick_ok = twice_found = false_twice = 0
    for m in range(meetings):
        rng = random.Random(seed * 104729 + m)
        names = [f"P{i}" for i in range(min(roster, 20))]
        duration = 3600.0
        sitter_owner, twice, nick = names[0], names[1], names[2]
        friend = rng.choice(["FRIEND", None])  # an enrolled friend, or a stranger
        camera_off = set(rng.sample(names[3:], 3))
        accounts = []
        for n in names:
            person = None if n == nick else n
            shown = "Nicky" if n == nick else n
            accounts.append(Account(f"name:{shown}", shown, None, person, ((0.0, duration),)))
        accounts.append(Account("name:phone", f"{twice} phone", None, twice, ((600.0, 2400.0),)))
        samples, seen, duplicates = [], [], []
        t, seq = 20.0, 0
        while t < duration:
            count, first_seen = 0, len(seen)
            for tile, acc in enumerate(accounts):
                if acc.key == "name:phone" and not 600 <= t <= 2400:
                    continue
                who = acc.person or (nick if acc.name == "Nicky" else None)
                if acc.name == sitter_owner:
                    who = friend  # the friend (or a stranger) at the absent student's camera
                elif acc.key == "name:phone":
                    who = twice
                elif who in camera_off:
                    continue
                roll = rng.random()
                named = who if roll < 0.95 else (None if roll < 0.99 else rng.choice(names))
                seen.append(Seen(seq, t, named, tile, acc.name))
                count += 1
            # As the monitor does: one person is named in one tile of a sample only; the other
            # face stays unnamed and a "duplicate" event is recorded.
            named_here: dict[str, int] = {}
            for k in range(first_seen, len(seen)):
                who = seen[k].person
                if who is None:
                    continue
                if who in named_here:
                    keep = rng.choice([named_here[who], k])
                    drop = k if keep == named_here[who] else named_here[who]
                    s_ = seen[drop]
                    seen[drop] = Seen(s_.seq, s_.t, None, s_.tile, s_.label)
                    named_here[who] = keep
                    duplicates.append((t, who))
                else:
                    named_here[who] = k
            samples.append((seq, t, count))
            seq += 1
            t += rng.uniform(20, 90)
        result = reconcile(accounts, seen, samples, duration, duplicates)
        scripted += 1
        for e in result.entries:
            if e.status == "proxy_suspected":
                if e.name == sitter_owner:
                    flagged += 1
                else:
                    false_flags += 1
            if e.name == "Nicky" and e.person == nick and e.status == "verified":
                nick_ok += 1
            if e.name == f"{twice} phone" and e.status == "two_accounts":
                twice_found += 1
            if e.status == "two_accounts" and e.person != twice:
                false_twice += 1
    print(
        f"proxies ({meetings} simulated meetings of {min(roster, 20)}): scripted sit-ins "
        f"flagged {flagged}/{scripted}, false proxy flags {false_flags}, two accounts found "
        f"{twice_found}/{meetings} (false: {false_twice}), nicknames verified by their tile "
        f"{nick_ok}/{meetings}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--meetings", type=int, default=24)
    parser.add_argument("--roster", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    bench_imports(args.meetings, args.roster, args.seed)
    bench_matching(args.meetings, args.roster, args.seed)
    bench_proxies(args.meetings, args.roster, args.seed)


if __name__ == "__main__":
    main()
