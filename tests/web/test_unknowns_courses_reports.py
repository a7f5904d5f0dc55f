"""Unknown-face review, course roster and schedule, course reports and exports."""

from __future__ import annotations

import csv
import io
import re

from sqlalchemy import select

from rollcall.storage.models import Course, UnknownFace
from rollcall.storage.staff import AuditEntry


def test_queue_lists_faces_of_visible_sessions(browser) -> None:
    page = browser("ivy").get("/unknowns/").get_data(as_text=True)
    assert "/unknowns/1/crop" in page
    # On the clock, as the session's page shows it (90 s into algebra-1, 09:00 UTC).
    assert re.search(r'<span title="1:30 into the session">\d\d:01:30</span>', page)
    assert "/unknowns/1/crop" not in browser("otto").get("/unknowns/").get_data(as_text=True)
    assert browser("ivy").get("/unknowns/1/crop").mimetype == "image/jpeg"
    assert browser("otto").get("/unknowns/1/crop").status_code == 403
    assert browser("ada").get("/unknowns/99/crop").status_code == 404


def test_assign_and_dismiss(app, browser) -> None:
    ivy = browser("ivy")
    page = ivy.get("/unknowns/").get_data(as_text=True)
    assert 'data-confirm="Assign 1 face to {person}?' in page
    reason = "hood up, it is Bob"
    assert ivy.post("/unknowns/1/assign", {"person": "Bob", "reason": reason}).status_code == 302
    db = app.extensions["rollcall"].db
    with db.session() as s:
        face = s.get(UnknownFace, 1)
        assert face.review == "assigned" and face.assigned_id is not None
        entry = s.scalar(select(AuditEntry))
        assert (entry.action, entry.reason) == ("unknown.assigned", reason)
    assert "#1" in ivy.get("/unknowns/?show=assigned").get_data(as_text=True)
    # The report (its JSON) and Bob's history say his mark was changed by staff, as the sheet
    # and the exports do (a teacher's review: "edited" meant different things on each).
    from rollcall.attendance.history import person_history
    from rollcall.attendance.report import build_report
    from rollcall.storage.models import AttendanceSession, Person

    with db.session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-1"))
        bob = next(a for a in build_report(s, row, "UTC").attendance if a.person == "Bob")
        assert bob.edited
        bob_id = s.scalar(select(Person.id).where(Person.name == "Bob"))
        history = person_history(s, bob_id, "Bob", None, "UTC")
        assert [e.edited for e in history.entries if e.session == "algebra-1"] == [True]
    assert browser("otto").post("/unknowns/1/dismiss").status_code == 403
    # Assigned, it is Bob's evidence: not dismissed (which left his mark as it was, and let
    # an admin delete the crop his mark shows). A pending face is dismissed (as below).
    refused = ivy.post("/unknowns/1/dismiss")
    assert refused.status_code == 409 and "#1 (assigned)" in refused.get_data(as_text=True)
    with db.session() as s:
        assert s.get(UnknownFace, 1).review == "assigned"


