"""The instructor's week in the portal: calendar, history, bulk edits, strangers, admin tasks."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime

import numpy as np
from openpyxl import load_workbook
from sqlalchemy import func, select

from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    Course,
    HeadCount,
    Person,
    SessionEvent,
    UnknownFace,
)
from rollcall.storage.staff import AuditEntry

TERM = {
    "meeting_days": ["mon", "wed", "fri"],
    "term_start": "2026-03-02",
    "term_end": "2026-03-13",
    "holidays": "2026-03-09 Staff day",
}


def add_session(app, name: str, day: int, absent: tuple[str, ...] = (), state="closed") -> int:  # noqa: ANN001
    """An Algebra session on 2026-03-<day> at 09:00 UTC: everyone seen except `absent`."""
    with app.extensions["rollcall"].db.session() as s:
        course = s.scalar(select(Course).where(Course.name == "Algebra"))
        row = AttendanceSession(
            name=name, course_id=course.id, source="x.mp4", state=state, seed=1,
            started_at=datetime(2026, 3, day, 9, 0, tzinfo=UTC), min_interval=20,
            max_interval=90, verify_every=300, leave_after=180, processed_until=600,
            duration=600 if state == "closed" else None,
        )  # fmt: skip
        s.add(row)
        s.flush()
        for person in s.scalars(select(Person)):
            seen = person.name not in absent
            s.add(
                AttendanceRecord(
                    session_id=row.id, person_id=person.id, status="present" if seen else "absent",
                    first_seen=20.0 if seen else None, last_seen=580.0 if seen else None,
                )
            )  # fmt: skip
        return row.id


def test_term_calendar_matrix_and_date_range(app, browser) -> None:  # noqa: ANN001
    ivy = browser("ivy")
    assert ivy.post("/courses/Algebra/term", TERM).status_code == 302
    add_session(app, "algebra-2", 4, absent=("Bob",))
    page = ivy.get("/courses/Algebra").get_data(as_text=True)
    # Held on Mon 2 and Wed 4; Fri 6, Wed 11 and Fri 13 passed with no session; 9 is a holiday.
    assert "2 meetings held" in page and "3 missed with no session" in page
    assert "Fri 06 Mar, Wed 11 Mar, Fri 13 Mar" in page
    assert 'class="day day-holiday" title="2026-03-09: holiday (Staff day)"' in page
    # Each day's kind is said in a mark and in words, not by its colour alone (a UX review).
    calendar = page[page.index('id="calendar"') : page.index('id="matrix"')]
    assert calendar.count('<span class="sr"> held</span>') == 2
    assert calendar.count('<span class="sr"> missed: no session</span>') == 3
    assert calendar.count('aria-hidden="true">✗</span>') == 3
    matrix = page[page.index('id="matrix-table"') :]
    assert matrix.count('class="cell date-missed"') == 3 * 2  # Alice's and Bob's rows
    assert "status-absent" in matrix and "/history/Bob" in matrix
    narrow = ivy.get("/courses/Algebra?from=2026-03-04&to=2026-03-06").get_data(as_text=True)
    narrow = narrow[narrow.index('id="matrix-table"') :]
    assert "04 Mar" in narrow and "06 Mar" in narrow and "02 Mar" not in narrow
    # A page keeps its place (a bare 400 page lost it: a UX review): a bad date is left out,
    # a backwards range swapped, each with a note. A download still refuses them.
    bad_date = ivy.get("/courses/Algebra?from=March")
    assert bad_date.status_code == 302 and bad_date.location.endswith("/courses/Algebra")
    assert "the dates were left out" in ivy.get("/courses/Algebra").get_data(as_text=True)
    backwards = ivy.get("/reports/Algebra?from=2026-03-06&to=2026-03-04")
    assert backwards.status_code == 302 and "from=2026-03-04" in backwards.location
    assert "shown swapped" in ivy.get(backwards.location).get_data(as_text=True)
    refused = ivy.get("/reports/Algebra/export.csv?from=2026-03-06&to=2026-03-04")
    assert refused.status_code == 400 and "is after" in refused.get_data(as_text=True)
    bad = ivy.post("/courses/Algebra/term", TERM | {"term_end": "2026-02-01"})
    assert bad.status_code == 302
    assert "before it starts" in ivy.get("/courses/Algebra").get_data(as_text=True)
    with app.extensions["rollcall"].db.session() as s:
        assert (
            s.scalar(
                select(func.count()).where(AuditEntry.reason == "term", AuditEntry.actor == "ivy")
            )
            == 1
        )


def test_two_sessions_on_one_day_are_told_apart_in_the_matrix(app, browser) -> None:  # noqa: ANN001
    """A make-up session on the day of a class: the day's cell showed "✓20′✗0′", whose was
    which unsaid. Each is now its session's, linked and named."""
    add_session(app, "algebra-1b", 2, absent=("Bob",))
    page = (
        browser("ivy").get("/courses/Algebra?from=2026-03-02&to=2026-03-02").get_data(as_text=True)
    )
    matrix = page[page.index('id="matrix-table"') :]
    assert "2 sessions" in matrix
    bob = matrix[matrix.index("/history/Bob") :]
    bob = bob[: bob.index("</tr>")]
    assert 'title="algebra-1"' in bob and 'title="algebra-1b"' in bob, bob
    assert bob.index('title="algebra-1"') < bob.index("status-") < bob.index('title="algebra-1b"')


