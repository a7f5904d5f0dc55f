"""The server side for real: `rollcall serve`, `rollcall worker` (Celery) on a real Redis, and
`rollcall agent` uploading a generated meeting's recording, all as separate processes.

What must hold: the session recorded through agent → server → workers is the session
`rollcall run` records from the same recording with the same seed; and it stays so when the
worker is SIGKILLed mid-task, the server is down for a while (the agent's backlog), and Redis
restarts empty. Each test starts its own redis-server on a free loopback port, so it may kill and
restart it; without the redis-server program the tests skip.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest
import requests
from tests.helpers_session import (
    OUTCOME_SQL,
    Meeting,
    clone_home,
    invoke,
    meeting,
    query,
    rollcall_command,
)

from rollcall.config import Settings
from rollcall.storage import agents
from rollcall.storage.accounts import create_user
from rollcall.storage.db import Database

pytestmark = [
    pytest.mark.faces,
    pytest.mark.skipif(shutil.which("redis-server") is None, reason="needs redis-server (apt)"),
    pytest.mark.timeout(900),
]

SEED, MIN_GAP, MAX_GAP = 5, 6.0, 14.0
STARTED_AT = "2026-03-02T09:00:00+00:00"
SESSION = "via-agent"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _wait(what: str, ready: Callable[[], bool], timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while not ready():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.3)


class Redis:
    """A private redis-server: no persistence, so a restart empties it."""

    def __init__(self, folder: Path) -> None:
        self.port = _free_port()
        self.folder = folder
        self.proc: subprocess.Popen | None = None
        self.url = f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.folder.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--dir",
                str(self.folder),
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )

        def pong() -> bool:
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1) as c:
                    c.sendall(b"PING\r\n")
                    return c.recv(16).startswith(b"+PONG")
            except OSError:
                return False

        _wait("redis", pong, 30)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(10)
            self.proc = None


class Cluster:
    """serve + worker + agent processes against one ROLLCALL_HOME (SQLite, shared by all)."""

    def __init__(self, home: Path, redis: Redis, logs: Path) -> None:
        self.home, self.redis, self.logs = home, redis, logs
        self.port = _free_port()
        self.server: subprocess.Popen | None = None
        self.workers: list[subprocess.Popen] = []
        self.env = {k: v for k, v in os.environ.items() if k != "ROLLCALL_DATABASE_URL"}
        self.env |= {"ROLLCALL_HOME": str(home), "ROLLCALL_BROKER_URL": redis.url}
        self.env["ROLLCALL_THREADS"] = "1"
        logs.mkdir(parents=True, exist_ok=True)

    def _spawn(self, name: str, *args: str) -> subprocess.Popen:
        log = open(self.logs / f"{name}.log", "ab")  # noqa: SIM115 - closed with the process
        return subprocess.Popen(
            [*rollcall_command(), *args],
            env=self.env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group: kill the pool with the worker
        )

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start_server(self) -> None:
        self.server = self._spawn("serve", "serve", "--host", "127.0.0.1", "--port", str(self.port))

        def up() -> bool:
            try:
                return requests.get(f"{self.url}/login", timeout=2).status_code == 200
            except requests.RequestException:
                return False

        _wait("rollcall serve", up, 60)

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.terminate()
            self.server.wait(30)
            self.server = None

    def start_worker(self) -> subprocess.Popen:
        worker = self._spawn(f"worker{len(self.workers)}", "worker", "--concurrency", "1")
        self.workers.append(worker)
        return worker

    def kill_workers(self) -> None:
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signal.SIGKILL)
                worker.wait(30)

    def signal_workers(self, signum: int) -> None:
        """SIGSTOP freezes a worker pool (a busy or stalled host), SIGCONT lets it go on."""
        for worker in self.workers:
            if worker.poll() is None:
                os.killpg(worker.pid, signum)

    def agent(self, token: str, source: Path) -> subprocess.Popen:
        return self._spawn(
            "agent",
            "agent",
            "--server", self.url,
            "--token", token,
            "--session", SESSION,
            "--source", str(source),
            "--seed", str(SEED),
            "--min-interval", str(MIN_GAP),
            "--max-interval", str(MAX_GAP),
            "--started-at", STARTED_AT,
        )  # fmt: skip

    def close(self) -> None:
        if self.server is not None and self.server.poll() is None:
            self.server.kill()
        self.kill_workers()

    def session_closed(self) -> bool:
        rows = query(self.home, "SELECT state FROM sessions WHERE name = ?", SESSION)
        return bool(rows) and rows[0][0] == "closed"

    def recorded(self) -> int:
        return query(self.home, "SELECT count(*) FROM head_counts")[0][0]

    def received(self) -> int:
        """Samples the server has: recorded, or waiting for a worker."""
        return self.recorded() + query(self.home, "SELECT count(*) FROM frames")[0][0]


def _outcome(home: Path) -> dict[str, list[tuple]]:
    return {key: query(home, sql) for key, sql in OUTCOME_SQL.items()}


def _agent_token(home: Path) -> str:
    db = Database(Settings(home=home))
    with db.session() as s:
        user = create_user(s, "ada", "a long enough password", "admin")
        _row, token = agents.create_agent_token(s, user, "room 101")
    db.engine.dispose()
    return token


@pytest.fixture(scope="module")
def shared(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Meeting:
    return meeting(faces, tmp_path_factory)


@pytest.fixture(scope="module")
def reference(shared: Meeting, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The same recording through `rollcall run`, in one process."""
    home = clone_home(shared.home, tmp_path_factory.mktemp("reference") / "home")
    result = invoke(
        home, "run", "--session", "reference", "--source", shared.keyframed,
        "--seed", SEED, "--min-interval", MIN_GAP, "--max-interval", MAX_GAP,
        "--started-at", STARTED_AT,
    )  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    outcome = _outcome(home)
    assert len(outcome["head_counts"]) >= 10 and outcome["attendance"]
    return outcome


