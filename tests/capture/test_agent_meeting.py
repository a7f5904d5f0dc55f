"""The capture agent of a meeting against a stand-in server: it holds enough sampling times to
keep capturing through a long outage, and a sampling time already long past when its turn
comes (a late join, an outage) is missed, never filled with a frame of now.

The agent, its spool and its schedule handling are the real ones; the server is a stand-in
whose answers are scripted."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
from tests.capture.test_agent_entrance import Camera

from rollcall.capture.agent import MIN_UPLOAD_TIME, Agent, AgentOptions, Spool
from rollcall.capture.stream import LATE_SKIP_S
from rollcall.errors import SourceError
from rollcall.vision.types import Frame


class Server:
    """Sampling times every 30 s from the session's start; ``online`` says whether it
    answers; uploads are recorded as the server would take them."""

    def __init__(self, started: datetime, uploads_before_outage: int | None = None) -> None:
        self.started, self.outage_after = started, uploads_before_outage
        self.received: list[tuple[int, float]] = []
        self.images: dict[int, bytes] = {}
        self.when: list[float] = []  # the session's time at each upload
        self.holes: list[tuple[int, int]] = []  # runs of missed sampling times told
        self.asked: list[int] = []

    @property
    def online(self) -> bool:
        return self.outage_after is None or len(self.received) < self.outage_after

    every = 30.0  # seconds between sampling times

    def _times(self, after: int, count: int) -> list[dict]:
        return [{"seq": k, "t": self.every * k} for k in range(after + 1, after + 1 + count)]

    def open(self, options: AgentOptions) -> dict:
        return {"mode": "meeting", "started_at": self.started.isoformat(),
                "received_through": -1, "next": self._times(-1, 20)}  # fmt: skip

    def status(
        self, session: str, count: int = 100, timeout: float = 30.0, after: int = -1
    ) -> dict:
        self.asked.append(count)
        if not self.online:
            raise requests.ConnectionError("no route to host")
        through = max([s for s, _ in self.received], default=-1)
        return {"next": self._times(max(through, after), count), "received_through": through}

    def upload(self, session: str, frame: dict, backlog: int, timeout: float = 30.0) -> str:
        if not self.online:
            raise requests.ConnectionError("no route to host")
        self.received.append((frame["seq"], frame["t"]))
        self.images[frame["seq"]] = frame["path"].read_bytes()
        self.when.append((datetime.now(UTC) - self.started).total_seconds())
        return "stored"

    def missed(self, session: str, first: int, last: int, timeout: float = 30.0) -> None:
        if not self.online:
            raise requests.ConnectionError("no route to host")
        self.holes.append((first, last))

    def finish(self, session: str, end_t: float) -> None:
        pass


def _options() -> AgentOptions:
    return AgentOptions(server="http://unused", token="t", session="cs101", source="screen")


def test_an_outage_longer_than_twenty_samples_keeps_every_sample_on_disk(tmp_path: Path) -> None:
    """The network goes after the first two samples: the agent already holds 100 sampling
    times and captures each of them into its spool (it used to know 20, and stop)."""
    camera = Camera()
    server = Server(datetime.now(UTC), uploads_before_outage=2)
    spool = Spool(tmp_path / "spool", 2000)
    deadline = time.monotonic() + 20  # (an agent out of times waits for the server forever)
    agent = Agent(_options(), camera, spool, client=server,
                  should_stop=lambda: camera.n >= 90 or time.monotonic() > deadline)  # fmt: skip
    agent.run()
    kept = [f["seq"] for f in spool.waiting()]
    assert [seq for seq, _ in server.received] == [0, 1]
    assert kept == list(range(2, 90)), "numbered by the session's times, none twice"
    assert server.asked[0] == 100


@pytest.mark.parametrize("late_minutes", [10, 65])
def test_a_late_join_misses_the_past_instead_of_faking_it(tmp_path: Path, late_minutes) -> None:  # noqa: ANN001
    """Joining a session that started 10 (or 65: more sampling times than the agent is told
    at once) minutes ago: the times already past are missed (noted once); the first sample
    taken is one that is due now, and capture goes on."""
    started = datetime.now(UTC) - timedelta(minutes=late_minutes)
    camera = Camera()
    server = Server(started)
    spool = Spool(tmp_path / "spool", 2000)
    deadline = time.monotonic() + 20
    agent = Agent(_options(), camera, spool, client=server,
                  should_stop=lambda: camera.n >= 5 or time.monotonic() > deadline)  # fmt: skip
    status = agent.run()
    now_t = (datetime.now(UTC) - started).total_seconds()
    seqs = [seq for seq, _ in server.received]
    assert camera.n >= 5, "capture goes on after the missed times"
    assert status.missed == sum(1 for k in range(400) if 30.0 * k < now_t - LATE_SKIP_S)
    assert server.holes == [(0, status.missed - 1)], "one hole, told once it was over"
    assert seqs and min(seqs) == status.missed and len(set(seqs)) == len(seqs)
    assert [n for n in status.notes if "already past" in n] == [
        f"sampling times already past, not taken: {status.missed}"
    ]


def test_a_restarted_agent_keeps_the_frames_its_spool_holds(tmp_path: Path) -> None:
    """Stopped while offline with samples 0-4 on disk, started again: those frames go as they
    were taken, and capture goes on from sample 5."""
    spool = Spool(tmp_path / "spool", 2000)
    first = Camera()
    offline = Server(datetime.now(UTC), uploads_before_outage=0)
    Agent(_options(), first, spool, client=offline, should_stop=lambda: first.n >= 5).run()
    before = {f["seq"]: f["path"].read_bytes() for f in spool.waiting()}
    assert sorted(before) == [0, 1, 2, 3, 4]
    again = Camera()
    again.n = 100  # another picture on the screen by now
    server = Server(offline.started)
    Agent(_options(), again, spool, client=server, should_stop=lambda: again.n >= 103).run()
    assert [seq for seq, _ in server.received][:8] == [0, 1, 2, 3, 4, 5, 6, 7]
    assert all(server.images[seq] == jpeg for seq, jpeg in before.items())


class Hanging(Server):
    """Times every 2.5 s; every upload hangs for as long as the agent lets it (a network
    that drops packets silently) and then fails."""

    every = 2.5

    def __init__(self, started: datetime) -> None:
        super().__init__(started)
        self.timeouts: list[float] = []
        self.hung: list[tuple[float, float]] = []  # (from, to) on the session's clock

    def upload(self, session: str, frame: dict, backlog: int, timeout: float = 30.0) -> str:
        self.timeouts.append(timeout)
        begun = (datetime.now(UTC) - self.started).total_seconds()
        time.sleep(min(timeout, 10.0))
        self.hung.append((begun, (datetime.now(UTC) - self.started).total_seconds()))
        raise requests.ConnectionError("timed out")


class Clock(Camera):
    """A live source in real time: a frame is there when its time has come."""

    def __init__(self, started: datetime) -> None:
        super().__init__()
        self.zero = time.monotonic() - (datetime.now(UTC) - started).total_seconds()
        self.taken: list[tuple[float, float]] = []  # (due, taken) on the session's clock

    def read(self, not_before: float = 0.0) -> Frame:
        time.sleep(max(0.0, self.zero + not_before - time.monotonic()))
        frame = super().read(not_before)
        self.taken.append((not_before, time.monotonic() - self.zero))
        return frame


def test_a_silent_network_never_holds_up_the_next_capture(tmp_path: Path) -> None:
    """Each upload may take only until shortly before the next sample is due: the samples are
    all taken on time, into the spool, while every upload hangs. (Until the entrance's fix no
    upload was tried at all with samples 2.5 s apart: this passed on the stop's flush alone.)"""
    started = datetime.now(UTC)
    camera = Clock(started)
    server = Hanging(started)
    spool = Spool(tmp_path / "spool", 2000)
    agent = Agent(_options(), camera, spool, client=server, should_stop=lambda: camera.n >= 4)
    status = agent.run()
    assert status.missed == 0 and [f["seq"] for f in spool.waiting()] == [0, 1, 2, 3]
    assert max(taken - due for due, taken in camera.taken) < 1.0
    last_due = max(due for due, _ in camera.taken)
    during = [(begun, ended) for begun, ended in server.hung if begun < last_due]
    assert len(during) >= 2, f"uploads tried between captures: {server.hung}"
    # Each hung upload gave up before the sample due after the capture it followed (they are
    # 2.5 s apart). That capture is the last taken by the upload's start, give or take the
    # few ms the camera's and the server's clocks differ by: a flush started 7 ms before a
    # due time on one clock was counted in the slot before it (a flaky failure under load).
    for begun, ended in during:
        after = max(due for due, taken in camera.taken if taken <= begun + 0.05)
        assert ended < after + 2.5, (begun, ended, camera.taken)
    assert max(server.timeouts) <= MIN_UPLOAD_TIME + 0.01


class Recording(Camera):
    """A ten-minute recording (not live)."""

    live, duration = False, 600.0


def test_duration_ends_the_session_there_not_at_the_recordings_end(tmp_path: Path) -> None:
    class Finishing(Server):
        ended: float | None = None

        def finish(self, session: str, end_t: float) -> None:
            self.ended = end_t

    server = Finishing(datetime.now(UTC))
    options = AgentOptions(server="http://unused", token="t", session="cs101", source="rec.mp4",
                           duration=100.0)  # fmt: skip
    Agent(options, Recording(), Spool(tmp_path / "spool", 2000), client=server).run()
    assert server.ended == 100.0


def test_a_source_opened_before_the_server_answered_keeps_session_time(tmp_path: Path) -> None:
    """The screen was opened 20 s before the server answered: its clock is 20 s ahead of
    "now - the session's start" would say, and samples are still taken when they are due."""
    started = datetime.now(UTC)
    camera = Clock(started)
    camera.zero -= 20.0  # the source's clock started 20 s before the session did

    def elapsed() -> float:
        return time.monotonic() - camera.zero

    camera.elapsed = elapsed  # type: ignore[method-assign]
    server = Server(started)
    server.every = 1.0
    spool = Spool(tmp_path / "spool", 2000)
    Agent(_options(), camera, spool, client=server, should_stop=lambda: camera.n >= 3).run()
    stamped = [t for _, t in server.received]
    assert stamped and all(abs(t - seq * 1.0) < 0.5 for seq, t in server.received), stamped
    # Taken when due (uploaded at once after), not 20 s early under the due time's stamp.
    assert all(when >= t - 0.3 for when, t in zip(server.when, stamped, strict=True))


def test_a_half_written_spool_file_is_set_aside_not_fatal(tmp_path: Path) -> None:
    """A kill or power loss while a frame's JSON was being written left half a file, and
    every later start of the agent died reading it. Its JSON is now renamed into place like
    its picture; one cut short anyway (by an older agent) is set aside."""
    spool = Spool(tmp_path / "spool", 10)
    assert spool.add(1, 30.0, datetime.now(UTC), b"jpeg-1")
    assert spool.add(2, 60.0, datetime.now(UTC), b"jpeg-2")
    (tmp_path / "spool" / "000000002.json").write_text('{"seq": 2, "t"')  # cut short
    assert [f["seq"] for f in spool.waiting()] == [1]
    assert (tmp_path / "spool" / "000000002.json.unreadable").is_file()
    assert not list((tmp_path / "spool").glob("*.tmp"))


def _response(url: str, status: int, body: bytes, redirected: bool = False) -> requests.Response:
    response = requests.Response()
    response.status_code, response._content, response.url = status, body, url
    if redirected:
        response.history = [requests.Response()]
    return response


def test_a_wrong_server_address_is_refused_not_retried_for_ever() -> None:
    """A portal address with the wrong path ends at the login page, and a server that is not
    rollcall answers 501 or with a page: at the agent's first request each is a wrong
    --server, which asking again will not change (it retried them for ever as
    "unreachable"). Later in a run the same answers (a proxy's maintenance page, a sign-on
    redirect) are waited out, as is a 503; a redirect to the API itself (http to https) is
    followed."""
    from rollcall.capture.agent import AgentRefused, NotTheApi, ServerClient

    client = ServerClient("http://127.0.0.1:1/wrong", "token")
    url = client.base + "/sessions"
    for response in (
        _response("http://127.0.0.1:1/login", 200, b"<html>log in</html>", redirected=True),
        _response(url, 501, b"Unsupported method ('POST')"),
        _response(url, 200, b"<html>a page</html>"),
    ):
        with pytest.raises(AgentRefused, match="check --server"):
            client._check(response, first=True)
        with pytest.raises(NotTheApi):  # a requests.RequestException: retried
            client._check(response)
    with pytest.raises(requests.HTTPError):
        client._check(_response(url, 503, b"restarting"), first=True)
    https = _response("https://127.0.0.1:1/api/v1/agent/sessions", 200, b'{"ok": 1}', True)
    assert client._check(https, first=True) == {"ok": 1}


@pytest.mark.parametrize(
    ("args", "said"),
    [
        (("--min-interval", "5", "--max-interval", "2"), "--min-interval is longer"),
        (("--duration", "-5"), "--duration"),
        (("--reconnect-timeout", "-5"), "--reconnect-timeout"),
        (("--mode", "meeting", "--fps", "8"), "add --mode entrance"),
        (("--server", "127.0.0.1:8000"), "http(s)://"),
        (("--session", ".."), "only dots"),
    ],
)
def test_the_agent_refuses_bad_options_before_anything_is_made(
    cli, home: Path, tmp_path: Path, args: tuple[str, ...], said: str
) -> None:  # noqa: ANN001
    video = tmp_path / "v.mp4"
    video.write_bytes(b"not read: refused before the source is opened")
    base = {"--server": "http://127.0.0.1:1", "--token": "t", "--session": "s1"}
    for i in range(0, len(args), 2):
        if args[i] in base:
            base[args[i]] = args[i + 1]
    rest = [a for i in range(0, len(args), 2) if args[i] not in base for a in args[i : i + 2]]
    flat = [x for k, v in base.items() for x in (k, v)]
    result = cli("agent", *flat, "--source", video, *rest)
    assert result.exit_code != 0 and said in result.output, result.output
    assert "Traceback" not in result.output
    assert not (home / "agent-spool").exists()


def test_the_agent_tells_its_operator_of_a_line_outside_the_picture() -> None:
    """Only the server's log said so; the operator at the camera is the one who can fix it."""
    import numpy as np

    from rollcall.capture.agent import line_note

    notes: list[str] = []
    picture = np.zeros((720, 1280, 3), np.uint8)
    line_note("0,500,1280,500", picture, notes)
    assert notes == []
    line_note("0,5000,1280,5000", picture, notes)
    assert notes == ["the counting line 0,5000,1280,5000 lies outside the 1280x720 picture: "
                     "nobody can cross it"]  # fmt: skip


def test_joining_a_session_says_which_options_it_does_not_use() -> None:
    """Options that shape a session apply only when the agent creates it; joining one made
    otherwise dropped them without a word (only --fps had a note)."""
    from rollcall.capture.agent import settings_ignored

    options = AgentOptions("http://x", "t", "rev1", "camera:0", seed=99, min_interval=30.0,
                           max_interval=60.0)  # fmt: skip
    own = {"seed": 4, "min_interval": 2.0, "max_interval": 60.0, "verify_every": 300.0}
    assert settings_ignored(options, own) == [
        "session 'rev1' keeps its own settings; ignored: --seed 99 (the session's: 4), "
        "--min-interval 30 (the session's: 2)"
    ]
    created = {"seed": 99, "min_interval": 30.0, "max_interval": 60.0}
    assert settings_ignored(options, created) == []


def test_an_agent_refused_says_which_frames_still_wait_in_its_spool(
    cli, home: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    """A token revoked mid-run: the agent stopped with the server's 401 and said nothing of the
    frame left in its spool (an ops review). The server here is a real HTTP server on
    loopback that refuses every request as a revoked token is refused."""
    import http.server
    import json
    import threading

    import cv2
    import numpy as np

    class Revoked(http.server.BaseHTTPRequestHandler):
        def _refuse(self) -> None:
            body = json.dumps({"error": "The agent token is not valid (unknown or revoked)."})
            self.send_response(401)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body.encode())

        do_GET = do_POST = _refuse  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Revoked)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    video = tmp_path / "v.mp4"
    writer = cv2.VideoWriter(str(video), cv2.VideoWriter_fourcc(*"mp4v"), 2, (160, 96))
    for _ in range(6):
        writer.write(np.full((96, 160, 3), 90, np.uint8))
    writer.release()
    folder = tmp_path / "spool"
    ok, jpeg = cv2.imencode(".jpg", np.full((96, 160, 3), 90, np.uint8))
    Spool(folder, 10).add(3, 90.0, datetime.now(UTC), jpeg.tobytes())
    try:
        result = cli("agent", "--server", f"http://127.0.0.1:{server.server_port}", "--token",
                     "t", "--session", "s1", "--source", video, "--spool", folder)  # fmt: skip
    finally:
        server.shutdown()
    said = " ".join(result.output.split())
    assert result.exit_code != 0 and "refused (401)" in said, said
    assert f"1 frame(s) not yet sent wait in {folder}" in said, said
    assert len(Spool(folder, 10)) == 1


