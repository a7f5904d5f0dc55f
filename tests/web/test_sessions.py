"""The session sheet, evidence, mark edits with their audit entries, exports; role checks."""

from __future__ import annotations

import csv
import io

import pytest
from sqlalchemy import select, text
from tests.web.conftest import closed_session

from rollcall.storage.staff import AuditEntry, ImmutableAuditEntry


def test_sheet_shows_attendance_chart_unknowns(browser) -> None:
    page = browser("ivy").get("/sessions/algebra-1").get_data(as_text=True)
    assert "Alice" in page and "Bob" in page
    assert "status-present" in page and "status-absent" in page
    assert "<svg" in page and "dot-verified" in page
    assert "/sessions/algebra-1/evidence/Alice" in page
    assert "/unknowns/1/crop" in page
    assert "3 of 3 samples" in page and "0 of 3 samples" in page  # Alice named in each, Bob not
    assert "· 10 min long" in page  # not "10:00 long": minutes or hours?
    # An empty zone field says what it defaults to; a bare zone looked like a value typed in.
    assert 'name="timezone" maxlength="64" placeholder="default: ' in page


def test_a_classroom_sheet_shows_the_pictures_on_the_wall_to_staff_of_the_course(app, browser):  # noqa: ANN001, ANN201
    from pathlib import Path

    import cv2
    import numpy as np

    from rollcall.storage.models import AttendanceSession, SessionEvent

    portal = app.extensions["rollcall"]
    with portal.db.session() as s:
        row = s.query(AttendanceSession).filter_by(name="algebra-1").one()
        row.mode = "classroom"
        crop = f"evidence/session-{row.id}/event-7-0.jpg"
        path = Path(portal.settings.home) / crop
        path.parent.mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(path), np.full((40, 40, 3), 90, np.uint8))
        detail = "2 face(s) unmoved from sample to sample, taken for pictures"
        event = SessionEvent(session_id=row.id, t=140.0, kind="pictures", detail=detail,
                             crop_path=crop)  # fmt: skip
        s.add(event)
        s.flush()
        url = f"/sessions/algebra-1/events/{event.id}/crop"
    ivy = browser("ivy")
    page = ivy.get("/sessions/algebra-1").get_data(as_text=True)
    assert "faces that never moved, taken for pictures" in page and url in page
    assert "classroom camera (faces that never move are taken for pictures)" in page
    shown = ivy.get(url)
    assert shown.status_code == 200 and shown.mimetype == "image/jpeg"
    assert browser("otto").get(url).status_code == 403  # not his course
    other = url.replace("algebra-1", "staff-meeting")  # an admin, through another session
    assert browser("ada").get(other).status_code == 404


def test_an_entrance_sheet_says_how_it_was_watched_and_shows_held_up_pictures(app, browser):  # noqa: ANN001, ANN201
    from rollcall.storage.models import AttendanceSession, Person, SessionEvent

    with app.extensions["rollcall"].db.session() as s:
        row = s.query(AttendanceSession).filter_by(name="algebra-1").one()
        row.mode, row.entrance_fps, row.entrance_line = "entrance", 8.0, "0,180,640,180"
        from rollcall.analysis.entrance.liveness import LivenessFeatures

        cues = LivenessFeatures(19, 0.05, 0.002, 0.6, 6)
        detail = f"moved like a flat picture: {cues.describe()}"
        bob = s.scalar(select(Person).where(Person.name == "Bob"))
        event = SessionEvent(session_id=row.id, t=95.0, kind="presentation_attack", detail=detail)
        event.person_id = bob.id  # whom the picture was recognised as
        s.add(event)
    page = browser("ivy").get("/sessions/algebra-1").get_data(as_text=True)
    assert "entrance camera at 8 fps, counting line" in page
    assert "People inside" in page
    assert "a picture held up to the camera</strong>: Bob" in page
    assert "19 frames; nose off the face&#39;s plane 0.050" in page


@pytest.mark.parametrize(("user", "code"), [("ada", 200), ("ivy", 200), ("otto", 403)])
def test_sheet_is_for_its_course_instructors_and_admins(browser, user: str, code: int) -> None:
    b = browser(user)
    assert b.get("/sessions/algebra-1").status_code == code
    assert b.get("/sessions/algebra-1/evidence/Alice").status_code == code
    assert b.get("/sessions/algebra-1/export.csv").status_code == code
    assert b.get("/sessions/algebra-1/marks/Alice").status_code == code
    assert b.post(
        "/sessions/algebra-1/marks/Bob", {"status": "present", "reason": "seen"}
    ).status_code == (302 if code == 200 else 403)


