"""The kiosk screen at the door: its token, its scope, its lines and its event stream."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import pytest
from flask import Flask
from sqlalchemy import select

from rollcall.storage.accounts import get_user
from rollcall.storage.kiosks import KioskTarget, create_kiosk_token, find_target
from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    Course,
    KioskToken,
    Person,
    SessionEvent,
    Sighting,
    UnknownFace,
)

KIOSK = "/kiosk/algebra-1"


def _db(app: Flask):  # noqa: ANN202
    return app.extensions["rollcall"].db


def _kiosk_client(app: Flask, token: str | None = None, url: str = KIOSK):  # noqa: ANN202
    client = app.test_client()
    response = client.get(f"{url}?token={token or app.config['SEED_KIOSK_TOKEN']}")
    assert response.status_code == 302, response.status_code
    return client


def _events(app: Flask, client, url: str = KIOSK) -> list[str]:  # noqa: ANN001
    """The stream's events, one look at the session (KIOSK_STREAM_SECONDS = 0)."""
    app.config["KIOSK_STREAM_SECONDS"] = 0
    response = client.get(f"{url}/stream")
    assert response.status_code == 200
    assert response.mimetype == "text/event-stream"
    return response.get_data(as_text=True).split("\n\n")


def _lines(app: Flask, client, url: str = KIOSK) -> list[dict]:  # noqa: ANN001
    data = [e for e in _events(app, client, url) if e.startswith("data: ")]
    assert len(data) == 1
    return json.loads(data[0].removeprefix("data: "))


def _live(app: Flask, zone: str | None = "Asia/Tokyo", minutes_ago: float = 10) -> datetime:
    """algebra-1 running since `minutes_ago`; returns its start (UTC)."""
    start = datetime.now(UTC) - timedelta(minutes=minutes_ago)
    with _db(app).session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-1"))
        row.started_at, row.state = start, "running"
        s.get(Course, row.course_id).timezone = zone
    return start


def test_the_token_moves_from_the_address_into_a_kiosk_cookie(app: Flask) -> None:
    client = app.test_client()
    assert client.get(KIOSK).status_code == 401  # no token: not shown
    response = client.get(f"{KIOSK}?token={app.config['SEED_KIOSK_TOKEN']}")
    assert response.status_code == 302
    assert response.headers["Location"] == KIOSK  # the clean address: no token in the history
    cookie = response.headers["Set-Cookie"]
    assert cookie.startswith("rollcall_kiosk=rck_")
    assert "Path=/kiosk" in cookie and "HttpOnly" in cookie and "SameSite=Strict" in cookie
    page = client.get(KIOSK)
    assert page.status_code == 200
    assert 'data-stream="/kiosk/algebra-1/stream"' in page.get_data(as_text=True)
    assert page.headers["Cache-Control"] == "no-store"
    # A wrong token in the address is refused, and does not replace the good cookie.
    assert client.get(f"{KIOSK}?token=rck_forged").status_code == 401
    assert client.get(KIOSK).status_code == 200


def test_a_kiosk_shows_only_its_session_or_its_courses(app: Flask) -> None:
    client = _kiosk_client(app)
    assert client.get("/kiosk/staff-meeting").status_code == 403  # no course: not its session
    assert client.get("/kiosk/no-such-session").status_code == 404
    with _db(app).session() as s:
        ivy = get_user(s, "ivy")
        _, course_token = create_kiosk_token(s, ivy, find_target(s, "course:Algebra"))
        # ivy does not own the staff meeting's sessions: no kiosk for them.
        with pytest.raises(Exception, match="may not show"):
            create_kiosk_token(s, ivy, find_target(s, "staff-meeting"))
    course_kiosk = _kiosk_client(app, course_token)
    assert course_kiosk.get(KIOSK).status_code == 200
    assert course_kiosk.get("/kiosk/staff-meeting?token=" + course_token).status_code == 403
    # A course's screen opened before the camera's session exists waits for it, reloading
    # (an entrance operator's review: a 404 with a link to the staff dashboard, for good).
    early = course_kiosk.get("/kiosk/algebra-9")
    page = early.get_data(as_text=True)
    assert early.status_code == 200 and "Waiting for the session to start" in page
    assert '<meta http-equiv="refresh" content="10">' in page and "dashboard" not in page
    assert course_kiosk.get("/kiosk/algebra-9/stream").status_code == 404  # nothing to stream


