"""Which `rollcall run` process is taking a session: one at a time.

Two runs of one session (a second `run --resume` typed while the first still runs, in another
terminal or on another machine) would each read the source and judge every sample twice, and
the one that stops first would mark the session interrupted under the other. So a run holds a
lease on its session (sessions.run_by, run_until): taken when the run starts, renewed by a
heartbeat while it runs, given up when it stops. A killed run cannot give it up: its lease runs
out after LEASE seconds, or at once when the process is gone from this very machine.
"""

from __future__ import annotations

import logging
import os
import socket
import threading
import time

from sqlalchemy import update

from rollcall.errors import RollcallError
from rollcall.storage.db import Database
from rollcall.storage.models import AttendanceSession

log = logging.getLogger(__name__)

LEASE = 90.0  # seconds a lease holds without being renewed
BEAT = 20.0  # how often a running run renews it (a few missed beats are survived)


def holder() -> str:
    """This process, as a lease names it: "host:pid"."""
    return f"{socket.gethostname()}:{os.getpid()}"


def _alive_here(holder_name: str) -> bool | None:
    """Whether the holder's process lives, when it is on this machine (None: elsewhere)."""
    host, _, pid = holder_name.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    try:
        os.kill(int(pid), 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process with that pid: alive
    return True


def held(row: AttendanceSession, now: float) -> bool:
    """Whether the session's lease holds: not run out, and its holder not known dead."""
    return (
        bool(row.run_by)
        and row.run_until is not None
        and row.run_until > now
        and _alive_here(row.run_by) is not False
    )


def take(row: AttendanceSession, now: float | None = None) -> None:
    """Take the session's lease for this process, inside the caller's transaction; refused
    with a one-line error while another live run holds it."""
    now = time.time() if now is None else now
    me = holder()
    other = row.run_by
    if other and other != me and held(row, now):
        host, _, pid = other.rpartition(":")
        raise RollcallError(
            f"session {row.name!r} is being taken by another run (process {pid} on "
            f"{host}, heard from {max(0.0, now - (row.run_until - LEASE)):.0f} s ago): "
            f"stop that one first; if it was killed, resume in "
            f"{row.run_until - now:.0f} s, when its lease runs out"
        )
    row.run_by, row.run_until = me, now + LEASE


class Heartbeat:
    """Renews this process's lease on a session every BEAT seconds until stopped, then gives
    it up. A database that is briefly unreachable only costs a beat."""

    def __init__(self, db: Database, session_id: int) -> None:
        self.db = db
        self.session_id = session_id
        self.me = holder()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._beat, name="run-lease", daemon=True)

    def __enter__(self) -> Heartbeat:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self._write(None)

    def _beat(self) -> None:
        while not self._stop.wait(BEAT):
            self._write(time.time() + LEASE)

    def _write(self, until: float | None) -> None:
        """Renew (until) or give up (None) the lease, if this process still holds it."""
        try:
            with self.db.session() as s:
                s.execute(
                    update(AttendanceSession)
                    .where(
                        AttendanceSession.id == self.session_id,
                        AttendanceSession.run_by == self.me,
                    )
                    .values(
                        run_until=until,
                        run_by=self.me if until is not None else None,
                    )
                )
        except Exception as exc:  # noqa: BLE001 - a beat must never stop the run
            log.warning("session %s: the run's lease was not renewed: %s", self.session_id, exc)


def stalled(row: AttendanceSession, now: float | None = None) -> bool:
    """A running session whose `rollcall run` stopped answering (killed, its machine down):
    it stays "running" until resumed or closed. Sessions a server's capture agents feed have
    no run, and are never stalled by this measure."""
    if row.state != "running" or not row.run_by:
        return False
    return not held(row, time.time() if now is None else now)


def state_shown(row: AttendanceSession, now: float | None = None) -> str:
    """A session's state as `sessions list` shows it: a running session says which run takes
    it, or that its run stopped answering (killed: resume it)."""
    if row.state != "running" or not row.run_by:
        return row.state
    if stalled(row, now):
        return "running, but its run stopped answering: resume it"
    host, _, pid = row.run_by.rpartition(":")
    return f"running (process {pid} on {host})"
