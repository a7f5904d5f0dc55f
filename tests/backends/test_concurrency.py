"""Several writer processes on one session: one record each, nothing lost, no lock errors."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from backends.writer import PEOPLE, outcome
from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    HeadCount,
    Person,
    SessionEvent,
)
from rollcall.storage.sessions import SessionSettings, create_session

WRITERS = 4
SAMPLES = 25


def test_concurrent_writers_on_one_session(db, settings, tmp_path: Path):
    with db.session() as session:
        people = [Person(name=name) for name in PEOPLE]
        session.add_all(people)
        session.flush()
        row = create_session(
            session, "shared", SessionSettings("test", 1, 20, 90, 300, 180), people, None
        )
        session_id = row.id

    start_at = time.time() + 3.0  # every writer imports rollcall first, then they all go
    writer = Path(__file__).with_name("writer.py")
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                str(writer),
                db.url,
                str(settings.home),
                str(session_id),
                str(w),
                str(SAMPLES),
                str(start_at),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(WRITERS)
    ]
    reports = []
    for proc in procs:
        out, err = proc.communicate(timeout=240)
        assert proc.returncode == 0, err
        reports.append(json.loads(out.strip().splitlines()[-1]))
    assert [r["errors"] for r in reports] == [[]] * WRITERS

    samples = [outcome(w, i) for w in range(WRITERS) for i in range(SAMPLES)]
    first_seen: dict[str, float] = {}
    last_seen: dict[str, float] = {}
    for s in samples:
        for m in s.marks:
            first_seen[m.person] = min(first_seen.get(m.person, m.first_seen), m.first_seen)
        for seen in s.seen:
            last_seen[seen.person] = max(last_seen.get(seen.person, seen.t), seen.t)

    with db.session() as session:
        records = session.execute(
            select(Person.name, AttendanceRecord)
            .join(Person, Person.id == AttendanceRecord.person_id)
            .where(AttendanceRecord.session_id == session_id)
        ).all()
        names = [name for name, _ in records]
        assert sorted(names) == sorted(PEOPLE)  # exactly one record per (session, person)
        by_name = {name: rec for name, rec in records}
        # No lost updates: the earliest mark and the latest sighting win, whoever wrote last.
        for name in PEOPLE:
            rec = by_name[name]
            if name in first_seen:
                assert rec.status == "present"
                assert rec.first_seen == first_seen[name], name
            if name in last_seen:
                assert rec.last_seen == last_seen[name], name
        counts = session.scalars(
            select(HeadCount.seq).where(HeadCount.session_id == session_id)
        ).all()
        assert sorted(counts) == sorted(s.seq for s in samples)
        events = session.scalar(
            select(func.count(SessionEvent.id)).where(SessionEvent.session_id == session_id)
        )
        assert events == len(samples)
        row = session.get(AttendanceSession, session_id)
        assert row.processed_until == max(s.t for s in samples)