def test_revoking_or_disabling_the_maker_stops_the_kiosk(app: Flask) -> None:
    client = _kiosk_client(app)
    with _db(app).session() as s:
        s.get(KioskToken, 1).revoked_at = datetime.now(UTC)
    assert client.get(KIOSK).status_code == 401
    with _db(app).session() as s:
        ivy = get_user(s, "ivy")
        _, token = create_kiosk_token(s, ivy, KioskTarget(session=s.get(AttendanceSession, 1)))
    client = _kiosk_client(app, token)
    with _db(app).session() as s:
        get_user(s, "ivy").active = False
    assert client.get(KIOSK).status_code == 401


def test_kiosk_links_of_an_instructor_taken_off_the_course_stop_working(app: Flask) -> None:
    """As their agent tokens: the course's link and the session's, page and stream alike."""
    from rollcall.storage.accounts import set_instructor
    from rollcall.storage.sessions import require_course

    with _db(app).session() as s:
        ivy = get_user(s, "ivy")
        _, course_token = create_kiosk_token(s, ivy, find_target(s, "course:Algebra"))
        _, session_token = create_kiosk_token(
            s, ivy, KioskTarget(session=s.get(AttendanceSession, 1))
        )
    clients = [_kiosk_client(app, course_token), _kiosk_client(app, session_token)]
    assert all(c.get(KIOSK).status_code == 200 for c in clients)
    app.config["KIOSK_STREAM_SECONDS"] = 30
    streaming = clients[0].get(f"{KIOSK}/stream", buffered=False)
    chunks = (c.decode() for c in streaming.response)
    assert next(chunks).startswith("retry: 1000")
    assert next(chunks) == "data: []\n\n"
    with _db(app).session() as s:
        set_instructor(s, require_course(s, "Algebra"), get_user(s, "ivy"), False)
    # A screen already streaming is told at its next update; the page is refused from now on.
    assert next(chunks) == "event: revoked\ndata: {}\n\n"
    streaming.close()
    assert [c.get(KIOSK).status_code for c in clients] == [403, 403]


def test_the_last_minute_at_the_door(app: Flask) -> None:
    """A new mark, a repeat of an earlier mark and an unknown face, in the course's zone."""
    start = _live(app, "Asia/Tokyo")
    now_t = (datetime.now(UTC) - start).total_seconds()
    home = app.extensions["rollcall"].settings.home
    with _db(app).session() as s:
        alice = s.scalar(select(Person).where(Person.name == "Alice"))
        bob = s.scalar(select(Person).where(Person.name == "Bob"))
        # Alice was marked 5 minutes ago (her seeded mark) and walks past again now.
        alice_mark = s.scalar(
            select(AttendanceRecord).where(AttendanceRecord.person_id == alice.id)
        )
        alice_mark.first_seen, alice_mark.marked_at = now_t - 300, start
        s.add(Sighting(session_id=1, seq=9, t=now_t - 2, person_id=alice.id, x=0, y=0, w=40, h=40))
        # Bob was marked just now.
        bob_mark = s.scalar(
            select(AttendanceRecord).where(
                AttendanceRecord.person_id == bob.id, AttendanceRecord.session_id == 1
            )
        )
        bob_mark.status, bob_mark.first_seen = "present", now_t - 1
        bob_mark.marked_at = datetime.now(UTC)
        bob_mark.evidence_path = alice_mark.evidence_path
        # A stranger a few seconds ago; the seeded unknown face is from long before.
        s.add(
            UnknownFace(
                session_id=1, t=now_t - 5, crop_path=alice_mark.evidence_path, best_similarity=0.1
            )
        )
        bob_id, alice_id = bob_mark.id, alice_mark.id
    lines = _lines(app, _kiosk_client(app))
    assert [line["kind"] for line in lines] == ["marked", "again", "unknown"]  # newest first
    tokyo = timedelta(hours=9)
    hhmm = [f"{(start + tokyo + timedelta(seconds=t)):%H:%M}" for t in (now_t - 300, now_t - 1)]
    marked, again, unknown = lines
    assert (again["name"], again["at"]) == ("Alice", hhmm[0])  # "already marked at" her mark
    assert (marked["name"], marked["at"]) == ("Bob", hhmm[1])
    assert unknown["name"] == ""
    assert marked["crop"] == f"{KIOSK}/crop/mark/{bob_id}"
    # Nothing else about anyone goes to the screen.
    assert set(marked) == {"key", "kind", "name", "at", "crop", "when"}
    client = _kiosk_client(app)
    for line in lines:
        response = client.get(line["crop"])
        assert response.status_code == 200 and response.mimetype == "image/jpeg"
        assert response.headers["Cache-Control"] == "private, no-store"
    # The seeded unknown face (long ago) is not on screen: its crop is not served here.
    assert client.get(f"{KIOSK}/crop/unknown/1").status_code == 404
    assert client.get(f"{KIOSK}/crop/mark/{alice_id + 100}").status_code == 404
    assert (home / alice_mark.evidence_path).is_file()


