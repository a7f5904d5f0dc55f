"""The capture agent at an entrance while the server is away: a live camera never waits for it,
frames go to the bounded spool, and an outage of hours is one note, not one per frame.

The server is a small stand-in that always fails to answer uploads (a network outage); the
agent, its spool and its frame numbering are the real ones."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
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
