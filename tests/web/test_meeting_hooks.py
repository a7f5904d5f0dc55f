"""Live participant events: Zoom's signed webhooks (URL validation, joins and leaves, wrong
signatures and stale timestamps refused) and the generic JSON form, by a hook's URL token."""

from __future__ import annotations

import hashlib
import hmac
import json
import time

import pytest
from flask import Flask
from sqlalchemy import func, select

from rollcall.errors import RollcallError
from rollcall.storage.hooks import create_hook
from rollcall.storage.meetings import MeetingParticipant, ParticipantStay
from rollcall.storage.models import AttendanceSession, Course, Person
from rollcall.storage.sessions import get_session

SECRET = "test-secret-not-a-real-one"  # a test value: real secrets come from the platform

# Recorded from Zoom's documentation samples (ids and names changed): what Zoom POSTs.
VALIDATION = {
    "payload": {"plainToken": "qgg8vlvZRS6UYooatFL8Aw"},
    "event_ts": 1654503849680,
    "event": "endpoint.url_validation",
}
JOINED = {
    "event": "meeting.participant_joined",
    "event_ts": 1772442310000,
    "payload": {
        "account_id": "AAAAAAAAAAAAAAAAAAAAAA",
        "object": {
            "uuid": "4444AAAiAAAAAiAiAiiAii==",
            "id": "81234567890",
            "host_id": "z8yAAAAA8bbbQ",
            "topic": "Algebra",
            "type": 2,
            "start_time": "2026-03-02T09:00:00Z",
            "timezone": "Europe/Paris",
            "duration": 60,
            "participant": {
                "user_id": "16778240",
                "user_name": "alice_",
                "id": "iFxeBPYun6SAiWUzBcEkX",
                "participant_uuid": "55555AAAiAAAAAiAiAiiAii",
                "join_time": "2026-03-02T09:01:10Z",
                "email": "alice@school.example",
                "registrant_id": "",
                "participant_user_id": "iFxeBPYun6SAiWUzBcEkX",
                "customer_key": "",
                "phone_number": "",
            },
        },
    },
}


def _left(at: str) -> dict:
    event = json.loads(json.dumps(JOINED))
    event["event"] = "meeting.participant_left"
    who = event["payload"]["object"]["participant"]
    del who["join_time"]
    who["leave_time"] = at
    who["leave_reason"] = "left the meeting"
    return event


def _hook(
    app: Flask, platform: str = "zoom", secret: str | None = SECRET, meeting: str | None = None
) -> str:
    portal = app.extensions["rollcall"]
    with portal.db.session() as s:
        course = s.scalar(select(Course).where(Course.name == "Algebra"))
        _, token = create_hook(s, portal.db.cipher, "Algebra room", platform, "ada",
                               course=course, secret=secret, meeting_id=meeting)  # fmt: skip
    return token


def _signed(body: bytes, secret: str = SECRET, stamp: int | None = None) -> dict[str, str]:
    ts = str(int(time.time()) if stamp is None else stamp)
    digest = hmac.new(secret.encode(), f"v0:{ts}:".encode() + body, hashlib.sha256).hexdigest()
    return {
        "x-zm-request-timestamp": ts,
        "x-zm-signature": f"v0={digest}",
        "Content-Type": "application/json",
    }


def _stays(app: Flask) -> list[tuple[str, str | None, float, float | None]]:
    with app.extensions["rollcall"].db.session() as s:
        rows = s.execute(
            select(MeetingParticipant.name, Person.name, ParticipantStay.join_t,
                   ParticipantStay.leave_t)
            .join(ParticipantStay, ParticipantStay.participant_id == MeetingParticipant.id)
            .outerjoin(Person, Person.id == MeetingParticipant.person_id)
        )  # fmt: skip
        return [tuple(r) for r in rows]