def test_an_interrupted_session_counts_nowhere_yet(app, browser) -> None:  # noqa: ANN001
    """Interrupted (it resumes): the history counted it as an absence while the course report
    and the session sheet said "not yet seen", and the alerts listed it without counting it."""
    from rollcall.attendance.course_report import build_course_report
    from rollcall.attendance.history import person_history

    add_session(app, "algebra-2", 4, absent=("Bob",))
    add_session(app, "algebra-3", 6, absent=("Bob",), state="interrupted")
    with app.extensions["rollcall"].db.session() as s:
        bob_id = s.scalar(select(Person.id).where(Person.name == "Bob"))
        algebra = s.scalar(select(Course).where(Course.name == "Algebra"))
        history = person_history(s, bob_id, "Bob", [algebra.id], None)
        course = build_course_report(s, algebra)
    assert [e.session for e in history.counted] == ["algebra-1", "algebra-2"]
    [bob] = [p for p in course.people if p.person == "Bob"]
    assert bob.expected == len(history.counted) and bob.absent == history.absences
    page = browser("ivy").get("/history/Bob").get_data(as_text=True)
    assert "not yet seen" in page


def test_history_rate_streaks_and_who_may_see_it(app, browser) -> None:  # noqa: ANN001
    add_session(app, "algebra-2", 4, absent=("Bob",))
    add_session(app, "algebra-3", 6, absent=("Bob",))
    add_session(app, "algebra-4", 9, absent=("Bob", "Alice"), state="running")
    page = browser("ivy").get("/history/Bob").get_data(as_text=True)
    # algebra-1, -2, -3 finished: all absent; the running one is only "not yet seen".
    assert "0%" in page and "3 in a row" in page and "ongoing" in page
    assert "not yet seen" in page and "algebra-4" in page
    assert page.count('class="mark status-absent"') == 3  # the trend chart, one per session
    alice = browser("ivy").get("/history/Alice").get_data(as_text=True)
    assert "100%" in alice and "absences in a row" in alice
    # Someone only on courses Otto does not teach is no one to him: the same 404 as for a
    # name no one has (a 403 told him who is enrolled elsewhere).
    hidden = browser("otto").get("/history/Alice")
    nobody = browser("otto").get("/history/Nobody")
    assert hidden.status_code == nobody.status_code == 404
    assert "No one named &#39;Alice&#39; is enrolled." in hidden.get_data(as_text=True)
    # Otto teaches History, which Bob is on: he sees Bob, but none of Algebra's sessions.
    otto = browser("otto").get("/history/Bob").get_data(as_text=True)
    assert "algebra-1" not in otto and "No sessions you may see" in otto
    assert browser("ada").get("/history/Nobody").status_code == 404