def test_a_face_judged_a_picture_is_reviewed_but_never_becomes_a_template(app, browser) -> None:
    """An entrance track that moved like a photo credits no one and waits for staff: assigned,
    the person is marked (a real person the liveness check got wrong); its crop never becomes
    a template (a photo of a photo would make the next one look like them)."""
    from rollcall.storage.models import AttendanceRecord, Person, Template

    db = app.extensions["rollcall"].db
    with db.session() as s:
        s.get(UnknownFace, 1).reason = "picture"
    ivy, ada = browser("ivy"), browser("ada")
    queue = ivy.get("/unknowns/").get_data(as_text=True)
    assert "Judged a picture held up to the camera" in queue
    assert "as_template" not in queue  # every face of the group is a picture
    assert "Enroll as a new person" not in ada.get("/unknowns/").get_data(as_text=True)
    assert "picture held up" in ivy.get("/sessions/algebra-1").get_data(as_text=True)

    done = ada.post("/unknowns/1/assign", {"person": "Bob", "as_template": "on"})
    assert done.status_code == 302
    page = ada.get("/unknowns/?show=assigned").get_data(as_text=True)
    assert "never added as templates" in page
    # The audit says the liveness check was overruled, and by whom.
    assert "judged a picture held up to the camera" in ivy.get("/sessions/algebra-1").get_data(
        as_text=True
    )
    with db.session() as s:
        bob = s.scalar(select(Person).where(Person.name == "Bob"))
        assert s.scalars(select(Template).where(Template.person_id == bob.id)).all() == []
        mark = s.scalar(select(AttendanceRecord).where(AttendanceRecord.person_id == bob.id))
        assert mark.first_seen == 90.0 and s.get(UnknownFace, 1).review == "assigned"
    # Enrolling a new person from pictures alone is refused, whatever the form says.
    with db.session() as s:
        s.get(UnknownFace, 1).review = "pending"
    form = {
        "name": "Carol New",
        "consent_method": "signed form",
        "consent_note": "on file",
        "consent_confirmed": "on",
    }
    assert ada.get("/unknowns/1/enroll").status_code == 303  # before the consent form
    refused = ada.post("/unknowns/1/enroll", form)
    assert refused.status_code == 303
    assert "no one can be enrolled from them" in ada.get("/unknowns/").get_data(as_text=True)
    with db.session() as s:
        assert s.scalar(select(Person).where(Person.name == "Carol New")) is None


def test_only_administrators_add_an_unknown_face_as_templates(app, browser) -> None:
    """A template names its face as the person in every course: an instructor may assign a
    face (their course's marks follow) but not enroll it."""
    from rollcall.storage.models import Template

    ivy, ada = browser("ivy"), browser("ada")
    assert "as_template" not in ivy.get("/unknowns/").get_data(as_text=True)
    assert "as_template" in ada.get("/unknowns/").get_data(as_text=True)
    refused = ivy.post("/unknowns/1/assign", {"person": "Bob", "as_template": "on"})
    assert refused.status_code == 302
    assert "Only administrators add face templates" in ivy.get("/unknowns/").get_data(as_text=True)
    with app.extensions["rollcall"].db.session() as s:
        assert s.get(UnknownFace, 1).review == "pending"
        assert s.scalars(select(Template)).all() == []


def test_instructor_assigns_only_people_of_the_session(app, browser) -> None:
    from rollcall.storage.models import Person

    with app.extensions["rollcall"].db.session() as s:
        s.add(Person(name="Stranger"))
    browser("ivy").post("/unknowns/1/assign", {"person": "Stranger"})
    with app.extensions["rollcall"].db.session() as s:
        assert s.get(UnknownFace, 1).review == "pending"


def test_courses_visible_to_their_instructors(browser) -> None:
    ivy = browser("ivy").get("/courses/").get_data(as_text=True)
    assert "Algebra" in ivy and "History" not in ivy
    assert browser("ivy").get("/courses/History").status_code == 403
    assert browser("ada").get("/courses/History").status_code == 200


def test_admin_creates_course_and_assigns_instructor(app, browser) -> None:
    ada = browser("ada")
    assert ada.post("/courses/", {"name": "Physics"}).status_code == 302
    assert browser("ivy").post("/courses/", {"name": "Chemistry"}).status_code == 403
    assert browser("ivy").get("/courses/Physics").status_code == 403
    ada.post("/courses/Physics/instructors", {"user": "ivy", "action": "add"})
    assert browser("ivy").get("/courses/Physics").status_code == 200
    assert (
        browser("ivy")
        .post("/courses/Physics/instructors", {"user": "otto", "action": "add"})
        .status_code
        == 403
    )


def test_a_course_name_with_a_slash_is_refused_with_a_message(browser) -> None:
    ada = browser("ada")
    response = ada.post("/courses/", {"name": "CS101/2026"})
    assert response.status_code == 302 and response.headers["Location"].endswith("/courses/")
    page = ada.get("/courses/").get_data(as_text=True)
    assert "cannot contain &#39;/&#39;" in page and "CS101/2026" in page  # the flashed reason
    assert ada.get("/courses/CS101").status_code == 404


