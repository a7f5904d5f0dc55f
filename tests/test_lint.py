"""ruff over the project: the style rules in pyproject.toml hold for every file we ship or run."""

from __future__ import annotations

import subprocess  # nosec B404 - runs ruff, a fixed command with no shell
from collections.abc import Callable
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
FOLDERS = [str(ROOT / name) for name in ("src", "tests", "bench")]


@pytest.mark.parametrize("command", [["check"], ["format", "--check"]], ids=["check", "format"])
def test_ruff_is_clean(command: list[str], dev_tool: Callable[[str], str]) -> None:
    run = subprocess.run(  # nosec B603 - fixed arguments, no shell
        [dev_tool("ruff"), *command, *FOLDERS],
        capture_output=True,
        text=True,
        cwd=ROOT,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