@pytest.fixture
def cluster(shared: Meeting, tmp_path: Path) -> Iterator[Cluster]:
    redis = Redis(tmp_path / "redis")
    redis.start()
    c = Cluster(clone_home(shared.home, tmp_path / "home"), redis, tmp_path / "logs")
    try:
        yield c
    finally:
        c.close()
        redis.stop()


def _finish(cluster: Cluster, agent: subprocess.Popen) -> None:
    assert agent.wait(600) == 0, (cluster.logs / "agent.log").read_text()
    # No terminal (as under systemd): the status goes to the log as lines.
    assert ": connected · " in (cluster.logs / "agent.log").read_text()
    _wait("the session to close", cluster.session_closed, 300)
    assert query(cluster.home, "SELECT count(*) FROM frames")[0][0] == 0, "frames kept"


def test_agent_server_worker_round_trip_records_what_run_records(
    cluster: Cluster, shared: Meeting, reference: dict
) -> None:
    token = _agent_token(cluster.home)
    cluster.start_server()
    cluster.start_worker()
    _finish(cluster, cluster.agent(token, shared.keyframed))
    assert _outcome(cluster.home) == reference


class _Paced:
    """The recording read at a few frames a second, as a camera would deliver them, so that
    the agent is still capturing while the server is away (read at full speed, it would have
    sent everything before the test could stop the server)."""

    def __init__(self, source, pause: float) -> None:  # noqa: ANN001
        self.source, self.pause = source, pause
        self.live, self.duration = source.live, source.duration
        self.recorded_at, self.name = source.recorded_at, source.name

    def read(self, not_before: float = 0.0):  # noqa: ANN201
        time.sleep(self.pause)
        return self.source.read(not_before)

    def elapsed(self) -> float:
        return self.source.elapsed()

    def close(self) -> None:
        self.source.close()