def test_roster_and_schedule(app, browser) -> None:
    ada, ivy = browser("ada"), browser("ivy")
    # No term yet: the calendar says how to get one, not "0 meetings held".
    page = ivy.get("/courses/Algebra").get_data(as_text=True)
    assert "1 day with sessions. Set the term" in page and " meeting held" not in page
    assert "meetings held" not in page
    assert (
        ivy.post("/courses/Algebra/roster", {"person": "Alice", "action": "remove"}).status_code
        == 302
    )
    assert (
        ivy.post("/courses/Algebra/roster", {"person": "Alice", "action": "add"}).status_code == 403
    )
    assert (
        ada.post("/courses/Algebra/roster", {"person": "Alice", "action": "add"}).status_code == 302
    )
    assert (
        browser("otto")
        .post("/courses/Algebra/roster", {"person": "Alice", "action": "remove"})
        .status_code
        == 403
    )
    # Removing someone who is not on the course says what a name no one has says: an
    # instructor does not learn who is enrolled elsewhere, and nothing is audited.
    otto = browser("otto")
    for person in ("Alice", "Nobody"):
        refused = otto.post("/courses/History/roster", {"person": person, "action": "remove"})
        assert refused.status_code == 400
        added = otto.post("/courses/History/roster", {"person": person, "action": "add"})
        assert added.status_code == 403
    with app.extensions["rollcall"].db.session() as s:
        assert not s.scalar(select(AuditEntry.id).where(AuditEntry.actor == "otto"))
    response = ivy.post(
        "/courses/Algebra/schedule",
        {"start_time": "09:00", "end_time": "10:30", "grace_minutes": "10"},
    )
    assert response.status_code == 302
    # Refused forms come back to the course page with what was typed and why.
    for typed, why in (
        ({"start_time": "25:00", "end_time": "10:00", "timezone": "Paris"}, "25:00"),
        ({"start_time": "11:00", "end_time": "10:00", "timezone": "Paris"}, "unknown time zone"),
        ({"start_time": "10:00", "end_time": "10:00"}, "it starts and ends at 10:00"),
    ):
        refused = ivy.post("/courses/Algebra/schedule", typed)
        assert refused.status_code == 302 and refused.location.endswith("#schedule")
        page = ivy.get("/courses/Algebra").get_data(as_text=True)
        assert "Nothing was saved:" in page and why in page, why
        assert f'name="start_time" value="{typed["start_time"]}"' in page
        assert 'name="start_time" value="09:00"' in ivy.get("/courses/Algebra").get_data(
            as_text=True
        )  # shown once: the saved schedule afterwards
    # A class past midnight is saved (the late and left-early rules place it).
    evening = {"start_time": "22:00", "end_time": "00:30", "grace_minutes": "5"}
    assert ivy.post("/courses/Algebra/schedule", evening).status_code == 302
    with app.extensions["rollcall"].db.session() as s:
        course = s.scalar(select(Course).where(Course.name == "Algebra"))
        assert (course.start_time, course.end_time) == ("22:00", "00:30")
    # Typed values come back on their own course's page only.
    ada = browser("ada")
    ada.post("/courses/Algebra/schedule", {"start_time": "08:00", "end_time": "08:00"})
    assert 'value="08:00"' not in ada.get("/courses/History").get_data(as_text=True)
    ada.get("/courses/Algebra")  # (shown there, once)
    restore = {"start_time": "09:00", "end_time": "10:30", "grace_minutes": "10"}
    assert ivy.post("/courses/Algebra/schedule", restore).status_code == 302
    term = {"meeting_days": ["tue", "thu"], "term_start": "2026-09-01",
            "term_end": "2026-12-18", "holidays": "Christmas break"}  # fmt: skip
    assert ivy.post("/courses/Algebra/term", term).location.endswith("#term")
    page = ivy.get("/courses/Algebra").get_data(as_text=True)
    assert "a holiday must be a date" in page and ">Christmas break</textarea>" in page
    assert 'value="tue" checked' in page and 'value="2026-09-01"' in page
    # Too long to carry back (a year of holidays, a day a line): the form shows what is saved,
    # never a cut list that, saved again, would lose holidays.
    lines = [f"2026-10-{d:02d} Autumn break, day {d} of the half-term" for d in range(1, 31)]
    long = term | {"term_end": "2026-08-01", "holidays": "\n".join(lines * 2)}
    assert ivy.post("/courses/Algebra/term", long).status_code == 302
    page = ivy.get("/courses/Algebra").get_data(as_text=True)
    assert "Nothing was saved:" in page and "Autumn break" not in page
    with app.extensions["rollcall"].db.session() as s:
        course = s.scalar(select(Course).where(Course.name == "Algebra"))
        assert (course.start_time, course.end_time, course.grace_minutes) == ("09:00", "10:30", 10)
        actions = s.scalars(select(AuditEntry.reason).where(AuditEntry.action == "course.changed"))
        assert set(actions) == {"roster", "schedule"}


