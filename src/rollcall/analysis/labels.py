"""Tile labels snapped to the names a session expects: its roster, aliases and participants.

What OCR reads off a label is close to a display name but not always equal: an accent read as
another (ë for ē), a letter dropped, the end cut off by the app with "…". A read label is
replaced by the closest expected name when they are similar enough; otherwise the text is kept
as read (a nickname, a guest), which is evidence too. Names compare with case, accents,
underscores and spacing ignored.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from difflib import SequenceMatcher
from functools import lru_cache

from rollcall.accents import unaccented

# Chosen by bench/bench_labels.py on one half of its names (0.598-0.625 over three runs) and
# reported on the other half: from 9 px labels, >= 97% snapped to their own name and no label of
# someone off the roster snapped to anyone. Added words are refused separately (_words_match).
MIN_SIMILARITY = 0.6
# Every word of a snapped label must be this alike to a word of the name, and one of them this
# nearly right (one letter wrong in a five-letter word is 0.8). Set by hand, not tuned on the
# benchmark's names.
WORD_ALIKE = 0.6
WORD_NEARLY_RIGHT = 0.8
ELLIPSES = ("…", "...", "..")
_SPACES = re.compile(r"\s+")


def normalize(name: str) -> str:
    """Case, accents, underscores, dots and spacing ignored: 'José_Núñez ' -> 'jose nunez'."""
    text = unaccented(name).replace("_", " ").replace("·", " ").casefold()
    return _SPACES.sub(" ", text).strip()


def _cut(text: str) -> tuple[str, bool]:
    """The text without the app's ellipsis, and whether it had one (a truncated name)."""
    stripped = text.rstrip()
    for mark in ELLIPSES:
        if stripped.endswith(mark):
            return stripped[: -len(mark)].rstrip(), True
    return stripped, False


def similarity(read: str, name: str) -> float:
    """0-1: how alike a read label and a name are. A truncated label is compared with the
    same-length start of the name, so 'Alexandra Konst…' matches 'Alexandra Konstantinou'."""
    core, truncated = _cut(read)
    a = normalize(core)
    b = normalize(name)
    if not a or not b:
        return 0.0
    if truncated and len(b) > len(a):
        b = b[: len(a)]
    return SequenceMatcher(None, a, b, autojunk=False).ratio()


@dataclass(frozen=True)
class Snap:
    """A read label and the expected name it was snapped to (None: nothing close enough)."""

    read: str
    name: str | None
    similarity: float

    @property
    def label(self) -> str:
        """What to store: the expected name when snapped, else the text as read."""
        return self.name if self.name is not None else self.read


def snap_label(
    read: str, candidates: Sequence[str], min_similarity: float = MIN_SIMILARITY
) -> Snap:
    """The candidate closest to ``read``, when at least ``min_similarity`` alike and not tied
    with a different candidate (two people whose names share the shown start)."""
    best: tuple[float, str] | None = None
    runner_up = 0.0
    for name in candidates:
        score = similarity(read, name)
        if best is None or score > best[0]:
            if best is not None and normalize(best[1]) != normalize(name):
                runner_up = best[0]
            best = (score, name)
        elif normalize(best[1]) != normalize(name):
            runner_up = max(runner_up, score)
    if best is None or best[0] < min_similarity or best[0] - runner_up < 1e-9:
        return Snap(read, None, best[0] if best else 0.0)
    if not _words_match(read, best[1]):
        return Snap(read, None, best[0])
    return Snap(read, best[1], best[0])


@lru_cache(maxsize=8192)
def snapped_label(read: str, candidates: tuple[str, ...]) -> str:
    """``snap_label(read, candidates).label``, remembered: a gallery's labels come back the
    same sample after sample (from the label cache), and snapping one against a class's names
    costs ~2.5 ms of difflib (~65 ms a 25-tile full check) for the same answer each time."""
    return snap_label(read, candidates).label


def _words_match(read: str, name: str) -> bool:
    """Every word of the label resembles a word of the name. A misread letter or two keeps a
    word alike; an added word does not ("Ana Lima's iPad", a second login, is not "Ana Lima",
    and the difference is what tells the two tiles apart).

    And one word at least is nearly right: a misread leaves most of a name alone, while a
    guest's different name can be loosely like a classmate's in every word ("Maria Sharapova"
    and "Ariel Sharon" share "ari" and "shar"), and snapping it would put the guest's face in
    the classmate's tile: a proxy suspected against someone who did nothing."""
    core, truncated = _cut(read)
    words = normalize(core).replace("'", " ").split()
    theirs = normalize(name).replace("'", " ").split()
    closest = None
    for i, word in enumerate(words):
        if len(word) < 3:
            continue
        last = truncated and i == len(words) - 1
        alike = max(
            SequenceMatcher(None, word, w[: len(word)] if last else w, autojunk=False).ratio()
            for w in theirs
        )
        if alike < WORD_ALIKE:
            return False
        closest = alike if closest is None else max(closest, alike)
    if closest is not None and closest < WORD_NEARLY_RIGHT:
        return False
    return _name_words_shown(words, theirs, truncated)


def _name_words_shown(words: list[str], theirs: list[str], truncated: bool) -> bool:
    """Every word of the name is in the label, misread at most (or cut off by the app's
    ellipsis, or run into the next word): a misread does not shorten "Hugo" to "H.", and "H.
    Chavez" (a guest, or a brother) is not Hugo Chavez, who would be suspected of a sit-in when
    the guest's face is seen under his name."""
    joined = "".join(words)
    shown = theirs
    if truncated:  # the words the label had room for; the last one may be cut short
        kept, room = [], len(" ".join(words))
        for word in theirs:
            if room <= 0:
                break
            kept.append(word[:room])
            room -= len(word) + 1
        shown = kept
    for word in shown:
        if word in joined:
            continue
        alike = max(SequenceMatcher(None, word, w, autojunk=False).ratio() for w in words)
        if alike < WORD_ALIKE:
            return False
    return True


def roster_names(names: Iterable[str], aliases: Iterable[str] = ()) -> list[str]:
    """The names a session's labels may show: its people (as typed labels, underscores as
    spaces) and any aliases or participant display names, without duplicates."""
    out: dict[str, str] = {}
    for name in [*names, *aliases]:
        shown = name.replace("_", " ").strip()
        if shown:
            out.setdefault(normalize(shown), shown)
    return list(out.values())