def test_session_without_course_is_admin_only(browser) -> None:
    assert browser("ada").get("/sessions/staff-meeting").status_code == 200
    assert browser("ivy").get("/sessions/staff-meeting").status_code == 403


def test_session_list_shows_only_visible_sessions(browser) -> None:
    assert "staff-meeting" in browser("ada").get("/sessions/").get_data(as_text=True)
    ivy = browser("ivy").get("/sessions/").get_data(as_text=True)
    assert "algebra-1" in ivy and "staff-meeting" not in ivy
    assert "algebra-1" not in browser("otto").get("/sessions/").get_data(as_text=True)


def test_unknown_session_is_404(browser) -> None:
    assert browser("ada").get("/sessions/nope").status_code == 404


def test_evidence_sealed_at_rest_is_served_opened(app, browser) -> None:  # noqa: ANN001
    import cv2
    import numpy as np

    from rollcall.storage.evidence import write_crop
    from rollcall.storage.models import AttendanceRecord, Person

    portal = app.extensions["rollcall"]
    evidence = portal.settings.evidence_dir
    with portal.db.session() as s:
        alice = s.scalar(select(Person).where(Person.name == "Alice"))
        stored = s.scalar(
            select(AttendanceRecord.evidence_path).where(AttendanceRecord.person_id == alice.id)
        )
    path = portal.settings.home / stored
    face = np.zeros((48, 40, 3), np.uint8)
    face[10:30, 8:32] = (40, 160, 220)
    assert write_crop(portal.db.cipher, evidence, path, face)
    assert not path.read_bytes().startswith(b"\xff\xd8")
    response = browser("ivy").get("/sessions/algebra-1/evidence/Alice")
    assert response.status_code == 200 and response.mimetype == "image/jpeg"
    shown = cv2.imdecode(np.frombuffer(response.data, np.uint8), cv2.IMREAD_COLOR)
    assert shown.shape == face.shape and np.abs(shown.astype(int) - face).mean() < 4
    # A sealed crop moved onto Alice's file (another place) does not open as hers.
    elsewhere = path.with_name("someone-else.jpg")
    write_crop(portal.db.cipher, evidence, elsewhere, face)
    path.write_bytes(elsewhere.read_bytes())
    refused = browser("ivy").get("/sessions/algebra-1/evidence/Alice")
    assert refused.status_code == 409 and b"KEY" not in refused.data  # (why: in the log)


def test_evidence_is_the_recorded_jpeg(browser) -> None:
    response = browser("ivy").get("/sessions/algebra-1/evidence/Alice")
    assert response.status_code == 200
    assert response.mimetype == "image/jpeg"
    assert response.data[:2] == b"\xff\xd8"
    assert "no-store" in response.headers["Cache-Control"]
    assert browser("ivy").get("/sessions/algebra-1/evidence/Bob").status_code == 404


def test_evidence_outside_the_evidence_folder_is_never_served(app, browser, settings) -> None:
    (settings.home / "secret.jpg").write_bytes(b"\xff\xd8 not for you")
    with app.extensions["rollcall"].db.session() as s:
        s.execute(text("UPDATE attendance SET evidence_path='evidence/../secret.jpg'"))
    assert browser("ada").get("/sessions/algebra-1/evidence/Alice").status_code == 404
    with app.extensions["rollcall"].db.session() as s:
        s.execute(text(f"UPDATE attendance SET evidence_path='{settings.home / 'secret.jpg'}'"))
    assert browser("ada").get("/sessions/algebra-1/evidence/Alice").status_code == 404
    assert (
        browser("ada").get("/sessions/algebra-1/evidence/..%2F..%2Fsecret.jpg").status_code == 404
    )


