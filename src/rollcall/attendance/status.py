"""A person's status in a session, from their presence intervals and the course's schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta


@dataclass(frozen=True)
class ScheduleWindow:
    """When the session should start and end, in seconds from the session's t = 0."""

    start: float
    end: float
    grace: float  # seconds of slack before "late" or "left early"


def window_for(
    started_at: datetime, start_time: str | None, end_time: str | None, grace_minutes: int
) -> ScheduleWindow | None:
    """Map a course's wall-clock "HH:MM" times onto a session that started at started_at."""
    if not start_time or not end_time:
        return None
    if started_at.tzinfo is None:  # SQLite hands back naive datetimes; rollcall stores UTC
        started_at = started_at.replace(tzinfo=UTC)
    local = started_at.astimezone()

    def offset(hhmm: str) -> float:
        hh, mm = (int(x) for x in hhmm.split(":"))
        when = datetime.combine(local.date(), time(hh, mm), tzinfo=local.tzinfo)
        return (when - local).total_seconds()

    start, end = offset(start_time), offset(end_time)
    if end <= start:
        end += timedelta(days=1).total_seconds()
    return ScheduleWindow(start, end, grace_minutes * 60.0)


def minutes_present(intervals: list[tuple[float, float]]) -> float:
    return sum(max(0.0, end - start) for start, end in intervals) / 60.0


def status_of(
    first_seen: float | None,
    last_seen: float | None,
    window: ScheduleWindow | None,
    session_over: bool,
) -> str:
    """present | late | left_early | absent. Without a schedule only present and absent exist."""
    if first_seen is None or last_seen is None:
        return "absent"
    if window is None:
        return "present"
    if first_seen > window.start + window.grace:
        return "late"
    if session_over and last_seen < window.end - window.grace:
        return "left_early"
    return "present"
