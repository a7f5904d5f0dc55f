"""Analysis runs at a lower priority than the portal (ROLLCALL_ANALYSIS_NICE)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from rollcall.config import Settings
from rollcall.errors import RollcallError

# A fresh process: lower its priority, then start the networks' threads, as `rollcall run` and
# each worker process do, and print the nice value of every thread of the process.
PROBE = """
import os, sys
from pathlib import Path
from rollcall.analysis.priority import yield_to_interactive
from rollcall.vision.engine import EngineOptions, FaceEngine
import numpy as np
# Above what this process inherited (a test before may have run `rollcall run` in pytest's own
# process, which lowered its priority): the value asked for must be the value every thread has.
wanted = min(19, os.nice(0) + 3)
yield_to_interactive(wanted)
engine = FaceEngine(EngineOptions(threads=2))
engine.detect(np.zeros((360, 640, 3), np.uint8))
engine.embedder
nices = [int(Path(t, "stat").read_text().rsplit(")", 1)[1].split()[16])
         for t in Path("/proc/self/task").iterdir()]
print(wanted, len(nices), *sorted(set(nices)))
"""


@pytest.mark.skipif(not Path("/proc/self/task").is_dir(), reason="needs Linux /proc")
def test_every_thread_of_the_analysis_runs_at_the_lower_priority() -> None:
    done = subprocess.run(
        [sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    wanted, threads, *nices = map(int, done.stdout.split())
    assert threads > 1 and nices == [wanted]


def test_the_priority_setting_is_checked() -> None:
    assert Settings.from_env({}).analysis_nice == 10
    assert Settings.from_env({"ROLLCALL_ANALYSIS_NICE": "0"}).analysis_nice == 0
    for bad in ("20", "-1", "low"):
        with pytest.raises(RollcallError, match="ROLLCALL_ANALYSIS_NICE"):
            Settings.from_env({"ROLLCALL_ANALYSIS_NICE": bad})