def test_an_agent_whose_clock_is_off_takes_samples_on_the_servers_clock(tmp_path: Path) -> None:
    """An ops engineer's review: an agent whose clock was 90 s slow took every sample 90 s
    late on the session's timeline (people credited from before they joined), and one 90 s
    fast missed the first samples ("the agent was offline, or joined late"). The session just
    started on the server's clock, which is 10 minutes behind this computer's: nothing is
    missed, sample 0 is the first taken, and the operator is told."""
    skew = timedelta(minutes=-10)
    server = Server(datetime.now(UTC) + skew)
    server.skew = skew  # what ServerClient measured from the server's answers
    camera = Camera()
    deadline = time.monotonic() + 20
    agent = Agent(_options(), camera, Spool(tmp_path / "spool", 2000), client=server,
                  should_stop=lambda: camera.n >= 3 or time.monotonic() > deadline)  # fmt: skip
    status = agent.run()
    assert status.missed == 0 and server.holes == []
    assert [seq for seq, _ in server.received][:1] == [0]
    assert any("clock is 600 s ahead of the server's" in n for n in status.notes), status.notes


def test_the_status_tells_a_server_error_from_an_unreachable_server() -> None:
    """An ops engineer's review: with the server's database down, the server answered 500 to
    every upload and the agent said "server unreachable": the operator looked at the network
    instead of the server."""
    from rollcall.capture.agent import AgentStatus

    status = AgentStatus()
    broken = requests.Response()
    broken.status_code = 500
    status.offline(requests.HTTPError("500 Server Error", response=broken))
    assert "server error (HTTP 500)" in status.line("cs101")
    status.offline(requests.ConnectionError("connection refused"))
    assert "server unreachable" in status.line("cs101")