def test_course_report_and_exports(app, browser) -> None:  # noqa: ANN001
    from rollcall.storage.models import AttendanceSession, Person, PresenceInterval

    with app.extensions["rollcall"].db.session() as s:  # Alice seen from 30 s to 590 s
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-1"))
        alice = s.scalar(select(Person).where(Person.name == "Alice"))
        s.add(PresenceInterval(session_id=row.id, person_id=alice.id, start_t=30.0,
                               last_seen=590.0, end_t=590.0))  # fmt: skip
    b = browser("ivy")
    page = b.get("/reports/Algebra").get_data(as_text=True)
    assert "Alice" in page and "100%" in page and "0%" in page
    rows = list(
        csv.reader(
            io.StringIO(
                b.get("/reports/Algebra/export.csv").get_data(as_text=True).removeprefix("\ufeff")
            )
        )
    )
    assert rows[0][:9] == [
        "person",
        "student_id",
        "email",
        "sessions",
        "attended",
        "late",
        "left_early",
        "absent",
        "rate",
    ]
    # Each session: its status and minutes, headed by its date and time on the course's clock.
    assert rows[0][-2].endswith(" algebra-1 status") and rows[0][-1].endswith("algebra-1 minutes")
    assert rows[0][-2][:10] == "2026-03-02"
    alice = dict(zip(rows[0], rows[1], strict=True))
    assert alice["person"] == "Alice" and alice["attended"] == "1"
    # The same minutes, to the same two decimals, as the session's own export gives them.
    assert rows[1][-2:] == ["present", "9.33"]
    session_csv = b.get("/sessions/algebra-1/export.csv").get_data(as_text=True)
    [alice_row] = [r for r in csv.reader(io.StringIO(session_csv.removeprefix("\ufeff")))
                   if r and r[0] == "Alice"]  # fmt: skip
    assert "9.33" in alice_row
    assert b.get("/reports/Algebra/export.csv").data[:3] == b"\xef\xbb\xbf"  # for Excel
    assert b.get("/reports/Algebra/export.xlsx").data[:2] == b"PK"
    assert browser("otto").get("/reports/Algebra").status_code == 403
    assert browser("otto").get("/reports/Algebra/export.csv").status_code == 403