def test_editing_a_mark_writes_an_audit_entry(app, browser) -> None:
    b = browser("ivy")
    response = b.post(
        "/sessions/algebra-1/marks/Bob", {"status": "late", "reason": "Came at 9:20, camera off"}
    )
    assert response.status_code == 302
    page = b.get("/sessions/algebra-1").get_data(as_text=True)
    assert "Came at 9:20, camera off" in page
    assert "absent → late" in page
    assert "edited" in page
    assert '<td title="mark.edited">mark changed</td>' in page  # the trail's words, not codes
    # On the session's clock, like its marks (the dashboard's trail, across sessions, is UTC).
    from zoneinfo import ZoneInfo

    from rollcall.storage.models import Course
    from rollcall.wallclock import in_zone

    with app.extensions["rollcall"].db.session() as s:
        s.scalar(select(Course).where(Course.name == "Algebra")).timezone = "Asia/Tokyo"
        tokyo = in_zone(s.query(AuditEntry).one().at, ZoneInfo("Asia/Tokyo"))
    page = b.get("/sessions/algebra-1").get_data(as_text=True)
    assert "<th>When (Asia/Tokyo)</th>" in page and f"{tokyo:%Y-%m-%d %H:%M:%S}" in page
    with app.extensions["rollcall"].db.session() as s:
        entry = s.query(AuditEntry).one()
        assert (entry.actor, entry.action, entry.subject) == ("ivy", "mark.edited", "Bob")
        assert (entry.before, entry.after, entry.session_name) == ("absent", "late", "algebra-1")
    report = browser("ada").get("/sessions/algebra-1/export.csv").get_data(as_text=True)
    rows = {r["person"]: r for r in csv.DictReader(io.StringIO(report.removeprefix("\ufeff")))}
    assert rows["Bob"]["status"] == "late" and rows["Bob"]["edited"] == "yes"
    # The JSON says so too (only the exports did; found by a reports review).
    with app.extensions["rollcall"].db.session() as s:
        from rollcall.attendance.report import build_report
        from rollcall.storage.sessions import get_session

        entries = build_report(s, get_session(s, "algebra-1")).to_json()["attendance"]
    assert {a["person"]: a["edited"] for a in entries} == {"Alice": False, "Bob": True}


def test_a_mark_set_absent_by_staff_credits_no_minutes(app, browser) -> None:  # noqa: ANN001
    """Alice was seen for 9 minutes; staff found it was her photo and set her absent: the
    exports said "absent" beside 9.33 minutes present (found by a reports review)."""
    from rollcall.storage.models import AttendanceSession, Person, PresenceInterval

    with app.extensions["rollcall"].db.session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-1"))
        alice = s.scalar(select(Person).where(Person.name == "Alice"))
        s.add(PresenceInterval(session_id=row.id, person_id=alice.id, start_t=30.0,
                               last_seen=590.0, end_t=590.0))  # fmt: skip
    b = browser("ivy")

    def alice_row() -> dict[str, str]:
        text = b.get("/sessions/algebra-1/export.csv").get_data(as_text=True)
        rows = csv.DictReader(io.StringIO(text.removeprefix("\ufeff")))
        return next(r for r in rows if r["person"] == "Alice")

    assert alice_row()["minutes_present"] == "9.33"
    done = b.post("/sessions/algebra-1/marks/Alice", {"status": "absent", "reason": "a photo"})
    assert done.status_code == 302
    after = alice_row()
    assert (after["status"], after["minutes_present"]) == ("absent", "0.0")
    assert after["first_seen_s"] == "30.0"  # what the camera saw is kept
    course = b.get("/reports/Algebra/export.csv").get_data(as_text=True)
    [line] = [r for r in csv.reader(io.StringIO(course.removeprefix("\ufeff"))) if r[0] == "Alice"]
    assert line[-2:] == ["absent", "0.0"]


@pytest.mark.parametrize(
    "form",
    [
        {"status": "late", "reason": ""},
        {"status": "sleeping", "reason": "no such status"},
        {"status": "absent", "reason": "already absent"},
    ],
)
def test_invalid_edits_are_refused_without_audit(app, browser, form) -> None:
    assert browser("ada").post("/sessions/algebra-1/marks/Bob", form).status_code == 400
    with app.extensions["rollcall"].db.session() as s:
        assert s.query(AuditEntry).count() == 0


def test_audit_entries_cannot_be_changed_or_deleted(app, browser) -> None:
    browser("ada").post("/sessions/algebra-1/marks/Bob", {"status": "present", "reason": "seen"})
    db = app.extensions["rollcall"].db
    with pytest.raises(ImmutableAuditEntry), db.session() as s:
        s.query(AuditEntry).one().reason = "rewritten"
    with pytest.raises(ImmutableAuditEntry), db.session() as s:
        s.delete(s.query(AuditEntry).one())
    for statement in ("UPDATE audit_entries SET reason='x'", "DELETE FROM audit_entries"):
        with pytest.raises(Exception, match="immutable"), db.engine.begin() as conn:
            conn.execute(text(statement))


def test_exports(browser) -> None:
    b = browser("ada")
    csv_response = b.get("/sessions/algebra-1/export.csv")
    assert csv_response.mimetype == "text/csv"
    assert "attachment" in csv_response.headers["Content-Disposition"]
    assert csv_response.get_data(as_text=True).startswith("\ufeffperson,status")  # (BOM: Excel)
    xlsx = b.get("/sessions/algebra-1/export.xlsx")
    assert xlsx.data[:2] == b"PK"
    assert b.get("/sessions/algebra-1/export.pdf").status_code == 404


