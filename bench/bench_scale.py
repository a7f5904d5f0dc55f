"""Load simulator of the server side: N live sessions, each a real capture agent (rollcall's own
Agent class, spool and HTTP client) uploading 1280x720 gallery frames at its server-given random
times, against `rollcall serve` + K `rollcall worker` processes + a private Redis + PostgreSQL,
all on this machine.

For each N it prints samples per second, CPU seconds per sample of every rollcall process and of
the workers and the server apart, the workers' CPU per sample (count-only and verifying, from
their per-sample log lines), p50/p95 time from capture to the sample being recorded (all, and
apart: running sessions' samples, each session's start-up samples, which the server sends at a
lower priority, and samples after the first five minutes), the total RSS of every rollcall
process, lost and duplicated samples, and the portal's p95 while it runs. With --faults, one
worker's pool process is SIGKILLed at 40% of the run and Redis is restarted (empty) at 70%.
Afterwards --replay sessions (chosen at random) have their frames analyzed again in one process
as `rollcall run` does, and what the server recorded is compared with it (scale_replay.py).

    eval "$(scripts/ci-databases.sh start)"      # PostgreSQL (and MariaDB, Redis) on loopback
    .venv/bin/python bench/bench_scale.py --sessions 50 200 400 --minutes 4 --faults

Frames come from real photos (ROLLCALL_FACES): a set of meetings with 4-49 participants, each
drawn as its full cast and with people missing or a stranger joined; every simulated session
plays one meeting, switching between those pictures at random times (people joining and
leaving). Session starts are spread over --stagger seconds, as agents connect around the hour.
Everything is written to bench/out/bench_scale.json.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zlib
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import requests
from sqlalchemy import select

from rollcall.capture.agent import Agent, AgentOptions, Spool
from rollcall.config import Settings
from rollcall.enrollment import Consent, enroll_photos
from rollcall.storage import agents
from rollcall.storage.accounts import create_user
from rollcall.storage.db import Database
from rollcall.storage.staff import User
from rollcall.synth.gallery import gallery_frame
from rollcall.vision.engine import FaceEngine
from rollcall.vision.types import Frame
from rollcall.workers.dispatch import starting
from scale_replay import replay

OUT = Path(__file__).with_name("out")
CAST_SIZES = [4, 9, 16, 25, 49]
CAST_WEIGHTS = [3, 4, 3, 2, 1]  # small classes are the common case
PASSWORD = "bench password 123"
SAMPLE_LINE = re.compile(
    r"sample session=(\d+) seq=(\d+) faces=(\d+) verified=(\d) embedded=(\d+)(?: rechecked=(\d+))? "
    r"count_ms=(\d+) verify_ms=(\d+)"
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_for(what: str, ready, timeout: float) -> None:  # noqa: ANN001
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise SystemExit(f"timed out waiting for {what}")
        time.sleep(0.3)


# -- the meetings the sessions play ------------------------------------------------------------


@dataclass
class MeetingPictures:
    """One meeting's pictures: index 0 is the full cast; the others have people away/joined."""

    jpegs: list[bytes]
    faces: list[int]
    _decoded: list[np.ndarray] = field(default_factory=list)

    def image(self, i: int) -> np.ndarray:
        if not self._decoded:
            self._decoded = [cv2.imdecode(np.frombuffer(j, np.uint8), 1) for j in self.jpegs]
        return self._decoded[i]


def make_meetings(
    count: int, enrolled: list[str], strangers: list[str], photos: dict, rng: random.Random
) -> list[MeetingPictures]:
    meetings = []
    for _ in range(count):
        size = rng.choices(CAST_SIZES, CAST_WEIGHTS)[0]
        cast = rng.sample(enrolled, min(size, len(enrolled)))
        others = rng.sample(strangers, len(strangers))
        while len(cast) < size and len(others) > 1:  # big meetings: a few unknown guests
            cast.append(others.pop())
        pick = {name: rng.choice(photos[name][2:] or photos[name]) for name in cast}
        variants = [cast]
        away = rng.sample(cast, max(1, len(cast) // 8))
        variants.append([n for n in cast if n not in away])  # a few left
        stranger = others.pop()
        pick[stranger] = rng.choice(photos[stranger])
        variants.append([*variants[1], stranger])  # and someone unknown joined
        jpegs, faces = [], []
        for names in variants:
            image, _truth = gallery_frame([pick[n] for n in names], (1280, 720))
            ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, 85])
            assert ok
            jpegs.append(data.tobytes())
            faces.append(len(names))
        meetings.append(MeetingPictures(jpegs, faces))
    return meetings


