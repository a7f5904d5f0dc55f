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
    # Languages rollcall has no header words for (read by the table's shape); the words are
    # as best known, what matters is that they are not ones rollcall knows.
    "ja": ["名前（元の名前）", "ユーザーメール", "参加時刻", "退出時刻", "期間（分）", "ゲスト",
           "録画の同意", "待機室内"],
    "pt": ["Nome (nome original)", "E-mail do usuário", "Horário de entrada", "Horário de saída",
           "Duração (minutos)", "Convidado", "Consentimento de gravação", "Na sala de espera"],
    "ko": ["이름(원래 이름)", "사용자 이메일", "참가 시간", "나가기 시간", "기간(분)", "게스트",
           "녹화 동의", "대기실에서"],
}  # fmt: skip
_ZOOM_YES_NO = {"en": ("Yes", "No"), "de": ("Ja", "Nein"), "ja": ("はい", "いいえ"),
                "pt": ("Sim", "Não"), "ko": ("예", "아니요")}  # fmt: skip


def _zoom_time(when: datetime, language: str) -> str:
    if language == "en":
        return when.strftime("%m/%d/%Y %I:%M:%S %p")
    if language == "ja":
        return f"{when:%Y/%m/%d} {when.hour}:{when:%M:%S}"
    if language == "ko":  # "2024. 5. 6. 오후 2:05:00"
        half = "오후" if when.hour >= 12 else "오전"
        return f"{when.year}. {when.month}. {when.day}. {half} {when.hour % 12 or 12}:{when:%M:%S}"
    if language == "pt":
        return when.strftime("%d/%m/%Y %H:%M:%S")
    return when.strftime("%d.%m.%Y %H:%M:%S")


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
    day-first 24-hour dates in German and Portuguese, year first in Japanese and Korean (with
    오전/오후); the meeting block first when `preamble`."""

    def at(t: float) -> str:
        return _zoom_time(_at(start, zone, t), language)

    text = ""
    if preamble:
        end = max(b for p in people for _, b in p.stays)
        text += _csv(
            [
                ["Meeting ID", "Topic", "Start Time", "End Time", "User Email",
                 "Duration (Minutes)", "Participants"],
                ["812 3456 7890", "Algebra, week 1", at(0), at(end), "teacher@school.example",
                 str(round(end / 60)), str(len(people))],
            ]
        )  # fmt: skip
        text += "\r\n"
    rows = [ZOOM_HEADERS[language]]
    for p in people:
        shown = f"{p.name} ({p.original_name})" if p.original_name else p.name
        yes, no = _ZOOM_YES_NO[language]
        stays = sorted([(a, b, no) for a, b in p.stays] + [(a, b, yes) for a, b in p.waiting])
        for a, b, waiting in stays:
            rows.append(
                [shown, p.email or "", at(a), at(b), str(max(1, round((b - a) / 60))),
                 no if p.email else yes, "Y", waiting]
            )  # fmt: skip
    text += _csv(rows)
    return ("\ufeff" if bom else "").encode() + text.encode("utf-8")


def _teams_duration(seconds: float) -> str:
    s = int(round(seconds))
    h, m, sec = s // 3600, s % 3600 // 60, s % 60
    return " ".join(f"{v}{u}" for v, u in ((h, "h"), (m, "m"), (sec, "s")) if v or u == "s")


TEAMS_WORDS = {
    "en": ("1. Summary", "Meeting title", "Attended participants", "Start time", "End time",
           "Meeting duration", "Average attendance time", "2. Participants",
           ["Name", "First Join", "Last Leave", "In-Meeting Duration", "Email",
            "Participant ID (UPN)", "Role"],
           "3. In-Meeting Activities",
           ["Name", "Join Time", "Leave Time", "Duration", "Email", "Role"], "Attendee"),
    # German, a language rollcall has no Teams words for (read by the table's shape).
    "de": ("1. Zusammenfassung", "Besprechungstitel", "Teilnehmende", "Startzeit", "Endzeit",
           "Besprechungsdauer", "Durchschnittliche Teilnahmedauer", "2. Teilnehmer",
           ["Name", "Erster Beitritt", "Letztes Verlassen", "Dauer in der Besprechung",
            "E-Mail", "Teilnehmer-ID (UPN)", "Rolle"],
           "3. Aktivitäten in der Besprechung",
           ["Name", "Beitrittszeit", "Verlassenszeit", "Dauer", "E-Mail", "Rolle"],
           "Teilnehmer"),
}  # fmt: skip


def teams_report(
    people: list[Attendee],
    start: datetime,
    zone: tzinfo,
    *,
    activities: bool = True,
    language: str = "en",
) -> bytes:
    """Teams' attendance report: UTF-16 with a BOM, tab-separated, three sections; US-style
    "5/6/24, 9:01:23 AM" times in English, "06.05.24, 09:01:23" in German."""
    (summary, title, attended, started, ended, duration, average, participants, header,
     activity, activity_header, attendee) = TEAMS_WORDS[language]  # fmt: skip

    def at(t: float) -> str:
        d = _at(start, zone, t)
        if language == "de":
            return f"{d:%d.%m.%y, %H:%M:%S}"
        return f"{d.month}/{d.day}/{d:%y}, {d:%I:%M:%S %p}".replace(", 0", ", ")

    end = max(b for p in people for _, b in p.stays)
    rows: list[list[str]] = [
        [summary],
        [title, "Algebra, week 1"],
        [attended, str(len(people))],
        [started, at(0)],
        [ended, at(end)],
        [duration, _teams_duration(end)],
        [average, _teams_duration(end / 2)],
        [],
        [participants],
        header,
    ]
    for p in people:
        a, b = min(x for x, _ in p.stays), max(y for _, y in p.stays)
        total = sum(y - x for x, y in p.stays)
        rows.append(
            [p.name, at(a), at(b), _teams_duration(total), p.email or "", p.email or "",
             attendee]
        )  # fmt: skip
    if activities:
        rows += [[], [activity], activity_header]
        for p in people:
            for a, b in p.stays:
                rows.append([p.name, at(a), at(b), _teams_duration(b - a), p.email or "", attendee])
    return _csv(rows, "\t").encode("utf-16")


MEET_HEADERS = {
    "en": ["First name", "Last name", "Email", "Duration", "Time joined", "Time exited"],
    # Japanese, which rollcall has no Meet words for (read by the table's shape).
    "ja": ["名", "姓", "メールアドレス", "参加時間", "参加時刻", "退出時刻"],
}


def meet_report(
    people: list[Attendee], start: datetime, zone: tzinfo, *, language: str = "en"
) -> bytes:
    """Meet's attendance CSV: one row per person, first join to last exit, times of day only
    ("9:01:23 AM" in English, "午前9:01:23" in Japanese)."""

    def at(t: float) -> str:
        d = _at(start, zone, t)
        if language == "ja":
            # As ICU writes Japanese: the hours of a half from 0 ("午後0:05:00" is 12:05).
            return f"{'午後' if d.hour >= 12 else '午前'}{d.hour % 12}:{d:%M:%S}"
        return d.strftime("%I:%M:%S %p").lstrip("0")

    def duration(seconds: float) -> str:
        m = int(seconds // 60)
        if language == "ja":
            return f"{m // 60}時間{m % 60}分" if m >= 60 else f"{m}分"
        return f"{m // 60} hr {m % 60} min" if m >= 60 else f"{m} min"

    rows = [MEET_HEADERS[language]]
    for p in people:
        first, _, last = p.name.partition(" ")
        a, b = min(x for x, _ in p.stays), max(y for _, y in p.stays)
        rows.append([first, last, p.email or "", duration(b - a), at(a), at(b)])
    return _csv(rows).encode("utf-8")
