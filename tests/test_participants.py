"""Meeting participants: platform reports (Zoom, Teams, Meet) with their quirks, matching
accounts to people, and the reconciliation with the faces seen (attendance.reconcile)."""

from __future__ import annotations

import csv
import json
from datetime import UTC, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from rollcall.attendance.participants import parse_report
from rollcall.attendance.participants.clock import stays_of
from rollcall.attendance.participants.match import Candidate, Matcher, name_key
from rollcall.attendance.participants.text import ReportError
from rollcall.attendance.reconcile import Account, Seen, reconcile
from rollcall.config import Settings
from rollcall.storage.db import Database
from rollcall.storage.meetings import MeetingParticipant, ParticipantStay, PersonAlias
from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    Course,
    CourseMember,
    Person,
    Sighting,
)
from rollcall.synth.reports import Attendee, meet_report, teams_report, zoom_report

PARIS = ZoneInfo("Europe/Paris")
START = datetime(2024, 5, 6, 7, 0, tzinfo=UTC)  # 09:00 in Paris
PEOPLE = [
    Attendee("Ada Lovelace", "ada@school.example", ((5, 1200), (1300, 3000))),  # rejoined
    Attendee("Pepe", None, ((60, 2900),), original_name="José Núñez"),  # renamed, a guest
    Attendee("Bob Smith", "bob@school.example", ((0, 3100),)),
]


def _truth(per_stay: bool) -> list[tuple[str, str | None, float, float]]:
    out = []
    for p in PEOPLE:
        spans = p.stays if per_stay else ((p.stays[0][0], p.stays[-1][1]),)
        out += [(p.name, p.email, a, b) for a, b in spans]
    return out


def _read(data: bytes, name: str, zone=PARIS) -> list[tuple[str, str | None, float, float]]:  # noqa: ANN001
    return [
        (s.name, s.email, s.join_t, s.leave_t)
        for s in stays_of(parse_report(data, name), START, zone)
    ]


def test_zoom_report_with_meeting_block_bom_rejoins_and_renames() -> None:
    data = zoom_report(PEOPLE, START, PARIS)
    assert data.startswith(b"\xef\xbb\xbf") and b"Meeting ID" in data
    report = parse_report(data, "participants_81234567890.csv")
    assert report.platform == "zoom"
    assert _read(data, "z.csv") == _truth(per_stay=True)
    assert [r.original_name for r in report.rows] == [None, None, "José Núñez", None]


def test_zoom_report_in_german_without_meeting_block() -> None:
    data = zoom_report(PEOPLE, START, PARIS, language="de", preamble=False, bom=False)
    assert b"Beitrittszeit" in data
    assert _read(data, "z.csv") == _truth(per_stay=True)


@pytest.mark.parametrize("language", ["en", "de", "ja", "pt", "ko"])
def test_zoom_rows_in_the_waiting_room_are_not_time_in_the_meeting(language: str) -> None:
    from dataclasses import replace

    waited = [replace(PEOPLE[0], waiting=((0, 5),)), *PEOPLE[1:]]
    never_admitted = Attendee("Dee Dee", "dee@school.example", (), waiting=((30, 900),))
    data = zoom_report([*waited, never_admitted], START, PARIS, language=language)
    assert data.count(b"dee@school.example") == 1
    assert _read(data, "z.csv") == _truth(per_stay=True)


@pytest.mark.parametrize("language", ["ja", "pt", "ko"])
@pytest.mark.parametrize("preamble", [True, False])
def test_zoom_report_in_a_language_without_known_headers_is_read_by_its_shape(
    language: str, preamble: bool
) -> None:
    data = zoom_report(PEOPLE, START, PARIS, language=language, preamble=preamble)
    # None of the table's headers is one rollcall has words for.
    from rollcall.attendance.participants.formats import detect

    assert detect(data.decode("utf-8-sig").splitlines()) is None
    report = parse_report(data, "z.csv")
    assert report.platform == "zoom"
    assert _read(data, "z.csv") == _truth(per_stay=True)
    assert [r.original_name for r in report.rows] == [None, None, "José Núñez", None]


def test_teams_and_meet_reports_in_languages_without_known_headers() -> None:
    teams = teams_report(PEOPLE, START, PARIS, language="de")
    assert parse_report(teams, "Teilnahme.csv").platform == "teams"
    assert _read(teams, "t.csv") == _truth(per_stay=True)  # the per-join table is the longer
    only = teams_report(PEOPLE, START, PARIS, language="de", activities=False)
    assert _read(only, "t.csv") == _truth(per_stay=False)
    meet = meet_report(PEOPLE, START, PARIS, language="ja")
    assert "午後".encode() in meet or "午前".encode() in meet
    assert parse_report(meet, "m.csv").platform == "meet"
    assert _read(meet, "m.csv") == _truth(per_stay=False)


def test_read_by_layout_a_meeting_block_is_no_participant_and_names_may_have_figures() -> None:
    """The meeting block (a topic where Zoom's email is) is never read as people, even when
    the first participant is still in the meeting; "iPhone 12" is a name like any other."""
    from dataclasses import replace

    still_in = [replace(PEOPLE[0], stays=((5, 1200), (1300, 3000))), *PEOPLE[1:]]
    phone = Attendee("iPhone 12", None, ((30, 600),))
    data = zoom_report([*still_in, phone], START, PARIS, language="ja")
    text = data.decode("utf-8-sig").replace("Algebra, week 1", "Algebra")
    lines = text.splitlines()
    ada = next(i for i, line in enumerate(lines) if line.startswith("Ada"))
    cols = lines[ada].split(",")
    cols[3] = ""  # still in the meeting at the export
    lines[ada] = ",".join(cols)
    got = _read("\n".join(lines).encode(), "z.csv")
    assert got[0] == ("Ada Lovelace", "ada@school.example", 5.0, None)
    assert got[1:] == [*_truth(per_stay=True)[1:], ("iPhone 12", None, 30.0, 600.0)]


@pytest.mark.parametrize(
    "table",
    [
        # No platform's layout: name, guest, join, leave.
        "名前,ゲスト,参加時刻,退出時刻\nAda Lovelace,いいえ,2024/05/06 9:00:05,2024/05/06 9:50\n",
        # rollcall's own attendance export, uploaded by mistake.
        "person,status,first_seen_s,last_seen_s\nAda Lovelace,present,09:00:05,09:50:00\n",
        # A duration in hours and minutes where the leave would be, the leave blank.
        "名前,参加時刻,退出時刻,参加時間\nAda Lovelace,9:00:05,,0:45:00\n",
        # Zoom's layout but a row whose join is blank.
        "名前,メール,参加,退出,期間\nAda,,,2024/05/06 9:50:00,50\n",
        # Zoom's layout but a duration that is no whole number of minutes.
        "名前,メール,参加,退出,期間\nAda,,2024/05/06 9:00:05,2024/05/06 9:50:00,50分\n",
    ],
)
def test_a_table_whose_shape_is_unclear_is_refused(table: str) -> None:
    with pytest.raises(ReportError, match=r"r.csv, line 1: not a participant report"):
        parse_report(table.encode(), "r.csv")


