"""The participant reports Zoom, Teams and Meet would give for a generated meeting's script.

(synth/reports.py writes them from a list of accounts, for the importer's own tests.)

Written from the same script as the recording, so an importer can be checked against the
truth: who joined under which display name and account, and when. The formats follow the
apps' exports as documented in docs/research (next-wave §3.1):

- Zoom's participants CSV: ``Name (Original Name),User Email,Join Time,Leave Time,Duration
  (Minutes),Guest``, one row per stay (a rejoin is a new row), optionally after the
  "meeting information" block; a renamed participant shows as ``Nick (Original Name)``;
- Teams' attendance report: UTF-16, tab-separated, in sections (``1. Summary``,
  ``2. Participants``, ``3. In-Meeting Activities``), durations like ``1h 27m 51s``;
- Meet's attendance CSV: ``First name,Last name,Email,Duration,Time joined,Time exited``,
  durations like ``1 hr 5 min``, times of day only.
"""

from __future__ import annotations

import csv
import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from rollcall.synth.gallery import display_name
from rollcall.synth.script import AttendanceScript

ZOOM_HEADER = [
    "Name (Original Name)",
    "User Email",
    "Join Time",
    "Leave Time",
    "Duration (Minutes)",
    "Guest",
]
ZOOM_MEETING_HEADER = [
    "Meeting ID",
    "Topic",
    "Start Time",
    "End Time",
    "User Email",
    "Duration (Minutes)",
    "Participants",
]
TEAMS_PARTICIPANTS = [
    "Name",
    "First Join",
    "Last Leave",
    "In-Meeting Duration",
    "Email",
    "Participant ID (UPN)",
    "Role",
]
TEAMS_ACTIVITIES = ["Name", "Join Time", "Leave Time", "Duration", "Email", "Role"]
MEET_HEADER = ["First name", "Last name", "Email", "Duration", "Time joined", "Time exited"]
EMAIL_DOMAIN = "school.example"


@dataclass(frozen=True)
class Participation:
    """One account's part in the meeting, as a platform sees it."""

    account: str  # the script's participant name
    shown: str  # the display name in the meeting
    original: str  # the account holder's own name
    email: str | None  # None: a guest without an account
    stays: list[tuple[float, float]]


def participations(
    script: AttendanceScript, emails: Mapping[str, str | None] | None = None
) -> list[Participation]:
    """Every account that joined, in order of first joining. Roster people have school emails
    (or ``emails[name]``); strangers are guests. An account showing someone else's face is
    still its owner's account; a second login shares its student's email."""
    emails = dict(emails or {})
    roster = set(script.people)
    out = []
    for account in script.participants:
        stays = script.presence[account]
        if not stays:
            continue
        owner = account
        face = script.accounts.get(account)
        if account not in roster and face in roster:
            owner = face  # a second login of a roster student
        if owner in emails:
            email = emails[owner]
        else:
            email = default_email(owner) if owner in roster else None
        shown = script.labels.get(account, display_name(account))
        out.append(Participation(account, shown, display_name(owner), email, list(stays)))
    return sorted(out, key=lambda p: p.stays[0][0])


def default_email(name: str) -> str:
    return f"{display_name(name).lower().replace(' ', '.')}@{EMAIL_DOMAIN}"


def write_platform_reports(
    script: AttendanceScript,
    folder: Path,
    started_at: datetime,
    *,
    topic: str = "Generated meeting",
    emails: Mapping[str, str | None] | None = None,
    zoom_meeting_info: bool = False,
) -> dict[str, Path]:
    """Write the Zoom, Teams and Meet reports of ``script`` (which began at ``started_at``)
    into ``folder``; returns {"zoom": path, "teams": path, "meet": path}."""
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    people = participations(script, emails)
    end = started_at + timedelta(seconds=script.duration_s)
    paths = {
        "zoom": folder / "zoom_participants.csv",
        "teams": folder / "teams_attendance.csv",
        "meet": folder / f"{started_at:%Y-%m-%d %H:%M} {topic} - Attendance Report.csv",
    }
    paths["zoom"].write_text(
        zoom_csv(people, started_at, end, topic, zoom_meeting_info), encoding="utf-8"
    )
    # Teams writes UTF-16 with a byte-order mark; Python's "utf-16" codec does the same.
    paths["teams"].write_text(teams_tsv(people, started_at, end, topic), encoding="utf-16")
    paths["meet"].write_text(meet_csv(people, started_at), encoding="utf-8")
    return paths


