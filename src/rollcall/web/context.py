"""What every request needs: settings, the database and (lazily) the face engine."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from flask import Flask, current_app
from sqlalchemy.orm import Session

from rollcall.config import Settings
from rollcall.storage.db import Database


@dataclass
class Portal:
    settings: Settings
    db: Database
    _engine: object | None = None
    _lock: threading.Lock = field(default_factory=threading.Lock)

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


def portal() -> Portal:
    return current_app.extensions["rollcall"]


@contextmanager
def db_session() -> Iterator[Session]:
    with portal().db.session() as session:
        yield session