def test_bulk_edit_audits_each_person_with_the_one_reason(app, browser) -> None:  # noqa: ANN001
    ivy = browser("ivy")
    form = {"person": ["Alice", "Bob"], "status": "late", "reason": "Bus strike; checked"}
    assert ivy.post("/sessions/algebra-1/marks", form).status_code == 302
    with app.extensions["rollcall"].db.session() as s:
        entries = s.scalars(select(AuditEntry).where(AuditEntry.action == "mark.edited")).all()
        assert sorted((e.subject, e.before, e.after, e.reason) for e in entries) == [
            ("Alice", "present", "late", "Bus strike; checked"),
            ("Bob", "absent", "late", "Bus strike; checked"),
        ]
    assert ivy.post("/sessions/algebra-1/marks", form | {"reason": ""}).status_code == 302
    with app.extensions["rollcall"].db.session() as s:
        assert s.scalar(select(func.count()).where(AuditEntry.action == "mark.edited")) == 2
    # The export carries the reason, and the contacts.
    rows = list(
        csv.DictReader(
            io.StringIO(ivy.get("/sessions/algebra-1/export.csv").text.removeprefix("\ufeff"))
        )
    )
    assert rows[1]["person"] == "Bob" and rows[1]["status"] == "late"
    assert rows[1]["edit_reason"] == "absent → late: Bus strike; checked (by ivy)"
    book = load_workbook(io.BytesIO(ivy.get("/sessions/algebra-1/export.xlsx").data))
    assert book.sheetnames[0] == "Summary" and book["Attendance"].freeze_panes == "B6"
    course = load_workbook(io.BytesIO(ivy.get("/reports/Algebra/export.xlsx").data))
    assert course.sheetnames == ["Summary", "Attendance", "Sessions", "Edits"]
    assert course["Attendance"].freeze_panes == "B2"
    assert course["Attendance"].column_dimensions["A"].width >= 8
    assert course["Edits"]["C2"].value.startswith("present → late: Bus strike")


def test_sheet_shows_visitors_duplicates_and_not_yet_seen(app, browser) -> None:  # noqa: ANN001
    sid = add_session(app, "algebra-live", 4, absent=("Bob",), state="running")
    with app.extensions["rollcall"].db.session() as s:
        people = {p.name: p.id for p in s.scalars(select(Person))}
        s.add(Person(name="Carol"))
        s.flush()
        s.add_all(
            [
                SessionEvent(session_id=sid, t=60, kind="visitor",
                             person_id=s.scalar(select(Person.id).where(Person.name == "Carol")),
                             detail="enrolled but not expected"),
                SessionEvent(session_id=sid, t=90, kind="duplicate", person_id=people["Alice"],
                             detail="the same person in two places"),
            ]
        )  # fmt: skip
    page = browser("ivy").get("/sessions/algebra-live").get_data(as_text=True)
    assert "visitor (enrolled, not on the roster)" in page and "Carol" in page
    assert "the same face in two places" in page
    assert "not yet seen" in page and "✗ absent" not in page
    # So do the course's report and the exports (they said "absent" while it ran).
    report = browser("ivy").get("/reports/Algebra").get_data(as_text=True)
    assert "not yet seen" in report
    rows = list(
        csv.DictReader(
            io.StringIO(
                browser("ivy").get("/sessions/algebra-live/export.csv").text.removeprefix("\ufeff")
            )
        )
    )
    assert {r["person"]: r["status"] for r in rows}["Bob"] == "not_yet_seen"
    course = browser("ivy").get("/reports/Algebra/export.csv").text
    assert "not_yet_seen" in course
    dash = browser("ivy").get("/").get_data(as_text=True)
    assert '<span data-field="progress">no sample yet</span>' in dash  # not "sample 0 at"
    live = browser("ivy").get("/live.json").get_json()["sessions"][0]
    # No head count yet, so nobody is "here" now.
    assert (live["here"], live["expected"], live["missing"]) == (0, 2, ["Alice", "Bob"])
    with app.extensions["rollcall"].db.session() as s:
        s.add(HeadCount(session_id=sid, seq=0, t=700.0, count=1, recognized=1, unknown=0))
    # Alice was last seen at 580 s, within the session's 180 s leave-after of 700 s.
    dash = browser("ivy").get("/").get_data(as_text=True)
    assert '<span data-field="here">1</span> of <span data-field="expected">2</span>' in dash
    assert '<span data-field="missing">Bob</span>' in dash
    with app.extensions["rollcall"].db.session() as s:
        s.add(HeadCount(session_id=sid, seq=1, t=800.0, count=0, recognized=0, unknown=0))
    live = browser("ivy").get("/live.json").get_json()["sessions"][0]
    assert (live["here"], live["missing"]) == (0, ["Alice", "Bob"])


