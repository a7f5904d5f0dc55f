"""One `rollcall run` at a time per session: a second run (a resume typed in another terminal or
on another machine) is refused while the first lives, and free to go once it stopped, was
killed on this machine, or its lease ran out."""

from __future__ import annotations

import os
import socket
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from helpers_session import query, rollcall_command
from rollcall.attendance import run_lease
from rollcall.errors import RollcallError
from rollcall.storage.models import AttendanceSession
from test_session_commands import blank_video, one_line_error, roster  # noqa: F401 - fixture

HOST = socket.gethostname()


def held(by: str, until: float) -> AttendanceSession:
    return AttendanceSession(name="L1", run_by=by, run_until=until)


def test_a_live_run_elsewhere_keeps_the_session_until_its_lease_runs_out() -> None:
    now = time.time()
    row = held("lab-pc-7:4242", now + 30)
    with pytest.raises(RollcallError, match=r"process 4242 on lab-pc-7.*in 30 s"):
        run_lease.take(row, now)
    assert row.run_by == "lab-pc-7:4242"  # untouched
    run_lease.take(row, now + 31)  # its lease ran out: the machine or the run is gone
    assert row.run_by == run_lease.holder() and row.run_until == now + 31 + run_lease.LEASE


def test_on_this_machine_a_killed_run_frees_the_session_at_once() -> None:
    now = time.time()
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    try:
        with pytest.raises(RollcallError, match=f"process {sleeper.pid} on {HOST}"):
            run_lease.take(held(f"{HOST}:{sleeper.pid}", now + 80), now)
    finally:
        sleeper.kill()
        sleeper.wait()
    row = held(f"{HOST}:{sleeper.pid}", now + 80)  # killed: its lease is worth nothing
    run_lease.take(row, now)
    assert row.run_by == run_lease.holder()
    run_lease.take(row, now + 1)  # this process again: renewed, not refused


