"""The Celery application of `rollcall worker`: one task, "analyze this session's frames".

Decisions, each against a known Celery + Redis pitfall:

- Only immediate tasks. Sampling times live in the database and agents capture at them; an ETA
  task would sit in a worker's memory and, past Redis's visibility timeout, run again.
- The frames themselves are in the database, so the broker carries only session ids and losing
  a message (a Redis restart without persistence) loses nothing: each worker sweeps for frames
  nobody took (`sweep`) and queues them again.
- ``acks_late`` and ``reject_on_worker_lost``: a task whose worker dies is delivered again; it
  is idempotent anyway (one transaction per sample, unique (session, seq)).
- Prefetch 1 and the fair scheduler: a long verification never holds other sessions' frames.
- Time limits well under the visibility timeout, so a task is never redelivered while alive.
- The face networks are loaded once per pool process, in ``worker_process_init``.
- A session's first samples go last (``START_PRIORITY``): they name everyone in the gallery,
  about half a second of CPU for 25 faces, while a running session's sample is mostly a head
  count. When hundreds of sessions start on the hour, running sessions' samples are not held
  behind that burst; the new sessions' marks keep their capture times, only later.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from datetime import timedelta
from typing import TYPE_CHECKING

from celery import signals

from rollcall.workers.broker import TASK, TIME_LIMIT, make_celery

if TYPE_CHECKING:
    from rollcall.analysis.pending import Drained
    from rollcall.analysis.sample import Analyzer
    from rollcall.storage.db import Database

log = logging.getLogger(__name__)

SWEEP_EVERY = 10.0  # seconds between looks for frames no task was queued for
SWEEP_AGE = 5.0  # a frame waiting this long without a task is queued again
# An entrance is watched by one task for up to WATCH_FOR seconds (under the time limit), which
# looks for new frames every WATCH_POLL seconds and lets go after WATCH_IDLE without one
# (longer than a track may go unseen, so letting go ends no track early).
WATCH_FOR = TIME_LIMIT - 60
WATCH_POLL = 0.05
WATCH_IDLE = 5.0


app = make_celery(os.environ.get("ROLLCALL_BROKER_URL") or "redis://127.0.0.1:6379/0")

# The pool process's own database and analyzer (models loaded once, at process start).
_process: dict[str, object] = {}


@signals.worker_process_init.connect
def _load_models(**_kwargs: object) -> None:
    _process.update(_start())


def _start() -> dict[str, object]:
    from rollcall.analysis.priority import yield_to_interactive
    from rollcall.analysis.sample import Analyzer
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.vision.engine import EngineOptions, FaceEngine

    settings = Settings.from_env()
    yield_to_interactive(settings.analysis_nice)  # before the networks start their threads
    db = Database(settings)
    threads = settings.threads or 1  # several pool processes share the cores
    engine = FaceEngine(EngineOptions(settings.detector, settings.embedder, threads))
    engine.embedder  # noqa: B018 - load the recognition networks now, not on the first task
    return {"db": db, "analyzer": Analyzer(db, settings, engine)}


@app.task(bind=True, name=TASK, max_retries=None)
def analyze_session(self, session_id: int) -> str:  # noqa: ANN001
    from rollcall.analysis.pending import Drained, drain

    if not _process:  # a solo pool, or tests running the task in this process
        _process.update(_start())
    db, analyzer = _process["db"], _process["analyzer"]
    started = time.monotonic()
    result = drain(db, analyzer, int(session_id), until=started + WATCH_FOR)
    # BUSY too: an upload held the session's row a moment, and this process holds its lease.
    if result in (Drained.DONE, Drained.BUSY) and analyzer.entrance.holds(int(session_id)):  # type: ignore[union-attr]
        result = watch_entrance(db, analyzer, int(session_id), started)
    if result is Drained.BUSY:
        # Another worker holds the session; it may finish before seeing the newest frame.
        raise self.retry(countdown=1)
    return result.value


def watch_entrance(db: Database, analyzer: Analyzer, session_id: int, started: float) -> Drained:
    """Stay with an entrance while its frames come (see analysis.entrance.uploads): take
    each new frame as it arrives, let go after IDLE seconds without one (its open tracks
    end then) or when this task's time, counted from ``started``, is up (another task goes
    on from here)."""
    from rollcall.analysis.entrance.uploads import has_work, release
    from rollcall.analysis.pending import Drained, drain

    def work_waiting() -> bool:
        try:
            return has_work(db, session_id)
        except Exception:  # noqa: BLE001 - the database is restarting: drain() waits it out
            return True

    idle_from = time.monotonic()
    seen = analyzer.entrance.last_seen(session_id)
    while True:
        time.sleep(WATCH_POLL)
        if work_waiting():
            result = drain(db, analyzer, session_id, until=started + WATCH_FOR)
            if result in (Drained.GONE, Drained.HELD):
                return result
        now = time.monotonic()
        latest = analyzer.entrance.last_seen(session_id)
        if latest != seen:
            seen, idle_from = latest, now
        if now - started > WATCH_FOR:
            release(db, analyzer, session_id, idle=False)
            analyze_session.delay(session_id)  # frames keep coming: a next task goes on
            return Drained.DONE
        if now - idle_from > WATCH_IDLE and release(db, analyzer, session_id, idle=True):
            return Drained.DONE


@signals.worker_ready.connect
def _start_sweeper(**_kwargs: object) -> None:
    threading.Thread(target=_sweep_forever, name="rollcall-sweeper", daemon=True).start()


def _sweep_forever() -> None:
    from rollcall.config import Settings
    from rollcall.storage.db import Database

    db = Database(Settings.from_env(), migrate=False)
    while True:
        time.sleep(SWEEP_EVERY)
        try:
            sweep(db)
        except Exception:  # noqa: BLE001 - a database or broker restart: try again later
            log.warning("sweep failed; retrying in %.0f s", SWEEP_EVERY, exc_info=True)


def sweep(db: object) -> int:
    """Queue a task for every session with frames nobody took (lost messages, killed workers)."""
    from rollcall.analysis.pending import sessions_waiting
    from rollcall.storage.models import utcnow

    with db.session() as s:  # type: ignore[attr-defined]
        ids = sessions_waiting(s, older_than=utcnow() - timedelta(seconds=SWEEP_AGE))
    for session_id in ids:
        analyze_session.delay(session_id)
    return len(ids)
