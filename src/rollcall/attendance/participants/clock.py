"""Report times to seconds from the session's start.

Reports write wall-clock times in the zone of whoever exported them, in their locale's order
(05/06/2024 is May 6 in the US, June 5 elsewhere) and Meet writes times of day only. A time
with an offset is taken as written; any other is read in the session's zone, and of the
readings a format allows, the one nearest the session's start is taken (a meeting's report
is about that meeting).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone, tzinfo

from rollcall.attendance.participants.rows import ParsedReport
from rollcall.attendance.participants.text import ReportError
from rollcall.wallclock import as_utc

# How far from the session's start a report's time may be before the report is refused as
# being another meeting's.
MAX_DISTANCE = timedelta(hours=18)

_DATE = re.compile(r"(?P<a>\d{1,4})[./-](?P<b>\d{1,2})[./-](?P<c>\d{1,4})")
# Japanese and Chinese "2024年5月6日", Korean "2024년 5월 6일" and "2024. 5. 6.": read as
# "2024/5/6" (only with a four-digit year: "06.05. 14:05" is a day, a month and a time).
_CJK_DATE = re.compile(
    r"(\d{4})\s*[年년]\s*(\d{1,2})\s*[月월]\s*(\d{1,2})\s*[日일]?"
    r"|(\d{4})\.\s(\d{1,2})\.\s(\d{1,2})\.?"
)
# Day halves as Japanese, Chinese and Korean write them, before the time ("午後 2:05:00").
_CJK_PM = ("午後", "下午", "오후")
_CJK_AM = ("午前", "上午", "오전")
_TIME = re.compile(
    r"(?P<h>\d{1,2}):(?P<m>\d{2})(?::(?P<s>\d{2})(?:[.,]\d+)?)?\s*(?P<ampm>[AaPp]\.?\s?[Mm]\.?)?"
)
_BAD_MERIDIEM = re.compile(r"\s*[A-Za-z]\.?\s?[Mm]\.?(?![A-Za-z])")
_LETTERS = re.compile(r"[^\W\d_]")
# Letters a time stamp may carry besides its day half: ISO's T and Z, a zone's name.
_STAMP_WORDS = re.compile(r"\b(?:T|Z|UTC|GMT)\b")
# A zone named after the time: "9:01:23 AM GMT", "09:01 (UTC+05:30)", "9:01 GMT-3".
_NAMED_ZONE = re.compile(
    r"\s*\(?\b(?:GMT|UTC)(?:\s*(?P<sign>[+-])\s*(?P<h>\d{1,2})(?::?(?P<m>\d{2}))?)?\)?\s*$"
)
_ZONE = re.compile(r"(?:Z|[+-]\d{2}:?\d{2})\s*$")


@dataclass(frozen=True)
class Stay:
    line: int
    name: str
    email: str | None
    original_name: str | None
    join_t: float
    leave_t: float | None


def _plain_date(text: str) -> str:
    return _CJK_DATE.sub(lambda m: "/".join(g for g in m.groups() if g), text)


def _days(text: str) -> list[date]:
    m = _DATE.search(_plain_date(text))
    if m is None:
        return []
    a, b, c = m["a"], m["b"], m["c"]
    out = []
    if len(a) == 4:  # ISO order
        orders = [(int(a), int(b), int(c))]
    else:
        year = int(c) + (2000 if len(c) <= 2 else 0)
        orders = [(year, int(a), int(b)), (year, int(b), int(a))]  # M/D/Y, D/M/Y
    for y, mo, d in orders:
        try:
            out.append(date(y, mo, d))
        except ValueError:
            continue
    return out


def _clock(text: str) -> tuple[int, int, int] | None:
    rest = _DATE.sub(" ", _plain_date(text))
    m = _TIME.search(rest)
    if m is None:
        return None
    if m["ampm"] is None and _BAD_MERIDIEM.match(rest, m.end()):
        return None  # "09:20 XM": a marker that is neither AM nor PM is not guessed at
    h, mi, s = int(m["h"]), int(m["m"]), int(m["s"] or 0)
    half = m["ampm"]
    # Japanese and Chinese count the hours of a half from 0 ("午後0:05" is 12:05), Korean
    # from 12 like English; either is read.
    cjk = half is None and any(mark in rest for mark in (*_CJK_PM, *_CJK_AM))
    if cjk:
        half = "pm" if any(mark in rest for mark in _CJK_PM) else "am"
    if half:
        pm = half.lower().startswith("p")
        if not (0 if cjk else 1) <= h <= 12:
            return None
        h = h % 12 + (12 if pm else 0)
    if h > 23 or mi > 59 or s > 59:
        return None
    return h, mi, s


def has_date(text: str) -> bool:
    return _DATE.search(_plain_date(text)) is not None


def is_time(text: str) -> bool:
    """Whether a report's cell is a time (with or without a date) and nothing else: a name
    or a duration ("45 min", "1h 5m") is not."""
    if _clock(text) is None:
        return False
    rest = _TIME.sub(" ", _DATE.sub(" ", _plain_date(text)))
    for mark in (*_CJK_PM, *_CJK_AM):
        rest = rest.replace(mark, " ")
    return not _LETTERS.search(_STAMP_WORDS.sub(" ", rest))


def read_time(text: str, start: datetime, zone: tzinfo, where: str) -> datetime:
    """The instant `text` names (see the module's docstring); `where` prefixes errors."""
    text = text.strip()
    start = as_utc(start)
    if _ZONE.search(text) and _DATE.search(text):
        try:
            return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00").replace(" ", "T", 1)))
        except ValueError:
            pass
    named = _NAMED_ZONE.search(text)
    if named is not None:
        zone = _offset_zone(named, text, where)
        text = text[: named.start()]
    hms = _clock(text)
    if hms is None:
        raise ReportError(f"{where}: cannot read the time {text!r}")
    local_start = start.astimezone(zone).date()
    days = _days(text) or [local_start + timedelta(days=k) for k in (-1, 0, 1)]
    # Both readings of a time in the hour repeated when clocks go back (fold 0 and 1): a
    # meeting at the second 01:30 was refused as an hour away from its session.
    candidates = [
        as_utc(datetime(d.year, d.month, d.day, *hms, tzinfo=zone, fold=fold))
        for d in days
        for fold in (0, 1)
    ]
    best = min(candidates, key=lambda c: abs(c - start))
    if abs(best - start) > MAX_DISTANCE:
        raise ReportError(
            f"{where}: the time {text!r} is {abs(best - start).total_seconds() / 3600:.0f} hours "
            f"from the session's start ({start:%Y-%m-%d %H:%M} UTC); is this the right session?"
        )
    return best


def _offset_zone(named: re.Match[str], text: str, where: str) -> tzinfo:
    if named["sign"] is None:
        return UTC
    minutes = int(named["h"]) * 60 + int(named["m"] or 0)
    if minutes > 14 * 60 or int(named["m"] or 0) > 59:
        raise ReportError(f"{where}: no zone is {named.group().strip()!r} ({text!r})")
    return timezone(timedelta(minutes=-minutes if named["sign"] == "-" else minutes))


def stays_of(report: ParsedReport, start: datetime, zone: tzinfo) -> list[Stay]:
    """Each row's join and leave in seconds from `start` (a leave before its join is refused)."""
    out = []
    for row in report.rows:
        where = f"{report.filename}, line {row.line}"
        joined = read_time(row.joined, start, zone, where)
        left = read_time(row.left, start, zone, where) if row.left.strip() else None
        join_t = (joined - as_utc(start)).total_seconds()
        leave_t = None if left is None else (left - as_utc(start)).total_seconds()
        if leave_t is not None and _minutes_only(row.left):
            # "9:01 AM" (Meet's export) is any second of that minute: the person was in the
            # meeting until its end, not gone as it began (counts and evidence in its last
            # minute said "more faces than accounts").
            leave_t += 59.0
        if leave_t is not None and leave_t < join_t:
            if report.platform == "meet" and leave_t + 86400 >= join_t:
                leave_t += 86400  # a Meet meeting across midnight: times of day only
            else:
                raise ReportError(f"{where}: the leave time is before the join time")
        out.append(Stay(row.line, row.name, row.email, row.original_name, join_t, leave_t))
    return out


def _minutes_only(text: str) -> bool:
    """A clock time given to the minute ("9:01 AM", "09:01"), with no seconds."""
    return re.search(r"\d{1,2}:\d{2}(?::\d{2})", text) is None and bool(
        re.search(r"\d{1,2}:\d{2}", text)
    )
