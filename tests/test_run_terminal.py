"""`rollcall run` at a real terminal: its progress bar is drawn (it is off when stderr is a file
or a pipe, which is how every other test runs it), on a recording and on a live source whose
length is unknown."""

from __future__ import annotations

import os
import pty
import subprocess
from pathlib import Path

import pytest

from helpers_session import Meeting, clone_home, meeting, query, rollcall_command

pytestmark = pytest.mark.faces


def _at_a_terminal(home: Path, *args: object) -> tuple[int, str]:
    """`rollcall run ARGS` with its stderr on a pseudo-terminal; (exit status, what it drew)."""
    environ = {**os.environ, "ROLLCALL_HOME": str(home), "COLUMNS": "100"}
    environ.pop("ROLLCALL_DATABASE_URL", None)
    leader, follower = pty.openpty()
    with subprocess.Popen(
        [*rollcall_command(), "run", *map(str, args)],
        stdout=subprocess.DEVNULL,
        stderr=follower,
        env=environ,
    ) as process:
        os.close(follower)
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal's other end closed with the process
                break
            if not chunk:
                break
            drawn += chunk
        status = process.wait(timeout=600)
    os.close(leader)
    return status, drawn.decode(errors="replace")


def test_a_run_at_a_terminal_shows_its_progress_and_finishes(
    faces: Path, tmp_path_factory: pytest.TempPathFactory, tmp_path: Path
) -> None:
    shared: Meeting = meeting(faces, tmp_path_factory)
    home = clone_home(shared.home, tmp_path / "home")
    status, drawn = _at_a_terminal(
        home, "--session", "tty", "--source", shared.keyframed, "--min-interval", 20,
        "--max-interval", 40, "--seed", 3,
    )  # fmt: skip
    assert status == 0 and "Traceback" not in drawn, drawn[-2000:]
    assert " s" in drawn and "tty" in drawn  # the bar: the session's name and seconds done
    assert query(home, "SELECT state FROM sessions WHERE name = 'tty'") == [("closed",)]