def test_a_face_judged_long_after_it_appeared_still_reaches_the_screen(app: Flask) -> None:
    """Someone who lingered at the door for three minutes: their track is judged, and their
    face written, only when they leave. The screen shows it then, with the time they were
    seen; a face written two minutes ago has had its minute."""
    start = _live(app)
    now_t = (datetime.now(UTC) - start).total_seconds()
    with _db(app).session() as s:
        crop = s.scalar(select(AttendanceRecord).where(AttendanceRecord.id == 1)).evidence_path
        lingered = UnknownFace(
            session_id=1,
            t=now_t - 180,
            crop_path=crop,
            best_similarity=0.1,
            recorded_at=datetime.now(UTC) - timedelta(seconds=2),
        )
        earlier = UnknownFace(
            session_id=1,
            t=now_t - 180,
            crop_path=crop,
            best_similarity=0.1,
            recorded_at=datetime.now(UTC) - timedelta(seconds=120),
        )
        s.add_all([lingered, earlier])
        s.flush()
        lingered_id, earlier_id = lingered.id, earlier.id
    client = _kiosk_client(app)
    lines = [line for line in _lines(app, client) if line["kind"] == "unknown"]
    assert [line["crop"] for line in lines] == [f"{KIOSK}/crop/unknown/{lingered_id}"]
    seen = start + timedelta(hours=9, seconds=now_t - 180)  # Asia/Tokyo
    assert lines[0]["at"] == f"{seen:%H:%M}"
    assert client.get(lines[0]["crop"]).status_code == 200
    assert client.get(f"{KIOSK}/crop/unknown/{earlier_id}").status_code == 404


def test_at_an_entrance_a_new_pass_is_again_and_a_visitor_is_sent_to_staff(app: Flask) -> None:
    """At an entrance, "already marked" is a new pass (the monitor's event), not standing in
    view for half a minute; someone enrolled who is not on the list gets their own line."""
    start = _live(app)
    now_t = (datetime.now(UTC) - start).total_seconds()
    with _db(app).session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-1"))
        row.mode = "entrance"
        alice = s.scalar(select(Person).where(Person.name == "Alice"))
        bob = s.scalar(select(Person).where(Person.name == "Bob"))
        marks = {
            m.person_id: m
            for m in s.scalars(select(AttendanceRecord).where(AttendanceRecord.session_id == 1))
        }
        # Alice has stood at the door for 40 s since her mark: the same pass.
        marks[alice.id].first_seen, marks[alice.id].last_seen = now_t - 40, now_t - 0.5
        marks[alice.id].marked_at = datetime.now(UTC) - timedelta(seconds=40)
        # Bob was marked an hour ago and has just come back.
        marks[bob.id].status, marks[bob.id].first_seen = "present", now_t - 3600
        marks[bob.id].marked_at = datetime.now(UTC) - timedelta(hours=1)
        marks[bob.id].evidence_path = marks[alice.id].evidence_path
        s.add(SessionEvent(session_id=1, t=now_t - 2, kind="already_marked", person_id=bob.id))
        carol = Person(name="Carol")
        s.add(carol)
        s.flush()
        visitor = SessionEvent(session_id=1, t=now_t - 1, kind="visitor", person_id=carol.id,
                               crop_path=marks[alice.id].evidence_path)  # fmt: skip
        s.add(visitor)
        s.flush()
        visitor_id, bob_mark, alice_mark = visitor.id, marks[bob.id].id, marks[alice.id].id
    client = _kiosk_client(app)
    lines = [(line["kind"], line["name"], line["crop"]) for line in _lines(app, client)]
    assert lines == [
        ("visitor", "Carol", f"{KIOSK}/crop/event/{visitor_id}"),
        ("again", "Bob", f"{KIOSK}/crop/mark/{bob_mark}"),
        ("marked", "Alice", f"{KIOSK}/crop/mark/{alice_mark}"),  # still, not "again"
    ]
    assert client.get(f"{KIOSK}/crop/event/{visitor_id}").status_code == 200


