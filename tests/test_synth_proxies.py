"""Generated meetings with the proxy cases of issue 14, and the platform reports written for the
same script: the truth an importer and a reconciler are checked against."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from rollcall.synth.gallery import display_name
from rollcall.synth.platform_reports import (
    MEET_HEADER,
    TEAMS_PARTICIPANTS,
    ZOOM_HEADER,
    write_platform_reports,
)
from rollcall.synth.scenarios import PROXY_SCENARIOS, SCENARIOS, describe, hard_meeting
from rollcall.synth.script import AttendanceScript
from rollcall.synth.video import _compose

PEOPLE = [f"Student_{c}" for c in "ABCDEFGH"]
START = datetime(2026, 12, 4, 9, 0, tzinfo=UTC)


def proxy_meeting(extras: list[str] | None = None) -> AttendanceScript:
    return hard_meeting(
        PEOPLE,
        240,
        3,
        ["Guest_Z"],
        extras=extras if extras is not None else ["Friend_Y"],
        scenarios=[*SCENARIOS, *PROXY_SCENARIOS],
    )


def test_each_proxy_case_is_scripted_with_its_truth() -> None:
    script = proxy_meeting()
    notes = "\n".join(describe(script))
    # A friend's face in an absent student's tile, under the student's name.
    owner = next(a for a, f in script.accounts.items() if f == "Friend_Y")
    assert owner in script.people and script.presence[owner], notes
    assert script.seen_intervals(owner) == [], "the absent student's own face is never seen"
    assert script.seen_duration("Friend_Y") > 0
    mid = script.presence[owner][0][0] + 1
    tile = next(t for t in script.tiles_at(mid) if t.name == owner)
    assert tile.face == "Friend_Y" and tile.label is None  # labelled with the owner's name
    # One student logged in twice: two tiles, one face, two labels.
    second = next(a for a, f in script.accounts.items() if f in script.people and a != owner)
    a, b = script.presence[second][0]
    tiles = script.tiles_at((a + b) / 2)
    student = script.accounts[second]
    assert [t.face for t in tiles].count(student) == 2, notes
    assert script.labels[second] != display_name(student)
    # A student present under a nickname.
    nick = next(n for n, shown in script.labels.items() if n in script.people)
    assert script.labels[nick] != display_name(nick) and script.seen_duration(nick) > 0
    again = AttendanceScript.from_json(script.to_json())
    assert again.accounts == script.accounts and again.labels == script.labels


def test_without_extras_a_classmate_is_the_friend() -> None:
    script = proxy_meeting(extras=[])
    friend = next(f for a, f in script.accounts.items() if a in script.people)
    assert friend in script.people and script.presence[friend] == []


def test_tiles_are_drawn_with_the_labels_the_script_gives() -> None:
    script = proxy_meeting()
    second = next(a for a in script.accounts if a not in script.people)
    t = sum(script.presence[second][0]) / 2
    photos = {n: None for n in script.participants}  # camera-off tiles still carry labels
    _, truths = _compose(script.screen_at(t), photos, (1280, 720), "teams", 1)
    shown = {tr.name: tr.drawn for tr in truths}
    assert shown[second].startswith(script.labels[second][:10])


def read_zoom(path: Path) -> list[dict[str, str]]:
    text = path.read_text(encoding="utf-8")
    table = text[text.index("Name (Original Name)") :]
    return list(csv.DictReader(io.StringIO(table)))


def test_platform_reports_follow_the_script(tmp_path: Path) -> None:
    script = proxy_meeting()
    paths = write_platform_reports(script, tmp_path, START, zoom_meeting_info=True)
    joined = [n for n in script.participants if script.presence[n]]

    zoom_text = paths["zoom"].read_text(encoding="utf-8")
    assert zoom_text.startswith("Meeting ID,Topic,")
    rows = read_zoom(paths["zoom"])
    assert list(rows[0]) == ZOOM_HEADER
    stays = sum(len(script.presence[n]) for n in joined)
    assert len(rows) == stays  # one row per stay: a rejoin is a new row
    nick = next(n for n in script.labels if n in script.people)
    assert any(r["Name (Original Name)"] == f"{script.labels[nick]} ({display_name(nick)})"
               for r in rows)  # fmt: skip
    guests = {r["Name (Original Name)"] for r in rows if r["Guest"] == "Yes"}
    assert guests == {"Guest Z"}
    second = next(a for a in script.accounts if a not in script.people)
    emails = {r["User Email"] for r in rows if r["Name (Original Name)"].startswith(
        script.labels[second])}  # fmt: skip
    assert emails == {f"{display_name(script.accounts[second]).lower().replace(' ', '.')}"
                      "@school.example"}  # fmt: skip

    raw = paths["teams"].read_bytes()
    assert raw[:2] in (b"\xff\xfe", b"\xfe\xff")  # UTF-16 with its byte-order mark
    teams = raw.decode("utf-16").splitlines()
    assert teams[0] == "1. Summary"
    header = teams.index("\t".join(TEAMS_PARTICIPANTS))
    participants = teams[header + 1 : teams.index("", header)]
    assert len(participants) == len(joined)
    assert "3. In-Meeting Activities" in teams

    meet = list(csv.reader(io.StringIO(paths["meet"].read_text(encoding="utf-8"))))
    assert meet[0] == MEET_HEADER and len(meet) - 1 == len(joined)
    assert all(r[3].endswith("min") for r in meet[1:])
    assert np.all([":" in r[4] and r[4].endswith(("AM", "PM")) for r in meet[1:]])
