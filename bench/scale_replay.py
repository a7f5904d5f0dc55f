"""bench_scale's attendance check: each session's frames again through `rollcall run`'s path.

Issue 12 asks that under load every session's attendance equals what `rollcall run` records
from the same frames. The load simulator's agents upload JPEGs of the pictures their meeting
showed; here the same pictures are encoded as the agent encodes them, decoded as the server
decodes uploads, and analyzed in one process, sample by sample and in order, by the analysis
step `rollcall run` uses (Analyzer.analyze), into a new session with the same settings. Then
what the two sessions recorded is compared row for row: head counts, every sighting (box,
person, similarity, fresh, tile, label) and the attendance marks (who, first seen).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field

from sqlalchemy import select

from rollcall.analysis.pending import decode
from rollcall.analysis.sample import Analyzer
from rollcall.attendance.runner import RunOptions, prepare_session
from rollcall.capture.agent import encode
from rollcall.config import Settings
from rollcall.storage.db import Database
from rollcall.storage.models import AttendanceRecord, HeadCount, Sighting
from rollcall.storage.sessions import get_session
from rollcall.vision.engine import EngineOptions, FaceEngine


@dataclass
class Replayed:
    sessions: int = 0
    equal: int = 0
    samples: int = 0
    sightings: int = 0
    marks: int = 0
    differences: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {**asdict(self), "differences": self.differences[:10]}


def recorded(db: Database, session_id: int, through_seq: int) -> dict[str, list[tuple]]:
    """What a session recorded up to sample ``through_seq``, in a comparable form."""
    with db.session() as s:
        counts = s.execute(
            select(
                HeadCount.seq,
                HeadCount.t,
                HeadCount.count,
                HeadCount.recognized,
                HeadCount.unknown,
                HeadCount.verified,
            )
            .where(HeadCount.session_id == session_id, HeadCount.seq <= through_seq)
            .order_by(HeadCount.seq)
        ).all()
        faces = s.execute(
            select(
                Sighting.seq,
                Sighting.x,
                Sighting.y,
                Sighting.w,
                Sighting.h,
                Sighting.person_id,
                Sighting.similarity,
                Sighting.fresh,
                Sighting.tile,
                Sighting.label,
            ).where(Sighting.session_id == session_id, Sighting.seq <= through_seq)
        ).all()
        marks = s.execute(
            select(AttendanceRecord.person_id, AttendanceRecord.first_seen).where(
                AttendanceRecord.session_id == session_id,
                AttendanceRecord.first_seen.is_not(None),
            )
        ).all()
    return {
        "head counts": [(q, round(t, 3), *rest) for q, t, *rest in counts],
        "sightings": sorted(
            (*r[:6], None if r[6] is None else round(r[6], 4), *r[7:]) for r in faces
        ),
        "marks": sorted((p, round(t, 3)) for p, t in marks),
    }


def replay(
    db: Database,
    settings: Settings,
    sessions: list[tuple[str, object, list[tuple[float, int]]]],
) -> Replayed:
    """``sessions``: (name, the MeetingPictures it played, (t, picture) of each frame its agent
    read, in sample order). Each frame is analyzed at the time its agent uploaded it (the
    server's record of it); frames read after the last one the server recorded (an agent
    stopped between reading and uploading at the end of the run) are not replayed."""
    out = Replayed()
    # The worker's configuration: one thread per network (celery_app.load_models).
    analyzer = Analyzer(db, settings, FaceEngine(EngineOptions(threads=1)))
    for name, meeting, reads in sessions:
        with db.session() as s:
            row = get_session(s, name)
            if row is None:
                out.differences.append(f"{name}: no such session on the server")
                continue
            server_id = row.id
            # The times the agent uploaded (its frame's time on the session's timeline).
            times = dict(
                s.execute(
                    select(HeadCount.seq, HeadCount.t).where(HeadCount.session_id == row.id)
                ).all()
            )
            options = RunOptions(
                session=f"run-{name}",
                source="bench replay",
                min_interval=row.min_interval,
                max_interval=row.max_interval,
                verify_every=row.verify_every,
                leave_after=row.leave_after,
                seed=row.seed,
            )
        through = max(times, default=-1)
        run_id, _, _ = prepare_session(db, options)
        for seq, (_, picture) in enumerate(reads[: through + 1]):
            if seq not in times:
                out.differences.append(f"{name}: sample {seq} was never recorded")
                break
            image = decode(encode(meeting.image(picture)))
            analyzer.analyze(run_id, seq, times[seq], image)
        server, run = recorded(db, server_id, through), recorded(db, run_id, through)
        out.sessions += 1
        out.samples += len(server["head counts"])
        out.sightings += len(server["sightings"])
        out.marks += len(server["marks"])
        unequal = [what for what in server if server[what] != run[what]]
        if not unequal:
            out.equal += 1
        for what in unequal:
            only_server = sorted(set(server[what]) - set(run[what]))[:2]
            only_run = sorted(set(run[what]) - set(server[what]))[:2]
            out.differences.append(f"{name} {what}: server only {only_server}, run only {only_run}")
        analyzer.forget_monitor(run_id)
    return out
