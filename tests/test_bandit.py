"""bandit over src/: every finding is fixed or explained inline with `# nosec BXXX - reason`."""

from __future__ import annotations

import json
import re
import subprocess  # nosec B404 - runs bandit, a fixed command with no shell
from collections.abc import Callable
from pathlib import Path

SRC = Path(__file__).resolve().parents[1] / "src"
# A suppression must name the check and say why: `# nosec B311 - seeded synthetic data`.
EXPLAINED = re.compile(r"#\s*nosec\s+B\d{3}(?:\s*,\s*B\d{3})*\s+-\s+\S.{8,}")


def test_bandit_finds_nothing_unexplained(dev_tool: Callable[[str], str]) -> None:
    run = subprocess.run(  # nosec B603 - fixed arguments, no shell
        [dev_tool("bandit"), "-r", str(SRC), "-f", "json", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    report = json.loads(run.stdout)
    assert not report["errors"], report["errors"]
    findings = [
        f"{r['filename']}:{r['line_number']}: {r['test_id']} {r['issue_text']}"
        for r in report["results"]
    ]
    assert not findings, "fix these, or explain each with `# nosec BXXX - reason`:\n" + "\n".join(
        findings
    )
    skipped = report["metrics"]["_totals"]["skipped_tests"]
    print(f"\nbandit: 0 findings, {skipped} explained by # nosec")


def test_every_nosec_names_its_check_and_a_reason() -> None:
    """A bare `# nosec` would silence every check on the line, and say nothing to the reader."""
    bare = []
    for path in sorted(SRC.rglob("*.py")):
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if "nosec" in line and not EXPLAINED.search(line):
                bare.append(f"{path.relative_to(SRC)}:{n}: {line.strip()}")
    assert not bare, "\n".join(bare)