def test_a_killed_worker_a_server_outage_and_a_redis_restart_lose_nothing(
    cluster: Cluster, shared: Meeting, reference: dict
) -> None:
    from datetime import datetime

    from rollcall.capture.agent import Agent, AgentOptions, Spool
    from rollcall.vision.sources import open_source

    token = _agent_token(cluster.home)
    cluster.start_server()
    cluster.start_worker()
    # The real agent, in a thread of this process, on the recording read at 2 frames a second.
    options = AgentOptions(
        server=cluster.url,
        token=token,
        session=SESSION,
        source=str(shared.keyframed),
        seed=SEED,
        min_interval=MIN_GAP,
        max_interval=MAX_GAP,
        started_at=datetime.fromisoformat(STARTED_AT),
    )
    spool = cluster.home / "agent-spool" / SESSION
    source = _Paced(open_source(str(shared.keyframed)), 0.5)
    agent = Agent(options, source, Spool(spool, 100))
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(status=agent.run()), daemon=True)
    thread.start()
    # The server goes away once samples flow: the frames captured meanwhile wait in the spool.
    _wait("the first upload", lambda: cluster.received() >= 1, 300)
    cluster.stop_server()
    _wait("a backlog in the agent's spool", lambda: len(list(spool.glob("*.jpg"))) >= 3, 120)
    # Redis restarts empty while the server is away, and the worker stalls meanwhile, so that the
    # backlog piles up in the database whatever the speed of this machine.
    cluster.signal_workers(signal.SIGSTOP)
    cluster.redis.stop()
    cluster.redis.start()
    cluster.start_server()
    backlog = lambda: cluster.received() >= cluster.recorded() + 3  # noqa: E731
    _wait("the backlog to reach the server", backlog, 300)
    # The worker wakes up to a broker that lost everything, and dies in the middle of the backlog.
    before = cluster.recorded()
    cluster.signal_workers(signal.SIGCONT)
    _wait("the worker to record part of the backlog", lambda: cluster.recorded() > before, 300)
    cluster.kill_workers()
    time.sleep(2)  # uploads go on with no worker alive: they wait in the database
    cluster.start_worker()
    thread.join(600)
    source.close()
    assert not thread.is_alive() and "status" in result, "the agent did not finish"
    _wait("the session to close", cluster.session_closed, 300)
    assert query(cluster.home, "SELECT count(*) FROM frames")[0][0] == 0, "frames kept"
    assert not list(spool.glob("*.jpg")), "the agent kept frames it should have sent"
    outcome = _outcome(cluster.home)
    seqs = [row[0] for row in outcome["head_counts"]]
    assert seqs == list(range(len(seqs))), "a sample was lost or recorded twice"
    assert outcome == reference


# -- an entrance through the agent -------------------------------------------------------------

DOOR = "front-door"
ENTRANCE_FPS = 8.0


def _walker(name: str, photo: Path, t0: float, seed: int) -> object:
    from rollcall.synth.entrance import Passer

    return Passer(name, photo, t0, 2.5, start=(0.3, 0.35), end=(0.5, 0.45), yaw_amp=22.0,
                  yaw_period=1.5, size=(40.0, 160.0), seed=seed)  # fmt: skip