def _workbook(rows: list[list[object]], extra_sheet: bool = False) -> bytes:
    import io

    from openpyxl import Workbook

    book = Workbook()
    sheet = book.active
    for row in rows:
        sheet.append(row)
    if extra_sheet:
        book.create_sheet("Notes").append(["Exported from Google Sheets"])
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def test_a_report_saved_as_a_workbook_reads_like_its_csv() -> None:
    """Meet's report downloaded from Google Sheets as .xlsx: times as real time cells; a Zoom
    report re-saved in Excel: join and leave as real date-time cells."""
    from datetime import timedelta

    meet_rows: list[list[object]] = [
        ["First name", "Last name", "Email", "Duration", "Time joined", "Time exited"]
    ]
    zoom_rows: list[list[object]] = [
        ["Name (Original Name)", "User Email", "Join Time", "Leave Time", "Duration (Minutes)",
         "Guest"]
    ]  # fmt: skip
    for p in PEOPLE:
        first, _, last = p.name.partition(" ")
        a, b = p.stays[0][0], p.stays[-1][1]
        at = [(START + timedelta(seconds=t)).astimezone(PARIS).replace(tzinfo=None) for t in (a, b)]
        meet_rows.append(
            [first, last, p.email, timedelta(seconds=b - a), at[0].time(), at[1].time()]
        )
        shown = f"{p.name} ({p.original_name})" if p.original_name else p.name
        for x, y in p.stays:
            at = [
                (START + timedelta(seconds=t)).astimezone(PARIS).replace(tzinfo=None)
                for t in (x, y)
            ]
            zoom_rows.append([shown, p.email, at[0], at[1], round((y - x) / 60), "No"])
    meet = _workbook(meet_rows, extra_sheet=True)
    assert meet.startswith(b"PK")
    assert parse_report(meet, "Attendance.xlsx").platform == "meet"
    assert _read(meet, "m.xlsx") == _truth(per_stay=False)
    zoom = _workbook(zoom_rows)
    assert parse_report(zoom, "participants.xlsx").platform == "zoom"
    assert _read(zoom, "z.xlsx") == _truth(per_stay=True)


def _stretched(book: bytes, dimension: str | None = None, far_cell: str | None = None) -> bytes:
    """The workbook with its first sheet claiming another <dimension>, or holding one more
    cell far away (a row after its last): what a 2 KB hostile upload can say."""
    import io
    import re
    import zipfile

    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(book)) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "xl/worksheets/sheet1.xml":
                xml = data.decode()
                if dimension:
                    assert re.search(r"<dimension ref=\"[^\"]*\"\s*/>", xml)
                    xml = re.sub(
                        r'<dimension ref="[^"]*"\s*/>', f'<dimension ref="{dimension}"/>', xml
                    )
                if far_cell:
                    row = re.search(r"\d+$", far_cell).group()
                    cell = f'<c r="{far_cell}" t="inlineStr"><is><t>x</t></is></c>'
                    xml = xml.replace("</sheetData>", f'<row r="{row}">{cell}</row></sheetData>')
                data = xml.encode()
            dst.writestr(item, data)
    return out.getvalue()


@pytest.mark.timeout(60)
def test_a_workbook_claiming_or_holding_a_far_cell_is_read_by_its_cells() -> None:
    """A sheet that claims A1:XFD1048576, or has a cell at column 16,384, reads like the report it
    holds; one with a cell at row 1,048,576 is refused. openpyxl padded every row to the claimed
    width: one such upload held a portal thread for minutes."""
    rows: list[list[object]] = [
        ["First name", "Last name", "Email", "Duration", "Time joined", "Time exited"],
        ["Ada", "Lovelace", "ada@school.example", "45 min", "09:00", "09:45"],
    ]
    book = _workbook(rows)
    plain = parse_report(book, "m.xlsx")
    assert len(plain.rows) == 1
    for hostile in (_stretched(book, dimension="A1:XFD1048576"), _stretched(book, far_cell="XFD3")):
        report = parse_report(hostile, "m.xlsx")
        assert (report.platform, report.rows) == (plain.platform, plain.rows)
    deep = _stretched(book, dimension="A1:XFD1048576", far_cell="A1048576")
    with pytest.raises(ReportError, match=r"d.xlsx, sheet '.*': more than 50,000 rows"):
        parse_report(deep, "d.xlsx")


