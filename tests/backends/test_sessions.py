"""What the session recorder writes, and how a session closes, on every back end."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select

from rollcall.attendance.monitor import (
    Event,
    IntervalChange,
    Mark,
    SampleOutcome,
    Sighting,
    UnknownSighting,
)
from rollcall.attendance.recorder import SessionRecorder
from rollcall.attendance.report import build_report
from rollcall.storage.evidence import read_image
from rollcall.storage.models import AttendanceRecord, AttendanceSession, Person, PresenceInterval
from rollcall.storage.people import get_or_create_person
from rollcall.storage.sessions import (
    SessionSettings,
    attendance_rows,
    create_session,
    head_counts,
    last_seq,
    open_intervals,
    session_events,
    unknown_faces,
)
from rollcall.wallclock import as_utc

CROP = np.full((20, 20, 3), 128, np.uint8)


def start(db, names=("ann", "ben")) -> int:
    with db.session() as session:
        people = [get_or_create_person(session, n) for n in names]
        row = create_session(
            session, "s1", SessionSettings("rec.mp4", 1, 20, 90, 300, 180), people, None
        )
        return row.id


def sample(seq: int, t: float, **parts) -> SampleOutcome:
    return SampleOutcome(
        seq, t, count=2, recognized=1, unknown=1, verified=True, embedded=2, **parts
    )


def test_a_sample_is_recorded_whole(db, settings):
    session_id = start(db)
    recorder = SessionRecorder(db, session_id, settings.evidence_dir)
    recorder.record(
        sample(
            0,
            12.5,
            marks=[Mark("ann", 12.5, 0.81, 12.5, (0, 0, 20, 20), CROP)],
            seen=[Sighting("ann", 12.5, 0.81, (0, 0, 20, 20))],
            intervals=[IntervalChange("ann", 12.5, 12.5, None)],
            unknowns=[UnknownSighting(12.5, (30, 0, 20, 20), CROP, 0.2, "ben")],
            events=[Event(12.5, "joined", "ann")],
        )
    )
    with db.session() as session:
        rows = {name: rec for rec, name in attendance_rows(session, session_id)}
        assert rows["ann"].status == "present" and rows["ann"].first_seen == 12.5
        assert rows["ben"].status == "absent"
        assert (Path(settings.home) / rows["ann"].evidence_path).is_file()
        assert [(h.seq, h.count, h.verified) for h in head_counts(session, session_id)] == [
            (0, 2, True)
        ]
        # When it was written, for the pool's samples per minute (whatever its time in the
        # session), with its zone on every back end.
        (written,) = [as_utc(h.recorded_at) for h in head_counts(session, session_id)]
        assert abs((datetime.now(UTC) - written).total_seconds()) < 60
        assert [name for _, name in open_intervals(session, session_id)] == ["ann"]
        assert [u.best_similarity for u in unknown_faces(session, session_id)] == [0.2]
        assert [e.kind for e in session_events(session, session_id)] == ["joined"]
        assert last_seq(session, session_id) == 0
        assert session.get(AttendanceSession, session_id).processed_until == 12.5


def test_a_staff_edit_wins_over_later_marks(db, settings):
    session_id = start(db)
    with db.session() as session:
        rec = session.scalar(
            select(AttendanceRecord).where(AttendanceRecord.person_id.is_not(None))
        )
        rec.edited = True
        rec.status = "excused"
        edited_person = rec.person_id
    recorder = SessionRecorder(db, session_id, settings.evidence_dir)
    recorder.record(
        sample(0, 5.0, marks=[Mark(n, 5.0, 0.9, 5.0, (0, 0, 20, 20), CROP) for n in ("ann", "ben")])
    )
    with db.session() as session:
        for rec, _name in attendance_rows(session, session_id):
            expected = "excused" if rec.person_id == edited_person else "present"
            assert rec.status == expected


def test_closing_ends_intervals_and_stores_final_statuses(db, settings):
    session_id = start(db)
    recorder = SessionRecorder(db, session_id, settings.evidence_dir)
    recorder.record(
        sample(
            0,
            10.0,
            marks=[Mark("ann", 10.0, 0.9, 10.0, (0, 0, 20, 20), CROP)],
            seen=[Sighting("ann", 10.0, 0.9, (0, 0, 20, 20))],
            intervals=[IntervalChange("ann", 10.0, 10.0, None)],
        )
    )
    recorder.record(sample(1, 70.0, intervals=[IntervalChange("ann", 10.0, 70.0, None)]))
    recorder.close([IntervalChange("ann", 10.0, 70.0, 70.0)], 100.0)
    with db.session() as session:
        row = session.get(AttendanceSession, session_id)
        assert row.state == "closed" and row.duration == 100.0 and row.ended_at is not None
        intervals = session.scalars(select(PresenceInterval)).all()
        assert [(i.start_t, i.last_seen, i.end_t) for i in intervals] == [(10.0, 70.0, 70.0)]
        report = build_report(session, row)
        statuses = {a.person: a.status for a in report.attendance}
        assert statuses["ben"] == "absent" and statuses["ann"] != "absent"
        stored = {name: rec.status for rec, name in attendance_rows(session, session_id)}
        assert stored == statuses


def test_a_replayed_sample_is_not_counted_twice(db, settings):
    session_id = start(db)
    recorder = SessionRecorder(db, session_id, settings.evidence_dir)
    recorder.record(sample(0, 1.0))
    recorder.record(sample(0, 1.0))  # e.g. the commit's acknowledgement was lost
    with db.session() as session:
        assert len(head_counts(session, session_id)) == 1


def test_a_stop_suspends_presence_resume_reopens_it_and_close_ends_it(db, settings):
    from rollcall.attendance import lifecycle

    session_id = start(db)
    recorder = SessionRecorder(db, session_id, settings.evidence_dir)
    for seq, (name, t) in enumerate([("ann", 10.0), ("ben", 40.0)]):
        recorder.record(
            sample(
                seq,
                t,
                marks=[Mark(name, t, 0.9, t, (0, 0, 20, 20), CROP)],
                seen=[Sighting(name, t, 0.9, (0, 0, 20, 20))],
                intervals=[IntervalChange(name, t, t, None)],
            )
        )

    def intervals() -> list[tuple]:
        with db.session() as session:
            rows = session.scalars(select(PresenceInterval).order_by(PresenceInterval.start_t))
            return [(i.start_t, i.last_seen, i.end_t, i.suspended) for i in rows]

    def state() -> str:
        with db.session() as session:
            return session.get(AttendanceSession, session_id).state

    recorder.interrupt()
    assert state() == "interrupted"
    assert intervals() == [(10.0, 10.0, 10.0, True), (40.0, 40.0, 40.0, True)]
    with db.session() as session:
        lifecycle.resume(session, session.get(AttendanceSession, session_id))
    assert state() == "running"
    assert intervals() == [(10.0, 10.0, None, False), (40.0, 40.0, None, False)]
    recorder.interrupt()
    statuses = lifecycle.close_session(db, "s1", "tester")
    assert state() == "closed" and statuses == {"ann": "present", "ben": "present"}
    assert intervals() == [(10.0, 10.0, 10.0, False), (40.0, 40.0, 40.0, False)]
    try:  # a run still recording it stops instead of writing into a closed session
        recorder.record(sample(2, 50.0))
        raise AssertionError("recorded into a closed session")
    except lifecycle.SessionEnded:
        pass


def test_deleting_a_session_takes_everything_it_recorded(db, settings):
    from sqlalchemy import func

    from rollcall.attendance import lifecycle
    from rollcall.storage.models import HeadCount, SessionEvent, UnknownFace
    from rollcall.storage.staff import AuditEntry

    session_id = start(db)
    recorder = SessionRecorder(db, session_id, settings.evidence_dir)
    recorder.record(
        sample(
            0,
            5.0,
            marks=[Mark("ann", 5.0, 0.9, 5.0, (0, 0, 20, 20), CROP)],
            intervals=[IntervalChange("ann", 5.0, 5.0, None)],
            unknowns=[UnknownSighting(5.0, (30, 0, 20, 20), CROP, 0.2, "ben")],
            events=[Event(5.0, "joined", "ann")],
        )
    )
    folder = settings.evidence_dir / f"session-{session_id}"
    assert len(list(folder.iterdir())) == 2
    gone = lifecycle.delete_session(db, settings, "s1", "tester")
    assert (gone.head_counts, gone.marks, gone.unknown_faces, gone.files) == (1, 1, 1, 2)
    assert not folder.exists()
    with db.session() as session:
        for model in (
            AttendanceSession, HeadCount, AttendanceRecord, PresenceInterval, UnknownFace,
            SessionEvent,
        ):  # fmt: skip
            assert session.scalar(select(func.count()).select_from(model)) == 0, model
        [entry] = session.scalars(select(AuditEntry)).all()
        assert (entry.action, entry.session_name) == ("session.deleted", "s1")


def test_session_search_and_live_summaries_on_every_back_end(db) -> None:
    """The session list's search (LIKE with escaped wildcards, case-insensitive) and the
    dashboard's grouped latest head count run on SQLite, PostgreSQL and MariaDB alike."""
    from rollcall.storage.accounts import count_visible_sessions, create_user, visible_sessions
    from rollcall.storage.models import HeadCount
    from rollcall.storage.sessions import live_summaries

    with db.session() as session:
        admin = create_user(session, "ada", "a long enough password", "admin")
        ids = []
        for name in ("Week_1", "week-2", "50%-off"):
            people = [get_or_create_person(session, "ann")]
            settings = SessionSettings("rec.mp4", 1, 20, 90, 300, 180)
            ids.append(create_session(session, name, settings, people, None).id)
        session.add_all(
            HeadCount(session_id=ids[0], seq=k, t=10.0 * k, count=k, recognized=0, unknown=k)
            for k in range(3)
        )
        session.flush()
        assert count_visible_sessions(session, admin, "WEEK") == 2
        assert [r.name for r in visible_sessions(session, admin, search="k_1")] == ["Week_1"]
        assert count_visible_sessions(session, admin, "_") == 1  # a literal underscore
        assert [r.name for r in visible_sessions(session, admin, search="50%")] == ["50%-off"]
        assert len(visible_sessions(session, admin, limit=2, offset=2)) == 1
        summaries = live_summaries(session, ids)
        assert summaries[ids[0]].samples == 3 and summaries[ids[0]].latest.seq == 2
        assert summaries[ids[1]].latest is None and summaries[ids[1]].samples == 0
        assert [name for name, _ in summaries[ids[2]].marked] == ["ann"]
        assert last_seq(session, ids[0]) == 2 and last_seq(session, ids[1]) is None


