"""An entrance's uploaded frames through the server-side step (analysis.pending.drain ->
analysis.entrance.uploads), on every back end: every frame taken once and in order, head counts
at the session's sampling times, another process's lease respected, the closing.

The frames are empty corridors (no face, so no recognition network is needed): what is checked
here is the bookkeeping of claims, leases and transactions, not the recognition."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest
from sqlalchemy import func, select

from rollcall.analysis.entrance import uploads
from rollcall.analysis.pending import Drained, Upload, drain, store_frame
from rollcall.analysis.sample import Analyzer
from rollcall.attendance.runner import RunOptions, prepare_session
from rollcall.attendance.schedule import SamplingSchedule
from rollcall.storage.models import AttendanceSession, Frame, HeadCount, SessionState
from rollcall.storage.people import get_or_create_person
from rollcall.vision.engine import EngineOptions, FaceEngine

FPS = 8.0
SEED, MIN_GAP, MAX_GAP = 4, 1.0, 2.0


def _corridor() -> bytes:
    import cv2

    image = np.full((180, 320, 3), 70, np.uint8)
    cv2.rectangle(image, (100, 40), (220, 180), (120, 110, 100), -1)  # a doorway
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


def _send(db, session_id: int, seqs: range) -> None:  # noqa: ANN001
    image = _corridor()
    with db.session() as s:
        row = s.get(AttendanceSession, session_id)
        for seq in seqs:
            store_frame(s, row, Upload(seq, seq / FPS, datetime.now(UTC), image))


def _waiting(db, session_id: int) -> int:  # noqa: ANN001
    with db.session() as s:
        return s.scalar(select(func.count(Frame.id)).where(Frame.session_id == session_id))


def test_entrance_frames_are_taken_once_in_order_under_one_watcher(
    db, settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    session_id, analyzer = _door(db, settings)
    _send(db, session_id, range(40))
    assert drain(db, analyzer, session_id) is Drained.DONE
    assert _waiting(db, session_id) == 0
    with db.session() as s:
        assert s.get(SessionState, session_id).seq == 39
        counts = s.execute(
            select(HeadCount.seq, HeadCount.t, HeadCount.count)
            .where(HeadCount.session_id == session_id)
            .order_by(HeadCount.seq)
        ).all()
    due = [t for _n, t in _first(SamplingSchedule(MIN_GAP, MAX_GAP, SEED), 20) if t <= 39 / FPS]
    assert [c[0] for c in counts] == list(range(len(due))), "one head count per sampling time"
    for (_, t, count), wanted in zip(counts, due, strict=True):
        assert wanted <= t < wanted + 1 / FPS + 1e-6 and count == 0
    # Another process holds the lease now: this one leaves the new frames to it.
    _send(db, session_id, range(40, 45))
    mine = uploads.this_watcher()
    with monkeypatch.context() as m:
        m.setattr(uploads, "this_watcher", lambda: "elsewhere:1")
        other = Analyzer(db, settings, analyzer.engine)
        assert drain(db, other, session_id) is Drained.HELD
        assert _waiting(db, session_id) == 5
    assert uploads.this_watcher() == mine
    assert drain(db, analyzer, session_id) is Drained.DONE
    assert _waiting(db, session_id) == 0
    # A frame sent again after it was analyzed is dropped, not analyzed twice.
    _send(db, session_id, range(44, 45))
    assert _waiting(db, session_id) == 0
    with db.session() as s:
        s.get(AttendanceSession, session_id).close_at = 44 / FPS
    assert drain(db, analyzer, session_id) is Drained.GONE
    with db.session() as s:
        row = s.get(AttendanceSession, session_id)
        assert row.state == "closed" and s.get(SessionState, session_id).seq == 44


def _first(schedule, n: int) -> list[tuple[int, float]]:  # noqa: ANN001
    out = []
    for item in schedule:
        out.append(item)
        if len(out) == n:
            break
    return out


def _door(db, settings):  # noqa: ANN001, ANN202
    with db.session() as s:
        get_or_create_person(s, "ann")
    options = RunOptions(session="door", source="agent", mode="entrance", entrance_fps=FPS,
                         seed=SEED, min_interval=MIN_GAP, max_interval=MAX_GAP)  # fmt: skip
    session_id, _conf, _expected = prepare_session(db, options)
    return session_id, Analyzer(db, settings, FaceEngine(EngineOptions(threads=1)))


def _head_count_seqs(db, session_id: int) -> list[int]:  # noqa: ANN001
    with db.session() as s:
        return list(
            s.scalars(
                select(HeadCount.seq)
                .where(HeadCount.session_id == session_id)
                .order_by(HeadCount.seq)
            )
        )


def test_a_commit_lost_with_the_connection_skips_no_head_count(
    db, settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    """The connection drops as the frame that records the first head count commits: the frame
    is taken again from the stored state, and head count 0 is still written (a retry from the
    monitor in memory, which had moved on, skipped it)."""
    from sqlalchemy.exc import OperationalError

    session_id, analyzer = _door(db, settings)
    _send(db, session_id, range(40))
    commit_in = uploads.EntranceFrames.commit_in
    dropped: list[int] = []

    def connection_lost_once(self, s, row, claim, step):  # noqa: ANN001, ANN202
        before = self._watches[row.id].due[0]
        written = commit_in(self, s, row, claim, step)
        if not dropped and self._watches[row.id].due[0] != before:
            dropped.append(claim.seq)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))
        return written

    monkeypatch.setattr(uploads.EntranceFrames, "commit_in", connection_lost_once)
    assert drain(db, analyzer, session_id) is Drained.DONE
    assert dropped, "the fault was never injected"
    seqs = _head_count_seqs(db, session_id)
    assert seqs and seqs == list(range(len(seqs))), seqs
    assert _waiting(db, session_id) == 0


def test_head_counts_of_a_run_between_two_agents_are_not_numbered_again(db, settings) -> None:  # noqa: ANN001
    """An agent, then `rollcall run --resume` (head counts written behind the agent's state),
    then an agent again, seen by a fresh process: its head counts go on after the run's."""
    session_id, analyzer = _door(db, settings)
    _send(db, session_id, range(40))
    drain(db, analyzer, session_id)
    top = _head_count_seqs(db, session_id)[-1]
    with db.session() as s:
        for k in range(1, 4):  # what the resumed run wrote
            s.add(HeadCount(session_id=session_id, seq=top + k, t=5.0 + k, count=0,
                            recognized=0, unknown=0, verified=False))  # fmt: skip
    fresh = Analyzer(db, settings, analyzer.engine)  # a restarted server
    _send(db, session_id, range(64, 200))
    assert drain(db, fresh, session_id) is Drained.DONE
    assert _waiting(db, session_id) == 0
    seqs = _head_count_seqs(db, session_id)
    assert seqs == list(range(len(seqs))) and len(seqs) > top + 4, seqs


def test_a_worker_whose_clock_runs_ahead_leaves_a_live_lease_alone(
    db, settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    """Leases are written and read by the database server's clock: a worker on a host whose
    clock runs an hour ahead still sees the watcher's lease as live (on its own clock, every
    lease would have run out and it would take the entrance over, splitting passers' tracks)."""
    import time

    if db.engine.dialect.name == "sqlite":
        pytest.skip("SQLite is a file on one host: its clock is that host's")
    session_id, analyzer = _door(db, settings)
    _send(db, session_id, range(5))
    assert drain(db, analyzer, session_id) is Drained.DONE
    _send(db, session_id, range(5, 8))
    real = time.time
    with monkeypatch.context() as m:
        m.setattr(uploads, "this_watcher", lambda: "fast-clock:1")
        m.setattr(time, "time", lambda: real() + 3600.0)
        other = Analyzer(db, settings, analyzer.engine)
        assert drain(db, other, session_id) is Drained.HELD
        assert _waiting(db, session_id) == 3
    assert drain(db, analyzer, session_id) is Drained.DONE
    assert _waiting(db, session_id) == 0


def test_a_passer_marked_as_the_watcher_lets_go_is_recorded_through_a_lost_commit(
    db, settings, monkeypatch: pytest.MonkeyPatch
) -> None:  # noqa: ANN001
    """Letting go of an idle entrance ends its open tracks, which can mark a passer (a short
    visit judged as it ends). If the connection drops as that is committed, the retry must
    write the same mark: the monitor's tracks are gone once ended (it was lost)."""
    from sqlalchemy.exc import OperationalError

    from rollcall.analysis.entrance.monitor import EntranceStep
    from rollcall.attendance.monitor import Mark
    from rollcall.storage.models import AttendanceRecord

    session_id, analyzer = _door(db, settings)
    _send(db, session_id, range(5))
    assert drain(db, analyzer, session_id) is Drained.DONE
    watch = analyzer.entrance._watches[session_id]
    crop = np.zeros((8, 8, 3), np.uint8)
    ann = Mark("ann", first_seen=0.25, confidence=0.9, evidence_t=0.25,
               evidence_box=(0, 0, 8, 8), evidence_crop=crop)  # fmt: skip
    ended: list[float] = []

    def finish(t: float) -> EntranceStep:  # the open track that ends here was Ann's
        ended.append(t)
        return EntranceStep(t, 0, None, marks=[ann] if len(ended) == 1 else [])

    monkeypatch.setattr(watch.monitor, "finish", finish)
    store = uploads._store
    lost: list[int] = []

    def connection_lost_once(s, session, stored, doc):  # noqa: ANN001, ANN202
        store(s, session, stored, doc)
        if not lost:
            lost.append(session)
            raise OperationalError("COMMIT", {}, Exception("server closed the connection"))

    monkeypatch.setattr(uploads, "_store", connection_lost_once)
    assert uploads.release(db, analyzer, session_id, idle=True)
    assert lost and ended == [4 / FPS], "the fault was never injected, or tracks ended twice"
    with db.session() as s:
        rows = s.scalars(
            select(AttendanceRecord).where(AttendanceRecord.session_id == session_id)
        ).all()
        assert [(r.status, r.first_seen) for r in rows] == [("present", 0.25)]
    # Released for good: letting go again writes nothing more.
    assert uploads.release(db, analyzer, session_id, idle=True)
    assert ended == [4 / FPS]
