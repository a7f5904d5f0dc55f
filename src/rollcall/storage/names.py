"""The names people, courses and sessions are known by: also the portal's addresses for them."""

from __future__ import annotations

import re
import unicodedata

from rollcall.accents import unaccented
from rollcall.errors import RollcallError
from rollcall.source_text import shown_text

MAX_NAME = 200  # characters: a longer name would push every other column off the portal's tables
# Right-to-left and isolate overrides: "emoji \u202eevil" shows as "live ijome", and the
# reversal leaks into what is printed after it (a dashboard card's header).
# (The direction marks U+200E, U+200F and U+061C are normal in right-to-left names: allowed.)
BIDI_CONTROLS = set("\u202a\u202b\u202c\u202d\u202e\u2066\u2067\u2068\u2069")


def stored_form(name: str) -> str:
    """A name as it is stored and looked up: composed (NFC). "ö" can be typed as one character
    or as "o" and a combining diaeresis (macOS file names, some keyboards); the two look the
    same everywhere and must be one name, not two people nobody can tell apart."""
    return unicodedata.normalize("NFC", name)


def written_forms(name: str) -> tuple[str, ...]:
    """The forms a name may be stored in: composed, and decomposed (stored before names were
    composed, e.g. a person enrolled from a macOS folder name). Lookups try both."""
    return tuple(dict.fromkeys((stored_form(name), unicodedata.normalize("NFD", name), name)))


def check_name(kind: str, name: str) -> str:
    """The name without surrounding spaces, composed (stored_form), or RollcallError saying
    why it cannot be used.

    A "/" would split the portal's address of the thing in two (/sessions/CS101/2024 is not the
    page of session "CS101/2024"), and control characters cannot be typed back."""
    name = stored_form(name.strip())
    if not name:
        raise RollcallError(f"a {kind} name cannot be empty")
    if "/" in name:
        raise RollcallError(
            f"a {kind} name cannot contain '/' ({name!r}); the portal addresses {kind}s by name "
            "(use '-' instead)"
        )
    if any(unicodedata.category(ch) == "Cs" for ch in name):
        # A file or folder name in another encoding (Latin-1 "Renée" on a UTF-8 system):
        # Python keeps its bytes as lone surrogates, which no database stores.
        raise RollcallError(
            f"a {kind} name must be valid text ({shown_text(name)!r} is not UTF-8: rename it)"
        )
    if any(unicodedata.category(ch) == "Cc" or ch in BIDI_CONTROLS for ch in name):
        raise RollcallError(
            f"a {kind} name cannot contain control or text-direction characters ({name!r})"
        )
    if set(name) == {"."}:
        # The browser resolves /sessions/.. to /: the page could never be opened.
        raise RollcallError(f"a {kind} name cannot be only dots ({name!r})")
    if len(name) > MAX_NAME:
        raise RollcallError(f"a {kind} name can have at most {MAX_NAME} characters")
    return name


# Turkish dotted and dotless i: "İSMAİL YILMAZ" is "İsmail Yılmaz" in capitals, but
# casefold() makes "İ" an "i" with a combining dot and keeps "ı" apart from "I".
_TURKISH_I = str.maketrans({"İ": "I", "ı": "i"})


def same_name_key(name: str) -> str:
    """Names that are one name to a reader: equal ignoring case and how words are joined,
    spaces or underscores ("Vladimir_Putin", "vladimir  putin"), and invisible format marks
    (a right-to-left mark pasted with a Hebrew name). Not accents, and not where the words
    break: "Li Na" is not "Lina", nor "José" always "Jose"."""
    name = "".join(ch for ch in name if unicodedata.category(ch) != "Cf")
    folded = stored_form(name.translate(_TURKISH_I).casefold())
    return " ".join(re.split(r"[\s_]+", folded.strip(" _")))


def check_exact_name(kind: str, name: str) -> str:
    """check_name for names that are looked up as given (sessions, courses): no trimming."""
    name = stored_form(name)
    if check_name(kind, name) != name:
        raise RollcallError(f"a {kind} name cannot start or end with spaces ({name!r})")
    return name


def folded(text: str) -> str:
    """Text as searched and sorted: without accents or case ("Zürich", "ZURICH", "zurich";
    "İstanbul", "istanbul"; "Weiß", "weiss"), so that a name is found however it is typed
    and sorted among its letters (by code point, "Émile" came after "Zoë")."""
    return unaccented(text).casefold()


def name_order(name: str) -> tuple[str, str]:
    """A sort key of names: folded first, the name itself to break ties."""
    return folded(name), name
