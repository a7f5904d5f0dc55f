"""Which enrolled person a meeting account is.

In order: the account's email (a person's own email or one of their meeting emails), then one
of their display-name aliases, then their name, all compared with name_key (case, accents,
underscores and spacing ignored). Anything looser (a nickname, initials, the name in an email
address, a typo) is only *proposed*: staff confirm it once and it becomes an alias.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from dataclasses import dataclass
from difflib import SequenceMatcher

from rollcall.accents import unaccented

# A proposal needs this score, and to beat the next candidate by the margin.
PROPOSE_AT = 0.8
MARGIN = 0.05

# Common English and Spanish short forms of first names, for proposals only.
NICKNAMES = {
    "al": "albert",
    "alex": "alexander",
    "andy": "andrew",
    "ben": "benjamin",
    "beth": "elizabeth",
    "bill": "william",
    "billy": "william",
    "bob": "robert",
    "bobby": "robert",
    "chris": "christopher",
    "dan": "daniel",
    "danny": "daniel",
    "dave": "david",
    "ed": "edward",
    "jack": "john",
    "jim": "james",
    "jimmy": "james",
    "joe": "joseph",
    "johnny": "john",
    "kate": "katherine",
    "katie": "katherine",
    "liz": "elizabeth",
    "lupe": "guadalupe",
    "maggie": "margaret",
    "matt": "matthew",
    "meg": "margaret",
    "mike": "michael",
    "nacho": "ignacio",
    "nick": "nicholas",
    "paco": "francisco",
    "pepe": "jose",
    "rob": "robert",
    "sam": "samuel",
    "steve": "steven",
    "ted": "edward",
    "tom": "thomas",
    "tony": "anthony",
    "will": "william",
}


# What platforms add to a display name: "Ada Lovelace (Host)", "Bob (Guest)", "Cy (he/him)".
_SUFFIX = re.compile(
    r"\s*[(\[](?:host|co-?host|guest|me|you|presenter|organi[sz]er|attendee|external|"
    r"unverified|invit[ée]|gast|extern|[a-z]+/[a-z]+)[)\]]\s*$",
    re.IGNORECASE,
)


def display_name(text: str) -> str:
    """A display name without the role or pronouns the platform or the person appended."""
    previous = None
    while previous != text:
        previous, text = text, _SUFFIX.sub("", text)
    return text.strip()


def _plain(text: str) -> str:
    # Without format marks: a right-to-left name often comes with invisible direction marks
    # (U+200F), and the same name without them was another account.
    text = "".join(ch for ch in text if unicodedata.category(ch) != "Cf")
    return unaccented(text).casefold()


# Apostrophes and hyphens of every kind join words like spaces do: "Sean O’Brien" is
# "Seán O'Brien", "Anne Marie Dupont-Lefevre" is "Anne-Marie Dupont-Lefèvre".
_JOINERS = r"[\s_'’‘ʼ`´\-‐‑‒–—]+"


def name_key(text: str) -> str:
    """Names equal ignoring case, accents, underscores, apostrophes, hyphens and spacing:
    "José_Núñez" = "jose nunez" (and a platform's "(Host)" or "(Guest)" after them)."""
    return re.sub(_JOINERS, "", _plain(display_name(text)))


def email_key(text: str) -> str:
    return text.strip().casefold()


def tokens(text: str) -> list[str]:
    return re.findall(r"[^\W_]+", _plain(display_name(text)))


def _first_names(word: str) -> str:
    return NICKNAMES.get(word, word)


def similarity(a: str, b: str) -> float:
    """0..1 how alike two names look: spelling, word order, a nickname, an initial."""
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    ka, kb = "".join(ta), "".join(tb)
    best = SequenceMatcher(None, ka, kb).ratio()
    best = max(best, SequenceMatcher(None, "".join(sorted(ta)), "".join(sorted(tb))).ratio())
    na, nb = [_first_names(t) for t in ta], [_first_names(t) for t in tb]
    if sorted(na) == sorted(nb):
        best = max(best, 0.92)
    # "A. Lovelace" / "Ada L": every word of one is a word or the initial of the other's.
    short, long_ = (na, nb) if len(na) <= len(nb) else (nb, na)
    if len(short) >= 2 and all(
        any(s == w or (len(s) == 1 and w.startswith(s)) for w in long_) for s in short
    ):
        best = max(best, 0.85)
    return best


def email_name(email: str) -> str:
    """The name an address suggests: "ada.lovelace@x" -> "ada lovelace"."""
    local = email.split("@", 1)[0]
    return " ".join(re.split(r"[._\-+]+", local))


@dataclass(frozen=True)
class Candidate:
    person_id: int
    name: str
    emails: tuple[str, ...] = ()  # email_key'd
    aliases: tuple[str, ...] = ()  # name_key'd


@dataclass(frozen=True)
class Match:
    person_id: int | None
    by: str | None  # email | alias | name
    proposed_id: int | None = None
    score: float | None = None
    note: str = ""


class Matcher:
    """Matches accounts against people. An email, alias or name matches anyone enrolled; a
    proposal (a name only like someone's) is made among `preferred` (a course's roster) when
    there is one: it is who staff expect in the meeting, and a proposal of someone off it told
    an instructor who is enrolled in other courses (any partial name was a probe)."""

    def __init__(
        self,
        people: Iterable[Candidate],
        preferred: Iterable[int] = (),
        roster_only: bool | None = None,
    ) -> None:
        self.people = list(people)
        self.preferred = set(preferred)
        # Proposals among `preferred` only: by default when there is a roster; a course's
        # session passes True (a course with nobody on its roster yet proposes no one).
        self.roster_only = bool(self.preferred) if roster_only is None else roster_only
        self.by_email: dict[str, set[int]] = {}
        self.by_alias: dict[str, set[int]] = {}
        self.by_name: dict[str, set[int]] = {}
        for c in self.people:
            for e in c.emails:
                self.by_email.setdefault(e, set()).add(c.person_id)
            for a in c.aliases:
                self.by_alias.setdefault(a, set()).add(c.person_id)
            self.by_name.setdefault(name_key(c.name), set()).add(c.person_id)

    def match(self, name: str, email: str | None, original_name: str | None = None) -> Match:
        names = [n for n in (name, original_name) if n]
        if email:
            found = self.by_email.get(email_key(email), set())
            if len(found) == 1:
                return Match(next(iter(found)), "email")
        keys = [name_key(n) for n in names]
        aliased = set().union(*(self.by_alias.get(k, set()) for k in keys))
        named = set().union(*(self.by_name.get(k, set()) for k in keys))
        if aliased and named and aliased != named:
            # One person's alias is another's own name (enrolled after the alias was given):
            # neither is taken for the account; staff decide.
            return Match(None, None, note=f"{names[0]!r} is one person's alias and another's name")
        for found, by in ((aliased, "alias"), (named, "name")):
            if len(found) == 1:
                return Match(next(iter(found)), by)
            if len(found) > 1:
                return Match(None, None, note=f"{len(found)} people share the {by} {names[0]!r}")
        return self.propose(names + ([email_name(email)] if email else []))

    def propose(self, names: list[str]) -> Match:
        if not names:
            return Match(None, None)
        scored = []
        for c in self.people:
            if self.roster_only and c.person_id not in self.preferred:
                continue
            scored.append((max(similarity(n, c.name) for n in names), c))
        scored.sort(key=lambda x: -x[0])
        if not scored or scored[0][0] < PROPOSE_AT:
            return Match(None, None)
        if len(scored) > 1 and scored[0][0] - scored[1][0] < MARGIN:
            return Match(None, None, note=f"close to {scored[0][1].name} and {scored[1][1].name}")
        return Match(None, None, scored[0][1].person_id, round(min(scored[0][0], 1.0), 3))
