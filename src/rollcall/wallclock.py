"""Wall-clock time: the zones courses are held in, and when a session really started.

rollcall stores every instant in UTC and every session time as seconds from the session's
start; people read clock times in the course's zone (else ROLLCALL_TIMEZONE's, else the
machine's). Zones are IANA names, resolved with zoneinfo.
"""

from __future__ import annotations

import os
from datetime import UTC, date, datetime, time, timedelta, tzinfo
from functools import lru_cache
from pathlib import Path
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError, available_timezones

from rollcall.errors import RollcallError

LOCALTIME = Path("/etc/localtime")


def check_zone(name: str, where: str = "") -> str:
    """The IANA zone name, or RollcallError saying what a valid one looks like."""
    name = name.strip()
    try:
        if not name or name != name.strip("/") or ".." in name:
            raise ValueError
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise RollcallError(
            f"unknown time zone {name!r}{f' in {where}' if where else ''}; use an IANA name "
            "such as Europe/Paris, America/New_York or UTC"
        ) from None
    return name


@lru_cache(maxsize=1)
def zone_names() -> tuple[str, ...]:
    """Every IANA zone name this machine knows, for pickers (reading them scans the disk)."""
    return tuple(sorted(available_timezones()))


def zone_info(name: str | None) -> tzinfo:
    """The zone a name gives, or the machine's own zone when there is none."""
    return ZoneInfo(name) if name else local_zone()


def local_zone() -> tzinfo:
    """The machine's zone with its daylight-saving rules (TZ, else /etc/localtime)."""
    return _local_zone(os.environ.get("TZ", ""))


@lru_cache(maxsize=4)
def _local_zone(tz_variable: str) -> tzinfo:
    name = tz_variable.lstrip(":")
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass  # a POSIX rule such as "CET-1CEST": the C library already applied it
    try:
        with LOCALTIME.open("rb") as fh:
            return ZoneInfo.from_file(fh, key=_zone_name_of_localtime())
    except (OSError, ValueError):
        # No zone database (Windows): a fixed offset, right until the next clock change.
        return datetime.now().astimezone().tzinfo or UTC


def _zone_name_of_localtime() -> str:
    target = str(LOCALTIME.resolve())
    _, found, name = target.partition("zoneinfo/")
    return name if found and name else "localtime"


def zone_name(zone: tzinfo) -> str:
    """What to call a zone in reports: its IANA key when it has one."""
    key = getattr(zone, "key", None)
    return key or datetime.now(zone).tzname() or "local"


def as_utc(value: datetime) -> datetime:
    """SQLite returns naive datetimes; everything rollcall stores is UTC."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)


def in_zone(value: datetime, zone: tzinfo) -> datetime:
    return as_utc(value).astimezone(zone)


def wall_time(day: date, hhmm: str, zone: tzinfo) -> datetime:
    """The instant a clock in `zone` shows HH:MM on `day` (the first one, when clocks go back;
    the jump, when they go forward past it: see wall_instants)."""
    return wall_instants(day, hhmm, zone)[0]


def wall_instants(day: date, hhmm: str, zone: tzinfo) -> list[datetime]:
    """Every instant (UTC) a clock in `zone` shows HH:MM on `day`, earliest first: one; two
    when clocks go back through it (the hour repeats); and when they go forward past it (a
    time that never shows), the instant of the jump, when the skipped hour would have been.
    Python reads a skipped time with the offset of before or after the jump: an hour off,
    and a 01:30-02:15 class on that night became 02:30 to 02:15 the next day."""
    hh, mm = (int(x) for x in hhmm.split(":"))
    naive = datetime.combine(day, time(hh, mm))
    found: list[datetime] = []
    for fold in (0, 1):
        instant = as_utc(naive.replace(tzinfo=zone, fold=fold))
        if instant.astimezone(zone).replace(tzinfo=None) == naive and instant not in found:
            found.append(instant)
    if found:
        return sorted(found)
    # Skipped: the jump lies between the two readings; found to the second by bisection.
    ends = sorted(int(as_utc(naive.replace(tzinfo=zone, fold=f)).timestamp()) for f in (0, 1))
    lo, hi = ends

    def offset(ts: int) -> timedelta | None:
        return datetime.fromtimestamp(ts, UTC).astimezone(zone).utcoffset()

    after = offset(hi)
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if offset(mid) == after else (mid, hi)
    return [datetime.fromtimestamp(hi, UTC)]


def seconds_between(earlier: datetime, later: datetime) -> float:
    """Elapsed seconds; through UTC, because Python subtracts datetimes that share a ZoneInfo
    as wall-clock times and a daylight-saving change would shift the result by an hour."""
    return (as_utc(later) - as_utc(earlier)).total_seconds()


def clock_at(started_at: datetime, seconds: float | None, zone: tzinfo) -> datetime | None:
    """The clock time `seconds` into a session, in `zone`, to the nearest second (what reports
    show; the seconds-from-start figures keep the precision)."""
    if seconds is None:
        return None
    when = as_utc(started_at) + timedelta(seconds=seconds)
    when = (when + timedelta(microseconds=500_000)).replace(microsecond=0)
    return in_zone(when, zone)


FUTURE_SLACK = timedelta(minutes=5)


def parse_started_at(text: str) -> datetime:
    """An ISO 8601 time with its zone (2024-05-06T09:00+02:00, ...Z); a bare time is refused,
    since the same clock reading means a different instant in every zone."""
    try:
        value = datetime.fromisoformat(text.strip())
    except ValueError:
        raise RollcallError(
            f"--started-at {text!r} is not an ISO 8601 time; write e.g. 2024-05-06T09:00+02:00"
        ) from None
    if value.tzinfo is None or value.utcoffset() is None:
        raise RollcallError(
            f"--started-at {text!r} has no time zone; add the offset or Z, "
            "e.g. 2024-05-06T09:00+02:00 or 2024-05-06T07:00Z"
        )
    try:
        utc = value.astimezone(UTC)
    except OverflowError:
        utc = None
    # Sampling times and report times are counted from it: a year 1 or 9999 start overflows
    # them (and is a typo). A recording's start taken from its file's date can be old: 1970 on.
    if utc is None or not 1970 <= utc.year <= 2100:
        raise RollcallError(f"--started-at {text!r} is not between the years 1970 and 2100")
    # A session starts when its recording or meeting did: a start still to come (a typo in
    # the year or month) would close the session, and send its absences, before the class.
    # (Minutes of slack for an agent's clock a little ahead of the server's.)
    if utc > datetime.now(UTC) + FUTURE_SLACK:
        raise RollcallError(
            f"--started-at {text!r} is in the future; give when the recording or meeting began"
        )
    return value
