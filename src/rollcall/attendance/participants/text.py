"""Reading a report file as text: its encoding, its delimiter, and its lines as cells."""

from __future__ import annotations

import csv
import re

from rollcall.accents import unaccented
from rollcall.errors import RollcallError


class ReportError(RollcallError):
    """A participant report that cannot be read; the message names the file and the line."""


def decode(data: bytes, filename: str) -> str:
    """Text of a report: Teams writes UTF-16 with a BOM, Zoom UTF-8 with or without one,
    and a spreadsheet re-save may give Windows-1252."""
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        encoding = "utf-16"
    elif data.startswith(b"\xef\xbb\xbf"):
        encoding = "utf-8-sig"
    elif data[:200].count(b"\x00") > 20:  # UTF-16 that lost its BOM
        encoding = "utf-16-le" if data[1:2] == b"\x00" else "utf-16-be"
    else:
        encoding = "utf-8"
    try:
        return data.decode(encoding)
    except UnicodeDecodeError:
        if encoding != "utf-8":
            raise ReportError(f"{filename}: not readable as {encoding} text") from None
    try:
        return data.decode("cp1252")
    except UnicodeDecodeError:
        raise ReportError(f"{filename}: not a text file (no known encoding fits)") from None


def delimiter_of(line: str) -> str:
    counts = {d: line.count(d) for d in ("\t", ",", ";")}
    return max(counts, key=lambda d: counts[d]) if any(counts.values()) else ","


def cells(line: str, delimiter: str) -> list[str]:
    """One line's cells, stripped; quotes as CSV writes them."""
    row = next(csv.reader([line], delimiter=delimiter), [])
    return [c.strip().strip("\ufeff") for c in row]


def header_key(text: str) -> str:
    """A header cell compared across languages and spellings: no accents, case or punctuation."""
    plain = unaccented(text).casefold()
    return " ".join(re.findall(r"[a-z0-9]+", plain))


def blank(row: list[str]) -> bool:
    return not any(row)