def _unknown(app, session_id: int, vector, t: float) -> int:  # noqa: ANN001
    from tests.web.conftest import _jpeg

    db = app.extensions["rollcall"].db
    home = app.extensions["rollcall"].settings.home
    with db.session() as s:
        crop = f"evidence/session-{session_id}/unknown-{t:.0f}.jpg"
        _jpeg(home / crop, 90)
        face = UnknownFace(
            session_id=session_id, t=t, crop_path=crop, best_similarity=0.3, review="pending",
            embedding=db.cipher.seal_unknown(vector, session_id, "sface+dlib"),
            embedder="sface+dlib", dim=int(vector.size),
        )  # fmt: skip
        s.add(face)
        s.flush()
        return face.id


def test_strangers_grouped_across_sessions_and_assigned_with_attendance(app, browser) -> None:  # noqa: ANN001
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=256).astype(np.float32), rng.normal(size=256).astype(np.float32)
    s2 = add_session(app, "algebra-2", 4, absent=("Bob",))
    with app.extensions["rollcall"].db.session() as s:
        s1 = s.scalar(select(AttendanceSession.id).where(AttendanceSession.name == "algebra-1"))
    f1, f2 = _unknown(app, s1, x, 100.0), _unknown(app, s2, x + 0.05, 200.0)
    f3 = _unknown(app, s2, y, 300.0)
    page = browser("ivy").get("/unknowns/").get_data(as_text=True)
    # Face 1 of conftest (no embedding) and face f3 stand alone; f1 and f2 are one stranger.
    assert "seen 2 times in 2 sessions" in page and page.count('class="review stranger"') == 3
    ivy = browser("ivy")
    response = ivy.post(f"/unknowns/{f1}/assign", {"person": "Bob", "face": [str(f2)]})
    assert response.status_code == 302
    with app.extensions["rollcall"].db.session() as s:
        bob = s.scalar(select(Person.id).where(Person.name == "Bob"))
        marks = {
            r.session_id: r.first_seen
            for r in s.scalars(select(AttendanceRecord).where(AttendanceRecord.person_id == bob))
        }
        assert marks[s1] == 100.0 and marks[s2] == 200.0
        assert {s.get(UnknownFace, f).review for f in (f1, f2)} == {"assigned"}
    rows = list(
        csv.DictReader(
            io.StringIO(ivy.get("/sessions/algebra-2/export.csv").text.removeprefix("\ufeff"))
        )
    )
    assert {r["person"]: r["status"] for r in rows}["Bob"] == "present"
    # A mark staff made by assigning a face is a staff change, said so in the export, and
    # its evidence is not "recognised".
    bob_row = {r["person"]: r for r in rows}["Bob"]
    assert bob_row["edited"] == "yes", bob_row
    assert bob_row["edit_reason"].startswith("unknown face assigned: not seen → seen at 200 s")
    sheet = ivy.get("/sessions/algebra-2").get_data(as_text=True)
    assert 'title="changed by staff">edited</small>' in sheet  # as the export says
    mark = ivy.get("/sessions/algebra-2/marks/Bob").get_data(as_text=True)
    assert "Not recognised: staff assigned this face" in mark and "Recognised at" not in mark
    # Bulk dismiss; otto may not dismiss Algebra's faces.
    assert browser("otto").post("/unknowns/dismiss", {"face": [str(f3)]}).status_code == 403
    assert ivy.post("/unknowns/dismiss", {"face": [str(f3), "1"]}).status_code == 302
    with app.extensions["rollcall"].db.session() as s:
        assert {s.get(UnknownFace, f).review for f in (f3, 1)} == {"dismissed"}
    # The sealed embedding is bound to its session: moved to another, it does not open.
    from rollcall.storage.templates import TemplateKeyError

    with app.extensions["rollcall"].db.session() as s:
        blob = s.get(UnknownFace, f1).embedding
    cipher = app.extensions["rollcall"].db.cipher
    assert np.allclose(cipher.open_unknown(blob, 256, s1, "sface+dlib"), x)
    try:
        cipher.open_unknown(blob, 256, s2, "sface+dlib")
    except TemplateKeyError:
        pass
    else:
        raise AssertionError("an embedding opened under another session's context")