def test_zoom_url_validation_and_signed_join_and_leave(app: Flask) -> None:
    client = app.test_client()
    url = f"/api/v1/hooks/zoom/{_hook(app)}"
    body = json.dumps(VALIDATION).encode()
    answer = client.post(url, data=body, headers=_signed(body))
    assert answer.status_code == 200
    expected = hmac.new(SECRET.encode(), b"qgg8vlvZRS6UYooatFL8Aw", hashlib.sha256).hexdigest()
    assert answer.get_json() == {"plainToken": "qgg8vlvZRS6UYooatFL8Aw", "encryptedToken": expected}
    body = json.dumps(JOINED).encode()
    joined = client.post(url, data=body, headers=_signed(body))
    assert joined.status_code == 200 and joined.get_json()["session"] == "algebra-1"
    assert _stays(app) == [("alice_", "Alice", 70.0, None)]  # "alice_" is Alice by name
    body = json.dumps(_left("2026-03-02T09:09:30Z")).encode()
    assert client.post(url, data=body, headers=_signed(body)).status_code == 200
    assert _stays(app) == [("alice_", "Alice", 70.0, 570.0)]
    again = client.post(url, data=body, headers=_signed(body))  # a retried delivery
    assert again.status_code == 200 and _stays(app) == [("alice_", "Alice", 70.0, 570.0)]


def test_a_zoom_hook_for_one_meeting_leaves_other_meetings_out(app: Flask) -> None:
    """An app installed for a whole account sends every meeting held on it."""
    client = app.test_client()
    url = f"/api/v1/hooks/zoom/{_hook(app, meeting='812 3456 7890')}"
    other = json.loads(json.dumps(JOINED))
    other["payload"]["object"]["id"] = "99988877766"
    body = json.dumps(other).encode()
    answer = client.post(url, data=body, headers=_signed(body))
    assert answer.status_code == 200 and "99988877766" in answer.get_json()["ignored"]
    assert _stays(app) == []
    body = json.dumps(JOINED).encode()  # meeting 81234567890
    assert client.post(url, data=body, headers=_signed(body)).get_json()["session"] == "algebra-1"
    assert _stays(app) == [("alice_", "Alice", 70.0, None)]
    with pytest.raises(RollcallError, match="not a Zoom meeting ID"):
        _hook(app, meeting="room 12")