class PlayedMeeting:
    """A live frame source: one meeting on the wall clock, switching pictures now and then."""

    name = "bench"
    live = True
    duration = None
    recorded_at = None

    def __init__(self, meeting: MeetingPictures, rng: random.Random, stop: threading.Event):
        self.meeting = meeting
        self.start = time.monotonic()
        self.stop = stop
        # (from t, picture): joins and leaves every 1-6 minutes
        self.plan: list[tuple[float, int]] = [(0.0, 0)]
        t = 0.0
        while t < 4 * 3600:
            t += rng.uniform(60, 360)
            self.plan.append((t, rng.randrange(len(meeting.jpegs))))
        self.captured: list[float] = []  # wall time of each frame read, in order (= seq order)
        self.reads: list[tuple[float, int]] = []  # (t, picture) of each frame read, seq order

    def read(self, not_before: float = 0.0) -> Frame | None:
        while time.monotonic() - self.start < not_before:
            if self.stop.wait(min(0.5, not_before - (time.monotonic() - self.start))):
                return None
        t = time.monotonic() - self.start
        picture = max(i for start, i in self.plan if start <= t) if t >= 0 else 0
        self.captured.append(time.time())
        self.reads.append((t, picture))
        return Frame(self.meeting.image(picture), t)

    def elapsed(self) -> float:
        return time.monotonic() - self.start

    def close(self) -> None:
        pass


# -- the processes ----------------------------------------------------------------------------