def test_enrolling_a_stranger_needs_consent(app, browser) -> None:  # noqa: ANN001
    ada = browser("ada")
    assert "consent_confirmed" in ada.get("/unknowns/1/enroll").get_data(as_text=True)
    refused = ada.post("/unknowns/1/enroll", {"name": "Dana"})
    assert refused.status_code == 400 and "Consent is required" in refused.get_data(as_text=True)
    assert browser("ivy").get("/unknowns/1/enroll").status_code == 403
    with app.extensions["rollcall"].db.session() as s:
        assert s.scalar(select(Person).where(Person.name == "Dana")) is None


def test_admin_resets_a_password_the_user_must_replace(app, browser) -> None:  # noqa: ANN001
    import re

    page = browser("ada").post("/admin/users/ivy/reset").get_data(as_text=True)
    temporary = re.search(r'id="one-time">([^<]+)<', page).group(1)
    ivy = browser()
    assert ivy.login("ivy", temporary).headers["Location"].endswith("/account/password")
    assert ivy.get("/sessions/").headers["Location"].endswith("/account/password")
    form = {"current": temporary, "new": "my own new password", "confirm": "my own new password"}
    assert ivy.post("/account/password", form).status_code == 302
    assert ivy.get("/sessions/").status_code == 200
    assert browser().login("ivy", temporary).status_code == 401


def test_a_password_reset_revokes_the_users_api_tokens_and_names_their_room_tokens(
    app,  # noqa: ANN001
    browser,  # noqa: ANN001
) -> None:
    """A reset is what an admin does when an account may be compromised: whatever acts as the
    user stops; the agent and kiosk tokens ivy made (seeded) and her course's webhook keep
    their classroom working, and the reset names them all (a security review: it said nothing
    of the webhook, which a stolen session could have made to inject joins)."""
    import re

    from rollcall.storage import agents, kiosks
    from rollcall.storage.models import AgentToken

    api, bearer = _api_token_of(app, "ivy")
    assert api.get("/api/v1/sessions", headers=bearer).status_code == 200
    ivy = browser("ivy")
    assert ivy.get("/sessions/").status_code == 200
    made = ivy.post("/courses/Algebra/hooks", data={"label": "Room 12", "platform": "json"})
    hook = re.search(r'id="hook-address">[^<]*localhost([^<]+)<', made.get_data(as_text=True))
    page = browser("ada").post("/admin/users/ivy/reset").get_data(as_text=True)
    assert api.get("/api/v1/sessions", headers=bearer).status_code == 401
    assert ivy.get("/sessions/").status_code == 302  # logged out
    assert "1 API token of ivy revoked" in page
    assert "ivy still has 1 agent token, 1 kiosk token and 1 webhook," in page
    assert "Agents page" in page and "Kiosk screen page" in page
    assert "webhooks on their courses&#39; pages" in page
    with app.extensions["rollcall"].db.session() as s:
        assert agents.is_live(s, s.get(AgentToken, 1))
        assert kiosks.kiosk_for_token(s, app.config["SEED_KIOSK_TOKEN"]) is not None
    joined = {"event": "joined", "name": "Bob", "session": "algebra-1", "t": 30}
    assert app.test_client().post(hook.group(1), json=joined).status_code == 200


