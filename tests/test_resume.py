"""A session killed at any moment and resumed ends exactly like one that was never interrupted.

`rollcall run` is a real process here, killed with SIGKILL (no chance to clean up) at random
points of its work, then resumed with `--resume` until it completes.
"""

from __future__ import annotations

import json
import os
import random
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy.exc import IntegrityError

from helpers_session import LEAVE_AFTER, ROSTER, Meeting, clone_home, invoke, meeting, query

SESSION = "K"
# Short gaps make ~45 samples over the 210 s recording, so a run lasts long enough to be
# killed at many different points.
RUN_ARGS = (
    "--min-interval", 3, "--max-interval", 6, "--seed", 5, "--leave-after", LEAVE_AFTER,
)  # fmt: skip
# seed -> where its kills fall, as ranges of the share of samples committed; the point inside
# each range, and a pause of up to 0.3 s after it, are drawn from the seed. A second range
# kills the already resumed run. Five kill points in all, from before the first sample to the
# last few.
KILLS = {
    1: [(0.0, 0.05)],
    2: [(0.15, 0.35), (0.5, 0.7)],
    3: [(0.35, 0.55)],
    4: [(0.75, 0.9)],
}


@pytest.fixture(scope="module")
def shared(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Meeting:
    return meeting(faces, tmp_path_factory)


def outcome(home: Path) -> dict[str, object]:
    """What must not depend on interruptions: marks, head counts and presence intervals."""
    result = invoke(home, "report", "--session", SESSION, "--json")
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    return {
        "state": report["state"],
        "attendance": [(a["person"], a["status"], a["first_seen"]) for a in report["attendance"]],
        "head_counts": query(
            home, "SELECT seq, t, count, recognized, unknown FROM head_counts ORDER BY seq"
        ),
        "intervals": query(
            home,
            "SELECT p.name, i.start_t, i.last_seen, i.end_t FROM presence_intervals i "
            "JOIN people p ON p.id = i.person_id ORDER BY p.name, i.start_t",
        ),
    }


@pytest.fixture(scope="module")
def uninterrupted(shared: Meeting, tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    home = clone_home(shared.home, tmp_path_factory.mktemp("uninterrupted") / "home")
    result = invoke(home, "run", "--session", SESSION, "--source", shared.keyframed, *RUN_ARGS)
    assert result.exit_code == 0, result.output
    return outcome(home)


def rollcall_command() -> list[str]:
    """The installed console script beside this interpreter (rollcall.cli has no __main__)."""
    script = Path(sys.executable).with_name("rollcall")
    if script.exists():
        return [str(script)]
    return [sys.executable, "-c", "from rollcall.cli import main; main()"]


def start(home: Path, *args: object) -> subprocess.Popen:
    env = {**os.environ, "ROLLCALL_HOME": str(home)}
    env.pop("ROLLCALL_DATABASE_URL", None)
    return subprocess.Popen(
        [*rollcall_command(), "run", "--session", SESSION, *map(str, args)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        preexec_fn=_ctrl_c_as_from_a_terminal,
    )


def _ctrl_c_as_from_a_terminal() -> None:
    # A child inherits an ignored SIGINT, and Python then leaves Ctrl-C ignored: with the test
    # suite started in the background (`pytest ... &`, where the shell ignores SIGINT), the
    # "stopped" run carried on to the end of its source. A terminal's Ctrl-C reaches a
    # process whose SIGINT is at its default, which is what this test is about.
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def committed(home: Path) -> int:
    """Head counts committed so far; -1 while the session does not exist yet."""
    try:
        rows = query(
            home,
            "SELECT count(h.id) FROM sessions s LEFT JOIN head_counts h ON h.session_id = s.id "
            "WHERE s.name = ? GROUP BY s.id",
            SESSION,
        )
    except sqlite3.OperationalError:  # no database or no tables yet, or busy
        return -1
    return rows[0][0] if rows else -1


def kill_after(process: subprocess.Popen, home: Path, samples: int, pause: float) -> bool:
    """SIGKILL once ``samples`` head counts are committed, ``pause`` s later; False when the
    run finished by itself first."""
    deadline = time.monotonic() + 60
    while committed(home) < samples and process.poll() is None:
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)
    time.sleep(pause)
    if process.poll() is not None:
        return False
    process.send_signal(signal.SIGKILL)
    process.wait()
    return True


@pytest.mark.faces
@pytest.mark.parametrize("seed", sorted(KILLS))
def test_killed_run_resumes_to_the_same_attendance(
    shared: Meeting, uninterrupted: dict[str, object], tmp_path: Path, seed: int
) -> None:
    rng = random.Random(seed)
    total = len(uninterrupted["head_counts"])
    home = clone_home(shared.home, tmp_path / "home")
    process = start(home, "--source", shared.keyframed, *RUN_ARGS)
    points = [round(total * rng.uniform(lo, hi)) for lo, hi in KILLS[seed]]
    kills = 0
    for point in points:
        kills += kill_after(process, home, point, rng.uniform(0.0, 0.3))
        if committed(home) < 0:  # killed before the session existed: start it again
            process = start(home, "--source", shared.keyframed, *RUN_ARGS)
        else:
            process = start(home, "--resume")
    assert process.wait(120) == 0, process.stderr.read() if process.stderr else ""
    assert kills >= 1, "every run finished before it could be killed"

    assert outcome(home) == uninterrupted
    seqs = [row[0] for row in query(home, "SELECT seq FROM head_counts ORDER BY seq")]
    assert seqs == list(range(total))  # nothing counted twice, nothing skipped
    per_person = query(
        home, "SELECT person_id, count(*) FROM attendance GROUP BY session_id, person_id"
    )
    assert len(per_person) == len(ROSTER) and all(n == 1 for _, n in per_person)
    assert query(home, "PRAGMA integrity_check") == [("ok",)]
    for (path,) in query(home, "SELECT evidence_path FROM attendance WHERE first_seen IS NOT NULL"):
        assert path and (home / path).is_file(), path


def test_one_attendance_record_per_session_and_person(home: Path) -> None:
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.models import AttendanceRecord, HeadCount
    from rollcall.storage.people import get_or_create_person
    from rollcall.storage.sessions import SessionSettings, create_session

    db = Database(Settings.from_env())
    with db.session() as session:
        ada = get_or_create_person(session, "Ada")
        row = create_session(session, "one", SessionSettings("x", 1, 2, 4, 300, 30), [ada], None)
        ids = (row.id, ada.id)
        session.add(HeadCount(session_id=row.id, seq=0, t=0, count=1, recognized=1, unknown=0))
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(AttendanceRecord(session_id=ids[0], person_id=ids[1], status="present"))
        session.flush()
    with pytest.raises(IntegrityError), db.session() as session:
        session.add(HeadCount(session_id=ids[0], seq=0, t=1, count=1, recognized=1, unknown=0))
        session.flush()
    with db.session() as session:
        assert session.query(AttendanceRecord).count() == 1
        assert session.query(HeadCount).count() == 1
    db.engine.dispose()


def stop_after(process: subprocess.Popen, home: Path, samples: int, how: signal.Signals) -> str:
    """Send ``how`` once ``samples`` head counts are committed; the run must end by itself,
    exit 128 + the signal's number (as a shell reports it) and say how to go on. Returns its
    stderr."""
    deadline = time.monotonic() + 60
    while committed(home) < samples:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        assert time.monotonic() < deadline, "the run made no progress"
        time.sleep(0.02)
    process.send_signal(how)
    _, err = process.communicate(timeout=60)
    assert process.returncode == 128 + how, err  # 130 for Ctrl-C, 143 for SIGTERM
    assert "Traceback" not in err and f"--session {SESSION} --resume" in err, err
    return err


@pytest.mark.faces
def test_ctrl_c_and_sigterm_leave_the_session_resumable_and_it_ends_the_same(
    shared: Meeting, uninterrupted: dict[str, object], tmp_path: Path
) -> None:
    # Ctrl-C, then SIGTERM on the resumed run (systemd, docker stop), then a run to the end:
    # the session was closed for good by the first stop before, and --resume refused it.
    total = len(uninterrupted["head_counts"])
    home = clone_home(shared.home, tmp_path / "home")
    open_now = "SELECT count(*) FROM presence_intervals WHERE end_t IS NULL"
    suspended = "SELECT count(*) FROM presence_intervals WHERE suspended"
    for point, how, args in (
        (total // 3, signal.SIGINT, ("--source", shared.keyframed, *RUN_ARGS)),
        (2 * total // 3, signal.SIGTERM, ("--resume",)),
    ):
        stop_after(start(home, *args), home, point, how)
        assert query(home, "SELECT state FROM sessions") == [("interrupted",)]
        # Nobody is credited past their last sighting while no run is watching...
        assert query(home, open_now) == [(0,)]
        assert query(home, suspended)[0][0] >= 1  # ...and who was there is reopened on resume
        assert outcome(home)["state"] == "interrupted"
    finish = start(home, "--resume")
    assert finish.wait(120) == 0, finish.stderr.read() if finish.stderr else ""
    assert outcome(home) == uninterrupted  # nothing lost, nothing counted twice, no split
    assert query(home, suspended) == [(0,)]
    seqs = [row[0] for row in query(home, "SELECT seq FROM head_counts ORDER BY seq")]
    assert seqs == list(range(total))


def test_a_camera_session_is_stored_without_its_password_and_resumes_with_source_given(
    cli, home: Path
) -> None:
    """The stored source is on staff pages: its password is not kept, so resuming a camera
    session needs --source again, and says so instead of failing to log in to the camera."""
    from rollcall.attendance import lifecycle
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.people import get_or_create_person
    from rollcall.storage.sessions import SessionSettings, create_session, get_session

    db = Database(Settings.from_env())
    url = "rtsp://admin:CamPassw0rd@127.0.0.1:9/stream1"
    with db.session() as session:
        ada = get_or_create_person(session, "Ada")
        row = create_session(session, "cam", SessionSettings(url, 1, 20, 90, 300, 180), [ada], None)
        lifecycle.interrupt(session, row)
    with db.session() as session:
        assert get_session(session, "cam").source == "rtsp://admin:***@127.0.0.1:9/stream1"
    db.engine.dispose()
    result = cli("run", "--session", "cam", "--resume")
    assert result.exit_code == 1
    assert "stored without its source's password" in result.output
    assert "give --source again" in result.output and "CamPassw0rd" not in result.output


def test_a_resume_given_other_settings_says_so_instead_of_dropping_them(cli, home: Path) -> None:
    """`run --resume --course Nope --min-interval 5` ran on with the session's own settings
    without a word (found by a new-user review). The same values, as a command line recalled
    and given --resume, pass."""
    from rollcall.attendance import lifecycle
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.people import get_or_create_person
    from rollcall.storage.sessions import SessionSettings, create_session

    db = Database(Settings.from_env())
    with db.session() as session:
        ada = get_or_create_person(session, "Ada")
        row = create_session(
            session, "w1", SessionSettings("gone.mp4", 1, 20, 90, 300, 180), [ada], None
        )
        lifecycle.interrupt(session, row)
    db.engine.dispose()
    other = cli("run", "--session", "w1", "--resume", "--course", "Nope", "--min-interval", "5")
    assert other.exit_code == 1
    assert "keeps the settings it was started with" in other.output
    assert "--course Nope (the session's: None)" in other.output
    assert "--min-interval 5.0 (the session's: 20.0)" in other.output
    same = cli("run", "--session", "w1", "--resume", "--min-interval", "20", "--seed", "1")
    assert same.exit_code == 1 and "keeps the settings" not in same.output  # (gone.mp4 is gone)