def test_a_damaged_or_old_workbook_is_refused_in_one_line() -> None:
    good = _workbook([["First name", "Last name", "Email", "Time joined", "Time exited"]])
    with pytest.raises(ReportError, match=r"cut.xlsx: a damaged workbook"):
        parse_report(good[: len(good) // 2], "cut.xlsx")
    with pytest.raises(ReportError, match=r"old.xls: an Excel 97-2003 workbook"):
        parse_report(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + bytes(500), "old.xls")
    import io
    import zipfile

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr("xl/worksheets/sheet1.xml", b"\0" * (65 * 2**20))
    with pytest.raises(ReportError, match=r"bomb.xlsx: the workbook unzips to 65 MB"):
        parse_report(bomb.getvalue(), "bomb.xlsx")
    with pytest.raises(
        ReportError, match=r"empty.xlsx, sheet .Sheet.: a meet report with no participants"
    ):
        parse_report(good, "empty.xlsx")


def test_zoom_times_in_another_zone_are_read_in_the_given_zone() -> None:
    tokyo = ZoneInfo("Asia/Tokyo")
    assert _read(zoom_report(PEOPLE, START, tokyo), "z.csv", tokyo) == _truth(per_stay=True)


def test_teams_report_utf16_sections_with_and_without_activities() -> None:
    data = teams_report(PEOPLE, START, PARIS)
    assert data.startswith(b"\xff\xfe")  # UTF-16 with its BOM
    assert parse_report(data, "Attendance.csv").platform == "teams"
    assert _read(data, "t.csv") == _truth(per_stay=True)  # every join from the activities
    only = teams_report(PEOPLE, START, PARIS, activities=False)
    assert _read(only, "t.csv") == _truth(per_stay=False)  # first join to last leave


@pytest.mark.parametrize(
    ("text", "read"),
    [
        ("5/6/24, 9:01:23 PM", "19:01:23"),
        ("9:01 a.m.", "07:01:00"),
        ("09:20:00 XM", None),
        ("2024年5月6日 午後2:05:00", "12:05:00"),
        ("2024. 5. 6. 오전 9:05:00", "07:05:00"),
        ("下午 2:05", "12:05:00"),
        ("午後0:05:00", "10:05:00"),  # ICU's Japanese: 12:05 in Paris
        ("06.05. 14:05:00", "12:05:00"),  # a day and a month without a year
        # A zone named after the time wins over the course's (Paris, UTC+2 that day).
        ("5/6/24, 7:01:23 AM GMT", "07:01:23"),
        ("09:01 (UTC+05:30)", "03:31:00"),
        ("05/06/2024 04:01:00 GMT-3", "07:01:00"),
    ],
)
def test_a_time_with_a_marker_that_is_neither_am_nor_pm_is_refused(text, read) -> None:  # noqa: ANN001
    from rollcall.attendance.participants.clock import read_time

    if read is None:
        with pytest.raises(ReportError, match="cannot read the time"):
            read_time(text, START, PARIS, "z.csv, line 3")
    else:
        assert f"{read_time(text, START, PARIS, 'x'):%H:%M:%S}" == read  # UTC


def test_meet_report_with_times_of_day_only() -> None:
    data = meet_report(PEOPLE, START, PARIS)
    assert parse_report(data, "2024-05-06 09:00 Algebra - Attendance Report.csv").platform == "meet"
    assert _read(data, "m.csv") == _truth(per_stay=False)


def test_unknown_and_broken_files_name_the_line() -> None:
    with pytest.raises(ReportError, match=r"notes.csv, line 2: not a participant report"):
        parse_report(b"\nname,score\nAda,3\n", "notes.csv")
    with pytest.raises(ReportError, match="empty"):
        parse_report(b"  \n", "empty.csv")
    broken = zoom_report(PEOPLE, START, PARIS).decode("utf-8-sig").splitlines()
    broken[5] = broken[5].split(",")[0]  # a row cut after its name
    with pytest.raises(ReportError, match=r"z.csv, line 6: 1 column\(s\)"):
        stays_of(parse_report("\n".join(broken).encode(), "z.csv"), START, PARIS)
    bad_time = zoom_report(PEOPLE, START, PARIS).decode("utf-8-sig").replace("09:20:00 AM", "9h20")
    with pytest.raises(ReportError, match=r"z.csv, line 5: cannot read the time '05/06/2024 9h20'"):
        stays_of(parse_report(bad_time.encode(), "z.csv"), START, PARIS)
    other_day = datetime(2024, 6, 6, 7, 0, tzinfo=UTC)
    with pytest.raises(ReportError, match="right session"):
        stays_of(parse_report(zoom_report(PEOPLE, START, PARIS), "z.csv"), other_day, PARIS)


# -- matching ----------------------------------------------------------------------------------

ROSTER = [
    Candidate(1, "Ada Lovelace", emails=("ada@school.example",)),
    Candidate(2, "José Núñez", aliases=(name_key("Pepito"),)),
    Candidate(3, "Robert Smith"),
    Candidate(4, "Grace Hopper"),
    Candidate(5, "Łukasz Wróbel"),
    Candidate(6, "Søren Kierkegaard"),
    Candidate(7, "Yusuf Yılmaz"),
]


@pytest.mark.parametrize(
    ("name", "email", "person", "by", "proposed"),
    [
        ("Whatever", "ADA@school.example", 1, "email", None),  # email first, any display name
        ("pepito", None, 2, "alias", None),
        ("jose_NUNEZ", None, 2, "name", None),  # case, accents, underscores, spacing
        ("Grace  Hopper", "grace@home.example", 4, "name", None),
        ("Bob Smith", None, None, None, 3),  # a nickname: only proposed
        ("G. Hopper", None, 4, None, None),  # initials: proposed (checked below)
        ("Zed Unknown", None, None, None, None),
        ("Grace Hopper (Host)", None, 4, "name", None),  # the platform's role is no name
        ("José Núñez (he/him)", None, 2, "name", None),
        # Letters Unicode does not decompose, typed on an English keyboard: still at once.
        ("Lukasz Wrobel", None, 5, "name", None),
        ("soren kierkegaard", None, 6, "name", None),
        ("Yusuf Yilmaz", None, 7, "name", None),
    ],
)
def test_matching_order_and_proposals(name, email, person, by, proposed) -> None:  # noqa: ANN001
    m = Matcher(ROSTER).match(name, email)
    if name == "G. Hopper":
        assert m.person_id is None and m.proposed_id == 4
        return
    assert (m.person_id, m.by, m.proposed_id) == (person, by, proposed)


# -- reconciliation (pure) -----------------------------------------------------------------------


def _acc(name: str, person: str | None, stays=((0, 600),), **kw) -> Account:  # noqa: ANN001, ANN003
    return Account(f"name:{name_key(name)}", name, None, person, tuple(stays), **kw)


def _samples(n: int = 6) -> list[tuple[int, float, int]]:
    return [(i, 50.0 + i * 100, 2) for i in range(n)]


def _by_name(result):  # noqa: ANN001, ANN202
    return {(e.name, e.person): e for e in result.entries}


def test_verified_joined_not_seen_and_seen_not_joined() -> None:
    accounts = [_acc("Ada Lovelace", "Ada"), _acc("Bob", "Bob")]
    seen = [Seen(i, 50.0 + i * 100, "Ada", 0, "Ada Lovelace") for i in range(6)]
    # Cy, who has no account, shares Ada's camera (in the tile labelled with her name).
    seen += [Seen(i, 50.0 + i * 100, "Cy", 0, "Ada Lovelace") for i in range(2, 4)]
    result = reconcile(accounts, seen, _samples(), 600)
    got = {(e.name, e.person): e.status for e in result.entries}
    assert got == {
        ("Ada Lovelace", "Ada"): "verified",
        ("Bob", "Bob"): "joined_not_seen",
        (None, "Cy"): "seen_not_joined",
    }
    assert [c.participants for c in result.samples] == [2] * 6
    assert all(
        e.to_json().keys() == {"name", "email", "person", "joined", "status", "detail"}
        for e in result.entries
    )


def test_without_labels_someone_seen_without_joining_while_an_account_is_never_seen() -> None:
    """The issue's other proxy: A's account in the meeting, A never seen, B (no account) seen
    while A was in, and no tile label to say where B was. Both go to review; once B's face
    is tied to another account's tile (sharing that camera), A is only not seen."""
    accounts = [_acc("Ada Lovelace", "Ada"), _acc("Bob", "Bob", stays=((0, 400),))]
    seen = [Seen(i, 50.0 + i * 100, "Ada", 0, "Ada Lovelace") for i in range(6)]
    seen += [Seen(i, 50.0 + i * 100, "Cy", 1, None) for i in range(0, 4)]
    entries = _by_name(reconcile(accounts, seen, _samples(), 600))
    bob = entries[("Bob", "Bob")]
    assert bob.status == "proxy_suspected" and "Cy, who did not join" in bob.detail
    assert {s.person for s in bob.evidence} == {"Cy"}
    assert entries[(None, "Cy")].status == "seen_not_joined"
    # Cy seen also after Bob left: nothing ties the two.
    late = [Seen(i, 50.0 + i * 100, "Cy", 1, None) for i in range(2, 6)]
    entries = _by_name(reconcile(accounts, seen[:6] + late, _samples(), 600))
    assert entries[("Bob", "Bob")].status == "joined_not_seen"
    # Two accounts never seen (two cameras off) while Cy was: nothing points at either.
    dan = _acc("Dan", "Dan", stays=((0, 600),))
    entries = _by_name(reconcile([*accounts, dan], seen, _samples(), 600))
    assert {entries[("Bob", "Bob")].status, entries[("Dan", "Dan")].status} == {"joined_not_seen"}
    # Cy in Ada's tile (her label read): sharing Ada's camera, not standing in for Bob.
    tied = [Seen(i, 50.0 + i * 100, "Cy", 0, "Ada Lovelace") for i in range(0, 4)]
    entries = _by_name(reconcile(accounts, seen[:6] + tied, _samples(), 600))
    assert entries[("Bob", "Bob")].status == "joined_not_seen"


def test_a_sit_in_for_the_person_an_accounts_name_points_to_is_not_a_nickname() -> None:
    """A guest "Ada L" (proposed as Ada, not confirmed) whose tile shows Cy, while Ada is never
    seen: a sit-in, for review; not Cy under a nickname, verified."""
    accounts = [_acc("Ada L", None, proposed="Ada"), _acc("Bob", "Bob")]
    seen = [Seen(i, 50.0 + i * 100, "Cy", 0, "Ada L") for i in range(4)]
    seen += [Seen(i, 50.0 + i * 100, "Bob", 1, "Bob") for i in range(4)]
    entries = _by_name(reconcile(accounts, seen, _samples(), 600))
    guest = entries[("Ada L", None)]
    assert guest.status == "proxy_suspected" and guest.needs_review
    assert "like Ada's" in guest.detail and "Cy" in guest.detail
    assert entries[(None, "Cy")].status == "seen_not_joined"
    # The exports' row for Ada carries the case (it was blank: the account matched no one).
    cases = reconcile(accounts, seen, _samples(), 600).by_person()
    assert cases["Ada"].status == "proxy_suspected" and cases["Ada"].name == "Ada L"
    # Ada seen in a tile of her own account: then "Ada L" was Cy's nickname after all.
    accounts.append(_acc("Ada Lovelace", "Ada"))
    seen += [Seen(i, 50.0 + i * 100, "Ada", 2, "Ada Lovelace") for i in range(4)]
    entries = _by_name(reconcile(accounts, seen, _samples(), 600))
    assert (entries[("Ada L", "Cy")].status, entries[("Ada Lovelace", "Ada")].status) == (
        "verified",
        "verified",
    )


def test_an_unknown_face_in_the_tile_of_someone_without_templates_is_no_proxy() -> None:
    accounts = [_acc("Dee", "Dee", recognisable=False), _acc("Eve", "Eve", recognisable=False)]
    seen = [Seen(i, 50.0 + i * 100, None, 0, "Dee") for i in range(6)]
    seen += [Seen(0, 50.0, "Cy", 0, "Dee")]  # one misnamed face among many unknown ones
    seen += [Seen(i, 50.0 + i * 100, "Cy", 1, "Eve") for i in range(4)]
    entries = _by_name(reconcile(accounts, seen, _samples(), 600))
    dee = entries[("Dee", "Dee")]
    assert dee.status == "joined_not_seen" and "no face templates" in dee.detail
    # Someone named in their tile, sample after sample, still counts against them; the
    # unknown faces (most likely them) are not listed as intruders.
    eve = entries[("Eve", "Eve")]
    assert eve.status == "proxy_suspected" and "unknown" not in eve.detail, eve.detail


def test_a_guest_proposed_as_someone_without_templates_is_a_nickname() -> None:
    """ "Alex" proposed as Alex Kim, who has no templates (never recognisable): the face in its
    tile, Alexandra, with no account, is taken as its owner, as before."""
    accounts = [_acc("Alex", None, proposed="Alex Kim", proposed_recognisable=False)]
    seen = [Seen(i, 50.0 + i * 100, "Alexandra", 0, "Alex") for i in range(4)]
    entries = _by_name(reconcile(accounts, seen, _samples(), 600))
    assert entries[("Alex", "Alexandra")].status == "verified"


def test_a_friend_in_the_absent_students_tile_is_a_suspected_proxy() -> None:
    accounts = [_acc("Ada Lovelace", "Ada"), _acc("Bob", "Bob")]
    seen = [Seen(i, 50.0 + i * 100, "Cy", 0, "Ada Lovelace") for i in range(4)]
    seen += [Seen(i, 50.0 + i * 100, "Bob", 1, "Bob") for i in range(4)]
    entries = _by_name(reconcile(accounts, seen, _samples(), 600))
    ada = entries[("Ada Lovelace", "Ada")]
    assert ada.status == "proxy_suspected" and "Cy (4 sample(s))" in ada.detail
    assert {s.person for s in ada.evidence} == {"Cy"} and len(ada.evidence) == 4
    assert entries[(None, "Cy")].status == "seen_not_joined"  # also on the review list
    assert entries[("Bob", "Bob")].status == "verified"


def test_a_stranger_in_a_tile_while_its_owner_is_never_seen_is_a_suspected_proxy() -> None:
    accounts = [_acc("Ada Lovelace", "Ada")]
    seen = [Seen(3, 350.0, None, 0, "Ada Lovel…")]  # one sample, label cut by the platform
    (ada,) = reconcile(accounts, seen, _samples(), 600).entries
    assert ada.status == "proxy_suspected" and "an unknown face" in ada.detail


@pytest.mark.parametrize(
    ("candidate", "named_once", "status"),
    [
        ("Ada", True, "verified"),  # her own face, not named on those frames
        ("Ada", False, "proxy_suspected"),  # never recognised: perhaps a look-alike, for staff
        ("Cy", True, "proxy_suspected"),  # nearly someone else: someone else
        (None, True, "proxy_suspected"),  # like no one
    ],
)
def test_the_owners_own_face_unnamed_in_their_tile_is_no_proxy(candidate, named_once, status):  # noqa: ANN001, ANN201
    """Ada's tile in four samples, three of them a face the gallery did not name: whether that
    is "someone else in Ada's tile" depends on whom it nearly matched (the monitor says so
    only over vision.gallery.NEAR_MISS), and on whether Ada was recognised at all."""
    accounts = [_acc("Ada Lovelace", "Ada")]
    seen = [Seen(0, 50.0, "Ada" if named_once else None, 0, "Ada Lovelace", candidate)]
    seen += [Seen(i, 50.0 + i * 100, None, 0, "Ada Lovelace", candidate) for i in range(1, 4)]
    (ada,) = reconcile(accounts, seen, _samples(), 600).entries
    assert ada.status == status, ada.detail
    if status == "verified":
        assert "a face much like Ada's but not named in its tile in 3 sample(s)" in ada.detail


def test_one_misrecognised_face_and_a_nickname_are_not_proxies() -> None:
    accounts = [_acc("Ada Lovelace", "Ada"), _acc("Bobby", None)]
    seen = [Seen(i, 50.0 + i * 100, "Ada", 0, "Ada Lovelace") for i in range(6)]
    seen.append(Seen(6, 650.0, "Cy", 0, "Ada Lovelace"))  # a single wrong name
    seen += [Seen(i, 50.0 + i * 100, "Robert", 1, "Bobby") for i in range(6)]
    entries = _by_name(reconcile(accounts, seen, _samples(), 700))
    assert entries[("Ada Lovelace", "Ada")].status == "verified"
    bobby = entries[("Bobby", "Robert")]
    assert bobby.status == "verified" and "confirm" in bobby.detail and bobby.proposed == "Robert"
    assert not [e for e in entries.values() if e.status == "proxy_suspected"]


def test_one_person_in_two_tiles_or_two_accounts() -> None:
    accounts = [_acc("Ada Lovelace", "Ada"), _acc("Ada phone", None)]
    seen = [
        Seen(i, 50.0 + i * 100, "Ada", t, lab)
        for i in range(3)
        for t, lab in ((0, "Ada Lovelace"), (1, "Ada phone"))
    ]
    statuses = {e.name: e.status for e in reconcile(accounts, seen, _samples(), 600).entries}
    assert statuses == {"Ada Lovelace": "two_accounts", "Ada phone": "two_accounts"}
    both = [_acc("Ada Lovelace", "Ada", ((0, 400),)), _acc("ada@laptop", "Ada", ((300, 600),))]
    statuses = {e.name: e.status for e in reconcile(both, [], _samples(), 600).entries}
    assert statuses == {"Ada Lovelace": "two_accounts", "ada@laptop": "two_accounts"}


def test_a_second_device_with_the_camera_on_beside_an_account_with_it_off_is_two_logins() -> None:
    """Colin on his laptop (school account, camera off) and on his phone as "Colin iPhone"
    (camera on): his account was "verified" by the phone's face and the phone "joined, never
    seen" (found by a meeting teacher's review). A switch from one device to the other, not
    at once, is no second login."""
    seen = [Seen(i, 50.0 + i * 100, "Colin", 1, "Colin iPhone") for i in range(6)]
    accounts = [_acc("Colin Powell", "Colin"), _acc("Colin iPhone", None)]
    statuses = {e.name: e.status for e in reconcile(accounts, seen, _samples(), 600).entries}
    assert statuses == {"Colin Powell": "two_accounts", "Colin iPhone": "two_accounts"}
    switched = [_acc("Colin Powell", "Colin", ((0, 40),)), _acc("Colin iPhone", None, ((45, 600),))]
    phone = _by_name(reconcile(switched, seen, _samples(), 600))[("Colin iPhone", "Colin")]
    assert phone.status == "verified" and "confirm to remember" in phone.detail


def test_one_account_in_the_meeting_twice_at_once_is_two_logins() -> None:
    """A second device signed in with the same school account: the report has two rows of one
    email whose times overlap, and the import keys accounts by email, so both logins are one
    account with overlapping stays (found by bench/bench_meetings.py, where such a student was
    "verified"). A rejoin, or a reconnect overlapping by seconds, is not two logins."""
    seen = [Seen(i, 50.0 + i * 100, "Ada", 0, "Ada Lovelace") for i in range(6)]
    two = _acc("Ada Lovelace", "Ada", ((0, 600), (200, 450)))
    entry = _by_name(reconcile([two], seen, _samples(), 600))[("Ada Lovelace", "Ada")]
    assert entry.status == "two_accounts" and "twice at once" in entry.detail, entry.detail
    # Meet gives minutes: a second device's minute inside the first stay overlaps it by 60 s.
    meet = _acc("Ada Lovelace", "Ada", ((2.1, 182.1), (62.1, 122.1)))
    entry = _by_name(reconcile([meet], seen, _samples(), 600))[("Ada Lovelace", "Ada")]
    assert entry.status == "two_accounts", entry.detail
    # A rejoin; a reconnect; a reconnect minute-rounded; a webhook's join whose leave never
    # came, and a later reconnect recorded in full.
    for stays in (((0, 300), (310, 600)), ((0, 300), (280, 600)), ((0, 240), (180, 600)),
                  ((0, None), (200, 250))):  # fmt: skip
        one = _acc("Ada Lovelace", "Ada", stays)
        entry = _by_name(reconcile([one], seen, _samples(), 600))[("Ada Lovelace", "Ada")]
        assert entry.status == "verified", (stays, entry.detail)


def test_two_accounts_as_the_monitor_records_them() -> None:
    """The monitor names one person in one tile only; the other face is unnamed and a
    "duplicate" event says so: still two accounts, not a stranger in the second tile."""
    accounts = [_acc("Ada Lovelace", "Ada"), _acc("Ada phone", "Ada")]
    seen = [Seen(i, 50.0 + i * 100, who, tile, lab) for i in range(3)
            for who, tile, lab in (("Ada", 0, "Ada Lovelace"), (None, 1, "Ada phone"))]  # fmt: skip
    duplicates = [(50.0 + i * 100, "Ada") for i in range(3)]
    without = {e.name: e.status for e in reconcile(accounts, seen, _samples(), 600).entries}
    assert without["Ada phone"] == "proxy_suspected"  # what the events prevent
    result = reconcile(accounts, seen, _samples(), 600, duplicates)
    statuses = {e.name: e.status for e in result.entries}
    assert statuses == {"Ada Lovelace": "two_accounts", "Ada phone": "two_accounts"}
    # Her second tile's label misread (no account of it): the face given back is the one the
    # monitor unnamed (its candidate), never a guest's stranger in another labelled tile (a
    # helper's meeting: the guest "iPad" was flagged two accounts, its stranger named Ada).
    guest = [_acc("Ada Lovelace", "Ada"), _acc("iPad (Guest)", None)]
    seen = [Seen(i, 50.0 + i * 100, who, tile, lab, cand) for i in range(3)
            for who, tile, lab, cand in (("Ada", 0, "Ada Lovelace", None),
                                         (None, 1, "iPad (Guest)", None),
                                         (None, 2, "ávez", "Ada"))]  # fmt: skip
    result = reconcile(guest, seen, _samples(), 600, duplicates)
    ipad = next(e for e in result.entries if e.name == "iPad (Guest)")
    assert ipad.status != "two_accounts" and "Ada" not in ipad.detail, ipad


def test_head_count_against_accounts_in_the_meeting() -> None:
    accounts = [_acc("A", "A", ((0, 250),)), _acc("B", "B", ((0, None),))]
    result = reconcile(accounts, [], [(0, 100.0, 1), (1, 300.0, 3)], 600)
    assert [(c.faces, c.participants) for c in result.samples] == [(1, 2), (3, 1)]
    assert "cameras off" in result.samples[0].note and "sharing" in result.samples[1].note


# -- through the database and the command line -----------------------------------------------


def _meeting_db() -> Database:
    """Algebra with Ada, Bob and Cy; session algebra-1 at START, sightings of a sit-in: Cy's face
    in the tile labelled with Ada's name (Ada absent), Bob in his own tile."""
    db = Database(Settings.from_env())
    with db.session() as s:
        course = Course(name="Algebra", timezone="Europe/Paris")
        people = [Person(name=n) for n in ("Ada Lovelace", "Bob Smith", "Cy Young")]
        s.add_all([course, *people])
        s.flush()
        s.add_all(CourseMember(course_id=course.id, person_id=p.id) for p in people)
        row = AttendanceSession(
            name="algebra-1",
            course_id=course.id,
            source="zoom.mp4",
            started_at=START,
            state="closed",
            seed=1,
            min_interval=60,
            max_interval=120,
            verify_every=60,
            leave_after=300,
            duration=3100.0,
            processed_until=3100.0,
        )
        s.add(row)
        s.flush()
        ada, bob, cy = people
        s.add_all(AttendanceRecord(session_id=row.id, person_id=p.id) for p in people)
        for seq in range(5):
            t = 300.0 + seq * 500
            s.add(
                Sighting(
                    session_id=row.id,
                    seq=seq,
                    t=t,
                    person_id=cy.id,
                    x=0,
                    y=0,
                    w=40,
                    h=40,
                    tile=0,
                    label="Ada Lovelace",
                )
            )
            s.add(
                Sighting(
                    session_id=row.id,
                    seq=seq,
                    t=t,
                    person_id=bob.id,
                    x=400,
                    y=0,
                    w=40,
                    h=40,
                    tile=1,
                    label="Bob Smith",
                )
            )
    return db


def test_import_reconcile_and_report_json(cli, tmp_path: Path) -> None:  # noqa: ANN001
    db = _meeting_db()
    report = tmp_path / "participants.csv"
    report.write_bytes(zoom_report(PEOPLE[:1] + PEOPLE[2:], START, PARIS))
    done = cli("participants", "import", "--session", "algebra-1", str(report))
    assert done.exit_code == 0, done.output
    assert "2 account(s)" in done.output and "2 matched" in done.output
    again = cli("participants", "import", "--session", "algebra-1", str(report))
    assert "0 new stay(s)" in again.output  # a re-import adds nothing
    text = cli("report", "--session", "algebra-1").output
    assert "proxy_suspected" in text and "2 case(s) for staff to review" in text
    out = json.loads(cli("report", "--session", "algebra-1", "--json").output)
    by = {(p["name"], p["person"]): p for p in out["participants"]}
    ada = by[("Ada Lovelace", "Ada Lovelace")]
    assert ada["status"] == "proxy_suspected" and "Cy Young" in ada["detail"]
    assert ada["email"] == "ada@school.example" and ada["joined"] == [
        [5.0, 1200.0],
        [1300.0, 3000.0],
    ]
    assert by[("Bob Smith", "Bob Smith")]["status"] == "verified"
    assert by[(None, "Cy Young")]["status"] == "seen_not_joined"
    assert len(out["meeting_counts"]) == 0  # no head counts in this constructed session
    with db.session() as s:
        assert s.scalar(select(func.count(ParticipantStay.id))) == 3
    # Staff's decision on Ada's case, with its note, is in both exports (a teacher's review:
    # the CSV had none, the workbook no note).
    from datetime import UTC, datetime

    from rollcall.attendance.reconcile import reconcile_session
    from rollcall.storage.meetings import MeetingReview
    from rollcall.storage.sessions import get_session

    with db.session() as s:
        row = get_session(s, "algebra-1")
        [case] = [e.case for e in reconcile_session(s, row).entries if e.person == "Ada Lovelace"]
        s.add(MeetingReview(session_id=row.id, case_key=case, decision="confirmed",
                            note="Cy at her laptop", decided_by="ivy",
                            decided_at=datetime.now(UTC)))  # fmt: skip
    # Exports carry each person's case; the workbook has the whole reconciliation.
    assert cli("export", "--session", "algebra-1", "--format", "csv",
               "--output", str(tmp_path / "a.csv")).exit_code == 0  # fmt: skip
    rows = {r["person"]: r for r in csv.DictReader((tmp_path / "a.csv").open(encoding="utf-8-sig"))}
    assert rows["Ada Lovelace"]["meeting_status"] == "proxy_suspected"
    assert rows["Bob Smith"]["meeting_status"] == "verified"
    assert rows["Ada Lovelace"]["meeting_review"] == "confirmed by ivy: Cy at her laptop"
    assert cli("export", "--session", "algebra-1", "--format", "xlsx",
               "--output", str(tmp_path / "a.xlsx")).exit_code == 0  # fmt: skip
    from openpyxl import load_workbook

    sheet = load_workbook(tmp_path / "a.xlsx")["Meeting"]
    statuses = sorted(r[4] for r in sheet.iter_rows(min_row=2, values_only=True))
    assert statuses == ["proxy_suspected", "seen_not_joined", "verified"]
    reviews = [r[6] for r in sheet.iter_rows(min_row=2, values_only=True) if r[6]]
    assert reviews == ["confirmed by ivy: Cy at her laptop"]


def test_a_meeting_email_is_added_without_moving_alerts(cli) -> None:  # noqa: ANN001
    db = _meeting_db()
    assert cli("people", "set", "Bob Smith", "--email", "bob@school.example").exit_code == 0
    added = cli("people", "set", "Bob Smith", "--meeting-email", "bob.smith@home.example")
    assert added.exit_code == 0 and "alerts now go" not in added.output
    assert "bob.smith@home.example" in added.output
    moved = cli("people", "set", "Bob Smith", "--email", "b.smith@school.example")
    assert "alerts now go to b.smith@school.example (were bob@school.example)" in moved.output
    with db.session() as s:
        bob = s.scalar(select(Person).where(Person.name == "Bob Smith"))
        assert bob.email == "b.smith@school.example"
        kept = set(s.scalars(select(PersonAlias.value).where(PersonAlias.person_id == bob.id)))
    assert {"bob@school.example", "bob.smith@home.example", "b.smith@school.example"} <= kept


def test_a_second_device_on_one_email_is_reported_as_two_logins(cli, tmp_path: Path) -> None:  # noqa: ANN001
    _meeting_db()
    assert cli("people", "set", "Bob Smith", "--email", "bob@school.example").exit_code == 0
    phone = Attendee("Bob's iPhone", "bob@school.example", ((900, 2000),))
    report = tmp_path / "participants.csv"
    report.write_bytes(zoom_report([PEOPLE[2], phone], START, PARIS))
    done = cli("participants", "import", "--session", "algebra-1", str(report))
    assert done.exit_code == 0, done.output
    out = json.loads(cli("report", "--session", "algebra-1", "--json").output)
    bob = [p for p in out["participants"] if p["person"] == "Bob Smith"]
    assert len(bob) == 1 and bob[0]["status"] == "two_accounts", bob
    assert bob[0]["joined"] == [[0.0, 3100.0]] and "twice at once" in bob[0]["detail"]


def test_a_broken_report_imports_nothing(cli, tmp_path: Path) -> None:  # noqa: ANN001
    db = _meeting_db()
    lines = zoom_report(PEOPLE, START, PARIS).decode("utf-8-sig").splitlines()
    lines[-1] = lines[-1].replace("PM", "XM").replace("AM", "XM").split(",")[0] + ",,13:99,"
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join(lines), encoding="utf-8")
    result = cli("participants", "import", "--session", "algebra-1", str(bad))
    assert result.exit_code == 1 and f"bad.csv, line {len(lines)}" in result.output
    assert "Traceback" not in result.output
    with db.session() as s:
        assert s.scalar(select(func.count(MeetingParticipant.id))) == 0
    unknown = tmp_path / "notes.txt"
    unknown.write_text("hello\n")
    result = cli("participants", "import", "--session", "algebra-1", str(unknown))
    assert result.exit_code == 1 and "notes.txt, line 1: not a participant report" in result.output


def test_another_meetings_report_is_refused_and_an_import_can_be_undone(
    cli, tmp_path: Path
) -> None:  # noqa: ANN001, E501
    from datetime import timedelta

    db = _meeting_db()
    afternoon = tmp_path / "afternoon.csv"
    afternoon.write_bytes(zoom_report(PEOPLE, START + timedelta(hours=5), PARIS))
    result = cli("participants", "import", "--session", "algebra-1", str(afternoon))
    assert result.exit_code == 1 and "none of the report's 4 stay(s) overlaps" in result.output
    assert "2024-05-06 14:00" in result.output and "--timezone" in result.output
    # The same meeting's report with its clock an hour early (exported in London, read in
    # Paris): every stay ended before the session began, yet it was imported, and everyone
    # was "joined, never seen".
    shifted = [Attendee(a.name, a.email, tuple((j - 3600, lv - 3600) for j, lv in a.stays),
                        original_name=a.original_name) for a in PEOPLE]  # fmt: skip
    early = tmp_path / "early.csv"
    early.write_bytes(zoom_report(shifted, START, PARIS))
    result = cli("participants", "import", "--session", "algebra-1", str(early))
    assert result.exit_code == 1 and "overlaps" in result.output, result.output
    with db.session() as s:
        assert s.scalar(select(func.count(MeetingParticipant.id))) == 0
    # A report that does overlap, imported by mistake, and one live join: the undo removes
    # what the report brought and keeps what the webhook recorded.
    right = tmp_path / "morning.csv"
    right.write_bytes(zoom_report(PEOPLE, START, PARIS))
    assert cli("participants", "import", "--session", "algebra-1", str(right)).exit_code == 0
    from rollcall.attendance.participants.store import record_event

    with db.session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-1"))
        record_event(s, row, "zoom", "joined", "Late Larry", None, 2000.0)
    done = cli("participants", "remove", "--session", "algebra-1")
    assert done.exit_code == 0 and "4 stay(s), 3 account(s)" in done.output, done.output
    with db.session() as s:
        left = s.execute(
            select(MeetingParticipant.name, ParticipantStay.source).join(
                ParticipantStay, ParticipantStay.participant_id == MeetingParticipant.id
            )
        ).all()
    assert [tuple(r) for r in left] == [("Late Larry", "webhook")]


def test_people_accounts_and_a_confirmed_proposal_is_remembered(cli, tmp_path: Path) -> None:  # noqa: ANN001
    db = _meeting_db()
    done = cli(
        "people",
        "set",
        "Bob Smith",
        "--email",
        "bob@school.example",
        "--email",
        "bob@home.example",
        "--alias",
        "Bobby",
        "--alias",
        "B. Smith",
    )
    assert done.exit_code == 0, done.output
    assert "alias Bobby" in done.output and "email bob@home.example" in done.output
    taken = cli("people", "set", "Cy Young", "--alias", "bobby")
    assert taken.exit_code == 1 and "already Bob Smith's" in taken.output
    sheet = tmp_path / "accounts.csv"
    sheet.write_text(
        "person,email,alias\nCy Young,cy@school.example,Cyclone\nNobody,x@y.example,\n",
        encoding="utf-8",
    )
    refused = cli("people", "accounts", str(sheet))
    assert refused.exit_code == 1 and "accounts.csv, line 3" in refused.output
    with db.session() as s:  # nothing of the file was kept
        assert (
            s.scalar(select(func.count(PersonAlias.id)).where(PersonAlias.value == "Cyclone")) == 0
        )
    # As European Excel saves it: semicolons, a BOM, the name in another case.
    sheet.write_text("\ufeffperson;email;alias\r\ncy  young;cy@school.example;Cyclone\r\n",
                     encoding="utf-8")  # fmt: skip
    assert cli("people", "accounts", str(sheet)).exit_code == 0
    meet = tmp_path / "meet.csv"
    meet.write_bytes(
        meet_report(
            [
                Attendee("Ada L", None, ((0, 3000),)),
                Attendee("Cyclone", None, ((0, 3000),)),
                Attendee("Bobby", "bob@home.example", ((0, 3000),)),
            ],
            START,
            PARIS,
        )
    )
    assert cli("participants", "import", "--session", "algebra-1", str(meet)).exit_code == 0
    listing = json.loads(cli("participants", "list", "--session", "algebra-1", "--json").output)
    got = {r["name"]: (r["person"], r["matched_by"], r["proposed"]) for r in listing}
    assert got == {
        "Ada L": (None, None, "Ada Lovelace"),
        "Cyclone": ("Cy Young", "alias", None),
        "Bobby": ("Bob Smith", "email", None),
    }
    assert (
        cli("participants", "confirm", "--session", "algebra-1", "Ada L", "Ada Lovelace").exit_code
        == 0
    )
    with db.session() as s:
        alias = s.scalar(select(PersonAlias).where(PersonAlias.value == "Ada L"))
        assert alias is not None and alias.kind == "alias"


def test_export_and_erasure_cover_meeting_accounts(cli, tmp_path: Path) -> None:  # noqa: ANN001
    import zipfile

    db = _meeting_db()
    cli("people", "set", "Ada Lovelace", "--alias", "Countess")
    report = tmp_path / "participants.csv"
    report.write_bytes(zoom_report(PEOPLE[:1], START, PARIS))
    assert cli("participants", "import", "--session", "algebra-1", str(report)).exit_code == 0
    out = tmp_path / "ada.zip"
    assert cli("people", "export", "Ada Lovelace", "--output", str(out)).exit_code == 0
    data = json.loads(zipfile.ZipFile(out).read("person.json"))
    assert data["meeting_accounts"] == [{"kind": "alias", "value": "Countess"}]
    assert data["meetings"][0]["email"] == "ada@school.example"
    assert cli("people", "remove", "Ada Lovelace", "--yes").exit_code == 0
    with db.session() as s:
        assert s.scalar(select(func.count(MeetingParticipant.id))) == 0
        assert s.scalar(select(func.count(PersonAlias.id))) == 0


def test_a_confirmation_on_the_command_line_keeps_no_account_in_the_audit_trail(
    cli,  # noqa: ANN001
    tmp_path: Path,
) -> None:
    """As the portal's confirm: the trail outlives an erasure, so the account's name or email
    is not written into it, only the person it was confirmed as."""
    from rollcall.storage.staff import AuditEntry

    db = _meeting_db()
    meet = tmp_path / "meet.csv"
    meet.write_bytes(
        meet_report([Attendee("Ada L", "ada.l@gmail.example", ((0, 3000),))], START, PARIS)
    )
    assert cli("participants", "import", "--session", "algebra-1", str(meet)).exit_code == 0
    done = cli(
        "participants", "confirm", "--session", "algebra-1", "ada.l@gmail.example", "Ada Lovelace"
    )
    assert done.exit_code == 0, done.output
    with db.session() as s:
        entry = s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == "meeting.changed")
            .order_by(AuditEntry.id.desc())
        ).first()
    assert entry is not None and entry.subject == "Ada Lovelace"
    assert entry.reason == "a meeting account confirmed as Ada Lovelace"
    assert "ada.l" not in f"{entry.reason} {entry.details}"
    assert "Ada L'" not in f"{entry.reason} {entry.details}"


