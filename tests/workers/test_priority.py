"""Sessions starting on the hour wait behind running ones: a real Redis, a real Celery worker.

`rollcall serve` sends a session's first samples (everyone in the gallery to name) at
START_PRIORITY and the others without a priority; a worker started on a queue holding both
must take every running session's task before any starting one's, each kind in arrival order.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest
from tests.workers.test_cluster import Redis

from rollcall.workers.dispatch import STARTING_SAMPLES, BrokerDispatch, starting
from rollcall.workers.pool import _ask_broker

pytestmark = pytest.mark.skipif(
    shutil.which("redis-server") is None, reason="needs redis-server (apt)"
)


def test_a_sessions_first_samples_are_the_starting_ones() -> None:
    assert [starting(seq) for seq in range(STARTING_SAMPLES + 2)] == [True, True, False, False]


def test_running_sessions_tasks_are_taken_before_starting_ones(tmp_path: Path) -> None:
    redis = Redis(tmp_path / "redis")
    redis.start()
    worker = None
    try:
        dispatch = BrokerDispatch(redis.url)
        sent = [(11, True), (21, False), (12, True), (13, True), (22, False), (23, False)]
        for session_id, first_samples in sent:
            dispatch(session_id, starting=first_samples)
        assert dispatch.flush()
        # The portal's pool panel counts both kinds waiting.
        assert _ask_broker(redis.url) == (0, len(sent))
        log = tmp_path / "order.log"
        root = Path(__file__).resolve().parents[2]
        env = {**os.environ, "ORDER_BROKER_URL": redis.url, "ORDER_LOG": str(log)}
        env["PYTHONPATH"] = os.pathsep.join([str(root), env.get("PYTHONPATH", "")])
        # As `rollcall worker` starts it: prefork, fair, rollcall's queue; one process.
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "tests.workers.order_worker", "worker",
             "--concurrency=1", "--pool=prefork", "-O", "fair", "--queues=rollcall",
             "--loglevel=warning"],
            env=env, cwd=root, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )  # fmt: skip
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            taken = log.read_text().split() if log.exists() else []
            if len(taken) == len(sent) or worker.poll() is not None:
                break
            time.sleep(0.2)
        assert [int(x) for x in taken] == [21, 22, 23, 11, 12, 13]
    finally:
        if worker is not None:
            worker.terminate()
            worker.wait(30)
        redis.stop()