def test_a_course_time_zone_is_set_on_its_form_and_session_times_follow_it(app, browser) -> None:
    # algebra-1 started at 09:00 UTC; Alice was first seen 30 s in.
    ivy = browser("ivy")
    page = ivy.get("/courses/Algebra").get_data(as_text=True)
    assert 'name="timezone"' in page and '<option value="Asia/Tokyo">' in page
    form = {"start_time": "18:00", "end_time": "19:00", "grace_minutes": "5"}
    bad = ivy.post("/courses/Algebra/schedule", form | {"timezone": "Mars/Olympus"})
    assert bad.status_code == 302
    assert "Mars/Olympus" in ivy.get("/courses/Algebra").get_data(as_text=True)
    saved = ivy.post("/courses/Algebra/schedule", form | {"timezone": "Asia/Tokyo"})
    assert saved.status_code == 302
    with app.extensions["rollcall"].db.session() as s:
        course = s.scalar(select(Course).where(Course.name == "Algebra"))
        assert course.timezone == "Asia/Tokyo"
        [after] = s.scalars(select(AuditEntry.after).where(AuditEntry.reason == "schedule")).all()
        assert "Asia/Tokyo" in after
    # 09:00 UTC is 18:00 in Tokyo: on the course's clock Alice came on time.
    sheet = ivy.get("/sessions/algebra-1").get_data(as_text=True)
    assert "started 2026-03-02 18:00 JST (Asia/Tokyo)" in sheet
    assert "18:00:30" in sheet and "✓ present" in sheet
    assert "2026-03-02 18:00 JST" in ivy.get("/sessions/").get_data(as_text=True)
    assert "2026-03-02 18:00 JST" in ivy.get("/").get_data(as_text=True)
    # Emptied, the zone is the portal's (ROLLCALL_TIMEZONE, else the server's).
    assert ivy.post("/courses/Algebra/schedule", form | {"timezone": ""}).status_code == 302
    with app.extensions["rollcall"].db.session() as s:
        assert s.scalar(select(Course.timezone).where(Course.name == "Algebra")) is None


def test_an_assigned_face_within_the_times_seen_leaves_the_mark_as_it_was(app) -> None:
    """Only a face outside the times already seen changes a mark; the flash and the audit
    say so only then."""
    from rollcall.storage.models import AttendanceRecord, Person
    from rollcall.storage.unknowns import assign_face

    with app.extensions["rollcall"].db.session() as s:
        face = s.get(UnknownFace, 1)
        bob = s.scalar(select(Person).where(Person.name == "Bob"))
        mark = s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id == face.session_id,
                AttendanceRecord.person_id == bob.id,
            )
        )
        mark.first_seen, mark.last_seen, face.t = 10.0, 60.0, 50.0
        assert assign_face(s, face, bob) == ""
        assert (mark.first_seen, mark.last_seen) == (10.0, 60.0)
        # (The same face played as other faces of his: only a pending face is assigned.)
        face.t, face.review = 5.0, "pending"
        assert assign_face(s, face, bob) == "seen 10-60 s → seen 5-60 s"
        # Later than the last sighting: it may turn "left early" into present; it is said.
        face.t, face.review = 3500.0, "pending"
        assert assign_face(s, face, bob) == "seen 5-60 s → seen 5-3500 s"
        assert mark.last_seen == 3500.0


def test_an_instructor_is_not_told_whom_a_stranger_resembles_outside_their_courses(
    app, browser
) -> None:  # noqa: ANN001
    """A security review: ivy's unknown faces said 'Closest: Carol Secret' for a student of
    another course, whose history ivy may not open. Admins still see every name."""
    from rollcall.storage.models import Person, UnknownFace

    with app.extensions["rollcall"].db.session() as s:
        carol = Person(name="Carol Secret")
        s.add(carol)
        s.flush()
        face = s.scalar(select(UnknownFace))
        face.candidate_id, face.best_similarity = carol.id, 0.79
    ivy = browser("ivy").get("/unknowns/").get_data(as_text=True)
    assert "Carol Secret" not in ivy and "someone not expected in your sessions" in ivy
    assert "Closest: Carol Secret" in browser("ada").get("/unknowns/").get_data(as_text=True)


def test_a_course_without_sessions_exports_its_own_time_zone(app, browser) -> None:  # noqa: ANN001
    """The workbook of a course with no session yet said nothing of its clock: the zone was
    taken from its first session (found by a reports review)."""
    import io as _io

    from openpyxl import load_workbook

    from rollcall.storage.models import Course

    with app.extensions["rollcall"].db.session() as s:
        s.scalar(select(Course).where(Course.name == "History")).timezone = "Asia/Tokyo"
    data = browser("otto").get("/reports/History/export.xlsx").data
    summary = {r[0]: r[1] for r in load_workbook(_io.BytesIO(data))["Summary"].iter_rows(
        values_only=True) if r and r[0]}  # fmt: skip
    assert summary["Time zone"] == "Asia/Tokyo"