def test_teams_older_download_of_joins_and_leaves() -> None:
    text = (
        "Full Name\tUser Action\tTimestamp\n"
        "Ada Lovelace\tJoined before\t5/6/2024, 9:00:05 AM\n"
        "Bob Smith\tJoined\t5/6/2024, 9:00:00 AM\n"
        "Ada Lovelace\tLeft\t5/6/2024, 9:20:00 AM\n"
        "Ada Lovelace\tJoined\t5/6/2024, 9:21:40 AM\n"
        "Bob Smith\tLeft\t5/6/2024, 9:51:40 AM\n"
    )
    data = text.encode("utf-16")
    assert parse_report(data, "meetingAttendanceList.csv").platform == "teams"
    assert _read(data, "t.csv") == [
        ("Ada Lovelace", None, 5.0, 1200.0),
        ("Bob Smith", None, 0.0, 3100.0),
        ("Ada Lovelace", None, 1300.0, None),  # still in the meeting when it was downloaded
    ]
    with pytest.raises(ReportError, match=r"t.csv, line 2: 'Cy' left without joining"):
        parse_report("Full Name\tUser Action\tTimestamp\nCy\tLeft\t5/6/2024, 9:00 AM\n".encode(
            "utf-16"), "t.csv")  # fmt: skip


