"""An erasure while a session is still being taken: nothing more of the person is written.

Found by a privacy review: an entrance names people on the gallery it loaded when it began,
so a removed person's pass was written as a "visitor" event with their face and no person, and
a meeting sample judged while the person was erased wrote them back into the stored state.
"""

from __future__ import annotations

import json
import zlib
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
from sqlalchemy import select

from rollcall.config import Settings
from rollcall.storage.db import Database
from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    Person,
    SessionEvent,
    SessionState,
    Sighting,
    UnknownFace,
)
from rollcall.storage.sessions import SessionSettings, create_session


def running_session(s, name: str = "door") -> AttendanceSession:  # noqa: ANN001
    settings = SessionSettings("x.mp4", 1, 20, 90, 300, 180)
    return create_session(s, name, settings, [], None, datetime(2026, 3, 2, 9, 0, tzinfo=UTC))


def face(shade: int) -> np.ndarray:
    image = np.full((64, 64, 3), shade, np.uint8)
    image[20:40, 20:40] = 255 - shade
    return image


def test_a_run_still_going_writes_no_event_or_face_of_someone_erased(home: Path) -> None:
    from rollcall.attendance.monitor import Event, FaceSighting, SampleOutcome, UnknownSighting
    from rollcall.attendance.recorder import SessionRecorder
    from rollcall.privacy import erase_person

    settings = Settings.from_env()
    db = Database(settings)
    with db.session() as s:
        s.add_all([Person(name="Ann"), Person(name="Bob")])
        s.flush()
        sid = running_session(s).id
    recorder = SessionRecorder(db, sid, settings.evidence_dir)
    erase_person(db, settings, "Ann")  # consent withdrawn while the run goes on

    box = (0, 0, 64, 64)
    out = SampleOutcome(
        seq=1,
        t=100.0,
        count=2,
        recognized=0,
        unknown=2,
        verified=True,
        embedded=2,
        events=[
            # An entrance's pass of someone not expected, with their face; a name lost.
            Event(100.0, "visitor", "Ann", "enrolled but not expected", crop=face(60)),
            Event(100.0, "identity_lost", "Ann", "a face named Ann no longer matches"),
            Event(100.0, "visitor", "Bob", "enrolled but not expected", crop=face(90)),
        ],
        unknowns=[
            # A photo of her held up, and a face most like her: her face either way.
            UnknownSighting(100.0, box, face(70), 0.7, "Ann", reason="picture"),
            UnknownSighting(100.0, box, face(80), 0.3, None),
            UnknownSighting(100.0, box, face(85), 0.6, "Ann"),  # someone only like her
        ],
        faces=[FaceSighting(box, None, 0.79, True, candidate="Ann")],
    )
    recorder.record(out)

    with db.session() as s:
        events = s.execute(select(SessionEvent.kind, SessionEvent.detail)).all()
        unknowns = s.execute(
            select(UnknownFace.best_similarity, UnknownFace.candidate_id).order_by(
                UnknownFace.best_similarity
            )
        ).all()
        candidates = s.scalars(select(Sighting.candidate_id)).all()
    assert events == [("visitor", "enrolled but not expected")]  # Bob's
    # Strangers' faces are kept for review, without her as their likeness; her picture goes.
    assert unknowns == [(0.3, None), (0.6, None)]
    assert candidates == [None]
    crops = sorted((settings.evidence_dir / f"session-{sid}").glob("*.jpg"))
    assert len(crops) == 3  # Bob's event and the two strangers: nothing of Ann's


def test_a_sample_judged_while_someone_was_erased_does_not_write_them_back(home: Path) -> None:
    """The sample was judged from the state before the erasure (outside any transaction), and
    committed after it: the erasure's scrub of the stored state must stand."""
    from rollcall.analysis import state as monitor_state
    from rollcall.analysis.sample import Analyzer, _Session, state_context
    from rollcall.attendance.monitor import AttendanceMonitor, MonitorConfig, SampleOutcome
    from rollcall.attendance.recorder import SessionRecorder
    from rollcall.privacy import erase_person
    from rollcall.vision.gallery import Gallery

    settings = Settings.from_env()
    db = Database(settings)
    unit = np.ones((2, 128), np.float32) / np.sqrt(128)
    gallery = Gallery(["Ann", "Bob"], np.array([0, 1]), unit, 0.5, 0.05)
    monitor = AttendanceMonitor(gallery, ["Ann", "Bob"], MonitorConfig())
    monitor.marked = {"Ann": 12.0, "Bob": 20.0}
    monitor.last_seen = {"Ann": 40.0, "Bob": 40.0}
    with db.session() as s:
        ann, bob = Person(name="Ann"), Person(name="Bob")
        s.add_all([ann, bob])
        s.flush()
        row = running_session(s, "m1")
        s.add(AttendanceRecord(session_id=row.id, person_id=ann.id, status="present"))
        s.add(AttendanceRecord(session_id=row.id, person_id=bob.id, status="present"))
        sealed = db.cipher.seal_bytes(monitor_state.snapshot(monitor), state_context(row.id))
        s.add(SessionState(session_id=row.id, seq=1, state=sealed))
        sid = row.id

    def marked_in_state() -> list[str]:
        with db.session() as s:
            blob = db.cipher.open_bytes(s.get(SessionState, sid).state, state_context(sid))
        return sorted(json.loads(zlib.decompress(blob))["marked"])

    analyzer = Analyzer(db, settings, engine=None)  # _commit does not use the engine
    ctx = _Session(
        expected=["Ann", "Bob"],
        config=MonitorConfig(),
        recorder=SessionRecorder(db, sid, settings.evidence_dir),
    )
    erase_person(db, settings, "Ann")  # while sample 2 is judged from the state at seq 1
    assert marked_in_state() == ["Bob"]
    out = SampleOutcome(seq=2, t=60.0, count=1, recognized=1, unknown=0, verified=False, embedded=0)
    assert analyzer._commit(sid, 2, ctx, monitor, 1, out) == "written"
    assert marked_in_state() == ["Bob"]