def test_joins_before_the_session_exists_are_kept_for_it(app: Flask, tmp_path) -> None:  # noqa: ANN001
    """Students join a few minutes before the class; its session is started afterwards. Their
    joins wait for it and are recorded on it (before its start); a leave after it started
    closes the stay. Kept joins go to no other course's session; a Zoom hook not tied to one
    meeting keeps nothing (an account-wide app reports every meeting)."""
    from datetime import UTC, datetime, timedelta

    from rollcall.attendance.runner import RunOptions, prepare_session
    from rollcall.storage.meetings import EarlyParticipantEvent
    from rollcall.storage.sessions import upsert_course

    def zulu(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    client = app.test_client()
    now = datetime.now(UTC).replace(microsecond=0)
    early = json.loads(json.dumps(JOINED))
    early["payload"]["object"]["participant"]["join_time"] = zulu(now - timedelta(minutes=6))
    body = json.dumps(early).encode()
    anywhere = client.post(f"/api/v1/hooks/zoom/{_hook(app)}", data=body, headers=_signed(body))
    assert "ignored" in anywhere.get_json()
    url = f"/api/v1/hooks/zoom/{_hook(app, meeting='81234567890')}"
    kept = client.post(url, data=body, headers=_signed(body))
    assert kept.status_code == 200 and "kept" in kept.get_json()
    assert _stays(app) == []
    db = app.extensions["rollcall"].db
    with db.session() as s:
        upsert_course(s, "Physics", ["Alice"])
    for course, name in (("Physics", "physics-next"), ("Algebra", "algebra-next")):
        prepare_session(db, RunOptions(session=name, source=str(tmp_path), course=course,
                                       started_at=now))  # fmt: skip
    with db.session() as s:
        where = s.execute(
            select(MeetingParticipant.name, AttendanceSession.name).join(
                AttendanceSession, AttendanceSession.id == MeetingParticipant.session_id
            )
        ).all()
        assert [tuple(r) for r in where] == [("alice_", "algebra-next")]
        assert s.scalar(select(func.count()).select_from(EarlyParticipantEvent)) == 0
    assert _stays(app) == [("alice_", "Alice", -360.0, None)]
    body = json.dumps(_left(zulu(now + timedelta(minutes=40)))).encode()
    assert client.post(url, data=body, headers=_signed(body)).get_json()["session"] == (
        "algebra-next"
    )
    assert _stays(app) == [("alice_", "Alice", -360.0, 2400.0)]


def test_kept_events_go_after_a_day_or_with_their_hook(app: Flask) -> None:
    """Names and emails kept for a session that never came are not kept on."""
    from datetime import UTC, datetime, timedelta

    from rollcall.storage.hooks import forget_stale_early_events, revoke
    from rollcall.storage.meetings import EarlyParticipantEvent, MeetingHook

    db = app.extensions["rollcall"].db

    def keep_one() -> None:
        early = json.loads(json.dumps(JOINED))
        now = datetime.now(UTC)
        early["payload"]["object"]["participant"]["join_time"] = now.strftime("%Y-%m-%dT%H:%M:%SZ")
        body = json.dumps(early).encode()
        answer = app.test_client().post(url, data=body, headers=_signed(body))
        assert "kept" in answer.get_json(), answer.get_json()

    def kept() -> int:
        with db.session() as s:
            return s.scalar(select(func.count()).select_from(EarlyParticipantEvent))

    url = f"/api/v1/hooks/zoom/{_hook(app, meeting='81234567890')}"
    with db.session() as s:  # no session of the course runs now
        for row in s.scalars(select(AttendanceSession)):
            row.started_at = datetime.now(UTC) - timedelta(days=3)
    keep_one()
    with db.session() as s:
        assert forget_stale_early_events(s, datetime.now(UTC) + timedelta(hours=23)) == 0
        assert forget_stale_early_events(s, datetime.now(UTC) + timedelta(hours=25)) == 1
    keep_one()
    assert kept() == 1
    with db.session() as s:
        revoke(s, s.scalar(select(MeetingHook.id).where(MeetingHook.meeting_id.is_not(None))))
    assert kept() == 0


@pytest.mark.parametrize(
    "tamper",
    ["wrong secret", "changed body", "stale timestamp", "no signature", "unknown token",
     "non-ASCII signature", "superscript timestamp", "endless timestamp"],
)  # fmt: skip
def test_zoom_refuses_what_is_not_signed_by_the_secret(app: Flask, tamper: str) -> None:
    client = app.test_client()
    token = _hook(app)
    body = json.dumps(JOINED).encode()
    headers = _signed(body)
    url = f"/api/v1/hooks/zoom/{token}"
    if tamper == "wrong secret":
        headers = _signed(body, secret="another-secret")
    elif tamper == "changed body":
        body = body.replace(b"alice_", b"mallory")
    elif tamper == "stale timestamp":
        headers = _signed(body, stamp=int(time.time()) - 3600)
    elif tamper == "no signature":
        del headers["x-zm-signature"]
    elif tamper == "non-ASCII signature":  # these three were a 500 (a security review)
        headers["x-zm-signature"] = "v0=\xe9"
    elif tamper == "superscript timestamp":  # "\xb2".isdigit(), but int() refuses it
        headers["x-zm-request-timestamp"] = "\xb2"
    elif tamper == "endless timestamp":  # int() refuses more than 4300 digits
        headers["x-zm-request-timestamp"] = "1" * 5000
    else:
        url = "/api/v1/hooks/zoom/rch_" + "x" * 43
    response = client.post(url, data=body, headers=headers)
    assert response.status_code == 401 and response.get_json()["status"] == 401
    assert _stays(app) == []
    validation = json.dumps(VALIDATION).encode()
    refused = client.post(url, data=validation, headers=_signed(validation, secret="guess"))
    assert refused.status_code == 401  # no handshake answered for a wrong secret either


def test_generic_json_events_one_transaction(app: Flask) -> None:
    client = app.test_client()
    url = f"/api/v1/hooks/json/{_hook(app, 'json', secret=None)}"
    events = {"events": [
        {"event": "joined", "name": "Bob", "time": "2026-03-02T10:00:30+01:00"},
        {"event": "joined", "name": "Guest 7", "session": "algebra-1", "t": 100},
        {"event": "left", "name": "Bob", "time": "2026-03-02T09:05:00Z"},
    ]}  # fmt: skip
    response = client.post(url, json=events)
    assert response.status_code == 200, response.get_json()
    assert sorted(_stays(app)) == [("Bob", "Bob", 30.0, 300.0), ("Guest 7", None, 100.0, None)]
    broken = {"events": [{"event": "joined", "name": "Carol", "t": 5, "session": "algebra-1"},
                         {"event": "joined", "name": "Dan", "time": "09:00"}]}  # fmt: skip
    refused = client.post(url, json=broken)
    assert refused.status_code == 400 and "event 1" in refused.get_json()["error"]
    with app.extensions["rollcall"].db.session() as s:  # Carol's event went with it
        assert s.scalar(select(func.count(MeetingParticipant.id))) == 2
    other = client.post(url, json={"event": "joined", "name": "Eve", "t": 1,
                                   "session": "staff-meeting"})  # fmt: skip
    assert other.status_code == 400 and "may not write" in other.get_json()["error"]


def test_json_events_at_impossible_times_are_refused_and_nothing_is_kept(app: Flask) -> None:
    """Infinity stored would break the session's page for good; a time before year 1 in UTC
    overflows; a week away is another meeting."""
    client = app.test_client()
    url = f"/api/v1/hooks/json/{_hook(app, 'json', secret=None)}"
    for bad in (
        b'{"event": "left", "name": "Inf", "t": -Infinity, "session": "algebra-1"}',
        b'{"event": "left", "name": "NaN", "t": NaN, "session": "algebra-1"}',
        b'{"event": "joined", "name": "Far", "t": 1e12, "session": "algebra-1"}',
        # An integer too large for a float was a 500 (a security review).
        b'{"event": "joined", "name": "Huge", "t": 1' + b"0" * 400 + b', "session": "algebra-1"}',
        b'{"event": "joined", "name": "Old", "time": "0001-01-01T00:00:00+14:00"}',
    ):
        response = client.post(url, data=bad, headers={"Content-Type": "application/json"})
        assert response.status_code == 400, (bad, response.status_code, response.get_data())
        if b"Huge" in bad:
            assert response.get_json()["error"] == (
                "event 0: t must be within 7 days of the session's start"
            )
    assert _stays(app) == []


def test_a_signed_json_hook_needs_its_signature(app: Flask) -> None:
    client = app.test_client()
    url = f"/api/v1/hooks/json/{_hook(app, 'json', secret=SECRET)}"
    body = json.dumps({"event": "joined", "name": "Bob", "t": 3, "session": "algebra-1"}).encode()
    assert client.post(url, data=body).status_code == 401
    # A header WSGI hands over with non-ASCII characters was a 500 (a security review).
    wrong = client.post(url, data=body, headers={"X-Rollcall-Signature": "sha256=\xff"})
    assert wrong.status_code == 401
    good = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
    assert client.post(url, data=body, headers={"X-Rollcall-Signature": good}).status_code == 200
    with app.extensions["rollcall"].db.session() as s:
        assert get_session(s, "algebra-1") is not None
        assert s.scalar(select(func.count(ParticipantStay.id))) == 1


def test_an_instructor_makes_and_revokes_a_course_webhook(app: Flask, browser) -> None:  # noqa: ANN001
    import re

    ivy = browser("ivy")
    response = ivy.post("/courses/Algebra/hooks",
                        data={"label": "Room 12", "platform": "zoom", "secret": SECRET},
                        follow_redirects=True)  # fmt: skip
    made = response.get_data(as_text=True)
    url = re.search(r"http://localhost(/api/v1/hooks/zoom/rch_[\w-]+)", made).group(1)
    assert SECRET not in made  # the secret is never shown back
    # Shown on the page, never put in the session cookie (signed, not encrypted: a flash
    # message in it is readable by anyone who sees the cookie).
    serializer = app.session_interface.get_signing_serializer(app)
    for earlier in [*response.history, response]:
        for header in earlier.headers.getlist("Set-Cookie"):
            value = header.split(";", 1)[0].split("=", 1)[1]
            if value:
                assert url.rsplit("/", 1)[1] not in str(serializer.loads(value))
    body = json.dumps(VALIDATION).encode()
    assert app.test_client().post(url, data=body, headers=_signed(body)).status_code == 200
    page = ivy.get("/courses/Algebra").get_data(as_text=True)
    assert "Room 12" in page and url.rsplit("/", 1)[1] not in page  # the token is not kept
    hook_id = re.search(r"/courses/Algebra/hooks/(\d+)/revoke", page).group(1)
    assert ivy.post(f"/courses/Algebra/hooks/{hook_id}/revoke").status_code == 302
    assert app.test_client().post(url, data=body, headers=_signed(body)).status_code == 401
    missing = ivy.post("/courses/Algebra/hooks", data={"label": "x", "platform": "zoom"},
                       follow_redirects=True).get_data(as_text=True)  # fmt: skip
    assert "needs the app&#39;s Secret Token" in missing or "Secret Token" in missing


def test_a_webhook_stops_with_its_makers_access(app: Flask, browser) -> None:  # noqa: ANN001
    """A hook made in the portal feeds the course only while its maker may: taken off the
    course, or disabled, the instructor's hooks stop (as their agent tokens and kiosk links);
    back on the course, the same address works again. Command-line hooks have no maker."""
    import re

    from rollcall.storage.accounts import get_user, set_active, set_instructor
    from rollcall.storage.sessions import require_course

    ivy = browser("ivy")
    made = ivy.post("/courses/Algebra/hooks",
                    data={"label": "Room 12", "platform": "json"},
                    follow_redirects=True).get_data(as_text=True)  # fmt: skip
    url = re.search(r"http://localhost(/api/v1/hooks/json/rch_[\w-]+)", made).group(1)
    cli_made = _hook(app, platform="json", secret=None)  # no maker, as on the command line
    event = {"event": "joined", "name": "Alice", "t": 5, "session": "algebra-1"}
    client = app.test_client()
    assert client.post(url, json=event).status_code == 200
    db = app.extensions["rollcall"].db

    def ivy_on_course(on: bool) -> None:
        with db.session() as s:
            set_instructor(s, require_course(s, "Algebra"), get_user(s, "ivy"), on)

    ivy_on_course(False)
    assert client.post(url, json=event).status_code == 401
    assert client.post(f"/api/v1/hooks/json/{cli_made}", json=event).status_code == 200
    page = browser("ada").get("/courses/Algebra").get_data(as_text=True)
    assert "no longer on this course" in page
    ivy_on_course(True)
    assert client.post(url, json=event).status_code == 200
    with db.session() as s:
        set_active(s, get_user(s, "ivy"), False)
    assert client.post(url, json=event).status_code == 401


def test_no_account_passes_for_a_command_line_actor(app: Flask) -> None:
    from rollcall.storage.accounts import create_user

    with app.extensions["rollcall"].db.session() as s, pytest.raises(RollcallError) as refused:
        create_user(s, "root (command line)", "Some-Pass-2026!x", "admin")
    assert "(command line)" in str(refused.value)


def test_events_kept_by_a_stopped_hook_go_to_no_session(app: Flask) -> None:
    """A join kept before the course's session by ivy's hook is given to the session while
    ivy may feed the course, and not once she is taken off it."""
    from rollcall.storage.accounts import get_user, set_instructor
    from rollcall.storage.hooks import early_events, keep_early
    from rollcall.storage.sessions import require_course

    db = app.extensions["rollcall"].db
    portal = app.extensions["rollcall"]
    with db.session() as s:
        course, ivy = require_course(s, "Algebra"), get_user(s, "ivy")
        hook, _ = create_hook(s, portal.db.cipher, "Room 12", "json", ivy.name, course=course,
                              maker=ivy)  # fmt: skip
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-1"))
        keep_early(s, hook, "json", "joined", "Alice", None, row.started_at)
        assert [e.name for e in early_events(s, row)] == ["Alice"]
        set_instructor(s, course, ivy, False)
        assert early_events(s, row) == []
        set_instructor(s, course, ivy, True)
        assert [e.name for e in early_events(s, row)] == ["Alice"]


def test_a_join_and_leave_after_a_session_ended_both_wait_for_the_next(
    app: Flask, tmp_path
) -> None:  # noqa: ANN001
    """The session's run ended; a student joined the meeting after it (kept for the next
    session) and left: the leave went into the ended session as a stay from its start."""
    from datetime import UTC, datetime, timedelta

    from rollcall.attendance.runner import RunOptions, prepare_session
    from rollcall.storage.meetings import EarlyParticipantEvent

    def zulu(moment: datetime) -> str:
        return moment.strftime("%Y-%m-%dT%H:%M:%SZ")

    client = app.test_client()
    now = datetime.now(UTC).replace(microsecond=0)
    db = app.extensions["rollcall"].db
    prepare_session(db, RunOptions(session="algebra-done", source=str(tmp_path), course="Algebra",
                                   started_at=now - timedelta(minutes=20)))  # fmt: skip
    with db.session() as s:
        done = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-done"))
        done.state, done.ended_at = "closed", now - timedelta(minutes=5)
    url = f"/api/v1/hooks/zoom/{_hook(app, meeting='81234567890')}"
    joined = json.loads(json.dumps(JOINED))
    joined["payload"]["object"]["participant"]["join_time"] = zulu(now - timedelta(minutes=2))
    body = json.dumps(joined).encode()
    assert "kept" in client.post(url, data=body, headers=_signed(body)).get_json()
    body = json.dumps(_left(zulu(now - timedelta(minutes=1)))).encode()
    assert "kept" in client.post(url, data=body, headers=_signed(body)).get_json()
    assert _stays(app) == []
    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(EarlyParticipantEvent)) == 2
    # A leave after the end whose join never came at all is the ended session's, dated from
    # its start (the second diff review: it was kept, and lost).
    other = _left(zulu(now - timedelta(minutes=1)))
    other["payload"]["object"]["participant"].update(user_name="bob_", email="bob@school.example")
    body = json.dumps(other).encode()
    assert client.post(url, data=body, headers=_signed(body)).get_json()["session"] == (
        "algebra-done"
    )
    assert [(n, start) for n, _, start, _ in _stays(app)] == [("bob_", 0.0)]


