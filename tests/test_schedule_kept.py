"""A session is judged against the schedule it was held under, not its course's current one."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from rollcall.attendance import lifecycle
from rollcall.attendance.report import build_report
from rollcall.config import Settings
from rollcall.storage.db import Database
from rollcall.storage.models import AttendanceRecord
from rollcall.storage.people import get_or_create_person
from rollcall.storage.sessions import (
    SessionSettings,
    create_session,
    get_session,
    require_course,
    upsert_course,
)


def test_changing_a_course_schedule_does_not_re_judge_sessions_held(home: Path) -> None:
    """A department head's review: moving CS101 from 09:00 to 09:20 turned last week's late
    arrivals 'present' in every report and export, with nothing in the audit trail, after the
    alert emails had said 'late'. New sessions take the new schedule."""
    db = Database(Settings.from_env())
    settings = SessionSettings("x.mp4", 1, 20.0, 90.0, 300.0, 180.0)
    with db.session() as s:
        colin = get_or_create_person(s, "Colin")
        course = upsert_course(s, "CS101", ["Colin"], "09:00", "10:00", 5, "UTC")
        row = create_session(
            s, "w1", settings, [colin], course, datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
        )
        record = s.query(AttendanceRecord).filter_by(session_id=row.id).one()
        record.first_seen, record.last_seen = 15 * 60.0, 3590.0  # in at 09:15
        row.processed_until = 3600.0
        lifecycle.close(s, row, 3600.0, "UTC")
    with db.session() as s:
        assert build_report(s, get_session(s, "w1")).attendance[0].status == "late"
        upsert_course(s, "CS101", [], "09:20", "10:00", 5)
    with db.session() as s:
        assert build_report(s, get_session(s, "w1")).attendance[0].status == "late"
        new = create_session(s, "w2", settings, [colin], require_course(s, "CS101"),
                             datetime(2026, 3, 9, 9, 0, tzinfo=UTC))  # fmt: skip
        assert (new.schedule_start, new.schedule_end, new.schedule_grace) == ("09:20", "10:00", 5)
    db.engine.dispose()
