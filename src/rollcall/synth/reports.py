"""Platform participant reports written for a meeting script, as Zoom, Teams and Meet write
them (with their quirks), so imports can be checked exactly against the script's truth."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo


@dataclass(frozen=True)
class Attendee:
    """One account in the meeting: its display name, email, and [join, leave) stays in seconds."""

    name: str
    email: str | None
    stays: tuple[tuple[float, float], ...]
    original_name: str | None = None  # renamed in the meeting (Zoom shows "name (original)")
    waiting: tuple[tuple[float, float], ...] = ()  # in the waiting room (Zoom lists these too)


def _at(start: datetime, zone: tzinfo, t: float) -> datetime:
    return (start + timedelta(seconds=t)).astimezone(zone)


def _csv(rows: list[list[str]], delimiter: str = ",") -> str:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter, lineterminator="\r\n").writerows(rows)
    return out.getvalue()


ZOOM_HEADERS = {
    "en": ["Name (Original Name)", "User Email", "Join Time", "Leave Time",
           "Duration (Minutes)", "Guest", "Recording Consent", "In Waiting Room"],
    "de": ["Name (ursprünglicher Name)", "E-Mail des Benutzers", "Beitrittszeit",
           "Austrittszeit", "Dauer (Minuten)", "Gast", "Aufzeichnungszustimmung",
           "Im Warteraum"],
}  # fmt: skip


def zoom_report(
    people: list[Attendee],
    start: datetime,
    zone: tzinfo,
    *,
    language: str = "en",
    preamble: bool = True,
    bom: bool = True,
) -> bytes:
    """Zoom's participants CSV: a row per stay (rejoins are rows), US dates in English,
    day-first 24-hour dates in German; the meeting block first when `preamble`."""
    fmt = "%m/%d/%Y %I:%M:%S %p" if language == "en" else "%d.%m.%Y %H:%M:%S"
    text = ""
    if preamble:
        end = max(b for p in people for _, b in p.stays)
        text += _csv(
            [
                ["Meeting ID", "Topic", "Start Time", "End Time", "User Email",
                 "Duration (Minutes)", "Participants"],
                ["812 3456 7890", "Algebra, week 1", _at(start, zone, 0).strftime(fmt),
                 _at(start, zone, end).strftime(fmt), "teacher@school.example",
                 str(round(end / 60)), str(len(people))],
            ]
        )  # fmt: skip
        text += "\r\n"
    rows = [ZOOM_HEADERS[language]]
    for p in people:
        shown = f"{p.name} ({p.original_name})" if p.original_name else p.name
        yes, no = ("Ja", "Nein") if language == "de" else ("Yes", "No")
        stays = sorted([(a, b, no) for a, b in p.stays] + [(a, b, yes) for a, b in p.waiting])
        for a, b, waiting in stays:
            rows.append(
                [shown, p.email or "", _at(start, zone, a).strftime(fmt),
                 _at(start, zone, b).strftime(fmt), str(max(1, round((b - a) / 60))),
                 no if p.email else yes, "Y", waiting]
            )  # fmt: skip
    text += _csv(rows)
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def _teams_duration(seconds: float) -> str:
    s = int(round(seconds))
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return " ".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (sec, "s")) if v or u == "s")


def teams_report(
    people: list[Attendee], start: datetime, zone: tzinfo, *, activities: bool = True
) -> bytes:
    """Teams' attendance report: UTF-16 with a BOM, tab-separated, three sections; US-style
    "5/6/24, 9:01:23 AM" times."""

    def at(t: float) -> str:
        d = _at(start, zone, t)
        return f"{d.month}/{d.day}/{d:%y}, {d:%I:%M:%S %p}".replace(", 0", ", ")

    end = max(b for p in people for _, b in p.stays)
    rows: list[list[str]] = [
        ["1. Summary"],
        ["Meeting title", "Algebra, week 1"],
        ["Attended participants", str(len(people))],
        ["Start time", at(0)],
        ["End time", at(end)],
        ["Meeting duration", _teams_duration(end)],
        ["Average attendance time", _teams_duration(end / 2)],
        [],
        ["2. Participants"],
        ["Name", "First Join", "Last Leave", "In-Meeting Duration", "Email",
         "Participant ID (UPN)", "Role"],
    ]  # fmt: skip
    for p in people:
        a, b = min(x for x, _ in p.stays), max(y for _, y in p.stays)
        total = sum(y - x for x, y in p.stays)
        rows.append(
            [p.name, at(a), at(b), _teams_duration(total), p.email or "", p.email or "",
             "Attendee"]
        )  # fmt: skip
    if activities:
        rows += [[], ["3. In-Meeting Activities"],
                 ["Name", "Join Time", "Leave Time", "Duration", "Email", "Role"]]  # fmt: skip
        for p in people:
            for a, b in p.stays:
                rows.append(
                    [p.name, at(a), at(b), _teams_duration(b - a), p.email or "", "Attendee"]
                )
    return _csv(rows, "\t").encode("utf-16")


def meet_report(people: list[Attendee], start: datetime, zone: tzinfo) -> bytes:
    """Meet's attendance CSV: one row per person, first join to last exit, times of day only."""

    def at(t: float) -> str:
        return _at(start, zone, t).strftime("%I:%M:%S %p").lstrip("0")

    def duration(seconds: float) -> str:
        m = int(seconds // 60)
        return f"{m // 60} hr {m % 60} min" if m >= 60 else f"{m} min"

    rows = [["First name", "Last name", "Email", "Duration", "Time joined", "Time exited"]]
    for p in people:
        first, _, last = p.name.partition(" ")
        a, b = min(x for x, _ in p.stays), max(y for _, y in p.stays)
        rows.append([first, last, p.email or "", duration(b - a), at(a), at(b)])
    return _csv(rows).encode("utf-8")