def test_a_mark_older_than_a_minute_leaves_the_screen(app: Flask) -> None:
    start = _live(app)
    now_t = (datetime.now(UTC) - start).total_seconds()
    with _db(app).session() as s:
        mark = s.scalar(select(AttendanceRecord).where(AttendanceRecord.id == 1))
        mark.first_seen, mark.last_seen = now_t - 90, now_t - 85
        mark.marked_at = datetime.now(UTC) - timedelta(seconds=90)
    client = _kiosk_client(app)
    assert _lines(app, client) == []


def test_a_busy_server_gives_a_snapshot_and_asks_to_come_back(app: Flask) -> None:
    """Every stream slot taken: no thread is held, the screen still gets its lines."""
    client = _kiosk_client(app)
    slots = app.extensions["rollcall.kiosk_streams"]
    taken = 0
    while slots.acquire(blocking=False):
        taken += 1
    try:
        events = _events(app, client)
    finally:
        for _ in range(taken):
            slots.release()
    assert events[0] == "retry: 3000"
    assert events[1] == "data: []"


def test_a_stream_stops_when_its_token_is_revoked(app: Flask) -> None:
    client = _kiosk_client(app)
    app.config["KIOSK_STREAM_SECONDS"] = 30
    response = client.get(f"{KIOSK}/stream", buffered=False)
    chunks = (c.decode() for c in response.response)
    assert next(chunks).startswith("retry: 1000")
    assert next(chunks) == "data: []\n\n"
    with _db(app).session() as s:
        s.get(KioskToken, 1).revoked_at = datetime.now(UTC)
    assert next(chunks) == "event: revoked\ndata: {}\n\n"
    assert next(chunks, None) is None
    response.close()
    # Its slot came back.
    slots = app.extensions["rollcall.kiosk_streams"]
    assert slots.acquire(blocking=False)
    slots.release()


def test_staff_make_and_revoke_kiosk_links(app: Flask, browser) -> None:  # noqa: ANN001
    ivy = browser("ivy")
    page = ivy.post("/sessions/algebra-1/kiosk", {"label": "Room 101 door"})
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Room 101 door" in html
    link = html.split('<code id="kiosk-link">')[1].split("</code>")[0]
    assert "/kiosk/algebra-1?token=rck_" in link
    token = link.split("token=")[1]
    kiosk = _kiosk_client(app, token)
    assert kiosk.get(KIOSK).status_code == 200
    with _db(app).session() as s:
        row = s.scalar(select(KioskToken).where(KioskToken.name == "Room 101 door"))
        assert row.token_sha256 != token and token not in row.token_sha256  # only a digest
        token_id = row.id
    response = ivy.post(f"/kiosk-tokens/{token_id}/revoke")
    assert response.status_code == 302
    assert kiosk.get(KIOSK).status_code == 401
    # The course's page makes a link for any of its sessions.
    page = ivy.post("/courses/Algebra/kiosk").get_data(as_text=True)
    assert "/kiosk/algebra-1?token=rck_" in page


def test_cli_kiosk_tokens(app: Flask, cli) -> None:  # noqa: ANN001
    result = cli("token", "create", "ivy", "--kiosk", "algebra-1")
    assert result.exit_code == 0, result.output
    token = next(w for w in result.output.split() if w.startswith("rck_"))
    assert _kiosk_client(app, token).get(KIOSK).status_code == 200
    result = cli("token", "kiosks")
    assert result.exit_code == 0 and "algebra" in result.output
    result = cli("token", "create", "ivy", "--kiosk", "no-such-room")
    assert result.exit_code == 1
    assert "no session or course named 'no-such-room'" in result.output
    result = cli("token", "create", "otto", "--kiosk", "Algebra")
    assert result.exit_code == 1 and "may not show" in result.output
    with _db(app).session() as s:
        newest = s.scalar(select(KioskToken).order_by(KioskToken.id.desc()))
        newest_id = newest.id
    result = cli("token", "revoke-kiosk", str(newest_id))
    assert result.exit_code == 0, result.output
    assert app.test_client().get(f"{KIOSK}?token={token}").status_code == 401


def test_serve_keeps_half_its_threads_for_staff(cli, monkeypatch: pytest.MonkeyPatch) -> None:  # noqa: ANN001
    import waitress

    served = {}
    monkeypatch.setattr(waitress, "serve", lambda app, **kw: served.update(app=app, **kw))
    result = cli("serve", "--threads", "6")
    assert result.exit_code == 0, result.output
    assert served["threads"] == 6
    assert served["app"].config["KIOSK_MAX_STREAMS"] == 3
    slots = served["app"].extensions["rollcall.kiosk_streams"]
    assert [slots.acquire(blocking=False) for _ in range(4)] == [True, True, True, False]