def test_a_join_named_for_a_closed_session_after_its_end_is_refused(app: Flask) -> None:
    """A roles review: a JSON event naming a closed session added a join to it 42 hours
    after it ended (its evidence changed long after it was judged). Joins after the end are
    refused; a leave still closes a stay of that session."""
    with app.extensions["rollcall"].db.session() as s:
        row = get_session(s, "algebra-1")
        assert row.state == "closed"
        length = row.duration
    client = app.test_client()
    url = f"/api/v1/hooks/json/{_hook(app, 'json', secret=None)}"
    late = client.post(url, json={"event": "joined", "name": "John Salley",
                                  "session": "algebra-1", "t": length + 42 * 3600})  # fmt: skip
    assert late.status_code == 400 and "ended" in late.get_json()["error"]
    inside = client.post(url, json={"event": "joined", "name": "Bob", "session": "algebra-1",
                                    "t": 30})  # fmt: skip
    assert inside.status_code == 200
    leave = client.post(url, json={"event": "left", "name": "Bob", "session": "algebra-1",
                                   "t": length + 60})  # fmt: skip
    assert leave.status_code == 200
    assert _stays(app) == [("Bob", "Bob", 30.0, length + 60)]


def test_a_closed_recordings_end_is_its_lessons_not_when_it_was_closed(app: Flask) -> None:
    """A recording analysed days later is closed (ended_at) long after its lesson: a join
    named for it after the lesson's end (its start plus its duration) is refused all the same,
    whether given as a time or as seconds from the start."""
    from datetime import UTC, datetime, timedelta

    from tests.web.conftest import closed_session

    start = datetime(2026, 3, 4, 9, 0, tzinfo=UTC)
    with app.extensions["rollcall"].db.session() as s:
        course = s.scalar(select(Course).where(Course.name == "Algebra"))
        s.add(closed_session("algebra-recorded", start, course.id, source="lecture.mp4",
                             processed_until=600, duration=600,
                             ended_at=start + timedelta(days=3)))  # fmt: skip
    client = app.test_client()
    url = f"/api/v1/hooks/json/{_hook(app, 'json', secret=None)}"
    after = (start + timedelta(seconds=700)).isoformat()
    for when in ({"time": after}, {"t": 700}):
        late = client.post(url, json={"event": "joined", "name": "John Salley",
                                      "session": "algebra-recorded", **when})  # fmt: skip
        assert late.status_code == 400, late.get_json()
        assert "ended 100 s before this join" in late.get_json()["error"]
    inside = client.post(url, json={"event": "joined", "name": "Bob",
                                    "session": "algebra-recorded", "t": 590})  # fmt: skip
    assert inside.status_code == 200, inside.get_json()
    # Naming no session, the course's hook judged "ended" by ended_at: the same late join
    # went into the closed recording (a security review). It is not that session's either.
    unnamed = client.post(url, json={"event": "joined", "name": "John Salley", "time": after})
    assert unnamed.status_code == 200 and "session" not in unnamed.get_json()["results"][0]
    assert _stays(app) == [("Bob", "Bob", 590.0, None)]
    later = (start + timedelta(seconds=660)).isoformat()
    leave = client.post(url, json={"event": "left", "name": "Bob", "time": later})
    assert leave.get_json()["results"][0]["session"] == "algebra-recorded"  # a leave still is
    assert _stays(app) == [("Bob", "Bob", 590.0, 660.0)]


