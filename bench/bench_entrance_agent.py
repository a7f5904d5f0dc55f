"""An entrance through the capture agent, end to end: `rollcall serve` (+ a Celery worker on a
private redis-server with --broker), and the agent sending a generated entrance in real time at
--fps. Reports who was marked (vs. the script), how long after appearing each mark reached the
database (the agent paces the clip on the wall clock, so this is what a kiosk would show),
frames lost, and the CPU seconds per frame of the process that analyzes (serve or worker).

    PYTHONPATH=src python bench/bench_entrance_agent.py [--broker] [--minutes 1] [--quick]
"""

from __future__ import annotations

import argparse
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import requests

sys.path.insert(0, str(Path(__file__).resolve().parent))
from bench_entrance import stream_clip  # noqa: E402
from common import faces_root  # noqa: E402

TICKS = os.sysconf("SC_CLK_TCK")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _tree_cpu(pid: int) -> float:
    """CPU seconds of a process and its live descendants (from /proc)."""
    children: dict[int, list[int]] = {}
    cpu: dict[int, float] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        ppid, utime, stime = int(fields[1]), int(fields[11]), int(fields[12])
        children.setdefault(ppid, []).append(int(entry.name))
        cpu[int(entry.name)] = (utime + stime) / TICKS
    total, todo = 0.0, [pid]
    while todo:
        p = todo.pop()
        total += cpu.get(p, 0.0)
        todo += children.get(p, [])
    return total


