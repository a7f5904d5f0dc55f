"""A course's term calendar: which dates it meets, and which sessions were held on them.

Pure logic on dates. A course meets on some weekdays between the term's first and last day,
except its holidays; each session is matched to the calendar by the date it started on, on the
course's own clock. A meeting date in the past with no session is *missed*, which is what an
instructor needs to see: a session that was never recorded.
"""

from __future__ import annotations

import calendar as _stdlib_calendar
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, timedelta

from rollcall.errors import RollcallError

WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
HELD, MISSED, HOLIDAY, UPCOMING, EXTRA = "held", "missed", "holiday", "upcoming", "extra"
MAX_TERM_DAYS = 2 * 366  # a term longer than two years is a typo


def parse_meeting_days(text: str | Iterable[str] | None) -> tuple[int, ...]:
    """Weekday numbers (Monday 0) from "mon,wed", "Mon Wed Fri" or a list of such names."""
    if text is None:
        return ()
    words = text.replace(",", " ").split() if isinstance(text, str) else list(text)
    days = set()
    for word in words:
        key = word.strip().lower()[:3]
        if key not in WEEKDAYS:
            raise RollcallError(f"unknown weekday {word!r}; write meeting days like mon,wed,fri")
        days.add(WEEKDAYS.index(key))
    return tuple(sorted(days))


def format_meeting_days(days: Iterable[int]) -> str:
    return ",".join(WEEKDAYS[d] for d in sorted(set(days)))


FIRST_YEAR, LAST_YEAR = 1900, 2999


def parse_day(text: str, label: str) -> date:
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        raise RollcallError(f"{label} must be a date like 2026-09-01 (got {text!r})") from None
    # Years a school's records can be about: 0001-01-01 broke the reports' day arithmetic
    # (a 500 in the portal).
    if not FIRST_YEAR <= day.year <= LAST_YEAR:
        raise RollcallError(f"{label} must be a date between {FIRST_YEAR} and {LAST_YEAR}")
    return day


@dataclass(frozen=True)
class Term:
    """When a course meets: weekdays, first and last day, and days off."""

    start: date | None
    end: date | None
    weekdays: tuple[int, ...] = ()
    holidays: dict[date, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.start and self.end:
            if self.end < self.start:
                raise RollcallError("the term cannot end before it starts")
            if (self.end - self.start).days > MAX_TERM_DAYS:
                raise RollcallError("a term is at most two years long")

    @property
    def defined(self) -> bool:
        return bool(self.start and self.end and self.weekdays)

    def meeting_dates(self) -> list[date]:
        """Every date the course meets (holidays left out); none without a whole term."""
        if not self.start or not self.end or not self.weekdays:
            return []
        out, day = [], self.start
        while day <= self.end:
            if day.weekday() in self.weekdays and day not in self.holidays:
                out.append(day)
            day += timedelta(days=1)
        return out


@dataclass(frozen=True)
class CalendarDay:
    day: date
    kind: str  # held | missed | holiday | upcoming | extra (a session on a day without meeting)
    sessions: tuple[str, ...] = ()
    label: str = ""  # a holiday's name


def match_sessions(
    term: Term,
    sessions_by_day: dict[date, list[str]],
    today: date,
    first: date | None = None,
    last: date | None = None,
) -> list[CalendarDay]:
    """The term's meeting dates, holidays and session dates between `first` and `last`
    (inclusive; None: unbounded), each with the sessions held on it, in date order."""
    days: dict[date, CalendarDay] = {}
    for day in term.meeting_dates():
        held = tuple(sessions_by_day.get(day, ()))
        kind = HELD if held else (UPCOMING if day >= today else MISSED)
        days[day] = CalendarDay(day, kind, held)
    in_term = term.start is not None and term.end is not None
    for day, label in term.holidays.items():
        if not in_term or term.start <= day <= term.end:  # type: ignore[operator]
            days.setdefault(day, CalendarDay(day, HOLIDAY, (), label))
    for day, names in sessions_by_day.items():
        existing = days.get(day)
        if existing is None or existing.kind == HOLIDAY:
            days[day] = CalendarDay(day, EXTRA, tuple(names), existing.label if existing else "")
    return [
        d
        for d in sorted(days.values(), key=lambda d: d.day)
        if (first is None or d.day >= first) and (last is None or d.day <= last)
    ]


Week = list[tuple[date, CalendarDay | None]]


def month_grids(days: list[CalendarDay]) -> list[tuple[date, list[Week]]]:
    """For display: each month that has a calendar day, as weeks (Monday first) of
    (date, the CalendarDay on it or None); dates of neighbouring months are included."""
    by_day = {d.day: d for d in days}
    months = sorted({(d.day.year, d.day.month) for d in days})
    grid = _stdlib_calendar.Calendar(firstweekday=0)
    return [
        (
            date(year, month, 1),
            [
                [(day, by_day.get(day) if day.month == month else None) for day in week]
                for week in grid.monthdatescalendar(year, month)
            ],
        )
        for year, month in months
    ]