def test_a_full_disk_under_the_spool_drops_frames_with_a_note_not_the_agent(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The disk fills while the server is away: the agent died with an OSError traceback and
    left a temporary file behind. Each frame it cannot keep is dropped and counted, with one
    note, and capture goes on (a frame kept again once there is room)."""
    import errno
    import os

    camera = Camera()
    server = Server(datetime.now(UTC), uploads_before_outage=2)
    spool = Spool(tmp_path / "spool", 2000)
    real = os.fsync

    def fsync(fd: int) -> None:
        if 4 <= camera.n < 9:
            raise OSError(errno.ENOSPC, "No space left on device")
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    deadline = time.monotonic() + 20
    agent = Agent(_options(), camera, spool, client=server,
                  should_stop=lambda: camera.n >= 10 or time.monotonic() > deadline)  # fmt: skip
    status = agent.run()
    assert camera.n == 10 and status.dropped == 5
    assert [f["seq"] for f in spool.waiting()] == [2, 8, 9]
    assert "spool folder unwritable (No space left on device): samples from 3 on not kept" in (
        status.notes
    ), status.notes
    names = sorted(p.name for p in spool.folder.glob("0*"))
    assert names == [f"00000000{k}.{ext}" for k in (2, 8, 9) for ext in ("jpg", "json")], names


class Dying(Camera):
    """A live source lost for good after ``frames`` frames (past its reconnect timeout), as
    the network comes back."""

    def __init__(self, server: Server, frames: int) -> None:
        super().__init__()
        self.server, self.frames = server, frames

    def read(self, not_before: float = 0.0) -> Frame:
        if self.n >= self.frames:
            self.server.outage_after = None
            raise SourceError("camera:0 stopped delivering frames and did not come back within "
                              "30 s")  # fmt: skip
        return super().read(not_before)


class Ending(Server):
    ended: float | None = None

    def finish(self, session: str, end_t: float) -> None:
        if not self.online:
            raise requests.ConnectionError("no route to host")
        self.ended = end_t


def test_a_source_lost_for_good_sends_its_backlog_and_finishes_before_the_agent_ends(
    tmp_path: Path,
) -> None:
    """The camera does not come back while the network does (a power blip: the network is back
    in seconds, the camera takes minutes to boot): the agent ended at once, with the frames
    of the outage in its spool, the missed sampling times untold and the session never told
    it ends. It now sends them, tells them, and finishes the session (as `rollcall run` closes
    one whose source is lost) before it ends with one line."""
    started = datetime.now(UTC) - timedelta(minutes=2)  # joined late: sampling times missed
    server = Ending(started, uploads_before_outage=0)
    spool = Spool(tmp_path / "spool", 2000)
    camera = Dying(server, frames=4)
    with pytest.raises(SourceError) as lost:
        Agent(_options(), camera, spool, client=server).run()
    said = str(lost.value)
    assert said.startswith("camera:0 stopped delivering frames") and "\n" not in said
    assert "every frame was sent" in said, said
    taken = [seq for seq, _ in server.received]
    assert len(taken) == 4 and len(spool) == 0
    assert server.holes == [(0, taken[0] - 1)]
    assert server.ended == max(t for _, t in server.received)


def test_a_source_lost_while_the_server_is_away_leaves_the_session_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The server does not come back within the agent's last try: the frames wait in the
    spool and the session stays open (finished, it would close before they arrive)."""
    from rollcall.capture import agent as agent_module

    monkeypatch.setattr(agent_module, "SOURCE_LOST_BUDGET", 3.0)
    server = Ending(datetime.now(UTC), uploads_before_outage=0)
    camera = Dying(server, frames=3)
    camera.server = Server(server.started)  # (the network does not come back)
    spool = Spool(tmp_path / "spool", 2000)
    begun = time.monotonic()
    with pytest.raises(SourceError) as lost:
        Agent(_options(), camera, spool, client=server).run()
    assert time.monotonic() - begun < 10
    assert f"3 frame(s) not yet sent wait in {spool.folder}" in str(lost.value)
    assert "the session stays open" in str(lost.value)
    assert len(spool) == 3 and server.ended is None


def test_what_a_kill_or_power_loss_left_in_the_spool_is_cleaned_at_start(tmp_path: Path) -> None:
    """Temporary files, a picture without its time (killed between its two renames, or between
    a sent frame's two deletions), a time without its picture and a time set aside unreadable
    stayed in the spool for ever, outside its limit. They are removed when the agent starts,
    with one note; the frame that is whole is sent."""
    folder = tmp_path / "spool"
    spool = Spool(folder, 2000)
    assert spool.add(3, 90.0, datetime.now(UTC), b"jpeg-3")
    leftovers = {"000000007.jpg.tmp": b"x" * 5000, "000000008.json.tmp": b'{"seq": 8',
                 "000000005.jpg": b"y" * 5000, "000000005.json.unreadable": b'{"seq": 5',
                 "000000006.jpg": b"z" * 5000, "000000009.json": b'{"seq": 9, "t": 270.0}',
                 "agent-id.tmp": b"f00"}  # fmt: skip
    for name, data in leftovers.items():
        (folder / name).write_bytes(data)
    camera = Camera()
    server = Server(datetime.now(UTC))
    status = Agent(_options(), camera, spool, client=server,
                   should_stop=lambda: camera.n >= 2).run()  # fmt: skip
    assert [seq for seq, _ in server.received][:1] == [3]
    assert not [name for name in leftovers if (folder / name).exists()]
    assert len(spool) == 0
    assert (
        "removed 7 file(s) a kill or power loss left in the spool folder (parts of frames that "
        "cannot be sent)" in status.notes
    ), status.notes


def test_a_second_agent_on_the_same_spool_folder_is_refused(tmp_path: Path) -> None:
    """A copy left running, or an autostart and a manual start: both used the same spool folder
    and so the same agent id, the server took them for one agent, and they wrote and deleted
    each other's frames (two entrance cameras interleaved on one session). The second is
    refused at once, naming the first, and touches nothing in the folder."""
    import os

    from rollcall.errors import RollcallError

    folder = tmp_path / "spool"
    first = Spool(folder, 2000)
    first.lock()
    (folder / "000000004.jpg.tmp").write_bytes(b"being written by the first agent")
    camera = Camera()
    with pytest.raises(RollcallError, match=f"another agent \\(pid {os.getpid()}\\) uses"):
        Agent(_options(), camera, Spool(folder, 2000), client=Server(datetime.now(UTC))).run()
    assert camera.n == 0 and (folder / "000000004.jpg.tmp").exists()
    first.unlock()  # (the first agent ended: the next one goes on)
    status = Agent(_options(), camera, Spool(folder, 2000), client=Server(datetime.now(UTC)),
                   should_stop=lambda: camera.n >= 2).run()  # fmt: skip
    assert camera.n == 2 and status.sent >= 1