def test_purge_takes_a_session_left_running_once_nothing_is_heard_of_it(home: Path) -> None:
    """A run killed outright, or a capture agent's session nobody closed, stays "running"; it
    was never purged, whatever ROLLCALL_RETENTION_DAYS said. One heard from lately is kept."""
    from datetime import timedelta

    from rollcall.privacy import purge_evidence
    from rollcall.storage.evidence import write_crop
    from rollcall.storage.models import Frame

    settings = Settings.from_env()
    db = Database(settings)
    now = datetime.now(UTC)
    long_ago = now - timedelta(days=400)
    crops = {}
    with db.session() as s:
        ann = Person(name="Ann")
        s.add(ann)
        s.flush()
        for name, agent_seen in (("abandoned", long_ago), ("agent-still-there", now)):
            row = running_session(s, name)
            row.started_at, row.processed_until = long_ago, 3000.0
            # The lease of a run killed then, long run out; the agent last heard from.
            row.run_by, row.run_until = "otherhost:4242", long_ago.timestamp() + 90
            row.agent_seen_at = agent_seen
            crop = settings.evidence_dir / f"session-{row.id}" / f"{ann.id}-3.jpg"
            assert write_crop(db.cipher, settings.evidence_dir, crop, face(99))
            path = str(crop.relative_to(settings.home))
            s.add(AttendanceRecord(session_id=row.id, person_id=ann.id, evidence_path=path))
            s.add(Frame(session_id=row.id, seq=90, t=3020.0, captured_at=long_ago, image=b"jpg"))
            crops[name] = crop
    # Not even with --older-than 0: a session silent for less than a week is not abandoned.
    weekend = long_ago + timedelta(days=2)  # its agent off since Friday, purged on Sunday
    assert purge_evidence(db, settings, older_than_days=0, now=weekend).sessions == 0
    done = purge_evidence(db, settings, older_than_days=90)
    assert done.sessions == 1
    assert not crops["abandoned"].exists() and crops["agent-still-there"].exists()
    with db.session() as s:
        frames = s.execute(select(AttendanceSession.name).join(Frame)).scalars().all()
    assert frames == ["agent-still-there"]


def test_an_export_tells_apart_names_that_hold_each_other(home: Path, tmp_path: Path) -> None:
    """A review of the export's redaction: "Ann" was found inside "Ann Lee" and "Smith, Ann"
    (a classmate's line was hers, "Smith, Ann" was split as two names: "Absent: Ann")."""
    import zipfile

    from rollcall.privacy import export_person
    from rollcall.storage.models import OutboxMessage
    from rollcall.storage.staff import AuditEntry

    settings = Settings.from_env()
    db = Database(settings)
    with db.session() as s:
        s.add_all([Person(name=n) for n in ("Ann", "Ann Lee", "Smith, Ann", "Bob")])
        body = "Absent: Smith, Ann, Ann Lee\nLate: Ann, Bob\nLeft early: Ann Lee\n"
        s.add(
            OutboxMessage(
                kind="session",
                dedupe="s:1",
                person_name=None,
                recipient="ivy@school.example",
                subject="CS101: 2 absent",
                body=body,
            )
        )
        roster = dict(subject="CS101", before=None, after=None, reason="add Ann Lee, Bob")
        s.add(AuditEntry(actor="ivy", action="course.changed", session_name=None, **roster))

    def exported(name: str) -> dict:
        out = export_person(db, settings, name, tmp_path / f"{len(name)}.zip").path
        with zipfile.ZipFile(out) as zf:
            return json.loads(zf.read("person.json"))

    ann = exported("Ann")
    assert [m["body"] for m in ann["alert_emails"]] == ["Late: Ann"]
    assert ann["staff_actions"] == []  # the roster change named Ann Lee, not her
    lee = exported("Ann Lee")
    assert [m["body"] for m in lee["alert_emails"]] == ["Absent: Ann Lee\nLeft early: Ann Lee"]
    assert [a["reason"] for a in lee["staff_actions"]] == ["add Ann Lee, [another person]"]
    smith = exported("Smith, Ann")
    assert [m["body"] for m in smith["alert_emails"]] == ["Absent: Smith, Ann"]