def test_a_pictures_mark_is_withdrawn_and_a_later_picture_trims_the_time(db, settings):
    """AttendanceMonitor._own_cameras' findings as written: Ann's mark, made on a photo, is
    withdrawn (absent, no time, her mark's crop beside the picture now in the event); Ben's,
    edited by staff meanwhile, stands; Cy's time stops where his picture began."""
    session_id = start(db, ("ann", "ben", "cy"))
    recorder = SessionRecorder(db, session_id, settings.evidence_dir)
    everyone = ("ann", "ben", "cy")
    recorder.record(
        sample(
            0,
            10.0,
            marks=[Mark(n, 10.0, 0.9, 10.0, (0, 0, 20, 20), CROP) for n in everyone],
            seen=[Sighting(n, 10.0, 0.9, (0, 0, 20, 20)) for n in everyone],
            intervals=[IntervalChange(n, 10.0, 10.0, None) for n in everyone],
        )
    )
    recorder.record(
        sample(
            1,
            70.0,
            seen=[Sighting(n, 70.0, 0.9, (0, 0, 20, 20)) for n in everyone],
            intervals=[IntervalChange(n, 10.0, 70.0, None) for n in everyone],
        )
    )
    with db.session() as session:
        ben = session.scalar(
            select(AttendanceRecord)
            .join(AttendanceRecord.person)
            .where(AttendanceRecord.session_id == session_id, Person.name == "ben")
        )
        ben.edited = True
        ann_crop = next(
            r.evidence_path for r, n in attendance_rows(session, session_id) if n == "ann"
        )
    assert (Path(settings.home) / ann_crop).is_file()
    recorder.record(
        sample(
            2,
            100.0,
            withdrawn=["ann", "ben"],
            events=[Event(100.0, "pictures", "ann", "a picture", crop=CROP)],
            intervals=[IntervalChange("cy", 10.0, 40.0, 40.0)],
            trimmed=[("cy", 40.0)],
        )
    )
    with db.session() as session:
        rows = {name: rec for rec, name in attendance_rows(session, session_id)}
        assert (rows["ann"].status, rows["ann"].first_seen, rows["ann"].evidence_path) == (
            "absent",
            None,
            None,
        )
        assert rows["ben"].status == "present" and rows["ben"].first_seen == 10.0
        assert rows["cy"].status == "present" and rows["cy"].last_seen == 40.0
        spans = {
            name: [(iv.start_t, iv.end_t) for iv in session.scalars(
                select(PresenceInterval).join(Person, Person.id == PresenceInterval.person_id)
                .where(PresenceInterval.session_id == session_id, Person.name == name))]
            for name in everyone
        }  # fmt: skip
        assert spans == {"ann": [], "ben": [(10.0, None)], "cy": [(10.0, 40.0)]}
        (event,) = session_events(session, session_id)
        # The mark's own file now holds the pair, and the event holds the file.
        assert event.crop_path == ann_crop
        pair = read_image(db.cipher, settings.evidence_dir, Path(settings.home) / event.crop_path)
        assert pair is not None and pair.shape[1] > 1.5 * pair.shape[0]