def test_admin_disables_removes_and_revokes(app, browser) -> None:  # noqa: ANN001
    api, bearer = _api_token_of(app, "otto")
    assert api.get("/api/v1/sessions", headers=bearer).status_code == 200
    ada = browser("ada")
    assert "otto" in ada.get("/admin/tokens").text
    assert ada.post("/admin/tokens/1/revoke").status_code == 302
    assert api.get("/api/v1/sessions", headers=bearer).status_code == 401
    assert ada.post("/admin/users/ivy/active", {"active": "0"}).status_code == 302
    assert browser().login("ivy").status_code == 401
    assert ada.post("/admin/users/ada/active", {"active": "0"}).status_code == 302  # refused
    assert browser().login("ada").status_code == 302
    assert ada.post("/admin/users/otto/delete", {"confirm": "ott"}).status_code == 302
    assert "otto" in ada.get("/admin/users").text
    assert ada.post("/admin/users/otto/delete", {"confirm": "otto"}).status_code == 302
    assert ">otto<" not in ada.get("/admin/users").text
    with app.extensions["rollcall"].db.session() as s:
        whats = set(s.scalars(select(AuditEntry.reason).where(AuditEntry.actor == "ada")))
        assert {"token 1 revoked", "disabled", "removed"} <= whats


def test_admin_deletes_a_course_with_typed_confirmation(app, browser) -> None:  # noqa: ANN001
    ada = browser("ada")
    assert ada.post("/courses/Algebra/delete", {"confirm": "algebra"}).status_code == 302
    assert ada.get("/courses/Algebra").status_code == 200
    form = {"confirm": "Algebra", "with_sessions": "on"}
    assert ada.post("/courses/Algebra/delete", form).status_code == 302
    assert ada.get("/courses/Algebra").status_code == 404
    assert ada.get("/sessions/algebra-1").status_code == 404
    with app.extensions["rollcall"].db.session() as s:
        actions = list(s.scalars(select(AuditEntry.action).order_by(AuditEntry.id)))
        assert actions == ["session.deleted", "course.deleted"]


def test_an_entrance_sheet_has_no_meeting_columns(app, browser) -> None:  # noqa: ANN001
    """An entrance marks people as they pass: no minutes present, samples seen in, or meeting
    participant list on its sheet and mark pages (they read 0.0 and "0 of 1 samples")."""
    sid = add_session(app, "algebra-door", 5)
    meeting = browser("ivy").get("/sessions/algebra-door").get_data(as_text=True)
    assert "<th>Minutes</th>" in meeting and "Meeting participants" in meeting
    with app.extensions["rollcall"].db.session() as s:
        s.get(AttendanceSession, sid).mode = "entrance"
    page = browser("ivy").get("/sessions/algebra-door").get_data(as_text=True)
    assert "<th>Minutes</th>" not in page and "Seen in" not in page
    assert "Meeting participants" not in page and ">Edit</a>" in page
    mark = browser("ivy").get("/sessions/algebra-door/marks/Alice").get_data(as_text=True)
    assert "Minutes present" not in mark


