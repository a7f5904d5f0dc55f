"""The capture agent at an entrance while the server is away: a live camera never waits for it,
frames go to the bounded spool, and an outage of hours is one note, not one per frame.

The server is a small stand-in that always fails to answer uploads (a network outage); the
agent, its spool and its frame numbering are the real ones."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest
import requests

from rollcall.capture.agent import Agent, AgentOptions, Spool
from rollcall.vision.types import Frame


class Camera:
    """A live source: a new frame every time it is asked."""

    live, duration, recorded_at, name = True, None, None, "camera:test"

    def __init__(self) -> None:
        self.n = 0

    def read(self, not_before: float = 0.0) -> Frame:
        self.n += 1
        t = max(not_before, self.n / 8.0)
        return Frame(np.full((48, 64, 3), self.n % 255, np.uint8), t, self.n)

    def elapsed(self) -> float:
        return self.n / 8.0 if self.live else 0.0

    def close(self) -> None:
        pass


class Offline:
    """The server answered once (the session is an entrance) and then the network went."""

    def open(self, options: AgentOptions) -> dict:
        return {"mode": "entrance", "fps": 8.0, "received_through": 41, "received_t": None,
                "started_at": datetime.now(UTC).isoformat(), "next": []}  # fmt: skip

    def upload(self, session: str, frame: dict, backlog: int, timeout: float = 30.0) -> str:
        raise requests.ConnectionError("no route to host")


def test_an_entrance_agent_offline_keeps_what_its_spool_holds_and_notes_it_once(
    tmp_path: Path,
) -> None:
    camera = Camera()
    options = AgentOptions(server="http://unused", token="t", session="door", source="camera:0")
    spool = Spool(tmp_path / "spool", 30)
    agent = Agent(options, camera, spool, client=Offline(), should_stop=lambda: camera.n >= 200)
    status = agent.run()
    kept = [f["seq"] for f in spool.waiting()]
    assert kept == list(range(42, 72)), "numbered on from what the server had, oldest kept"
    assert status.dropped == 200 - 1 - 30
    assert status.notes == ["spool full: frames from 72 on not kept"]


class Paced(Camera):
    """A live camera at 8 frames a second of real time."""

    def __init__(self) -> None:
        super().__init__()
        self.t0 = time.monotonic()

    def read(self, not_before: float = 0.0) -> Frame:
        time.sleep(max(0.0, self.t0 + not_before - time.monotonic()))
        self.n += 1
        t = time.monotonic() - self.t0
        return Frame(np.full((48, 64, 3), self.n % 255, np.uint8), t, self.n)

    def elapsed(self) -> float:
        return time.monotonic() - self.t0


class Healthy(Offline):
    """The server answers every upload at once; ``taken`` is how many frames the camera had
    given when each arrived."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera
        self.received: list[int] = []
        self.taken: list[int] = []

    def upload(self, session: str, frame: dict, backlog: int, timeout: float = 30.0) -> str:
        self.received.append(frame["seq"])
        self.taken.append(self.camera.n)
        return "queued"

    def finish(self, session: str, end_t: float) -> None:
        pass


def test_a_live_entrance_sends_its_frames_while_it_runs(tmp_path: Path) -> None:
    """A live entrance camera's frames reach a healthy server as they are taken, not only at
    the stop: each upload was refused its turn (it wanted a full MIN_UPLOAD_TIME of a budget
    just that long), so the spool filled in 4 minutes and the server saw nothing live."""
    camera = Paced()
    server = Healthy(camera)
    options = AgentOptions(server="http://unused", token="t", session="door", source="camera:0")
    spool = Spool(tmp_path / "spool", 2000)
    status = Agent(options, camera, spool, client=server,
                   should_stop=lambda: camera.n >= 24).run()  # fmt: skip
    during = [seq for seq, taken in zip(server.received, server.taken, strict=True) if taken < 24]
    assert len(during) >= 20, f"sent while running: {during}"
    assert during == list(range(42, 42 + len(during))), "in order, none twice"
    assert status.sent == len(server.received) and len(spool) == 0


def test_an_entrance_camera_lost_for_good_finishes_after_its_last_frame(tmp_path: Path) -> None:
    """The camera did not come back: the agent ended at once, without a word to the server."""
    from rollcall.errors import SourceError

    class Lost(Camera):
        def read(self, not_before: float = 0.0) -> Frame:
            if self.n >= 10:
                raise SourceError("camera:0 stopped delivering frames")
            return super().read(not_before)

    class Ending(Healthy):
        ended: float | None = None

        def finish(self, session: str, end_t: float) -> None:
            self.ended = end_t

    camera = Lost()
    server = Ending(camera)
    options = AgentOptions(server="http://unused", token="t", session="door", source="camera:0")
    spool = Spool(tmp_path / "spool", 2000)
    with pytest.raises(SourceError, match="every frame was sent"):
        Agent(options, camera, spool, client=server).run()
    assert server.received == list(range(42, 52)) and len(spool) == 0
    assert server.ended is not None and server.ended > 0