def test_hook_from_the_command_line_prints_its_address_once(cli, monkeypatch) -> None:  # noqa: ANN001
    _meeting_db()
    monkeypatch.setenv("ZOOM_SECRET", "a-test-secret")
    made = cli("participants", "hook", "Room 12", "--platform", "zoom", "--course", "Algebra",
               "--secret-env", "ZOOM_SECRET")  # fmt: skip
    assert made.exit_code == 0, made.output
    assert "/api/v1/hooks/zoom/rch_" in made.output and "a-test-secret" not in made.output
    listing = cli("participants", "hooks")
    assert "Room 12" in listing.output and "rch_" not in listing.output
    assert "works" in listing.output  # a command-line hook has no maker whose access ends
    revoked = cli("participants", "hooks", "--revoke", "1")
    assert revoked.exit_code == 0 and "revoked" in revoked.output and "works" not in revoked.output
    monkeypatch.delenv("ZOOM_SECRET")
    refused = cli("participants", "hook", "x", "--platform", "zoom", "--course", "Algebra",
                  "--secret-env", "ZOOM_SECRET")  # fmt: skip
    assert refused.exit_code == 1 and "ZOOM_SECRET is not set" in refused.output


def test_a_stay_told_by_a_webhook_and_by_the_report_is_one_stay(cli, tmp_path: Path) -> None:  # noqa: ANN001
    """The same stay recorded live by a webhook and again by the imported report was taken for
    two logins at once ("in the meeting twice at once"); a webhook stay the report does not
    have is still kept."""
    from rollcall.attendance.participants.store import record_event
    from rollcall.attendance.reconcile import reconcile_session

    db = _meeting_db()
    with db.session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-1"))
        bob = PEOPLE[2]  # in the report from 0 to 3100 s, seen in his own tile
        record_event(s, row, "zoom", "joined", bob.name, bob.email, 12.0)  # told live
        record_event(s, row, "zoom", "left", bob.name, bob.email, 3091.0)
    report = tmp_path / "morning.csv"
    report.write_bytes(zoom_report(PEOPLE, START, PARIS))
    assert cli("participants", "import", "--session", "algebra-1", str(report)).exit_code == 0
    with db.session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-1"))
        result = reconcile_session(s, row)
        sources = s.scalars(select(ParticipantStay.source)).all()
    assert {"webhook", "report"} <= set(sources)
    entry = next(e for e in result.entries if e.name == "Bob Smith")
    assert entry.status == "verified", (entry.status, entry.detail)