def test_a_running_session_is_closed_from_its_sheet(app, browser) -> None:  # noqa: ANN001
    """A session started in the portal for an agent that never came back stayed running
    until someone had the command line: its sheet closes it now (own courses only), with
    final statuses and an audit entry."""
    add_session(app, "algebra-lost", 7, absent=("Bob",), state="running")
    page = browser("ivy").get("/sessions/algebra-lost").get_data(as_text=True)
    assert "Close the session" in page and "not yet seen" in page
    assert browser("otto").post("/sessions/algebra-lost/close").status_code == 403
    done = browser("ivy").post("/sessions/algebra-lost/close")
    assert done.status_code == 302
    page = browser("ivy").get("/sessions/algebra-lost").get_data(as_text=True)
    assert "Close the session" not in page and "✗ absent" in page and "not yet seen" not in page
    with app.extensions["rollcall"].db.session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-lost"))
        assert row.state == "closed"
    assert "session closed" in page  # the audit trail's words
    again = browser("ivy").post("/sessions/algebra-lost/close", follow_redirects=True)
    assert "already closed" in again.get_data(as_text=True)


def test_an_interrupted_session_has_nobody_absent_yet(app, browser) -> None:  # noqa: ANN001
    """Stopped with Ctrl-C, it resumes: absent is decided at its end, not in the exports of
    the interval (a new-user review found the absent written while it was interrupted)."""
    add_session(app, "algebra-paused", 4, absent=("Bob",), state="interrupted")
    page = browser("ivy").get("/sessions/algebra-paused").get_data(as_text=True)
    assert "not yet seen" in page and "✗ absent" not in page
    rows = list(
        csv.DictReader(
            io.StringIO(
                browser("ivy")
                .get("/sessions/algebra-paused/export.csv")
                .text.removeprefix("\ufeff")
            )
        )
    )
    assert {r["person"]: r["status"] for r in rows}["Bob"] == "not_yet_seen"
    assert "not_yet_seen" in browser("ivy").get("/reports/Algebra/export.csv").text
    assert "not yet seen" in browser("ivy").get("/reports/Algebra").get_data(as_text=True)


def test_someone_not_yet_seen_can_be_marked_absent_while_the_session_runs(app, browser):  # noqa: ANN001, ANN201
    """Excused, or known to be away: staff mark them absent during the lesson. It was refused
    as 'already absent' (found by a reports review); the trail says from what it changed."""
    add_session(app, "algebra-live2", 4, absent=("Bob",), state="running")
    b = browser("ivy")
    done = b.post("/sessions/algebra-live2/marks/Bob", {"status": "absent", "reason": "excused"})
    assert done.status_code == 302, done.get_data(as_text=True)
    with app.extensions["rollcall"].db.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "mark.edited"))
        assert (entry.subject, entry.before, entry.after) == ("Bob", "not_yet_seen", "absent")
    again = b.post("/sessions/algebra-live2/marks/Bob", {"status": "absent", "reason": "twice"})
    assert again.status_code == 400  # now it is absent


def test_todays_class_that_has_ended_without_a_session_is_missed_not_to_come() -> None:
    """A teacher's review: today's 09:00-10:00 class, with no session, was "to come" at 16:37."""
    from datetime import datetime
    from types import SimpleNamespace

    from rollcall.web.courses import _first_to_come

    course = SimpleNamespace(start_time="09:00", end_time="10:00")
    assert str(_first_to_come(course, datetime(2026, 3, 4, 16, 37))) == "2026-03-05"
    assert str(_first_to_come(course, datetime(2026, 3, 4, 9, 30))) == "2026-03-04"
    night = SimpleNamespace(start_time="23:30", end_time="00:30")  # ends tomorrow
    assert str(_first_to_come(night, datetime(2026, 3, 4, 16, 37))) == "2026-03-04"


def _api_token_of(app, name: str):  # noqa: ANN001, ANN202
    """A test client and the bearer header of a fresh API token of staff user ``name``."""
    from rollcall.storage.accounts import create_token, get_user

    with app.extensions["rollcall"].db.session() as s:
        token = create_token(s, get_user(s, name))
    return app.test_client(), {"Authorization": f"Bearer {token}"}