@pytest.fixture(scope="module")
def door_clip(shared: Meeting, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Ann walks in at 0.5 s, a stranger at 5 s, Bob at 9 s, and Ann again at 13 s; each
    from a photo that was not enrolled."""
    from rollcall.synth.entrance import EntranceClip, write_clip

    ann, bob = "Colin_Powell", "George_W_Bush"
    video = shared.cast.video
    passers = [
        _walker(ann, video[ann], 0.5, 1),
        _walker("John_Salley", video["John_Salley"], 5.0, 2),
        _walker(bob, video[bob], 9.0, 3),
        _walker(ann, video[ann], 13.0, 4),
    ]
    clip = EntranceClip((640, 360), 25.0, 16.0, passers, seed=8)  # type: ignore[arg-type]
    return write_clip(clip, tmp_path_factory.mktemp("door") / "door.mp4")


def _marks(home: Path) -> dict[str, float]:
    rows = query(
        home,
        "SELECT p.name, a.first_seen FROM attendance a JOIN people p ON p.id = a.person_id "
        "JOIN sessions s ON s.id = a.session_id WHERE a.first_seen IS NOT NULL",
    )
    return dict(rows)


def _assert_marked_as_run_marks(home: Path, reference: dict[str, float]) -> None:
    """The same people as `rollcall run` marked on the clip, each at the same time (±0.3 s)."""
    marks = _marks(home)
    assert set(marks) == set(reference), marks
    for name, first_seen in reference.items():
        assert marks[name] == pytest.approx(first_seen, abs=0.3), name


def _door_closed(home: Path) -> bool:
    rows = query(home, "SELECT state FROM sessions WHERE name = ?", DOOR)
    return bool(rows) and rows[0][0] == "closed"


@pytest.fixture(scope="module")
def door_reference(shared: Meeting, door_clip: Path, tmp_path_factory: pytest.TempPathFactory):  # noqa: ANN201
    """The clip through `rollcall run --mode entrance`, in one process."""
    home = clone_home(shared.home, tmp_path_factory.mktemp("door-ref") / "home")
    result = invoke(home, "run", "--session", DOOR, "--source", door_clip, "--mode", "entrance",
                    "--fps", ENTRANCE_FPS, "--started-at", STARTED_AT)  # fmt: skip
    assert result.exit_code == 0, result.output + result.stderr
    marks = _marks(home)
    assert set(marks) == {"Colin_Powell", "George_W_Bush"}, marks
    return marks


def _entrance_agent(cluster: Cluster, token: str, source: Path) -> subprocess.Popen:
    return cluster._spawn(
        "agent", "agent", "--server", cluster.url, "--token", token, "--session", DOOR,
        "--source", str(source), "--mode", "entrance", "--fps", str(ENTRANCE_FPS),
        "--started-at", STARTED_AT,
    )  # fmt: skip


def test_an_entrance_through_the_agent_is_marked_as_run_marks_it(
    cluster: Cluster, door_clip: Path, door_reference: dict[str, float]
) -> None:
    """No broker: `rollcall serve` analyzes the entrance's frames itself, every one of them."""
    del cluster.env["ROLLCALL_BROKER_URL"]
    token = _agent_token(cluster.home)
    cluster.start_server()
    agent = _entrance_agent(cluster, token, door_clip)
    assert agent.wait(600) == 0, (cluster.logs / "agent.log").read_text()
    _wait("the entrance session to close", lambda: _door_closed(cluster.home), 120)
    assert query(cluster.home, "SELECT count(*) FROM frames")[0][0] == 0, "frames kept"
    _assert_marked_as_run_marks(cluster.home, door_reference)
    # The stranger is kept for review; Ann's second pass is a repeat, not a second mark.
    assert query(cluster.home, "SELECT count(*) FROM unknown_faces")[0][0] >= 1
    repeats = query(
        cluster.home, "SELECT count(*) FROM session_events WHERE kind = 'already_marked' AND t > 12"
    )
    assert repeats[0][0] == 1
    analyzed = query(cluster.home, "SELECT seq FROM session_states")[0][0]
    assert analyzed == round(16.0 * ENTRANCE_FPS) - 1, "every frame analyzed, in order"


def test_an_entrance_survives_its_worker_being_killed(
    cluster: Cluster, door_clip: Path, door_reference: dict[str, float]
) -> None:
    """With Celery: the worker watching the entrance is SIGKILLed once Bob is marked; another
    worker takes the session over (when the dead one's lease runs out) from the frame that was
    being analyzed, knowing who is marked: Ann, back at 13 s, is "already marked" (what the
    kiosk shows her), not marked again."""
    from rollcall.capture.agent import Agent, AgentOptions, Spool
    from rollcall.vision.sources import open_source

    token = _agent_token(cluster.home)
    cluster.start_server()
    cluster.start_worker()
    options = AgentOptions(server=cluster.url, token=token, session=DOOR, source=str(door_clip),
                           mode="entrance", fps=ENTRANCE_FPS)  # fmt: skip
    source = _Paced(open_source(str(door_clip)), 0.1)  # 12.8 s for the clip's 128 frames
    agent = Agent(options, source, Spool(cluster.home / "door-spool", 1000))
    result: dict[str, object] = {}
    thread = threading.Thread(target=lambda: result.update(status=agent.run()), daemon=True)
    thread.start()
    _wait("Bob to be marked", lambda: "George_W_Bush" in _marks(cluster.home), 300)
    cluster.kill_workers()
    cluster.start_worker()
    thread.join(600)
    source.close()
    assert not thread.is_alive() and "status" in result, "the agent did not finish"
    _wait("the entrance session to close", lambda: _door_closed(cluster.home), 300)
    assert query(cluster.home, "SELECT count(*) FROM frames")[0][0] == 0, "frames kept"
    _assert_marked_as_run_marks(cluster.home, door_reference)
    repeats = query(
        cluster.home, "SELECT count(*) FROM session_events WHERE kind = 'already_marked' AND t > 12"
    )
    assert repeats[0][0] == 1, "Ann's return was not recognised as a repeat"
    analyzed = query(cluster.home, "SELECT seq FROM session_states")[0][0]
    assert analyzed == round(16.0 * ENTRANCE_FPS) - 1, "every frame analyzed, in order"


def test_an_entrance_agent_stopped_and_started_again_goes_on_where_it_was(
    cluster: Cluster, door_clip: Path, door_reference: dict[str, float]
) -> None:
    """The agent is stopped (as by Ctrl-C) after 33 uploads with some frames still in its spool,
    then started again on the same recording: it sends what its spool kept and goes on after
    the last frame the server or the spool has, numbering on. Every frame the server took is
    one step of the recording after the one before: none twice, no gap."""
    from rollcall.capture.agent import Agent, AgentOptions, Spool
    from rollcall.vision.sources import open_source

    del cluster.env["ROLLCALL_BROKER_URL"]
    token = _agent_token(cluster.home)
    cluster.start_server()
    options = AgentOptions(server=cluster.url, token=token, session=DOOR, source=str(door_clip),
                           mode="entrance", fps=ENTRANCE_FPS)  # fmt: skip
    spool = Spool(cluster.home / "door-spool", 1000)
    tries: list[int] = []
    taken: list[tuple[int, float]] = []

    def watched(agent: Agent, network_drops_after: int | None) -> Agent:
        upload = agent.client.upload

        def counted(session: str, frame: dict, backlog: int, timeout: float = 30.0) -> str:
            tries.append(frame["seq"])
            if network_drops_after is not None and len(tries) > network_drops_after:
                raise requests.ConnectionError("the network drops")  # these stay spooled
            result = upload(session, frame, backlog, timeout)
            if result == "queued":
                taken.append((frame["seq"], frame["t"]))
            return result

        agent.client.upload = counted  # type: ignore[method-assign]
        return agent

    first = Agent(options, open_source(str(door_clip)), spool, should_stop=lambda: len(tries) >= 33)
    watched(first, network_drops_after=30).run()
    first.source.close()
    assert len(spool) > 0, "nothing was left in the spool to send on the second start"
    second = watched(Agent(options, open_source(str(door_clip)), spool), None)
    second.run()
    second.source.close()
    _wait("the entrance session to close", lambda: _door_closed(cluster.home), 120)
    assert not len(spool) and query(cluster.home, "SELECT count(*) FROM frames")[0][0] == 0
    seqs = [seq for seq, _ in taken]
    assert seqs == list(range(len(seqs))), "frame numbers skipped or repeated"
    steps = np.diff([t for _, t in taken])
    assert steps.min() > 0 and steps.max() < 1 / ENTRANCE_FPS + 0.05, "a frame twice, or a gap"
    assert taken[-1][1] > 15.5, "the recording was not sent to its end"
    analyzed = query(cluster.home, "SELECT seq FROM session_states")[0][0]
    assert analyzed == seqs[-1], "the server did not analyze every frame"
    _assert_marked_as_run_marks(cluster.home, door_reference)
