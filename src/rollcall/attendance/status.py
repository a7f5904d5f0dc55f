"""A person's status in a session, from their presence intervals and the course's schedule."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta, tzinfo

from rollcall.wallclock import in_zone, seconds_between, wall_instants


@dataclass(frozen=True)
class ScheduleWindow:
    """When the session should start and end, in seconds from the session's t = 0."""

    start: float
    end: float
    grace: float  # seconds of slack before "late" or "left early"
    # The longest gap between two head counts: someone seen in the last one, up to that long
    # before the end, was not seen leaving (nobody looked after them).
    sampling_gap: float = 0.0
    # When the screen stopped showing any face for the rest of the session (slides shared to
    # the end, the window covered): from then on nobody was seen leaving either. None: faces
    # were seen to the last sample.
    blank_from: float | None = None
    # The date of the class the session is (class_day): its day on the course's calendar.
    day: date | None = None


# How an export writes "absent" while its session runs or is interrupted (it resumes): nobody
# is judged absent before the end.
NOT_YET_SEEN = "not_yet_seen"


def exported_status(status: str, state: str) -> str:
    """A status as the exports write it, given its session's state: NOT_YET_SEEN for the absent
    of a session not closed (running, or interrupted: it resumes)."""
    return NOT_YET_SEEN if state != "closed" and status == "absent" else status


# How near (seconds) the start of the evening's or next day's class must be to be this session's.
NEAR_CLASS_S = 6 * 3600.0


def class_day(started_at: datetime, start_time: str, zone: tzinfo) -> date:
    """The date of the class a session that started at ``started_at`` is, for a course whose
    class starts at ``start_time`` ("HH:MM" in ``zone``): the day's, or, across midnight, the
    one that began the evening before (a class 23:30-00:30 whose session started at 00:01 is
    that night's class, not the next one) or the next day's (a session started at 23:55 for a
    00:15 class), when that one starts within NEAR_CLASS_S of the session and nearer than the
    day's."""
    today = in_zone(started_at, zone).date()

    def away(d: date) -> float:
        return min(abs(seconds_between(started_at, c)) for c in wall_instants(d, start_time, zone))

    day = today
    for other in (today - timedelta(days=1), today + timedelta(days=1)):
        if away(other) < min(NEAR_CLASS_S, away(day)):
            day = other
    return day


# A session started this long before its class's start is that class's (staff open it early).
EARLY_START_S = 15 * 60.0


def window_for(
    started_at: datetime,
    start_time: str | None,
    end_time: str | None,
    grace_minutes: int,
    zone: tzinfo,
    sampling_gap: float = 0.0,
) -> ScheduleWindow | None:
    """Map a course's wall-clock "HH:MM" times, read in the course's zone, onto a session that
    really started at started_at (stored in UTC)."""
    if not start_time or not end_time:
        return None
    day = class_day(started_at, start_time, zone)
    # The night clocks go back, the start shows twice (below: which of the two). A class that
    # ends at or before its start's clock time ends after midnight; otherwise on its day, at
    # the first end after its start. (The night clocks go forward, a time in the skipped hour
    # is the jump: wallclock.wall_instants.)
    starts = wall_instants(day, start_time, zone)
    # The latest that had begun by the session's start (or was about to): a session at the
    # first 01:35 is the first 01:00's class, not the second's 25 minutes later.
    begun = [c for c in starts if seconds_between(started_at, c) <= EARLY_START_S]
    begins = begun[-1] if begun else starts[0]
    overnight = _minutes(end_time) <= _minutes(start_time)
    ends = wall_instants(day + timedelta(days=1) if overnight else day, end_time, zone)
    # (Both in the skipped hour: that night the class lasts no time at all.)
    finishes = next((c for c in ends if c >= begins), begins)
    start = seconds_between(started_at, begins)
    end = seconds_between(started_at, finishes)
    return ScheduleWindow(start, end, grace_minutes * 60.0, sampling_gap, day=day)


def _minutes(hhmm: str) -> int:
    hh, mm = (int(x) for x in hhmm.split(":"))
    return 60 * hh + mm


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
    # Left early: gone before the end by more than the grace, and by more than a sampling gap
    # (with --grace 0, everyone seen in a last sample taken 30 s before the end had "left").
    end = window.end if window.blank_from is None else min(window.end, window.blank_from)
    if session_over and last_seen < end - max(window.grace, window.sampling_gap):
        return "left_early"
    return "present"
