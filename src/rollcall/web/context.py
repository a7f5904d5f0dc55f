"""What every request needs: settings, the database and (lazily) the face engine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from flask import Flask, current_app
from sqlalchemy.orm import Session

from rollcall.config import Settings
from rollcall.storage.db import Database

if TYPE_CHECKING:
    from rollcall.workers.dispatch import Dispatch


@dataclass
class Portal:
    settings: Settings
    db: Database
    _engine: object | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)
    _dispatch: Dispatch | None = None

    @classmethod
    def init_app(cls, app: Flask, settings: Settings) -> Portal:
        portal = cls(settings, Database(settings))
        app.extensions["rollcall"] = portal
        return portal

    @property
    def engine(self):  # noqa: ANN201
        """The face engine, loaded on first use (enrollment) and then shared by every thread."""
        with self._lock:
            if self._engine is None:
                from rollcall.vision.engine import EngineOptions, FaceEngine

                s = self.settings
                self._engine = FaceEngine(EngineOptions(s.detector, s.embedder, s.threads))
            return self._engine

    def dispatch(self, session_id: int, starting: bool = False) -> None:
        """Have a session's uploaded frames analyzed: by the workers (ROLLCALL_BROKER_URL) or,
        without a broker, by this process; ``starting`` frames after running sessions'."""
        with self._lock:
            if self._dispatch is None:
                from rollcall.workers.dispatch import make_dispatch

                self._dispatch = make_dispatch(self.db, self.settings, lambda: self.engine)
        self._dispatch(session_id, starting)


def portal() -> Portal:
    return current_app.extensions["rollcall"]


@contextmanager
def db_session() -> Iterator[Session]:
    with portal().db.session() as session:
        yield session
