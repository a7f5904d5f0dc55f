"""What every platform's parser gives: one row per stay of an account, times still as text."""

from __future__ import annotations

from dataclasses import dataclass, field

from rollcall.attendance.participants.text import ReportError, header_key


@dataclass(frozen=True)
class ReportRow:
    """One join..leave of one account, as the report wrote it (line: 1-based, for errors)."""

    line: int
    name: str
    email: str | None
    joined: str
    left: str
    original_name: str | None = None


@dataclass
class ParsedReport:
    platform: str  # zoom | teams | meet
    filename: str
    rows: list[ReportRow] = field(default_factory=list)


def columns(header: list[str], synonyms: dict[str, tuple[str, ...]]) -> dict[str, int]:
    """Column index of each field whose header is one of its synonyms (first match wins)."""
    keys = [header_key(h) for h in header]
    out: dict[str, int] = {}
    for fieldname, names in synonyms.items():
        for i, key in enumerate(keys):
            if key in names and i not in out.values():
                out[fieldname] = i
                break
    return out


def email_or_none(text: str) -> str | None:
    text = text.strip()
    return text if "@" in text and " " not in text else None


def take(row: list[str], index: int | None) -> str:
    return row[index].strip() if index is not None and index < len(row) else ""


def need_columns(
    row: list[str], where: dict[str, int], required: tuple[str, ...], filename: str, line: int
) -> None:
    width = max(where[f] for f in required) + 1
    if len(row) < width:
        raise ReportError(
            f"{filename}, line {line}: {len(row)} column(s) where the header has at least "
            f"{width}; the file is cut or broken there"
        )
