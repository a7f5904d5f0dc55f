"""Shared fixtures: a fresh ROLLCALL_HOME per test, a CLI runner, and the real face data."""

from __future__ import annotations

import os
import shutil
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner

FACES_DEFAULT = Path(__file__).resolve().parents[2] / "shared" / "data" / "faces"


def faces_root() -> Path:
    return Path(os.environ.get("ROLLCALL_FACES", FACES_DEFAULT))


@pytest.fixture(scope="session")
def faces() -> Path:
    """The real face photos (../shared/data/faces or $ROLLCALL_FACES); skip when absent."""
    root = faces_root()
    if not (root / "identities" / "photos").is_dir():
        pytest.skip(
            f"real face data not found at {root}: "
            "set ROLLCALL_FACES to the shared/data/faces folder"
        )
    return root


@pytest.fixture
def home(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """An empty ROLLCALL_HOME with the embedded SQLite database."""
    path = tmp_path / "home"
    monkeypatch.setenv("ROLLCALL_HOME", str(path))
    monkeypatch.delenv("ROLLCALL_DATABASE_URL", raising=False)
    return path


@pytest.fixture
def cli(home: Path):
    """Run `rollcall ...` in-process; returns a function taking the arguments."""
    from rollcall.cli import cli as group

    runner = CliRunner()

    def run(*args: str, input: str | None = None):
        return runner.invoke(group, [str(a) for a in args], input=input, catch_exceptions=False)

    return run


@pytest.fixture
def dev_tool() -> Callable[[str], str]:
    """The path of a dev-extra command (bandit, ruff): the venv's own first; skip when absent."""

    def find(name: str) -> str:
        here = str(Path(sys.executable).parent)
        exe = shutil.which(name, path=here) or shutil.which(name)
        if exe is None:
            pytest.skip(f"{name} is not installed (pip install -e '.[dev]')")
        return exe

    return find


@pytest.fixture
def smtp_server(tmp_path: Path):  # noqa: ANN201
    """A real local SMTP server (aiosmtpd, STARTTLS + AUTH); .received holds the messages."""
    pytest.importorskip("aiosmtpd", reason="pip install -e '.[dev]' (aiosmtpd)")
    from tests.smtp_server import start

    server, controller = start(tmp_path)
    try:
        yield server
    finally:
        controller.stop()