def _at(start: datetime, seconds: float) -> datetime:
    return start + timedelta(seconds=round(seconds))


def _zoom_time(when: datetime) -> str:
    return when.strftime("%m/%d/%Y %I:%M:%S %p")


def zoom_csv(
    people: list[Participation],
    start: datetime,
    end: datetime,
    topic: str,
    meeting_info: bool = False,
) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    if meeting_info:
        minutes = math.ceil((end - start).total_seconds() / 60)
        out.writerow(ZOOM_MEETING_HEADER)
        out.writerow(
            [
                "812 3456 7890",
                topic,
                _zoom_time(start),
                _zoom_time(end),
                f"host@{EMAIL_DOMAIN}",
                minutes,
                len(people),
            ]
        )
        out.writerow([])
    out.writerow(ZOOM_HEADER)
    for p in people:
        name = p.shown if p.shown == p.original else f"{p.shown} ({p.original})"
        for a, b in p.stays:
            minutes = max(1, math.ceil((b - a) / 60))
            guest = "No" if p.email else "Yes"
            joined, left = _zoom_time(_at(start, a)), _zoom_time(_at(start, b))
            out.writerow([name, p.email or "", joined, left, minutes, guest])
    return buf.getvalue()


def _teams_time(when: datetime) -> str:
    hour = when.hour % 12 or 12
    return f"{when.month}/{when.day}/{when:%y}, {hour}:{when:%M:%S} {when:%p}"


def _teams_duration(seconds: float) -> str:
    s = round(seconds)
    h, rest = divmod(s, 3600)
    m, sec = divmod(rest, 60)
    parts = ([f"{h}h"] if h else []) + ([f"{m}m"] if h or m else []) + [f"{sec}s"]
    return " ".join(parts)


def teams_tsv(people: list[Participation], start: datetime, end: datetime, topic: str) -> str:
    lines: list[list[str]] = [["1. Summary"]]
    total = (end - start).total_seconds()
    attended = [sum(b - a for a, b in p.stays) for p in people]
    average = sum(attended) / len(attended) if attended else 0.0
    lines += [
        ["Meeting title", topic],
        ["Attended participants", str(len(people))],
        ["Start time", _teams_time(start)],
        ["End time", _teams_time(end)],
        ["Meeting duration", _teams_duration(total)],
        ["Average attendance time", _teams_duration(average)],
        [],
        ["2. Participants"],
        TEAMS_PARTICIPANTS,
    ]
    for p, seconds in zip(people, attended, strict=True):
        upn = p.email or ""
        lines.append(
            [
                p.shown,
                _teams_time(_at(start, p.stays[0][0])),
                _teams_time(_at(start, p.stays[-1][1])),
                _teams_duration(seconds),
                p.email or "",
                upn,
                "Attendee" if p.email else "Guest",
            ]
        )
    lines += [[], ["3. In-Meeting Activities"], TEAMS_ACTIVITIES]
    for p in people:
        for a, b in p.stays:
            lines.append(
                [
                    p.shown,
                    _teams_time(_at(start, a)),
                    _teams_time(_at(start, b)),
                    _teams_duration(b - a),
                    p.email or "",
                    "Attendee" if p.email else "Guest",
                ]
            )
    return "".join("\t".join(row) + "\r\n" for row in lines)


def _meet_duration(seconds: float) -> str:
    minutes = max(1, round(seconds / 60))
    h, m = divmod(minutes, 60)
    return f"{h} hr {m} min" if h else f"{m} min"


def _meet_time(when: datetime) -> str:
    hour = when.hour % 12 or 12
    return f"{hour}:{when:%M} {when:%p}"


def meet_csv(people: list[Participation], start: datetime) -> str:
    buf = io.StringIO()
    out = csv.writer(buf, lineterminator="\n")
    out.writerow(MEET_HEADER)
    for p in people:
        first, _, last = p.shown.partition(" ")
        seconds = sum(b - a for a, b in p.stays)
        out.writerow(
            [
                first,
                last,
                p.email or "",
                _meet_duration(seconds),
                _meet_time(_at(start, p.stays[0][0])),
                _meet_time(_at(start, p.stays[-1][1])),
            ]
        )
    return buf.getvalue()
