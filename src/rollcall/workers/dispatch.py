"""How `rollcall serve` hands an uploaded frame on: to the Celery workers, or to itself.

With ROLLCALL_BROKER_URL set, a task naming the session goes to the broker (the frame is in the
database already; if the broker is down the workers' sweep finds it later). Without one, small
installs analyze in the server process: one background thread drains sessions in turn.

Either way a session's first samples (``starting``: they name everyone in the gallery, the
costliest samples there are) wait behind the samples of sessions already running.
"""

from __future__ import annotations

import itertools
import logging
import queue
import threading
import time
from collections.abc import Callable
from typing import Protocol

from rollcall.config import Settings
from rollcall.storage.db import Database

log = logging.getLogger(__name__)
SWEEP_EVERY = 10.0  # seconds without work after which waiting frames are looked for
# A meeting's samples 0 and 1 identify everyone: the first names clear matches, the second
# confirms the weak ones (MonitorConfig.confirm_votes).
STARTING_SAMPLES = 2


def starting(seq: int) -> bool:
    """Whether a meeting's sample ``seq`` is one of its start-up samples."""
    return seq < STARTING_SAMPLES


class Dispatch(Protocol):
    def __call__(self, session_id: int, starting: bool = False) -> None: ...


# After a send to the broker failed, none is tried for this long (seconds): the frames wait
# in the database, and the workers' sweep queues them once the broker is back.
BROKER_DOWN_FOR = 10.0


class BrokerDispatch:
    """Tasks go to the broker from a thread of their own, so an upload is answered at once:
    with Redis down (restarted, in maintenance) its client took about 6 s to give up, longer
    than a live agent waits for an answer to a frame the server had already stored, and each
    waiting request held one of the server's threads. A session already waiting to be sent is
    not queued twice (one task drains all its frames); a send that fails is dropped, for the
    sweep to cover."""

    def __init__(self, broker_url: str) -> None:
        from rollcall.workers.broker import START_PRIORITY, TASK, make_celery

        self._app = make_celery(broker_url)
        self._app.conf.broker_connection_timeout = 2.0
        self._task = TASK
        self._start_priority = START_PRIORITY
        self._waiting: dict[int, bool] = {}  # session id -> only starting samples, in arrival
        self._sending = 0
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._down_until = 0.0

    def __call__(self, session_id: int, starting: bool = False) -> None:
        with self._changed:
            # A running sample's task outranks a starting one's: the session is running.
            self._waiting[session_id] = self._waiting.get(session_id, True) and starting
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="rollcall-broker", daemon=True
                )
                self._thread.start()
            self._changed.notify_all()

    def flush(self, timeout: float = 30.0) -> bool:
        """Wait until every task handed over has been sent (or dropped); False on timeout."""
        deadline = time.monotonic() + timeout
        with self._changed:
            while self._waiting or self._sending:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._changed.wait(left)
        return True

    def _run(self) -> None:
        while True:
            with self._changed:
                while not self._waiting:
                    self._changed.wait()
                session_id = next(iter(self._waiting))
                first_samples = self._waiting.pop(session_id)
                self._sending += 1
            try:
                self._send(session_id, first_samples)
            finally:
                with self._changed:
                    self._sending -= 1
                    self._changed.notify_all()

    def _send(self, session_id: int, first_samples: bool) -> None:
        if time.monotonic() < self._down_until:
            return  # the broker was down a moment ago: the sweep finds this session's frames
        priority = self._start_priority if first_samples else None
        try:
            self._app.send_task(self._task, args=[session_id], retry=False, priority=priority)
        except Exception:  # noqa: BLE001 - the broker is down: the frame waits in the database
            self._down_until = time.monotonic() + BROKER_DOWN_FOR
            log.warning(
                "broker unreachable; session %s waits for the sweep (no send for %.0f s)",
                session_id,
                BROKER_DOWN_FOR,
            )


class LocalDispatch:
    """One thread in this process analyzes every session's frames, in the order they come
    (running sessions' before starting ones')."""

    def __init__(self, db: Database, settings: Settings, engine: Callable[[], object]) -> None:
        self._db = db
        self._settings = settings
        self._engine = engine
        # (0 running / 1 starting, arrival, session id)
        self._queue: queue.PriorityQueue[tuple[int, int, int]] = queue.PriorityQueue()
        self._arrival = itertools.count()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    def __call__(self, session_id: int, starting: bool = False) -> None:
        with self._lock:
            if self._thread is None:
                self._thread = threading.Thread(
                    target=self._run, name="rollcall-analysis", daemon=True
                )
                self._thread.start()
        self._put(session_id, starting)

    def _put(self, session_id: int, starting: bool = False) -> None:
        self._queue.put((int(starting), next(self._arrival), session_id))

    def _run(self) -> None:
        from rollcall.analysis.pending import Drained, drain, sessions_waiting
        from rollcall.analysis.priority import yield_this_thread
        from rollcall.analysis.sample import Analyzer

        if self._db.engine.dialect.name != "sqlite":
            # The portal's requests come first. Not on SQLite: a drain holds its one write
            # lock while it judges, and a niced holder would keep the portal's writes waiting.
            yield_this_thread(self._settings.analysis_nice)
        analyzer = Analyzer(self._db, self._settings, self._engine())  # type: ignore[arg-type]
        # Load the recognition networks now: loaded on the first face, inside a frame's write
        # transaction, they held uploads (and the portal's writes, on SQLite) back ~1.5 s.
        analyzer.engine.embedder  # noqa: B018
        while True:
            try:
                _, _, session_id = self._queue.get(timeout=SWEEP_EVERY)
            except queue.Empty:
                # Frames left from before a restart, or sessions whose agent asked to close.
                try:
                    with self._db.session() as s:
                        for waiting in sessions_waiting(s):
                            self._put(waiting)
                except Exception:  # noqa: BLE001 - the database is restarting: later
                    log.warning("sweep failed; retrying", exc_info=True)
                continue
            try:
                result = drain(self._db, analyzer, session_id)
                if result is Drained.BUSY:
                    time.sleep(1.0)
                    self._put(session_id)
                elif result is Drained.HELD:
                    # An entrance another process watched (this server's previous life, or a
                    # worker): look again once its lease may have run out.
                    threading.Timer(1.0, self._put, [session_id]).start()
            except Exception:  # noqa: BLE001 - keep serving the other sessions
                log.exception("analysis of session %s failed; its frames wait", session_id)


def make_dispatch(db: Database, settings: Settings, engine: Callable[[], object]) -> Dispatch:
    if settings.broker_url:
        return BrokerDispatch(settings.broker_url)
    return LocalDispatch(db, settings, engine)
