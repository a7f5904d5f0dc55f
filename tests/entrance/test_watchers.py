"""Who watches an entrance: every process is a watcher of its own, forked ones included."""

from __future__ import annotations

import multiprocessing
import time

from rollcall.analysis.entrance.uploads import LEASE, _Doc, this_watcher


def _child_watcher(queue: multiprocessing.Queue) -> None:
    queue.put(this_watcher())


def test_a_forked_pool_process_is_a_watcher_of_its_own() -> None:
    """Celery's pool processes are forked from one parent after rollcall is imported: had the
    watcher's name been fixed at import, two of them would share a lease and both take one
    entrance's frames."""
    context = multiprocessing.get_context("fork")
    queue = context.Queue()
    child = context.Process(target=_child_watcher, args=(queue,))
    child.start()
    child.join(30)
    theirs = queue.get(timeout=5)
    assert theirs != this_watcher()
    now = time.time()
    held = _Doc(watcher=theirs, lease_until=now + LEASE)
    assert held.held_by_other(now)
    assert not held.held_by_other(now + LEASE + 1), "a lease runs out"
    assert not _Doc(watcher=this_watcher(), lease_until=now + LEASE).held_by_other(now)
