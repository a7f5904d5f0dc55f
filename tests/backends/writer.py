"""One writer process for the concurrency test: records samples of a shared session.

Run as `python writer.py URL HOME SESSION_ID WRITER SAMPLES START_AT`; prints a JSON line with
what it wrote. The samples are a pure function of (writer, seq), so the test knows what every
writer should have left in the database.
"""

from __future__ import annotations

import json
import random
import sys
import time
from pathlib import Path

import numpy as np

PEOPLE = [f"person-{i:02d}" for i in range(8)]


def outcome(writer: int, index: int):  # noqa: ANN201
    from rollcall.attendance.monitor import Event, Mark, SampleOutcome, Sighting

    rng = random.Random(writer * 10_000 + index)
    seq = writer * 1000 + index
    t = round(index * 7.25 + writer * 0.125 + rng.random(), 6)
    crop = np.full((8, 8, 3), 40 * writer, np.uint8)
    # Like the monitor, a writer marks each person once, at most: the person's index-th turn.
    marked = [PEOPLE[(writer + index) % len(PEOPLE)]] if index < len(PEOPLE) else []
    seen = rng.sample(PEOPLE, 3)
    return SampleOutcome(
        seq=seq,
        t=t,
        count=len(seen),
        recognized=len(seen),
        unknown=0,
        verified=True,
        embedded=len(seen),
        marks=[
            Mark(name, t - rng.random() * 5, 0.5 + rng.random() / 2, t, (0, 0, 8, 8), crop)
            for name in marked
        ],
        seen=[Sighting(name, t, 0.6, (0, 0, 8, 8)) for name in seen],
        events=[Event(t, "joined", seen[0], f"writer {writer} sample {index}")],
    )


def main() -> None:
    url, home, session_id, writer, samples, start_at = sys.argv[1:7]
    from rollcall.attendance.recorder import SessionRecorder
    from rollcall.config import Settings
    from rollcall.storage.db import Database

    db = Database(Settings(home=Path(home), database_url=url))
    recorder = SessionRecorder(db, int(session_id), Path(home) / "evidence")
    time.sleep(max(0.0, float(start_at) - time.time()))  # start together, for real contention
    errors = []
    for index in range(int(samples)):
        try:
            recorder.record(outcome(int(writer), index))
        except Exception as exc:  # noqa: BLE001 - reported to the test, which fails on it
            errors.append(f"{type(exc).__name__}: {str(exc).splitlines()[0]}")
    db.close()
    print(json.dumps({"writer": int(writer), "errors": errors}))


if __name__ == "__main__":
    main()