def test_an_admin_erases_a_strangers_faces_with_their_pictures(app, browser, settings) -> None:  # noqa: ANN001
    """A DPO's review: a stranger's face could only be dismissed, which kept its crop and its
    sealed embedding (served and grouped on); nothing erased one. An admin deletes it, crop
    included, in the audit trail; an instructor may not."""
    db = app.extensions["rollcall"].db
    with db.session() as s:
        crop = settings.home / s.get(UnknownFace, 1).crop_path
    assert crop.exists()
    ivy, ada = browser("ivy"), browser("ada")
    assert ivy.post("/unknowns/1/delete").status_code == 403
    assert ivy.post("/unknowns/1/dismiss").status_code == 302
    dismissed = ada.get("/unknowns/?show=dismissed").get_data(as_text=True)
    assert "/unknowns/1/delete?show=dismissed" in dismissed
    assert ada.post("/unknowns/1/delete?show=dismissed").status_code == 302
    assert not crop.exists()
    assert ada.get("/unknowns/1/crop").status_code == 404
    with db.session() as s:
        assert s.get(UnknownFace, 1) is None
        assert s.scalar(select(AuditEntry.action).order_by(AuditEntry.id.desc())) == (
            "unknown.deleted"
        )


def test_a_picture_assigned_credits_the_person_in_the_session_looked_at_only(app, browser) -> None:  # noqa: ANN001
    """An entrance operator's review: the same picture held up at five sessions was one group;
    assigning it ("seen in person at the door") credited the person in all five. Faces judged
    a picture are assigned in the session staff looked at only."""
    from rollcall.storage.models import AttendanceSession

    db = app.extensions["rollcall"].db
    with db.session() as s:
        first = s.get(UnknownFace, 1)
        first.reason = "picture"
        other = s.scalar(select(AttendanceSession).where(AttendanceSession.name != "algebra-1"))
        s.add(UnknownFace(session_id=other.id, t=30.0, crop_path=first.crop_path,
                          best_similarity=0.2, review="pending", reason="picture"))  # fmt: skip
        s.flush()
        second = s.scalar(select(UnknownFace.id).where(UnknownFace.session_id == other.id))
    ada = browser("ada")
    form = {"person": "Bob", "face": str(second), "reason": "seen at the door"}
    assert ada.post("/unknowns/1/assign", form).status_code == 302
    with db.session() as s:
        assert s.get(UnknownFace, 1).review == "assigned"
        assert s.get(UnknownFace, second).review == "pending"