def test_dashboard_and_live_counts(app, browser) -> None:
    from rollcall.storage.models import AttendanceSession

    with app.extensions["rollcall"].db.session() as s:
        s.query(AttendanceSession).filter_by(name="algebra-1").one().state = "running"
    b = browser("ivy")
    assert "algebra-1" in b.get("/").get_data(as_text=True)
    live = b.get("/live.json").get_json()
    assert live["sessions"][0]["session"] == "algebra-1"
    assert live["sessions"][0]["head_count"] == 2
    assert live["sessions"][0]["stalled"] == ""  # no run holds it (an agent's session)
    assert browser("otto").get("/live.json").get_json() == {"sessions": []}
    # Taken by a `rollcall run` whose lease ran out (killed): the card says to resume it.
    import time

    with app.extensions["rollcall"].db.session() as s:
        row = s.query(AttendanceSession).filter_by(name="algebra-1").one()
        row.run_by, row.run_until = "lab-pc-7:4242", time.time() - 5
    assert "resume it" in b.get("/live.json").get_json()["sessions"][0]["stalled"]
    page = b.get("/").get_data(as_text=True)
    assert 'data-field="stalled">its run stopped answering' in page
    with app.extensions["rollcall"].db.session() as s:
        s.query(AttendanceSession).filter_by(name="algebra-1").one().run_until = time.time() + 60
    assert b.get("/live.json").get_json()["sessions"][0]["stalled"] == ""


def test_an_interrupted_session_is_not_shown_as_running(app, browser) -> None:
    from rollcall.storage.models import AttendanceSession

    with app.extensions["rollcall"].db.session() as s:
        s.query(AttendanceSession).filter_by(name="algebra-1").one().state = "interrupted"
    b = browser("ivy")
    assert b.get("/live.json").get_json() == {"sessions": []}
    assert "No session is running." in b.get("/").get_data(as_text=True)
    assert "interrupted" in b.get("/sessions/").get_data(as_text=True)
    assert "· interrupted" in b.get("/sessions/algebra-1").get_data(as_text=True)


def test_the_dashboard_asks_the_same_few_queries_however_many_sessions_run(app, browser) -> None:
    """The dashboard polls /live.json every 5 s for every running session: one query per
    session (each reading all its head counts) made 400 live sessions a heavy page."""
    from datetime import UTC, datetime

    from sqlalchemy import event, select

    from rollcall.storage.models import AttendanceRecord, AttendanceSession, HeadCount, Person

    db = app.extensions["rollcall"].db

    def add_running(first: int, count: int) -> None:
        with db.session() as s:
            alice = s.scalar(select(Person.id).where(Person.name == "Alice"))
            for i in range(first, first + count):
                row = AttendanceSession(
                    name=f"live-{i}", course_id=None, source="screen",
                    started_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC), state="running", seed=i,
                    min_interval=20, max_interval=90, verify_every=300, leave_after=180,
                )  # fmt: skip
                s.add(row)
                s.flush()
                s.add(AttendanceRecord(session_id=row.id, person_id=alice, status="present",
                                       first_seen=5.0, last_seen=10.0 * i))  # fmt: skip
                for seq in range(i + 1):
                    s.add(HeadCount(session_id=row.id, seq=seq, t=10.0 * seq, count=seq,
                                    recognized=1, unknown=seq - 1))  # fmt: skip

    def queries_for_live() -> tuple[int, list[dict]]:
        statements: list[str] = []

        def count(conn, cursor, statement, *args) -> None:  # noqa: ANN001
            statements.append(statement)

        event.listen(db.engine, "before_cursor_execute", count)
        try:
            live = b.get("/live.json").get_json()["sessions"]
        finally:
            event.remove(db.engine, "before_cursor_execute", count)
        return len(statements), live

    b = browser("ada")
    add_running(1, 2)
    few, live = queries_for_live()
    add_running(3, 20)
    many, live = queries_for_live()
    assert many == few
    by_name = {row["session"]: row for row in live}
    assert len(by_name) == 22
    # live-7: head counts 0..7, the latest at t=70 with 7 faces; Alice last seen at 70 s.
    seven = by_name["live-7"]
    assert (seven["samples"], seven["head_count"], seven["t"]) == (8, 7, 70.0)
    assert (seven["here"], seven["expected"], seven["missing"]) == (1, 1, [])