class RealTime:
    """A recording handed out on the wall clock, as a camera delivers it."""

    def __init__(self, source, start: float) -> None:  # noqa: ANN001
        self.source, self.start = source, start
        self.live, self.duration = False, source.duration
        self.recorded_at, self.name = None, source.name

    def read(self, not_before: float = 0.0):  # noqa: ANN201
        time.sleep(max(0.0, self.start + not_before - time.time()))
        return self.source.read(not_before)

    def elapsed(self) -> float:
        return self.source.elapsed()

    def close(self) -> None:
        self.source.close()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--broker", action="store_true", help="a Celery worker on redis")
    parser.add_argument("--minutes", type=float, default=1.0)
    parser.add_argument("--per-minute", type=float, default=30.0)
    parser.add_argument("--fps", type=float, default=8.0)
    parser.add_argument("--size", default="1280x720")
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--quick", action="store_true", help="half a minute at 640x360")
    parser.add_argument("--keep", action="store_true", help="keep the work folder")
    args = parser.parse_args()
    if args.quick:
        args.minutes, args.size = 0.5, "640x360"
    size = tuple(int(v) for v in args.size.split("x"))

    from rollcall.capture.agent import Agent, AgentOptions, Spool
    from rollcall.config import Settings
    from rollcall.enrollment import Consent, enroll_photos
    from rollcall.storage import agents
    from rollcall.storage.accounts import create_user
    from rollcall.storage.db import Database
    from rollcall.synth.entrance import write_clip
    from rollcall.synth.people import load_people
    from rollcall.vision.engine import FaceEngine
    from rollcall.vision.sources import open_source

    root = faces_root()
    people = {n: p for n, p in load_people(root / "identities" / "photos").items() if len(p) >= 4}
    rng = np.random.default_rng(args.seed)
    names = sorted(people)
    rng.shuffle(names)
    enrolled, strangers = names[:9], names[9:12]
    work = Path(tempfile.mkdtemp(prefix="bench-entrance-agent-"))
    home = work / "home"
    settings = Settings(home=home)
    db = Database(settings)
    engine = FaceEngine()
    for name in enrolled:
        enroll_photos(db, engine, name, people[name][:2], consent=Consent("bench", "bench"))
    with db.session() as s:
        user = create_user(s, "ada", "a long enough password", "admin")
        _row, token = agents.create_agent_token(s, user, "door A")
    db.engine.dispose()
    clip = stream_clip(people, set(enrolled), strangers, enrolled + strangers, size, 25.0,
                       args.per_minute, args.minutes, rng, attacks=True)  # fmt: skip
    video = write_clip(clip, work / "door.mp4")

    env = {k: v for k, v in os.environ.items() if k != "ROLLCALL_DATABASE_URL"}
    env |= {"ROLLCALL_HOME": str(home), "ROLLCALL_THREADS": "1"}
    rollcall = [str(Path(sys.executable).with_name("rollcall"))]
    # The reference: the same clip through `rollcall run` in one process, on a copy of the home.
    shutil.copytree(home, work / "reference")
    subprocess.run([*rollcall, "run", "--session", "door", "--source", str(video), "--mode",
                    "entrance", "--fps", str(args.fps)], env=env | {"ROLLCALL_HOME":
                    str(work / "reference")}, check=True, capture_output=True)  # fmt: skip
    with sqlite3.connect(work / "reference" / "rollcall.db") as ref:
        reference_rows = ref.execute(
            "SELECT p.name, a.first_seen, a.evidence_path FROM attendance a JOIN people p "
            "ON p.id = a.person_id WHERE a.first_seen IS NOT NULL").fetchall()  # fmt: skip
    reference = {r[0] for r in reference_rows}
    procs: list[subprocess.Popen] = []
    redis = None
    if args.broker:
        if shutil.which("redis-server") is None:
            sys.exit("--broker needs redis-server")
        port = _free_port()
        redis = subprocess.Popen(["redis-server", "--port", str(port), "--save", "",
                                  "--appendonly", "no"], stdout=subprocess.DEVNULL)  # fmt: skip
        env["ROLLCALL_BROKER_URL"] = f"redis://127.0.0.1:{port}/0"
    web = _free_port()
    logs = open(work / "processes.log", "ab")  # noqa: SIM115
    server = subprocess.Popen([*rollcall, "serve", "--host", "127.0.0.1", "--port", str(web)],
                              env=env, stdout=logs, stderr=subprocess.STDOUT)  # fmt: skip
    procs.append(server)
    analyzer = server
    if args.broker:
        worker = subprocess.Popen([*rollcall, "worker", "--concurrency", "1"], env=env,
                                  stdout=logs, stderr=subprocess.STDOUT)  # fmt: skip
        procs.append(worker)
        analyzer = worker
    url = f"http://127.0.0.1:{web}"
    for _ in range(600):
        try:
            if requests.get(f"{url}/login", timeout=2).status_code == 200:
                break
        except requests.RequestException:
            pass
        time.sleep(0.1)
    time.sleep(8.0 if args.broker else 1.0)  # the worker loads its networks
    cpu_before = _tree_cpu(analyzer.pid)
    start = time.time()
    source = RealTime(open_source(str(video)), start)
    options = AgentOptions(server=url, token=token, session="door", source=str(video),
                           mode="entrance", fps=args.fps,
                           started_at=datetime.fromtimestamp(start, UTC))  # fmt: skip
    agent = Agent(options, source, Spool(work / "spool", 5000))
    done: dict[str, object] = {}
    thread = threading.Thread(target=lambda: done.update(status=agent.run()), daemon=True)
    # When each frame left the agent, and when the server had analyzed it (polled).
    uploaded: dict[int, float] = {}
    frame_t: dict[int, float] = {}
    request_s: list[float] = []
    send = agent.client.upload

    def timed_upload(session: str, frame: dict, backlog: int, timeout: float = 30.0) -> str:
        began = time.time()
        result = send(session, frame, backlog, timeout)
        uploaded.setdefault(frame["seq"], time.time())
        request_s.append(time.time() - began)
        frame_t.setdefault(frame["seq"], float(frame["t"]))
        return result

    agent.client.upload = timed_upload  # type: ignore[method-assign]
    analyzed_at: dict[int, float] = {}
    thread.start()
    db_path = home / "rollcall.db"
    while thread.is_alive():
        with sqlite3.connect(db_path) as poll:
            row = poll.execute("SELECT seq FROM session_states").fetchone()
        if row is not None:
            analyzed_at.setdefault(row[0], time.time())
        time.sleep(0.02)
    thread.join()
    sent_at = time.time()
    conn = sqlite3.connect(home / "rollcall.db")
    while conn.execute("SELECT state FROM sessions WHERE name='door'").fetchone()[0] != "closed":
        time.sleep(0.2)
    drained = time.time() - sent_at
    cpu = _tree_cpu(analyzer.pid) - cpu_before
    rows = conn.execute(
        "SELECT p.name, a.first_seen, a.marked_at, a.evidence_path FROM attendance a JOIN people p "
        "ON p.id = a.person_id WHERE a.first_seen IS NOT NULL"
    ).fetchall()
    frames_left = conn.execute("SELECT count(*) FROM frames").fetchone()[0]
    analyzed = conn.execute("SELECT seq FROM session_states").fetchone()[0] + 1
    attacks = conn.execute(
        "SELECT count(*) FROM session_events WHERE kind='presentation_attack'"
    ).fetchone()[0]
    conn.close()
    for p in procs:
        p.terminate()
        p.wait(30)
    if redis is not None:
        redis.terminate()
        redis.wait(30)

    status = done["status"]
    first = {}
    for p in clip.passers:
        if p.kind == "person":
            first.setdefault(p.name, p.t0)
    wanted = set(enrolled) & set(first)

    # From the start of the pass in which each person was marked; the frame that decided a mark
    # names its evidence crop (PERSONID-fSEQ-TIME.jpg).
    def pass_start(name: str, first_seen: float) -> float | None:
        passes = [p.t0 for p in clip.passers if p.name == name and p.kind == "person"]
        return max((t0 for t0 in passes if t0 <= first_seen + 0.2), default=None)

    def decided(evidence: str | None) -> float | None:
        return float(Path(evidence).stem.rsplit("-", 1)[1]) if evidence else None

    delays, pipeline, decided_ref = [], [], []
    for name, first_seen, marked_at, evidence in rows:
        began = pass_start(name, first_seen)
        at = datetime.fromisoformat(marked_at).replace(tzinfo=UTC).timestamp()
        if began is not None:
            delays.append(at - (start + began))
        if decided(evidence) is not None:
            pipeline.append(at - (start + decided(evidence)))
    for name, first_seen, evidence in reference_rows:
        began, when = pass_start(name, first_seen), decided(evidence)
        if began is not None and when is not None:
            decided_ref.append(when - began)
    to_server = [uploaded[q] - (start + frame_t[q]) for q in uploaded]
    to_analyzed = [analyzed_at[q] - uploaded[q] for q in analyzed_at if q in uploaded]
    marked = {r[0] for r in rows}

    # A mark is right only if its person was walking past in person when first seen: one
    # first seen while only their printed photo or phone was in view is a false mark.
    def rightly(marks: list[tuple]) -> set[str]:
        return {
            name
            for name, first_seen, *_ in marks
            if name in wanted
            and any(
                p.name == name
                and p.kind == "person"
                and p.t0 - 0.2 <= first_seen <= p.t0 + p.duration
                for p in clip.passers
            )
        }

    right, right_ref = rightly(rows), rightly(reference_rows)
    rows = [r[:3] for r in rows]
    where = "a Celery worker on redis" if args.broker else "serve, no broker"
    print(f"entrance through the agent ({where}), "
          f"{size[0]}x{size[1]}, {args.fps:g} fps, {len(clip.passers)} passers in "
          f"{clip.duration:.0f} s ({args.per_minute:g}/min, attacks among them)")  # fmt: skip
    print(f"  frames sent {status.sent}, analyzed {analyzed}, left waiting {frames_left}, "
          f"dropped by the agent {status.dropped}")  # fmt: skip
    print(f"  enrolled passers marked {len(right)} of {len(wanted)}, "
          f"false marks {len(marked - right)}, presentation-attack events {attacks}; "
          f"`rollcall run` on the same clip: {len(right_ref)} of {len(wanted)}, "
          f"false {len(reference - right_ref)}, same people: {reference == marked}")  # fmt: skip
    if delays:
        print(f"  s from appearing to the mark in the database: median {np.median(delays):.2f}, "
              f"max {max(delays):.2f}")  # fmt: skip
    print(f"  analyzing process CPU s per frame {cpu / max(1, analyzed):.3f} "
          f"({cpu:.1f} s for {analyzed} frames; {cpu / clip.duration:.2f} of a core)")  # fmt: skip
    print(f"  s after the last frame until the session closed: {drained:.1f}")
    if pipeline and decided_ref:
        print(f"  `rollcall run`: s from appearing to the frame that decides the mark: median "
              f"{np.median(decided_ref):.2f}, max {max(decided_ref):.2f}; through the agent, "
              f"s from that frame's time to the mark in the database: median "
              f"{np.median(pipeline):.2f}, max {max(pipeline):.2f}")  # fmt: skip
    if to_server and to_analyzed:
        print(f"  s from a frame's time to its upload: median {np.median(to_server):.2f}, "
              f"p95 {np.percentile(to_server, 95):.2f}; upload to analyzed (polled every 20 ms, "
              f"{len(to_analyzed)} frames seen): median {np.median(to_analyzed):.2f}, "
              f"p95 {np.percentile(to_analyzed, 95):.2f}; one upload request: median "
              f"{np.median(request_s):.3f}, p95 {np.percentile(request_s, 95):.3f}, max "
              f"{max(request_s):.3f}")  # fmt: skip
    if marked != reference:
        print(f"  only through the agent: {sorted(marked - reference)}; "
              f"only with run: {sorted(reference - marked)}")  # fmt: skip
    if args.keep:
        print(f"  work folder kept: {work}")
    else:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
