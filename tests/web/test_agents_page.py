"""The portal's page of capture agents: tokens made and revoked there, live sessions, the pool."""

from __future__ import annotations

import os
import re
from dataclasses import replace

import pytest
from flask import Flask
from tests.web.conftest import Browser
from tests.web.test_agent_api import _bearer, _jpeg, _open, _upload

from rollcall.web import create_app

TOKEN = re.compile(r'id="agent-token">(rca_[^<]+)<')


def test_a_token_made_on_the_page_works_once_shown_and_dies_when_revoked(
    app: Flask, browser, dispatched: list[int]
) -> None:  # noqa: ANN001
    ivy = browser("ivy")
    page = ivy.post("/agents/tokens", {"name": "Room B-204", "course": "Algebra"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    token = TOKEN.search(html).group(1)
    # Shown once: the listing afterwards has the name, never the token.
    listing = ivy.get("/agents/").get_data(as_text=True)
    assert "Room B-204" in listing and token not in listing
    api = app.test_client()
    assert _open(api, token, session="algebra-2", seed=2).status_code == 201
    # The live session shows its agent, connected, with the frame waiting on the server.
    due = api.get("/api/v1/agent/sessions/algebra-2", headers=_bearer(token)).get_json()
    assert _upload(api, token, "algebra-2", 0, due["next"][0]["t"], _jpeg()).status_code == 202
    row = re.search(
        r"algebra-2</a></td>(.*?)</tr>", ivy.get("/agents/").get_data(as_text=True), re.S
    )
    assert row and "Room B-204" in row.group(1) and 'Connected">yes ' in row.group(1)
    assert "1 frame<" in row.group(1)
    # Quiet between two samples (up to --max-interval, 90 s here) is still connected; quiet
    # for longer than that is not.
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from rollcall.storage.models import AttendanceSession
    from rollcall.workers.pool import agent_lines

    with app.extensions["rollcall"].db.session() as s:
        row2 = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-2"))
        connected = {}
        for quiet in (80, 130):
            row2.agent_seen_at = datetime.now(UTC) - timedelta(seconds=quiet)
            (line,) = [x for x in agent_lines(s, [row2]) if x.session == "algebra-2"]
            connected[quiet] = line.connected
        assert row2.max_interval == 90 and connected == {80: True, 130: False}
    token_id = int(re.search(r"/agents/tokens/(\d+)/revoke", html.split("Room B-204")[-1]).group(1))
    with app.extensions["rollcall"].db.session() as s:
        s.scalar(
            select(AttendanceSession).where(AttendanceSession.name == "algebra-2")
        ).agent_seen_at = datetime.now(UTC)
    assert ivy.post(f"/agents/tokens/{token_id}/revoke").status_code == 302
    assert api.get("/api/v1/agent/sessions/algebra-2", headers=_bearer(token)).status_code == 401
    # Its agent is refused from now on: not shown connected, however recently it was seen.
    row = re.search(
        r"algebra-2</a></td>(.*?)</tr>", ivy.get("/agents/").get_data(as_text=True), re.S
    )
    assert row and 'Connected"><mark>no<' in row.group(1), row.group(1) if row else None


def test_an_instructor_may_not_make_a_token_for_another_course(app: Flask, browser) -> None:  # noqa: ANN001
    otto = browser("otto")
    assert otto.post("/agents/tokens", {"name": "sneaky", "course": "Algebra"}).status_code == 400
    assert "sneaky" not in browser("ada").get("/agents/").get_data(as_text=True)


def test_the_pool_says_where_analysis_runs(app: Flask, browser) -> None:  # noqa: ANN001
    html = browser("ada").get("/agents/").get_data(as_text=True)
    assert "in this server (no ROLLCALL_BROKER_URL)" in html


def test_the_pool_with_a_real_broker_and_one_that_is_down(app: Flask) -> None:
    url = os.environ.get("ROLLCALL_TEST_REDIS_URL")
    if not url:
        pytest.skip("ROLLCALL_TEST_REDIS_URL is not set (scripts/ci-databases.sh start)")
    settings = app.extensions["rollcall"].settings
    for broker, expected in ((url, "Celery workers"), ("redis://127.0.0.1:9/0", "unreachable")):
        # The same database (already seeded), another broker setting.
        other = create_app(replace(settings, broker_url=broker), TESTING=True)
        ada = Browser(other.test_client())
        assert ada.login("ada").status_code == 302
        html = ada.get("/agents/").get_data(as_text=True)
        assert expected in html, html[html.find('id="pool"') :][:600]


def test_an_entrance_shows_which_process_watches_it(
    app: Flask, browser, dispatched: list[int]
) -> None:  # noqa: ANN001
    """An entrance is followed by one process at a time: the page names it, and says so when
    frames wait with nobody watching (a worker died and its lease has not run out yet)."""
    import time

    from rollcall.analysis.entrance.uploads import _Doc
    from rollcall.storage.models import SessionState
    from rollcall.storage.sessions import get_session

    ada = browser("ada")
    token = TOKEN.search(
        ada.post("/agents/tokens", {"name": "Door A", "course": ""}).get_data(as_text=True)
    ).group(1)
    api = app.test_client()
    assert _open(api, token, session="door", mode="entrance").status_code == 201
    assert _upload(api, token, "door", 0, 0.0, _jpeg()).status_code == 202

    def door_row() -> str:
        html = ada.get("/agents/").get_data(as_text=True)
        return re.search(r"door</a></td>(.*?)</tr>", html, re.S).group(1)

    assert "entrance: no worker yet" in door_row()
    with app.extensions["rollcall"].db.session() as s:
        door = get_session(s, "door")
        doc = _Doc(frame=0, watcher="worker-3:4242", lease_until=time.time() + 60)
        s.add(SessionState(session_id=door.id, seq=0, state=doc.dump()))
    assert "entrance watched by <code>worker-3:4242</code>" in door_row()
    with app.extensions["rollcall"].db.session() as s:
        state = s.get(SessionState, get_session(s, "door").id)
        state.state = _Doc(frame=0, watcher="worker-3:4242", lease_until=time.time() - 1).dump()
    assert "entrance: no worker yet" in door_row(), "a lease that ran out names nobody"


def test_a_session_started_in_the_portal_is_joined_by_an_agent(app: Flask, browser) -> None:  # noqa: ANN001
    """The instructor starts an entrance session on the course page; an agent with a course
    token joins it (it gets the session's mode, fps and line) and otto may not start one."""
    ivy = browser("ivy")
    form = {"session": "algebra-door", "mode": "entrance", "min_interval": "20",
            "max_interval": "90", "fps": "6", "line": "0,300,1280,300"}  # fmt: skip
    done = ivy.post("/courses/Algebra/sessions", form, follow_redirects=True)
    assert "Session algebra-door started" in done.get_data(as_text=True)
    assert browser("otto").post("/courses/Algebra/sessions", form).status_code == 403
    again = ivy.post("/courses/Algebra/sessions", form, follow_redirects=True)
    assert "exists; pick a new name" in again.get_data(as_text=True)
    token = ivy.post("/agents/tokens", {"name": "Door", "course": "Algebra"})
    value = TOKEN.search(token.get_data(as_text=True)).group(1)
    info = _open(app.test_client(), value, session="algebra-door").get_json()
    assert (info["mode"], info["fps"], info["line"]) == ("entrance", 6.0, "0,300,1280,300")
    # A classroom camera, chosen on the same form; a mode the form never offers is refused.
    room = {**form, "session": "algebra-room", "mode": "classroom"}
    made = ivy.post("/courses/Algebra/sessions", room, follow_redirects=True)
    assert "Session algebra-room started" in made.get_data(as_text=True)
    info = _open(app.test_client(), value, session="algebra-room").get_json()
    assert (info["mode"], info["fps"], info["line"]) == ("classroom", None, None)
    odd = ivy.post("/courses/Algebra/sessions", {**room, "session": "x", "mode": "lecture"},
                   follow_redirects=True)  # fmt: skip
    assert "choose meeting, classroom or entrance" in odd.get_data(as_text=True)


def test_samples_per_minute_is_the_pools_work_now_whenever_the_frames_were_taken(
    app: Flask, browser
) -> None:  # noqa: ANN001
    """A backfill of a recording started two days ago is work done now; a sample written ten
    minutes ago is not, whenever its frame was taken."""
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import select

    from rollcall.storage.models import AttendanceSession, HeadCount
    from rollcall.workers.pool import RATE_WINDOW, samples_per_minute

    ivy = browser("ivy")
    html = ivy.post("/agents/tokens", {"name": "Backfill", "course": "Algebra"}).get_data(
        as_text=True
    )
    token = TOKEN.search(html).group(1)
    api = app.test_client()
    assert _open(api, token, session="algebra-old", seed=3).status_code == 201
    now = datetime.now(UTC)
    with app.extensions["rollcall"].db.session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-old"))
        row.started_at = now - timedelta(days=2)
        before = samples_per_minute(s)
        for seq, written in enumerate(
            (now, now - timedelta(seconds=30), now - timedelta(minutes=10))
        ):
            s.add(HeadCount(session_id=row.id, seq=seq, t=60.0 * seq, count=3, recognized=3,
                            unknown=0, recorded_at=written))  # fmt: skip
        s.flush()
        per_minute = 60 / RATE_WINDOW.total_seconds()
        assert samples_per_minute(s) == pytest.approx(before + 2 * per_minute)


def test_an_agent_whose_owner_lost_the_course_is_not_shown_connected(
    app: Flask, browser, dispatched: list[int]
) -> None:  # noqa: ANN001
    """Its next upload is refused (the owner no longer sees the session): the page said
    "connected" for a minute more (an ops review)."""
    from tests.web.test_agent_api import _agent_token

    token = _agent_token(app, "ivy", "Algebra")
    api = app.test_client()
    assert _open(api, token, session="algebra-2", seed=2).status_code == 201
    due = api.get("/api/v1/agent/sessions/algebra-2", headers=_bearer(token)).get_json()
    assert _upload(api, token, "algebra-2", 0, due["next"][0]["t"], _jpeg()).status_code == 202
    ada = browser("ada")

    def connected() -> str:
        page = ada.get("/agents/").get_data(as_text=True)
        return re.search(r"algebra-2</a></td>.*?Connected\">(.*?)</td>", page, re.S).group(1)

    assert connected().startswith("yes")
    assert (
        ada.post("/courses/Algebra/instructors", {"user": "ivy", "action": "remove"}).status_code
        == 302
    )
    assert _upload(api, token, "algebra-2", 1, due["next"][1]["t"], _jpeg()).status_code == 403
    assert connected().startswith("<mark>no<"), connected()