def test_the_session_list_comes_in_pages_and_searches_every_page(app, browser) -> None:
    """A school records hundreds of sessions a day: the list shows 100 a page, newest first,
    and the search looks through all of them (session and course names), still only those
    the user may see."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from rollcall.storage.models import Course
    from rollcall.web.sessions import PAGE

    db = app.extensions["rollcall"].db
    with db.session() as s:
        algebra = s.scalar(select(Course.id).where(Course.name == "Algebra"))
        for i in range(PAGE + 30):
            day = datetime(2026, 4, 1, 9, 0, tzinfo=UTC) + timedelta(days=i)
            s.add(closed_session(f"algebra-week-{i:03d}", day, algebra, seed=i))
        s.add(closed_session("odd_50%_name", datetime(2026, 1, 1, 9, 0, tzinfo=UTC), algebra))
    ivy = browser("ivy")
    first = ivy.get("/sessions/").get_data(as_text=True)
    total = PAGE + 30 + 2  # algebra-1 and odd_50%_name too
    assert f"Sessions 1–{PAGE} of {total}" in first
    assert f"algebra-week-{PAGE + 29:03d}" in first  # the newest
    assert "algebra-week-000" not in first and "Older →" in first
    second = ivy.get("/sessions/?page=2").get_data(as_text=True)
    assert "algebra-week-000" in second and "algebra-1" in second and "← Newer" in second
    assert f"algebra-week-{PAGE + 29:03d}" not in second
    # The search finds an old session from the first page, and LIKE's wildcards are literal.
    found = ivy.get("/sessions/?q=WEEK-005").get_data(as_text=True)
    assert "algebra-week-005" in found and "of 1 matching" in found
    assert "odd_50%_name" in ivy.get("/sessions/?q=_50%25").get_data(as_text=True)
    assert "of 1 matching" in ivy.get("/sessions/?q=_50%25").get_data(as_text=True)
    by_course = ivy.get("/sessions/?q=algebra").get_data(as_text=True)
    assert f"of {total} matching" in by_course
    # otto teaches History only: the search never shows him Algebra's sessions.
    assert "algebra-week" not in browser("otto").get("/sessions/?q=week").get_data(as_text=True)
    assert ivy.get("/sessions/?page=999").status_code == 200
    assert ivy.get("/sessions/?page=x").status_code == 200


def test_a_session_made_again_under_a_deleted_ones_name_has_none_of_its_edits(
    app, browser, settings
) -> None:
    """Staff delete a botched run and run it again under the same name: the new sheet and its
    export must not show the deleted session's edits as changes made to the new one."""
    from datetime import UTC, datetime

    from rollcall.attendance.lifecycle import delete_session
    from rollcall.storage.models import AttendanceRecord, Course, Person

    b = browser("ivy")
    assert (
        b.post(
            "/sessions/algebra-1/marks/Bob", {"status": "present", "reason": "sat at the back"}
        ).status_code
        == 302
    )
    assert "sat at the back" in b.get("/sessions/algebra-1").get_data(as_text=True)
    portal = app.extensions["rollcall"]
    delete_session(portal.db, settings, "algebra-1", "ada")
    with portal.db.session() as s:
        course = s.scalar(select(Course).where(Course.name == "Algebra"))
        row = closed_session("algebra-1", datetime(2026, 3, 9, 9, 0, tzinfo=UTC), course.id)
        s.add(row)
        s.flush()
        for name in ("Alice", "Bob"):
            person = s.scalar(select(Person).where(Person.name == name))
            s.add(AttendanceRecord(session_id=row.id, person_id=person.id, status="absent"))

    page = b.get("/sessions/algebra-1").get_data(as_text=True)
    assert "sat at the back" not in page and "absent → present" not in page
    export = b.get("/sessions/algebra-1/export.csv").get_data(as_text=True)
    rows = {r["person"]: r for r in csv.DictReader(io.StringIO(export.removeprefix("\ufeff")))}
    assert rows["Bob"]["status"] == "absent" and not rows["Bob"]["edited"]
    assert "sat at the back" not in export
    # The new session's own edits show as before.
    b.post("/sessions/algebra-1/marks/Bob", {"status": "late", "reason": "bus was late"})
    export = b.get("/sessions/algebra-1/export.csv").get_data(as_text=True)
    rows = {r["person"]: r for r in csv.DictReader(io.StringIO(export.removeprefix("\ufeff")))}
    assert rows["Bob"]["edited"] == "yes" and "bus was late" in export
    assert "sat at the back" not in export