def test_a_run_holds_its_session_while_it_runs_and_a_second_one_is_refused(
    cli,  # noqa: ANN001
    home: Path,
    roster: list[str],  # noqa: F811
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from rollcall.attendance.runner import RunOptions, run_session
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.vision.engine import FaceEngine

    monkeypatch.setattr(run_lease, "BEAT", 0.05)  # renewed many times in a short run
    video = blank_video(tmp_path / "lecture.mp4", seconds=12.0)
    db = Database(Settings.from_env())
    seen: list[tuple] = []

    def progress(t: float, _duration: float | None) -> None:
        seen.extend(query(home, "SELECT run_by, run_until FROM sessions WHERE name = 'L1'"))
        if len(seen) == 2:
            # A second run, another process, while this one samples: refused, one line.
            env = {**os.environ, "ROLLCALL_HOME": str(home)}
            env.pop("ROLLCALL_DATABASE_URL", None)
            other = subprocess.run(
                [*rollcall_command(), "run", "--session", "L1", "--resume", "--source", video],
                env=env, capture_output=True, text=True, timeout=120,
            )  # fmt: skip
            seen.append(("second run", other))
        time.sleep(0.1)  # a beat or two between samples

    try:
        options = RunOptions("L1", source=str(video), min_interval=1.0, max_interval=2.0)
        run_session(db, db.settings, FaceEngine(), options, progress=progress)
    finally:
        db.engine.dispose()
    second = next(result for label, result in seen if label == "second run")
    assert second.returncode != 0 and "Traceback" not in second.stderr, second.stderr
    [line] = [x for x in second.stderr.splitlines() if x.strip()]
    pid = run_lease.holder().rpartition(":")[2]
    assert line.startswith("Error:") and "being taken by another run" in line, line
    assert f"process {pid} on {HOST}" in line, line
    leases = [row for row in seen if row[0] != "second run"]
    assert {by for by, _ in leases} == {run_lease.holder()}
    assert leases[-1][1] > leases[0][1]  # renewed while it ran
    # Given up at the end: the session, closed by the recording's end, is held by nobody.
    assert query(home, "SELECT state, run_by, run_until FROM sessions") == [("closed", None, None)]


def stopped(cli, home: Path, name: str, video: Path, *change: object) -> None:  # noqa: ANN001
    """Session ``name`` run on the first 2 s of ``video``, then left interrupted, with the
    sessions row changed by ``change`` (an SQL SET clause and its parameters) as well."""
    first = cli("run", "--session", name, "--source", video, "--duration", "2",
                "--min-interval", "1", "--max-interval", "2")  # fmt: skip
    assert first.exit_code == 0, first.output
    update_sessions(home, f"state = 'interrupted', {change[0]}", *change[1:])


def update_sessions(home: Path, change: str, *params: object) -> None:
    """Change the sessions rows straight in the home's SQLite file (``change``: a SET clause)."""
    conn = sqlite3.connect(home / "rollcall.db")
    with conn:
        conn.execute(f"UPDATE sessions SET {change}", params)  # nosec B608 - test data
    conn.close()


def test_a_resume_after_a_run_was_stopped_takes_the_session(
    cli,  # noqa: ANN001
    home: Path,
    roster: list[str],  # noqa: F811
    tmp_path: Path,
) -> None:
    video = blank_video(tmp_path / "lecture.mp4", seconds=6.0)
    # Stopped; a run on another machine holds it now (its lease good for a minute).
    stopped(cli, home, "L2", video, "run_by = 'lab-pc-7:99', run_until = ?", time.time() + 60)
    line = one_line_error(cli("run", "--session", "L2", "--resume"), "lab-pc-7", "stop that")
    assert "resume in" in line
    assert query(home, "SELECT state, run_by FROM sessions") == [("interrupted", "lab-pc-7:99")]


def test_a_resume_reads_the_sessions_own_recording_wherever_it_moved(
    cli,  # noqa: ANN001
    home: Path,
    roster: list[str],  # noqa: F811
    tmp_path: Path,
) -> None:
    import shutil

    video = blank_video(tmp_path / "lecture-w2.mp4", seconds=8.0)
    stopped(cli, home, "L3", video, "duration = NULL")
    other = blank_video(tmp_path / "lecture-w3.mp4", seconds=9.0)
    one_line_error(cli("run", "--session", "L3", "--resume", "--source", other),
                   "from lecture-w2.mp4; lecture-w3.mp4 is another recording")  # fmt: skip
    one_line_error(cli("run", "--session", "L3", "--resume", "--source", "camera:7"),
                   "from a recording", "camera:7")  # fmt: skip
    assert query(home, "SELECT state FROM sessions") == [("interrupted",)]
    moved = tmp_path / "archive"
    moved.mkdir()
    shutil.move(video, moved / "2026-03-02 algebra.mp4")  # moved and renamed: the same file
    again = cli("run", "--session", "L3", "--resume", "--source", moved / "2026-03-02 algebra.mp4")
    assert again.exit_code == 0, again.output + again.stderr


def test_sessions_list_says_which_run_takes_a_session_or_that_it_stopped_answering(
    cli,  # noqa: ANN001
    home: Path,
    roster: list[str],  # noqa: F811
    tmp_path: Path,
) -> None:
    video = blank_video(tmp_path / "lecture.mp4", seconds=6.0)
    stopped(cli, home, "L4", video, "run_by = 'lab-pc-7:4242', run_until = ?", time.time() + 60)
    update_sessions(home, "state = 'running'")
    listed = cli("sessions", "list").output  # (the table wraps long cells: words, not lines)
    assert all(word in listed for word in ("process", "4242", "lab-pc-7")), listed
    assert "stopped answering" not in " ".join(listed.split())
    update_sessions(home, "run_until = ?", time.time() - 1)
    listed = " ".join(cli("sessions", "list").output.split())
    assert "stopped answering" in listed, listed