def test_a_session_hook_takes_no_join_after_its_closed_sessions_end(app: Flask) -> None:
    """A security review: a session's own hook (no "session" in the event, nor in Zoom's) added
    a join to it 42 hours after it ended and was closed, as naming it did before. It is refused
    alike; joins inside it and a leave after its end are still taken."""
    portal = app.extensions["rollcall"]
    with portal.db.session() as s:
        row = get_session(s, "algebra-1")
        assert row.state == "closed"
        length = row.duration
        _, token = create_hook(s, portal.db.cipher, "one lesson", "json", "ada", session=row)
        _, zoom_token = create_hook(s, portal.db.cipher, "one lesson", "zoom", "ada",
                                    session=row, secret=SECRET)  # fmt: skip
    client = app.test_client()
    url = f"/api/v1/hooks/json/{token}"
    for when in ({"t": length + 42 * 3600}, {"time": "2026-03-02T09:20:00Z"}):
        late = client.post(url, json={"event": "joined", "name": "John Salley", **when})
        assert late.status_code == 400, late.get_json()
        assert "session 'algebra-1' ended" in late.get_json()["error"]
    joined = json.loads(json.dumps(JOINED))
    joined["payload"]["object"]["participant"]["join_time"] = "2026-03-02T09:20:00Z"
    body = json.dumps(joined).encode()
    late = client.post(f"/api/v1/hooks/zoom/{zoom_token}", data=body, headers=_signed(body))
    assert late.status_code == 400 and "ended 600 s before this join" in late.get_json()["error"]
    assert _stays(app) == []
    assert client.post(url, json={"event": "joined", "name": "Bob", "t": 30}).status_code == 200
    leave = client.post(url, json={"event": "left", "name": "Bob", "t": length + 60})
    assert leave.status_code == 200
    assert _stays(app) == [("Bob", "Bob", 30.0, length + 60)]
