"""A session is judged against the schedule it was held under, not its course's current one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from rollcall.attendance import lifecycle
from rollcall.attendance.report import build_report
from rollcall.config import Settings
from rollcall.storage.db import Database
from rollcall.storage.models import AttendanceRecord, Person
from rollcall.storage.people import get_or_create_person
from rollcall.storage.sessions import (
    SessionSettings,
    create_session,
    get_session,
    require_course,
    upsert_course,
)

SETTINGS = SessionSettings("x.mp4", 1, 20.0, 90.0, 300.0, 180.0)


def held(
    s,  # noqa: ANN001
    name: str,
    slot: tuple[str, str, int, str],
    started_at: datetime,
    seen: tuple[float, float],
    length: float,
):  # noqa: ANN201
    """Colin's session ``name`` of CS101 (slot: start, end, grace minutes, zone), started at
    ``started_at``, Colin seen from ``seen[0]`` to ``seen[1]`` s, closed after ``length`` s."""
    colin = get_or_create_person(s, "Colin")
    course = upsert_course(s, "CS101", ["Colin"], *slot)
    row = create_session(s, name, SETTINGS, [colin], course, started_at)
    record = s.query(AttendanceRecord).filter_by(session_id=row.id).one()
    record.first_seen, record.last_seen = seen
    row.processed_until = length
    lifecycle.close(s, row, length, "UTC")
    return row


def test_changing_a_course_schedule_does_not_re_judge_sessions_held(home: Path) -> None:
    """A department head's review: moving CS101 from 09:00 to 09:20 turned last week's late
    arrivals 'present' in every report and export, with nothing in the audit trail, after the
    alert emails had said 'late'. New sessions take the new schedule."""
    db = Database(Settings.from_env())
    with db.session() as s:  # in at 09:15
        held(s, "w1", ("09:00", "10:00", 5, "UTC"), datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
             (15 * 60.0, 3590.0), 3600.0)  # fmt: skip
    with db.session() as s:
        assert build_report(s, get_session(s, "w1")).attendance[0].status == "late"
        upsert_course(s, "CS101", [], "09:20", "10:00", 5)
    with db.session() as s:
        assert build_report(s, get_session(s, "w1")).attendance[0].status == "late"
        colin = get_or_create_person(s, "Colin")
        new = create_session(s, "w2", SETTINGS, [colin], require_course(s, "CS101"),
                             datetime(2026, 3, 9, 9, 0, tzinfo=UTC))  # fmt: skip
        assert (new.schedule_start, new.schedule_end, new.schedule_grace) == ("09:20", "10:00", 5)
    db.engine.dispose()


def test_slides_shared_to_the_end_make_nobody_leave_early(home: Path) -> None:
    """A lecturer's week-1 recording: the gallery for 400 s, then slides with no face to the
    end. Everyone seen until the share began was marked 'left early' together; one who left
    while the gallery was still on screen still is."""
    from rollcall.storage.models import HeadCount

    db = Database(Settings.from_env())
    with db.session() as s:
        stay, leave = get_or_create_person(s, "Stay"), get_or_create_person(s, "Leave")
        course = upsert_course(s, "CS101", ["Stay", "Leave"], "09:00", "09:12", 2, "UTC")
        row = create_session(s, "w1", SETTINGS, [stay, leave], course,
                             datetime(2026, 3, 2, 9, 0, tzinfo=UTC))  # fmt: skip
        seen = {"Stay": (10.0, 390.0), "Leave": (10.0, 120.0)}
        for record in s.query(AttendanceRecord).filter_by(session_id=row.id):
            record.first_seen, record.last_seen = seen[record.person.name]
        times = [10.0, 60.0, 120.0, 200.0, 300.0, 390.0, 460.0, 540.0, 620.0, 700.0]
        for seq, t in enumerate(times):
            count = 0 if t > 400 else 2 if t <= 120 else 1
            s.add(HeadCount(session_id=row.id, seq=seq, t=t, count=count, recognized=count,
                            unknown=0, verified=True))  # fmt: skip
        row.processed_until = 720.0
        lifecycle.close(s, row, 720.0, "UTC")
    with db.session() as s:
        status = {a.person: a.status for a in build_report(s, get_session(s, "w1")).attendance}
        # A history reads it for all of a person's sessions at once, with the same answer.
        from rollcall.attendance.history import person_history
        from rollcall.attendance.report import blank_from, blanks_from

        row = get_session(s, "w1")
        assert blanks_from(s, [row.id, row.id + 1]) == {row.id: blank_from(row)} == {row.id: 460.0}
        stay = person_history(s, s.scalar(select(Person.id).where(Person.name == "Stay")), "Stay",
                              None, None)  # fmt: skip
        assert [e.status for e in stay.entries] == ["present"]
    assert status == {"Stay": "present", "Leave": "left_early"}
    db.engine.dispose()


def test_a_session_held_after_its_courses_slot_is_judged_present_or_absent_only(
    home: Path, caplog
) -> None:  # noqa: ANN001
    """A make-up class at 10:00 for a 09:00-09:12 course: against the slot everyone was late
    and nobody could have left early. The run says why when the session is made."""
    import logging

    from rollcall.attendance.runner import _warn_outside_slot

    db = Database(Settings.from_env())
    with db.session() as s:
        row = held(s, "makeup", ("09:00", "09:12", 2, "UTC"),
                   datetime(2026, 3, 2, 10, 0, tzinfo=UTC), (30.0, 200.0), 720.0)  # fmt: skip
        with caplog.at_level(logging.WARNING):
            _warn_outside_slot(row, row.course, "UTC")
    with db.session() as s:
        assert build_report(s, get_session(s, "makeup")).attendance[0].status == "present"
    assert "judged present or absent only" in caplog.text and "10:00" in caplog.text
    db.engine.dispose()


def test_a_courses_new_zone_or_its_deletion_does_not_re_judge_sessions_held(home: Path) -> None:
    """CS101 moved from New York's clock to London's (or deleted, its sessions kept): last
    week's late arrivals became 'present' in every report, dated hours away. A session keeps
    the zone it was held in, as it keeps the times."""
    db = Database(Settings.from_env())
    with db.session() as s:  # 09:00 in New York; in at 09:15
        held(s, "w1", ("09:00", "10:00", 5, "America/New_York"),
             datetime(2026, 3, 2, 14, 0, tzinfo=UTC), (15 * 60.0, 3590.0), 3600.0)  # fmt: skip
    with db.session() as s:
        assert build_report(s, get_session(s, "w1")).attendance[0].status == "late"
        upsert_course(s, "CS101", [], "09:00", "10:00", 5, "Europe/London")
    with db.session() as s:
        report = build_report(s, get_session(s, "w1"))
        assert report.attendance[0].status == "late"
        assert report.started_local.hour == 9
    lifecycle.delete_course(db, db.settings, "CS101", "test", with_sessions=False)
    with db.session() as s:
        report = build_report(s, get_session(s, "w1"))
        assert report.started_local.hour == 9 and report.attendance[0].status == "late"
    db.engine.dispose()


def test_a_session_just_after_midnight_counts_for_the_evenings_class_day(home: Path) -> None:
    """A 23:55-00:05 class whose session started at 00:02: judged against the evening's class
    (late), but the calendar had that evening "missed" and the next day an extra session."""
    from datetime import date

    from rollcall.attendance.course_report import build_course_report
    from rollcall.storage.sessions import require_course as course_named

    db = Database(Settings.from_env())
    with db.session() as s:  # 00:02 in New York
        held(s, "c5", ("23:55", "00:05", 1, "America/New_York"),
             datetime(2026, 11, 11, 5, 2, tzinfo=UTC), (30.0, 170.0), 180.0)  # fmt: skip
    with db.session() as s:
        report = build_report(s, get_session(s, "c5"))
        assert report.attendance[0].status == "late" and report.day == date(2026, 11, 10)
        tuesday = build_course_report(s, course_named(s, "CS101"), None,
                                      date(2026, 11, 10), date(2026, 11, 10))  # fmt: skip
        assert [r.session for r in tuesday.sessions] == ["c5"]
        assert tuesday.day_of(tuesday.sessions[0]) == date(2026, 11, 10)
    db.engine.dispose()