def test_a_meet_exit_given_to_the_minute_lasts_to_its_end() -> None:
    """Meet's exports may give "9:01 AM": any second of that minute. Read as 9:01:00, every
    account left up to 59 s early, and the samples of its last minute counted more faces than
    accounts in the meeting."""
    data = (
        b"First name,Last name,Email,Duration,Time joined,Time exited\n"
        b"Ada,Lovelace,ada@school.example,2 min,9:00 AM,9:01 AM\n"
        b"Bob,Smith,bob@school.example,2 min,9:00:05 AM,9:01:30 AM\n"
    )
    stays = _read(data, "meet.csv")
    assert stays == [
        ("Ada Lovelace", "ada@school.example", 0.0, 119.0),  # to 9:01:59
        ("Bob Smith", "bob@school.example", 5.0, 90.0),  # to the second, as given
    ]


def test_an_alias_that_is_another_enrolled_persons_name_is_refused(cli, tmp_path: Path) -> None:  # noqa: ANN001
    """Aliases match accounts in every course's meetings, before names: one that is another
    enrolled person's name would hand that person's account to whoever holds it."""
    db = _meeting_db()
    refused = cli("people", "set", "Bob Smith", "--alias", "ada_LOVELACE")
    assert refused.exit_code != 0 and "the name of Ada Lovelace" in " ".join(refused.output.split())
    report = tmp_path / "participants.csv"
    report.write_bytes(zoom_report(PEOPLE[:1], START, PARIS))
    assert cli("participants", "import", "--session", "algebra-1", str(report)).exit_code == 0
    # Staff decide that this meeting's "Ada Lovelace" account was Bob's: for this meeting only.
    done = cli("participants", "confirm", "--session", "algebra-1", "Ada Lovelace", "Bob Smith")
    assert done.exit_code == 0, done.output
    said = " ".join(done.output.split())
    assert "the name of Ada Lovelace" in said, said
    with db.session() as s:
        bob = s.scalar(select(Person).where(Person.name == "Bob Smith"))
        held = set(s.scalars(select(PersonAlias.value).where(PersonAlias.person_id == bob.id)))
        [account] = s.scalars(select(MeetingParticipant)).all()
        assert account.person_id == bob.id
    assert "Ada Lovelace" not in held, held


