"""Analysis yields the CPU to interactive work on a machine it shares.

A sample's analysis is a burst of a second or so of CPU that may wait: its marks keep the
frame's capture time, however late they are recorded. The portal's pages, and on an
instructor's computer the meeting app itself, may not wait. So `rollcall run` and the worker
processes lower their own scheduling priority (nice) before loading the networks.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

log = logging.getLogger(__name__)


def yield_to_interactive(nice: int) -> int:
    """Raise the nice value of this process's threads to ``nice`` (0: leave it) and return
    the calling thread's. Never lowers one: an administrator may have set it higher.

    On Linux a nice value belongs to each thread: the threads started later (the networks'
    pools) inherit the caller's, but those already running (numpy's BLAS pool, started when
    numpy is imported) are raised one by one."""
    if not hasattr(os, "nice"):
        return 0
    if nice <= 0:
        return os.nice(0)
    tasks = Path("/proc/self/task")
    threads = [int(t.name) for t in tasks.iterdir()] if tasks.is_dir() else [0]
    for tid in threads:
        try:
            if os.getpriority(os.PRIO_PROCESS, tid) < nice:
                os.setpriority(os.PRIO_PROCESS, tid, nice)
        except OSError as exc:  # a thread that ended, or a container that refuses it
            log.debug("could not lower thread %s's priority: %s", tid, exc)
    return os.nice(0)


def yield_this_thread(nice: int) -> None:
    """Raise only the calling thread's nice value (the portal's own analysis thread, when no
    broker is configured: the portal's request threads keep theirs)."""
    if nice <= 0 or not hasattr(os, "setpriority"):
        return
    tid = threading.get_native_id()
    try:
        if os.getpriority(os.PRIO_PROCESS, tid) < nice:
            os.setpriority(os.PRIO_PROCESS, tid, nice)
    except OSError as exc:
        log.debug("could not lower the analysis thread's priority: %s", exc)