class Servers:
    def __init__(self, home: Path, database_url: str, workers: int, logs: Path) -> None:
        self.home, self.logs = home, logs
        self.redis_port = free_port()
        self.port = free_port()
        self.env = {
            **os.environ,
            "ROLLCALL_HOME": str(home),
            "ROLLCALL_DATABASE_URL": database_url,
            "ROLLCALL_BROKER_URL": f"redis://127.0.0.1:{self.redis_port}/0",
            "ROLLCALL_THREADS": "1",
        }
        self.redis: subprocess.Popen | None = None
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.want_workers = workers
        logs.mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, args: list[str]) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115
        return subprocess.Popen(
            args, env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )

    def start_redis(self) -> None:
        self.redis = self._spawn(
            "redis",
            ["redis-server", "--port", str(self.redis_port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
        )  # fmt: skip

        def pong() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.redis_port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    return c.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        wait_for("redis", pong, 30)

    def stop_redis(self) -> None:
        if self.redis is not None:
            self.redis.kill()
            self.redis.wait()

    def start(self) -> None:
        self.start_redis()
        rollcall = str(Path(sys.executable).with_name("rollcall"))
        self.server = self._spawn(
            "serve",
            [rollcall, "serve", "--port", str(self.port), "--threads", "16",
             "--connection-limit", "1000"],
        )  # fmt: skip
        for i in range(self.want_workers):
            self.workers.append(
                self._spawn(f"worker{i}", [rollcall, "worker", "--concurrency", "1"])
            )

        def up() -> bool:
            try:
                return requests.get(f"{self.url}/login", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        wait_for("rollcall serve", up, 120)
        # Workers are ready when their pool process has loaded the networks.
        wait_for(
            "the workers",
            lambda: all("ready." in (self.logs / f"worker{i}.log").read_text(errors="replace")
                        for i in range(self.want_workers)),
            300,
        )  # fmt: skip

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def pids(self) -> list[int]:
        """Every rollcall process: the server, the workers and their pool processes."""
        roots = {p.pid for p in [self.server, *self.workers] if p is not None}
        return sorted(roots | set(children_of(roots)))

    def worker_pids(self) -> list[int]:
        """The worker processes and their pool processes (not the server)."""
        return sorted({w.pid for w in self.workers} | set(self.pool_children()))

    def pool_children(self) -> list[int]:
        return children_of({w.pid for w in self.workers})

    def stop(self) -> None:
        for p in [self.server, *self.workers]:
            if p is not None and p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in [self.server, *self.workers]:
            if p is not None:
                try:
                    p.wait(30)
                except subprocess.TimeoutExpired:
                    os.killpg(p.pid, signal.SIGKILL)
        self.stop_redis()


def children_of(parents: set[int]) -> list[int]:
    """Processes whose parent is one of ``parents`` (read from /proc)."""
    children = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                stat = Path(f"/proc/{pid}/stat").read_text()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) in parents:
                children.append(int(pid))
    return children


def rss_mb(pids: list[int]) -> float:
    total = 0
    for pid in pids:
        try:
            for line in Path(f"/proc/{pid}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def cpu_seconds(pids: list[int]) -> float:
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += (int(fields[11]) + int(fields[12])) / tick  # utime, stime
    return total


# -- one load level ---------------------------------------------------------------------------


def run_level(  # noqa: C901, PLR0915 - one load level, start to finish, read top to bottom
    n: int,
    servers: Servers,
    db: Database,
    meetings: list[MeetingPictures],
    args: argparse.Namespace,
    tag: str,
) -> dict:
    rng = random.Random(n)
    stop = threading.Event()
    with db.session() as s:
        owner = s.scalar(select(User).where(User.name == "bench"))
        tokens = [agents.create_agent_token(s, owner, f"{tag}-room-{i}")[1] for i in range(n)]
    spool_root = Path(tempfile.mkdtemp(prefix=f"spool-{tag}-"))
    played: dict[str, PlayedMeeting] = {}
    runners: dict[str, Agent] = {}
    threads = []

    def agent_thread(name: str, token: str, delay: float) -> None:
        if stop.wait(delay):
            return
        source = PlayedMeeting(rng_meeting[name], random.Random(name), stop)
        played[name] = source
        options = AgentOptions(
            server=servers.url,
            token=token,
            session=name,
            source="bench",
            seed=zlib.crc32(name.encode()) & 0xFFFF,
            min_interval=args.min_interval,
            max_interval=args.max_interval,
        )
        runner = Agent(options, source, Spool(spool_root / name, 2000), should_stop=stop.is_set)
        runners[name] = runner
        try:
            runner.run()
        except Exception as exc:  # noqa: BLE001
            print(f"  agent {name} failed: {exc}", file=sys.stderr)

    names = [f"{tag}-s{i:04d}" for i in range(n)]
    rng_meeting = {name: meetings[rng.randrange(len(meetings))] for name in names}
    cpu0 = cpu_seconds(servers.pids())
    worker_cpu0 = cpu_seconds(servers.worker_pids())
    t0 = time.time()
    for name, token in zip(names, tokens, strict=True):
        th = threading.Thread(
            target=agent_thread, args=(name, token, rng.uniform(0, args.stagger)), daemon=True
        )
        th.start()
        threads.append(th)

    # Recorded samples, polled from the database; the portal's latency; memory.
    recorded: dict[tuple[int, int], float] = {}
    portal_ms: list[float] = []
    rss: list[float] = []
    faults: list[str] = []
    from sqlalchemy import text

    def poll() -> None:
        last = 0
        while not stop.is_set() or poll_more.is_set():
            with db.engine.connect() as c:
                rows = c.execute(
                    text("SELECT id, session_id, seq FROM head_counts WHERE id > :last"),
                    {"last": last},
                ).all()
            now = time.time()
            for rid, sid, seq in rows:
                recorded.setdefault((sid, seq), now)
                last = max(last, rid)
            time.sleep(0.5)

    def portal() -> None:
        http = requests.Session()
        page = http.get(f"{servers.url}/login").text
        token = re.search(r'name="csrf_token" value="([^"]+)"', page).group(1)
        http.post(
            f"{servers.url}/login",
            data={"name": "bench", "password": PASSWORD, "csrf_token": token},
        )
        while not stop.is_set():
            for url in ("/", "/sessions/", "/agents/"):
                a = time.perf_counter()
                try:
                    http.get(servers.url + url, timeout=30)
                except requests.RequestException:
                    continue
                portal_ms.append((time.perf_counter() - a) * 1000)
            stop.wait(1.0)

    def memory() -> None:
        while not stop.is_set():
            rss.append(rss_mb(servers.pids()))
            stop.wait(5.0)

    poll_more = threading.Event()
    poll_more.set()
    helpers = [threading.Thread(target=f, daemon=True) for f in (poll, portal, memory)]
    for h in helpers:
        h.start()

    run_s = args.stagger + args.minutes * 60
    end = t0 + run_s
    kill_at, restart_at = t0 + 0.4 * run_s, t0 + 0.7 * run_s
    while time.time() < end:
        if args.faults and kill_at and time.time() >= kill_at:
            children = servers.pool_children()
            if children:
                os.kill(children[0], signal.SIGKILL)
                faults.append(f"SIGKILL pool process {children[0]} at {time.time() - t0:.0f} s")
            kill_at = 0
        if args.faults and restart_at and time.time() >= restart_at:
            servers.stop_redis()
            time.sleep(2)
            servers.start_redis()
            faults.append(f"Redis restarted (empty) at {time.time() - t0:.0f} s")
            restart_at = 0
        time.sleep(0.5)
    stop.set()
    for th in threads:
        th.join(60)
    # Let the workers finish what the agents handed over (their spools are kept).
    drain_start = time.time()
    with db.engine.connect() as c:

        def waiting() -> int:
            return c.execute(text("SELECT count(*) FROM frames")).scalar_one()

        while waiting() and time.time() - drain_start < args.drain_timeout:
            time.sleep(1.0)
        left = waiting()
        c.rollback()
    time.sleep(1.5)
    poll_more.clear()
    cpu1 = cpu_seconds(servers.pids())
    worker_cpu1 = cpu_seconds(servers.worker_pids())
    wall = time.time() - t0

    with db.engine.connect() as c:
        ids = dict(
            c.execute(
                text("SELECT name, id FROM sessions WHERE name LIKE :p"), {"p": f"{tag}-%"}
            ).all()
        )
        rows = c.execute(
            text(
                "SELECT session_id, seq FROM head_counts WHERE session_id IN "
                "(SELECT id FROM sessions WHERE name LIKE :p)"
            ),
            {"p": f"{tag}-%"},
        ).all()
    per_session: dict[int, list[int]] = {}
    for sid, seq in rows:
        per_session.setdefault(sid, []).append(seq)
    sent = sum(r.status.sent for r in runners.values())
    acked_dupes = sum(r.status.duplicates for r in runners.values())
    spooled = sum(r.status.queued for r in runners.values())
    gaps = sum(
        (max(seqs) + 1 - len(set(seqs))) for seqs in per_session.values() if seqs
    )  # a sample missing in the middle of a session
    duplicated = len(rows) - len(set(rows))
    latencies, later = [], []  # later: every sample but the session's first (a verification)
    # Samples captured once every session has been running for 5 minutes: past the start-up,
    # when each session's first samples verify everyone.
    steady_from = t0 + args.stagger + 300.0
    steady = []
    # A session's start-up samples (naming everyone; sent at a lower priority) and the rest.
    starting_lat, running_lat = [], []
    for name, source in played.items():
        sid = ids.get(name)
        for seq, captured in enumerate(source.captured):
            done = recorded.get((sid, seq))
            if done is not None:
                latencies.append(done - captured)
                (starting_lat if starting(seq) else running_lat).append(done - captured)
                if seq:
                    later.append(done - captured)
                if captured >= steady_from:
                    steady.append(done - captured)
    samples = len(rows)
    # Per-sample CPU from the workers' log lines of this level's sessions.
    wanted = set(ids.values())
    count_only, verifying = [], []
    embedded = rechecked = 0
    for log in servers.logs.glob("worker*.log"):
        for m in SAMPLE_LINE.finditer(log.read_text(errors="replace")):
            if int(m.group(1)) in wanted:
                ms = int(m.group(7)) + int(m.group(8))
                (verifying if m.group(4) == "1" else count_only).append(ms)
                embedded += int(m.group(5))
                rechecked += int(m.group(6) or 0)
    q = statistics.quantiles

    replayed = None
    if args.replay:
        chosen = random.Random(n).sample(sorted(played), min(args.replay, len(played)))
        print(f"  replaying {len(chosen)} sessions through rollcall run's analysis ...", flush=True)
        replayed = replay(
            db, db.settings, [(c, rng_meeting[c], played[c].reads) for c in chosen]
        ).as_dict()

    def p50(seconds: list[float]) -> float | None:
        return round(statistics.median(seconds), 2) if seconds else None

    def p95(seconds: list[float]) -> float | None:
        return round(q(seconds, n=20)[18], 2) if len(seconds) > 20 else None

    return {
        "sessions": n,
        "workers": args.workers,
        "faults": faults,
        "wall_s": round(wall, 1),
        "samples": samples,
        "samples_per_s": round(samples / wall, 2),
        # CPU seconds a sample of every rollcall process (server and workers), and of the
        # workers alone (before 2026-12-05 the bench printed the first under the second's name).
        # A pool process killed by --faults takes its CPU time with it: both are a little low.
        "cpu_s_per_sample": round((cpu1 - cpu0) / max(1, samples), 3),
        "worker_cpu_s_per_sample": round((worker_cpu1 - worker_cpu0) / max(1, samples), 3),
        "server_cpu_s_per_sample": round(
            ((cpu1 - cpu0) - (worker_cpu1 - worker_cpu0)) / max(1, samples), 3
        ),
        "cpu_ms_count_only_median": statistics.median(count_only) if count_only else None,
        "cpu_ms_verifying_median": statistics.median(verifying) if verifying else None,
        "verifying_share": round(len(verifying) / max(1, len(verifying) + len(count_only)), 3),
        # Of the faces verified, those kept on the re-check alone (dlib only, not SFace).
        "rechecked_share": round(rechecked / max(1, rechecked + embedded), 3),
        "latency_p50_s": p50(latencies),
        "latency_p95_s": p95(latencies),
        "latency_max_s": round(max(latencies), 1) if latencies else None,
        "latency_p95_after_first_s": p95(later),
        "latency_p50_steady_s": p50(steady),
        "latency_p95_steady_s": p95(steady),
        "steady_samples": len(steady),
        "latency_p50_running_s": p50(running_lat),
        "latency_p95_running_s": p95(running_lat),
        "latency_p50_starting_s": p50(starting_lat),
        "latency_p95_starting_s": p95(starting_lat),
        "rss_mb_max": round(max(rss), 0) if rss else None,
        "rss_mb_median": round(statistics.median(rss), 0) if rss else None,
        "uploaded": sent,
        "left_in_agent_spools": spooled,
        "frames_unanalyzed_after_drain": left,
        "lost": gaps + max(0, sent - samples - left),
        "duplicated": duplicated,
        "uploads_answered_duplicate": acked_dupes,
        "portal_p95_ms": round(q(portal_ms, n=20)[18], 0) if len(portal_ms) > 20 else None,
        "load_avg": os.getloadavg(),
        # Sessions whose frames, analyzed again in one process as `rollcall run` does, give the
        # same head counts, sightings and marks (scale_replay.py).
        "replay": replayed,
    }


def own_database(url: str) -> str:
    """A fresh database `rollcall_bench` beside the one named in ``url`` (PostgreSQL): the bench
    wipes it, so it never shares one with the tests."""
    from sqlalchemy import create_engine, text
    from sqlalchemy.engine import make_url

    base = make_url(url)
    admin = create_engine(base, isolation_level="AUTOCOMMIT")
    with admin.connect() as c:
        c.execute(text("DROP DATABASE IF EXISTS rollcall_bench WITH (FORCE)"))
        c.execute(text("CREATE DATABASE rollcall_bench"))
    admin.dispose()
    return base.set(database="rollcall_bench").render_as_string(hide_password=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sessions", type=int, nargs="+", default=[50, 200, 400])
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--minutes", type=float, default=4.0, help="after the stagger")
    parser.add_argument("--stagger", type=float, default=60.0)
    parser.add_argument("--min-interval", type=float, default=20.0)
    parser.add_argument("--max-interval", type=float, default=90.0)
    parser.add_argument("--faults", action="store_true")
    parser.add_argument(
        "--replay",
        type=int,
        default=40,
        help="sessions (chosen at random) whose frames are analyzed again as `rollcall run` "
        "does and compared with what the server recorded; 0: none",
    )
    parser.add_argument("--meetings", type=int, default=40)
    parser.add_argument("--strangers", type=int, default=10, help="people never enrolled")
    parser.add_argument("--drain-timeout", type=float, default=300.0)
    parser.add_argument("--database-url", default=os.environ.get("ROLLCALL_TEST_POSTGRES_URL"))
    parser.add_argument(
        "--faces", type=Path, default=Path(os.environ.get("ROLLCALL_FACES", "../shared/data/faces"))
    )
    args = parser.parse_args()
    if not args.database_url:
        raise SystemExit("set ROLLCALL_TEST_POSTGRES_URL (scripts/ci-databases.sh start)")
    if not (args.faces / "identities").is_dir():
        raise SystemExit(f"no face data in {args.faces / 'identities'}")

    work = Path(tempfile.mkdtemp(prefix="bench-scale-"))
    home = work / "home"
    args.database_url = own_database(args.database_url)
    settings = Settings(home=home, database_url=args.database_url)
    db = Database(settings)
    rng = random.Random(1)
    from bench_attendance import load_pool  # photos, aligned112 and gray_yale, cleaned

    people = {n: p for n, p in load_pool(args.faces, extra=True).items() if len(p) >= 3}
    names = sorted(people)
    rng.shuffle(names)
    enrolled, strangers = names[: len(names) - args.strangers], names[len(names) - args.strangers :]
    engine = FaceEngine()
    started = time.time()
    consent = Consent("signed form", "bench")
    for name in enrolled:
        enroll_photos(db, engine, name, people[name][:2], consent=consent)
    with db.session() as s:
        create_user(s, "bench", PASSWORD, "admin")
    print(f"enrolled {len(enrolled)} people in {time.time() - started:.0f} s", flush=True)
    meetings = make_meetings(args.meetings, enrolled, strangers, {n: people[n] for n in names}, rng)
    del engine
    results = []
    for n in args.sessions:
        servers = Servers(home, args.database_url, args.workers, work / f"logs-{n}")
        servers.start()
        try:
            print(f"\n{n} sessions, {args.workers} workers ...", flush=True)
            result = run_level(n, servers, db, meetings, args, f"n{n}")
        finally:
            servers.stop()
        results.append(result)
        print(json.dumps(result), flush=True)

    print()
    head = (
        f"{'sessions':>8} {'samples/s':>9} {'cpu/sample':>10} {'workers':>7} {'server':>6} "
        f"{'count ms':>8} {'verify ms':>9} "
        f"{'p50 s':>6} {'p95 s':>6} {'RSS MB':>7} {'lost':>5} {'dup':>4} {'portal p95':>10}"
    )
    print(head)
    print("-" * len(head))
    for r in results:
        print(
            f"{r['sessions']:>8} {r['samples_per_s']:>9} {r['cpu_s_per_sample']:>10} "
            f"{r['worker_cpu_s_per_sample']:>7} {r['server_cpu_s_per_sample']:>6} "
            f"{r['cpu_ms_count_only_median']!s:>8} {r['cpu_ms_verifying_median']!s:>9} "
            f"{r['latency_p50_s']!s:>6} {r['latency_p95_s']!s:>6} {r['rss_mb_max']!s:>7} "
            f"{r['lost']:>5} {r['duplicated']:>4} {r['portal_p95_ms']!s:>10}"
        )
        print(
            f"{'':>8} capture->recorded p50/p95 s: running sessions' samples "
            f"{r['latency_p50_running_s']}/{r['latency_p95_running_s']}, start-up samples "
            f"{r['latency_p50_starting_s']}/{r['latency_p95_starting_s']}, after 5 min "
            f"{r['latency_p50_steady_s']}/{r['latency_p95_steady_s']}"
        )
        for fault in r["faults"]:
            print(f"{'':>8} fault: {fault}")
        if r["replay"]:
            rp = r["replay"]
            print(
                f"{'':>8} as `rollcall run` records it: {rp['equal']} of {rp['sessions']} "
                f"sessions equal ({rp['samples']} samples, {rp['sightings']} sightings, "
                f"{rp['marks']} marks compared)"
            )
            for difference in rp["differences"]:
                print(f"{'':>10} {difference}")
    OUT.mkdir(exist_ok=True)
    (OUT / "bench_scale.json").write_text(
        json.dumps({"at": datetime.now(UTC).isoformat(), "results": results}, indent=2)
    )
    print(f"\nwrote {OUT / 'bench_scale.json'}")


if __name__ == "__main__":
    main()