def test_proposals_are_made_among_the_roster_only() -> None:
    """An instructor's meeting account "Grace H." proposed Grace Hopper of another course:
    any partial name told who is enrolled elsewhere. Exact names, aliases and emails still
    match anyone enrolled (a visitor from another course is still seen)."""
    roster_only = Matcher(ROSTER, preferred=[1, 2, 3])
    assert roster_only.match("G. Hopper", None).proposed_id is None
    assert roster_only.match("Bob Smith", None).proposed_id == 3
    assert roster_only.match("Grace Hopper", None).person_id == 4
    assert Matcher(ROSTER).match("G. Hopper", None).proposed_id == 4  # no roster: everyone


def test_an_alias_that_became_someone_elses_name_matches_neither() -> None:
    """Bob's alias "Dana White", then Dana White enrolled: her account went to Bob, by alias
    (aliases are matched before names). Neither is taken; staff decide."""
    people = [
        Candidate(1, "Bob Smith", aliases=(name_key("Dana White"),)),
        Candidate(2, "Dana White"),
    ]
    m = Matcher(people).match("Dana White", None)
    assert (m.person_id, m.by) == (None, None) and "alias" in m.note
    assert Matcher(people).match("Bob Smith", None).person_id == 1


def test_a_course_with_nobody_on_its_roster_proposes_no_one() -> None:
    m = Matcher(ROSTER, preferred=[], roster_only=True).match("G. Hopper", None)
    assert m.proposed_id is None
    assert (
        Matcher(ROSTER, preferred=[], roster_only=True).match("Grace Hopper", None).person_id == 4
    )


