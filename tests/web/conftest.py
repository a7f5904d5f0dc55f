"""Portal fixtures: a fresh ROLLCALL_HOME and app per test, seeded staff, people and sessions."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import cv2
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient

from rollcall.config import Settings
from rollcall.web import create_app

PASSWORD = "correct horse battery"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture(autouse=True)
def fast_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    """argon2 at its production cost takes ~0.3 s a hash; tests need no such protection."""
    from argon2 import PasswordHasher

    from rollcall.storage import accounts

    monkeypatch.setattr(accounts, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024))


@pytest.fixture
def settings(home: Path) -> Settings:
    return Settings.from_env()


@pytest.fixture
def app(settings: Settings) -> Flask:
    app = create_app(settings, TESTING=True)
    seed(app)
    return app


def closed_session(name: str, started_at: datetime, course_id: int | None = None, **more):  # noqa: ANN003, ANN201
    """A finished session's row (not yet added) with the usual sampling settings."""
    from rollcall.storage.models import AttendanceSession

    settings = dict(source="screen", state="closed", seed=1, min_interval=20, max_interval=90,
                    verify_every=300, leave_after=180)  # fmt: skip
    return AttendanceSession(
        name=name, course_id=course_id, started_at=started_at, **{**settings, **more}
    )


def _jpeg(path: Path, shade: int) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    cv2.imwrite(str(path), np.full((48, 48, 3), shade, np.uint8))


def seed(app: Flask) -> None:
    """Admin ada; instructor ivy owns Algebra; instructor otto owns History (no sessions)."""
    from rollcall.storage.accounts import create_user, set_instructor
    from rollcall.storage.models import (
        AttendanceRecord,
        AttendanceSession,
        HeadCount,
        OutboxMessage,
        Person,
        Sighting,
        UnknownFace,
    )
    from rollcall.storage.sessions import upsert_course

    portal = app.extensions["rollcall"]
    home = portal.settings.home
    with portal.db.session() as s:
        ada = create_user(s, "ada", PASSWORD, "admin")
        ivy = create_user(s, "ivy", PASSWORD, "instructor")
        otto = create_user(s, "otto", PASSWORD, "instructor")
        assert ada.id
        alice, bob = Person(name="Alice"), Person(name="Bob")
        s.add_all([alice, bob])
        s.flush()
        algebra = upsert_course(s, "Algebra", ["Alice", "Bob"])
        history = upsert_course(s, "History", ["Bob"])
        set_instructor(s, algebra, ivy, True)
        set_instructor(s, history, otto, True)

        def session(name: str, course_id: int | None) -> AttendanceSession:
            row = closed_session(
                name,
                datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                course_id,
                source="lecture.mp4",
                processed_until=600,
                duration=600,
            )
            s.add(row)
            s.flush()
            return row

        lecture = session("algebra-1", algebra.id)
        staff = session("staff-meeting", None)
        evidence = f"evidence/session-{lecture.id}/{alice.id}-1.jpg"
        _jpeg(home / evidence, 120)
        s.add_all(
            [
                AttendanceRecord(
                    session_id=lecture.id,
                    person_id=alice.id,
                    status="present",
                    first_seen=30.0,
                    last_seen=590.0,
                    confidence=0.71,
                    evidence_path=evidence,
                    evidence_t=30.0,
                ),
                AttendanceRecord(session_id=lecture.id, person_id=bob.id, status="absent"),
                AttendanceRecord(session_id=staff.id, person_id=bob.id, status="absent"),
            ]
        )
        for seq, (t, n, verified) in enumerate([(30, 1, True), (90, 2, True), (200, 2, False)]):
            s.add(
                HeadCount(
                    session_id=lecture.id,
                    seq=seq,
                    t=t,
                    count=n,
                    recognized=1,
                    unknown=n - 1,
                    verified=verified,
                )
            )
            # Alice's face was named in each sample.
            s.add(
                Sighting(
                    session_id=lecture.id,
                    seq=seq,
                    t=t,
                    person_id=alice.id,
                    x=10,
                    y=10,
                    w=40,
                    h=40,
                    similarity=0.7,
                    fresh=verified,
                )
            )
        # Ivy's capture agent in Algebra's room (agent token 1).
        from rollcall.storage.agents import create_agent_token

        create_agent_token(s, ivy, "Room A-101", algebra)
        crop = f"evidence/session-{lecture.id}/unknown-1-0.jpg"
        _jpeg(home / crop, 60)
        s.add(
            UnknownFace(
                session_id=lecture.id, t=90.0, crop_path=crop, best_similarity=0.2, review="pending"
            )
        )
        # A picture on the classroom's wall the camera saw (session event 1, with its crop).
        from rollcall.storage.models import SessionEvent

        wall = f"evidence/session-{lecture.id}/event-5-0.jpg"
        _jpeg(home / wall, 90)
        s.add(SessionEvent(session_id=lecture.id, t=150.0, kind="pictures", crop_path=wall,
                           detail="1 face(s) unmoved from sample to sample"))  # fmt: skip
        # A kiosk screen for algebra-1, made by ivy (kiosk token 1).
        from rollcall.storage.kiosks import KioskTarget, create_kiosk_token

        _, app.config["SEED_KIOSK_TOKEN"] = create_kiosk_token(s, ivy, KioskTarget(session=lecture))
        # An alert about Algebra that could not be sent (outbox message 1).
        s.add(
            OutboxMessage(
                kind="session",
                dedupe=f"session:{lecture.id}:ivy@school.example",
                course_name="Algebra",
                session_name="algebra-1",
                recipient="ivy@school.example",
                subject="[rollcall] Algebra 2026-03-02 09:00: 1 absent, 0 late",
                body="Absent: Bob\n",
                state="failed",
                attempts=1,
                last_error="ConnectionRefusedError: [Errno 111] Connection refused",
            )
        )


@dataclass
class Browser:
    """A test client that logs in and sends the CSRF token with its forms, like a browser would."""

    client: FlaskClient
    token: str = ""

    def login(self, name: str, password: str = PASSWORD):  # noqa: ANN201
        page = self.client.get("/login").get_data(as_text=True)
        token = _CSRF.search(page).group(1)
        response = self.client.post(
            "/login", data={"name": name, "password": password, "csrf_token": token}
        )
        if response.status_code == 302:
            page = self.client.get("/", follow_redirects=True)  # maybe to choose a password
            self.token = _CSRF.search(page.get_data(as_text=True)).group(1)
        return response

    def get(self, url: str, **kwargs):  # noqa: ANN003, ANN201
        return self.client.get(url, **kwargs)

    def post(self, url: str, data: dict | None = None, **kwargs):  # noqa: ANN003, ANN201
        return self.client.post(url, data={"csrf_token": self.token, **(data or {})}, **kwargs)


@pytest.fixture
def client(app: Flask) -> FlaskClient:
    return app.test_client()


@pytest.fixture
def browser(app: Flask):  # noqa: ANN201
    """Returns a function: browser("ivy") is a client logged in as ivy."""

    def make(name: str | None = None) -> Browser:
        b = Browser(app.test_client())
        if name:
            assert b.login(name).status_code == 302
        return b

    return make


class Dispatched(list):
    """The session ids handed on for analysis, and beside them whether as start-up samples."""

    def __init__(self) -> None:
        super().__init__()
        self.starting: list[bool] = []

    def __call__(self, session_id: int, starting: bool = False) -> None:
        self.append(session_id)
        self.starting.append(starting)


@pytest.fixture
def dispatched(app: Flask) -> Dispatched:
    calls = Dispatched()
    app.extensions["rollcall"]._dispatch = calls
    return calls
