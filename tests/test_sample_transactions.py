"""A sample is judged between two short transactions, never inside SQLite's one write lock.

Recognising a full gallery takes a second or more of CPU (far more when the run is niced and
the portal busy); judged inside the write transaction, it held the portal's logins and edits
back until they failed with "database is locked" (the load test saw it). Nothing is mocked here:
a real SQLite database, the real engine and monitor; the monitor's judgement is only wrapped so
that other writers act while it runs.
"""

from __future__ import annotations

import sqlite3

import numpy as np
import pytest

from rollcall.analysis.sample import Analyzer
from rollcall.attendance.monitor import AttendanceMonitor
from rollcall.config import Settings
from rollcall.storage.db import Database
from rollcall.storage.models import SessionState
from rollcall.storage.sessions import SessionSettings, create_session, head_counts
from rollcall.vision.engine import EngineOptions, FaceEngine

FRAME = np.full((360, 640, 3), 40, np.uint8)  # an empty screen: no faces, quick to judge


@pytest.fixture
def setup(tmp_path):  # noqa: ANN201
    settings = Settings(home=tmp_path / "home", read_labels=False)
    settings.ensure_home()
    db = Database(settings)
    with db.session() as s:
        row = create_session(s, "S", SessionSettings("test", 1, 20, 90, 300, 180), [], None)
        session_id = row.id
    engine = FaceEngine(EngineOptions(threads=1))
    return db, settings, engine, session_id


def writers_while_judged(path, monkeypatch) -> list:  # noqa: ANN001
    """While the monitor judges each sample, another connection (the portal, a short busy
    timeout) tries to write: the sample's seq when it could, the error when it could not."""
    real = AttendanceMonitor.observe
    wrote: list = []

    def observe(self, seq, *args, **kwargs):  # noqa: ANN001, ANN202
        con = sqlite3.connect(path, timeout=0.5, isolation_level=None)
        try:
            con.execute("BEGIN IMMEDIATE")
            con.execute("ROLLBACK")
            wrote.append(seq)
        except sqlite3.OperationalError as exc:
            wrote.append(str(exc))
        finally:
            con.close()
        return real(self, seq, *args, **kwargs)

    monkeypatch.setattr(AttendanceMonitor, "observe", observe)
    return wrote


def test_other_writers_go_on_while_a_sample_is_judged(setup, monkeypatch) -> None:  # noqa: ANN001
    db, settings, engine, session_id = setup
    wrote = writers_while_judged(settings.home / "rollcall.db", monkeypatch)
    analyzer = Analyzer(db, settings, engine)
    for seq in range(3):
        assert analyzer.analyze(session_id, seq, seq * 10.0, FRAME).outcome is not None
    assert wrote == [0, 1, 2]


def test_a_sample_judged_while_another_process_moved_the_session_on_is_judged_again(
    setup,  # noqa: ANN001
    monkeypatch,  # noqa: ANN001
) -> None:
    db, settings, engine, session_id = setup
    mine, theirs = Analyzer(db, settings, engine), Analyzer(db, settings, engine)
    assert mine.analyze(session_id, 0, 0.0, FRAME).outcome is not None
    real = AttendanceMonitor.observe
    judged = []

    def observe(self, seq, *args, **kwargs):  # noqa: ANN001, ANN202
        judged.append(seq)
        if judged == [2]:  # while sample 2 is judged here, another process records sample 1
            assert theirs.analyze(session_id, 1, 10.0, FRAME).outcome is not None
        return real(self, seq, *args, **kwargs)

    monkeypatch.setattr(AttendanceMonitor, "observe", observe)
    done = mine.analyze(session_id, 2, 20.0, FRAME)
    assert done.outcome is not None and judged == [2, 1, 2]  # judged again from sample 1's state
    with db.session() as s:
        assert [h.seq for h in head_counts(s, session_id)] == [0, 1, 2]
        assert s.get(SessionState, session_id).seq == 2
    # Recorded once: the same sample again is dropped, by either process.
    assert mine.analyze(session_id, 2, 20.0, FRAME).outcome is None
    assert theirs.analyze(session_id, 1, 10.0, FRAME).outcome is None


def test_other_writers_go_on_while_an_uploaded_frame_is_judged(setup, monkeypatch) -> None:  # noqa: ANN001
    """The server's path for agents' frames (pending.drain, in `serve` or a worker) judged
    inside the transaction that read the frame: on SQLite every other writer (other sessions'
    uploads, agents' token checks, the portal) waited for it (a robustness review)."""
    import cv2

    from rollcall.analysis.pending import Upload, drain, store_frame
    from rollcall.storage.models import AttendanceSession, Frame

    db, settings, engine, session_id = setup
    path = settings.home / "rollcall.db"
    ok, jpeg = cv2.imencode(".jpg", FRAME)
    assert ok
    with db.session() as s:
        row = s.get(AttendanceSession, session_id)
        for seq in range(3):
            store_frame(s, row, Upload(seq, seq * 10.0, row.started_at, jpeg.tobytes()))
    wrote = writers_while_judged(path, monkeypatch)
    drain(db, Analyzer(db, settings, engine), session_id)
    assert wrote == [0, 1, 2]
    with db.session() as s:
        assert [h.seq for h in head_counts(s, session_id)] == [0, 1, 2]
        assert s.query(Frame).count() == 0  # each frame gone once its sample was recorded