def test_a_confirmation_says_what_was_remembered_when_only_part_of_it_was(cli, tmp_path: Path):
    """Confirmed "Bobby S" (with Ada's email) as Bob: the name was remembered for the next
    meetings, the email was not, and the message said "in this meeting only"."""
    db = _meeting_db()
    assert cli("people", "set", "Ada Lovelace", "--email", "ada@school.example").exit_code == 0
    report = tmp_path / "participants.csv"
    report.write_bytes(zoom_report([Attendee("Bobby S", "ada@school.example", ((0, 600),))],
                                   START, PARIS))  # fmt: skip
    assert cli("participants", "import", "--session", "algebra-1", str(report)).exit_code == 0
    done = cli("participants", "confirm", "--session", "algebra-1", "Bobby S", "Bob Smith")
    said = " ".join(done.output.split())
    assert done.exit_code == 0 and "remembered as their alias, not:" in said, said
    assert "in this meeting only" not in said
    with db.session() as s:
        bob = s.scalar(select(Person).where(Person.name == "Bob Smith"))
        held = set(s.scalars(select(PersonAlias.value).where(PersonAlias.person_id == bob.id)))
    assert "Bobby S" in held and "ada@school.example" not in held


def test_an_email_already_someones_is_refused_whatever_its_case(cli) -> None:  # noqa: ANN001
    """The check reads matching addresses with SQL now (it loaded everyone with an email on
    each alias of an accounts CSV): case and spaces still do not hide one."""
    _meeting_db()
    assert cli("people", "set", "Ada Lovelace", "--email", "ada@school.example").exit_code == 0
    taken = cli("people", "set", "Bob Smith", "--meeting-email", "  ADA@School.Example ")
    assert taken.exit_code != 0 and "already Ada Lovelace's" in " ".join(taken.output.split())


def test_a_report_of_the_hour_repeated_when_clocks_go_back_is_read_as_that_meeting() -> None:
    """A timetabler's review: clocks go back at 02:00 BST to 01:00 GMT; a meeting at the
    second 01:30 was refused ("none of the report's stays overlaps the session"): every time
    was read as the first 01:30, an hour before it."""
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from rollcall.attendance.participants.clock import read_time

    london = ZoneInfo("Europe/London")
    second = datetime.fromisoformat("2026-10-25T01:30:00+00:00")
    first = datetime.fromisoformat("2026-10-25T01:30:00+01:00")
    assert f"{read_time('10/25/2026 01:30:10 AM', second, london, 'x'):%H:%M:%S}" == "01:30:10"
    assert f"{read_time('10/25/2026 01:30:10 AM', first, london, 'x'):%H:%M:%S}" == "00:30:10"


def test_a_face_seen_only_in_another_accounts_tile_is_not_verified() -> None:
    """A proxy student's review: a friend held Tony's photo up on a phone in his own tile
    (or had it as his virtual background) while Tony's account was in with its camera off;
    Tony was "verified". A face only ever in others' tiles goes to review; seen once in a
    tile of their own (or an unlabelled one), they are verified as before."""
    accounts = [_acc("Tony Blair", "Tony"), _acc("Hugo Chavez", "Hugo")]
    seen = [Seen(i, 50.0 + i * 100, "Hugo", 1, "Hugo Chavez") for i in range(6)]
    seen += [Seen(i, 50.0 + i * 100, "Tony", 1, "Hugo Chavez") for i in range(6)]
    entries = _by_name(reconcile(accounts, seen, _samples(), 600))
    tony = entries[("Tony Blair", "Tony")]
    assert tony.status == "proxy_suspected" and tony.needs_review
    assert "only in the tile(s) of 'Hugo Chavez' (6 sample(s))" in tony.detail
    assert entries[("Hugo Chavez", "Hugo")].status == "verified"
    own_tile = seen + [Seen(5, 550.0, "Tony", 0, "Tony Blair")]
    assert (
        _by_name(reconcile(accounts, own_tile, _samples(), 600))[("Tony Blair", "Tony")].status
        == "verified"
    )
    unlabelled = seen + [Seen(5, 550.0, "Tony", 0, None)]
    assert (
        _by_name(reconcile(accounts, unlabelled, _samples(), 600))[("Tony Blair", "Tony")].status
        == "verified"
    )
    # Hugo's own face named as Tony once (a misrecognition, alone in the tile): no case
    # against Tony, whose camera is off.
    once = [Seen(i, 50.0 + i * 100, "Hugo", 1, "Hugo Chavez") for i in range(6) if i != 2]
    once += [Seen(2, 250.0, "Tony", 1, "Hugo Chavez")]
    assert (
        _by_name(reconcile(accounts, once, _samples(), 600))[("Tony Blair", "Tony")].status
        != "proxy_suspected"
    )


def test_students_seen_in_a_tile_nobody_owns_are_not_suspected() -> None:
    """A review of the rule above: a room's camera account (no person) showing Bob, Cat and an
    unknown face flagged Bob and Cat, whose own accounts had their cameras off: the unknown
    face matched "no owner" and counted as the owner beside them."""
    accounts = [_acc("Room 101", None), _acc("Bob Stone", "Bob"), _acc("Cat Lee", "Cat")]
    seen = [Seen(i, 50.0 + i * 100, p, 0, "Room 101") for i in range(3) for p in ("Bob", "Cat")]
    seen += [Seen(i, 50.0 + i * 100, None, 0, "Room 101") for i in range(3)]
    entries = _by_name(reconcile(accounts, seen, _samples(), 600))
    assert entries[("Bob Stone", "Bob")].status == "verified"
    assert entries[("Cat Lee", "Cat")].status == "verified"
