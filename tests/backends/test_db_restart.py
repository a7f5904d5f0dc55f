"""The database server restarted in the middle of a session: the run waits for it, retries the
sample it was writing and ends with the same marks as a run that never saw a restart.

`rollcall run` is a real process on a real server; the server is stopped, kept down for a few
seconds and started again by `scripts/ci-databases.sh restart`, so only the servers that script
started (as .ci/run does) are ever restarted; any other server skips the test.
"""

from __future__ import annotations

import os
import subprocess
import time
from pathlib import Path

import pytest
from click.testing import CliRunner
from sqlalchemy import create_engine, make_url, text
from sqlalchemy.exc import DBAPIError
from sqlalchemy.pool import NullPool

from helpers_session import (
    LEAVE_AFTER,
    OUTCOME_SQL,
    Meeting,
    clone_home,
    invoke,
    meeting,
    query,
    rollcall_command,
)
from rollcall.cli import cli

pytestmark = pytest.mark.faces

SCRIPT = Path(__file__).resolve().parents[2] / "scripts" / "ci-databases.sh"
SESSION = "R"
RUN_ARGS = (
    "--min-interval", 2, "--max-interval", 4, "--seed", 7, "--leave-after", LEAVE_AFTER,
)  # fmt: skip
DOWN_FOR = 3  # seconds the server stays stopped
# The script's data folders and ports (its defaults, or the same variables it reads).
MANAGED = {
    "postgresql": ("postgres", "ROLLCALL_PG_PORT", 55432, "PG_VERSION"),
    "mysql": ("mariadb", "ROLLCALL_MY_PORT", 53306, "mysql"),
}


@pytest.fixture(scope="module")
def shared(faces: Path, tmp_path_factory: pytest.TempPathFactory) -> Meeting:
    return meeting(faces, tmp_path_factory)


def require_managed_server(backend: str, url: str) -> str:
    """The script's name for the server at url; skip unless the script started that server."""
    folder, port_variable, default_port, marker = MANAGED[backend]
    data = Path(os.environ.get("ROLLCALL_DB_DIR", "/tmp/rollcall-ci-db")) / folder
    port = int(os.environ.get(port_variable, default_port))
    if make_url(url).port != port or not (data / marker).exists():
        pytest.skip(
            f"{backend}: the server at port {make_url(url).port} was not started by "
            f"scripts/ci-databases.sh (expected port {port}, data in {data}), so this test "
            "cannot restart it"
        )
    return folder


def head_counts(url: str) -> int:
    """Head counts committed so far; -1 while the server is down or the table is missing."""
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return conn.execute(text("SELECT count(*) FROM head_counts")).scalar_one()
    except DBAPIError:
        return -1
    finally:
        engine.dispose()


def outcome_on(url: str) -> dict[str, list[tuple]]:
    engine = create_engine(url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            return {
                k: [tuple(r) for r in conn.execute(text(sql))] for k, sql in OUTCOME_SQL.items()
            }
    finally:
        engine.dispose()


@pytest.mark.parametrize("database_url", ["postgresql", "mariadb"], indirect=True)
def test_a_server_restart_mid_session_loses_nothing(
    shared: Meeting, database_url: str, tmp_path: Path
) -> None:
    server = require_managed_server(make_url(database_url).get_backend_name(), database_url)
    # The same session, uninterrupted, on SQLite: the marks the restarted run must end with.
    calm = clone_home(shared.home, tmp_path / "calm")
    result = invoke(calm, "run", "--session", SESSION, "--source", shared.keyframed, *RUN_ARGS)
    assert result.exit_code == 0, result.output
    expected = {k: query(calm, sql) for k, sql in OUTCOME_SQL.items()}

    # The enrolled people, moved to the (empty) server database with backup and restore.
    home = clone_home(shared.home, tmp_path / "home")
    backup = tmp_path / "enrolled.jsonl.gz"
    assert invoke(home, "db", "backup", backup).exit_code == 0
    restored = CliRunner().invoke(
        cli,
        ["db", "restore", str(backup)],
        env={"ROLLCALL_HOME": str(home), "ROLLCALL_DATABASE_URL": database_url},
    )
    assert restored.exit_code == 0, restored.output

    env = {**os.environ, "ROLLCALL_HOME": str(home), "ROLLCALL_DATABASE_URL": database_url}
    run = subprocess.Popen(
        [*rollcall_command(), "run", "--session", SESSION, "--source", shared.keyframed,
         *map(str, RUN_ARGS)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while (done := head_counts(database_url)) < 10:
        assert run.poll() is None, run.communicate()[1]
        assert time.monotonic() < deadline, "the run committed nothing in 60 s"
        time.sleep(0.05)
    restart = subprocess.run(
        [str(SCRIPT), "restart", server, str(DOWN_FOR)],
        capture_output=True,
        text=True,
        timeout=180,
    )
    assert restart.returncode == 0, restart.stderr
    # Still running: it could not have written its remaining samples with the server down.
    assert run.poll() is None
    _, err = run.communicate(timeout=180)
    assert run.returncode == 0, err
    assert "database unreachable" in err, err  # the recorder really met the restart
    print(f"\n{server} restarted after {done} head counts, down {DOWN_FOR} s; the run retried")

    got = outcome_on(database_url)
    assert got == expected  # nothing lost, nothing counted twice
    assert [h[0] for h in got["head_counts"]] == list(range(len(got["head_counts"])))
    engine = create_engine(database_url, poolclass=NullPool)
    try:
        with engine.connect() as conn:
            assert conn.execute(text("SELECT state FROM sessions")).scalars().all() == ["closed"]
            paths = conn.execute(
                text("SELECT evidence_path FROM attendance WHERE first_seen IS NOT NULL")
            ).scalars()
            for path in paths:
                assert path and (home / path).is_file(), path
    finally:
        engine.dispose()
