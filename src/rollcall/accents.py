"""Letters without their accents, for comparing names typed on different keyboards.

Unicode decomposition takes the accent off "é" or "ñ", but "ø", "ł", "ı", "æ" and a few more
are letters of their own to it, while the people who bear them type "Soren", "Lukasz" or
"Yilmaz" on an English keyboard (a meeting's display name, an email) and expect the match.
"""

from __future__ import annotations

import unicodedata

# Latin letters with no decomposition, and what they are written as without the accent.
_OWN_LETTERS = str.maketrans(
    {
        "ø": "o", "Ø": "O", "ł": "l", "Ł": "L", "ı": "i", "đ": "d", "Đ": "D", "ð": "d",
        "Ð": "D", "ħ": "h", "Ħ": "H", "ŧ": "t", "Ŧ": "T", "æ": "ae", "Æ": "AE", "œ": "oe",
        "Œ": "OE", "þ": "th", "Þ": "Th",
    }
)  # fmt: skip


def unaccented(text: str) -> str:
    """``text`` without accents, case kept: 'Łukasz Wróbel' -> 'Lukasz Wrobel'."""
    # Decomposed first: "ǿ" is "ø" and an accent, whose "ø" the table then takes.
    text = unicodedata.normalize("NFKD", text).translate(_OWN_LETTERS)
    return "".join(ch for ch in text if not unicodedata.combining(ch))