def test_a_face_reviewed_already_is_not_assigned_enrolled_or_dismissed_again(app, browser) -> None:  # noqa: ANN001
    """A privacy review: face #1 assigned to Bob by mistake, then to Alice, stayed Bob's
    evidence (present at 90 s, its crop in his export), and the same through enroll. A face is
    reviewed once, while pending; the queue offers nothing else."""
    from rollcall.storage.models import AttendanceRecord, Person

    db = app.extensions["rollcall"].db
    ada = browser("ada")
    assert ada.post("/unknowns/1/assign", {"person": "Bob"}).status_code == 302
    again = ada.post("/unknowns/1/assign", {"person": "Alice"})
    assert again.status_code == 409
    assert "#1 (assigned) were reviewed already" in again.get_data(as_text=True)
    form = {"name": "Carol New", "consent_method": "signed form", "consent_note": "on file",
            "consent_confirmed": "on"}  # fmt: skip
    assert ada.get("/unknowns/1/enroll").status_code == 409
    assert ada.post("/unknowns/1/enroll", form).status_code == 409
    with db.session() as s:
        face = s.get(UnknownFace, 1)
        bob = s.scalar(select(Person.id).where(Person.name == "Bob"))
        assert (face.review, face.assigned_id) == ("assigned", bob)
        assert s.scalar(select(Person).where(Person.name == "Carol New")) is None
        alice = s.scalar(select(Person.id).where(Person.name == "Alice"))
        crop = face.crop_path
        assert s.scalar(
            select(AttendanceRecord.id).where(
                AttendanceRecord.person_id == alice, AttendanceRecord.evidence_path == crop
            )
        ) is None  # fmt: skip
        # A dismissed face is not assigned either (nor dismissed twice).
        s.get(UnknownFace, 1).review = "dismissed"
    assert ada.post("/unknowns/1/assign", {"person": "Alice"}).status_code == 409
    assert ada.post("/unknowns/dismiss", {"face": "1"}).status_code == 409
    # Dismissed after it was assigned (as was allowed before): still Bob's evidence, so an
    # admin's Delete keeps it, and so it does a pending face sharing that crop (a picture held
    # up at two sessions, assigned in one).
    assert ada.post("/unknowns/1/delete?show=dismissed").status_code == 302
    with db.session() as s:
        face = s.get(UnknownFace, 1)
        assert face is not None and (app.extensions["rollcall"].settings.home / crop).exists()
        s.add(UnknownFace(session_id=face.session_id, t=95.0, crop_path=crop,
                          best_similarity=0.2, review="pending"))  # fmt: skip
        s.flush()
        twin = s.scalar(select(UnknownFace.id).where(UnknownFace.review == "pending"))
    assert ada.post(f"/unknowns/{twin}/delete").status_code == 302
    with db.session() as s:
        assert s.get(UnknownFace, twin) is not None
    assert (app.extensions["rollcall"].settings.home / crop).exists()


def test_closing_stores_the_status_of_someone_given_an_unknown_face(app, browser) -> None:  # noqa: ANN001
    """The second review: once "edited" also meant a face assigned, closing the session kept
    the "present" the assignment wrote instead of the "late" the times give."""
    from datetime import UTC, datetime

    from rollcall.attendance.lifecycle import close
    from rollcall.storage.models import AttendanceRecord, AttendanceSession, Person

    db = app.extensions["rollcall"].db
    with db.session() as s:
        course = s.scalar(
            select(AttendanceSession).where(AttendanceSession.name == "algebra-1")
        ).course
        course.start_time, course.end_time, course.grace_minutes = "09:00", "10:00", 5
        row = AttendanceSession(name="algebra-2", course_id=course.id, source="screen",
                                state="running", seed=1, min_interval=20, max_interval=90,
                                verify_every=300, leave_after=180, processed_until=3600,
                                started_at=datetime(2026, 3, 3, 9, 0, tzinfo=UTC))  # fmt: skip
        s.add(row)
        s.flush()
        for person in s.scalars(select(Person)):
            s.add(AttendanceRecord(session_id=row.id, person_id=person.id, status="absent"))
        face = UnknownFace(session_id=row.id, t=1500.0, crop_path="evidence/x.jpg",
                           best_similarity=0.2, review="pending")  # fmt: skip
        s.add(face)
        s.flush()
        face_id = face.id
    ada = browser("ada")
    assert ada.post(f"/unknowns/{face_id}/assign", {"person": "Bob"}).status_code == 302
    with db.session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-2"))
        assert close(s, row, 3600.0, "UTC")["Bob"] == "late"
    with db.session() as s:
        stored = dict(s.execute(
            select(Person.name, AttendanceRecord.status).join(Person)
            .where(AttendanceRecord.session_id == row.id)).all())  # fmt: skip
    assert stored["Bob"] == "late"
    # An assigned face is a mark's evidence: not deleted from the unknown faces page.
    assert "/delete" not in ada.get("/unknowns/?show=assigned").get_data(as_text=True)
    refused = ada.post(f"/unknowns/{face_id}/delete?show=assigned", follow_redirects=True)
    assert "Assigned faces are someone" in refused.get_data(as_text=True)
    with db.session() as s:
        assert s.get(UnknownFace, face_id) is not None
