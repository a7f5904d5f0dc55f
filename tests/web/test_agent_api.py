"""The capture agents' API: token scope, upload validation, duplicates, closing.

The portal's analysis hand-off (``Portal.dispatch``) is replaced by a list, so these tests see
what reaches the database and what would be analyzed, without loading the face networks; the
analysis itself runs for real in tests/workers.
"""

from __future__ import annotations

import io
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime

import cv2
import numpy as np
import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlalchemy import func, select
from tests.web.conftest import Dispatched

from rollcall.storage import agents
from rollcall.storage.accounts import get_user
from rollcall.storage.models import AttendanceSession, Frame, HeadCount, SessionEvent
from rollcall.storage.sessions import get_session, require_course


def _agent_token(app: Flask, user: str, course: str | None = None) -> str:
    with app.extensions["rollcall"].db.session() as s:
        _row, value = agents.create_agent_token(
            s, get_user(s, user), f"{user}'s room", require_course(s, course) if course else None
        )
    return value


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _jpeg(width: int = 320, height: int = 180) -> bytes:
    image = np.full((height, width, 3), 90, np.uint8)
    cv2.circle(image, (width // 2, height // 2), height // 4, (200, 180, 160), -1)
    ok, data = cv2.imencode(".jpg", image)
    assert ok
    return data.tobytes()


def _upload(client: FlaskClient, token: str, session: str, seq: int, t: float, data: bytes):  # noqa: ANN202
    return client.post(
        f"/api/v1/agent/sessions/{session}/frames",
        data={
            "seq": str(seq),
            "t": str(t),
            "captured_at": datetime.now(UTC).isoformat(),
            "image": (io.BytesIO(data), "frame.jpg"),
        },
        headers=_bearer(token),
        content_type="multipart/form-data",
    )


def _open(client: FlaskClient, token: str, **body: object):  # noqa: ANN202
    return client.post("/api/v1/agent/sessions", json=body, headers=_bearer(token))


def _frames(app: Flask) -> int:
    with app.extensions["rollcall"].db.session() as s:
        return s.scalar(select(func.count(Frame.id)))


def _head_counts(app: Flask) -> int:
    with app.extensions["rollcall"].db.session() as s:
        return s.scalar(select(func.count(HeadCount.id)))


@contextmanager
def served(app: Flask) -> Iterator[str]:
    """The portal served on a loopback port for the agent's own HTTP client; its address."""
    import threading

    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(10)


def test_an_agent_creates_a_session_and_is_told_when_samples_are_due(
    app: Flask, client: FlaskClient, dispatched: Dispatched
) -> None:
    token = _agent_token(app, "ivy", "Algebra")
    response = _open(client, token, session="algebra-2", seed=7, min_interval=5, max_interval=9)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    times = [n["t"] for n in body["next"]]
    assert [n["seq"] for n in body["next"]] == list(range(len(times)))
    assert times[0] == 0 and all(5 <= b - a <= 9 for a, b in zip(times, times[1:], strict=False))
    # The course came from the token; joining again gives the same schedule.
    with app.extensions["rollcall"].db.session() as s:
        assert get_session(s, "algebra-2").course.name == "Algebra"
    again = _open(client, token, session="algebra-2")
    assert again.status_code == 200 and again.get_json()["next"] == body["next"]


def test_a_sample_uploaded_twice_is_stored_once(
    app: Flask, client: FlaskClient, dispatched: Dispatched
) -> None:
    token = _agent_token(app, "ivy", "Algebra")
    due = _open(client, token, session="algebra-2", seed=3).get_json()["next"]
    first = _upload(client, token, "algebra-2", 0, due[0]["t"], _jpeg())
    second = _upload(client, token, "algebra-2", 0, due[0]["t"], _jpeg())
    assert first.status_code == 202 and second.status_code == 200, second.get_json()
    assert _frames(app) == 1 and len(dispatched) == 1
    assert dispatched.starting == [True]  # a session's first sample names everyone
    # Early samples are refused: the random times are the server's, not the agent's.
    early = _upload(client, token, "algebra-2", 2, due[2]["t"] - 5, _jpeg())
    assert early.status_code == 422 and "due at" in early.get_json()["error"]
    far = _upload(client, token, "algebra-2", 10**9, 1e12, _jpeg())
    assert far.status_code == 422
    assert _frames(app) == 1


def test_a_token_for_one_course_cannot_touch_another(
    app: Flask, client: FlaskClient, dispatched: Dispatched
) -> None:
    ivy = _agent_token(app, "ivy", "Algebra")
    otto = _agent_token(app, "otto")  # otto sees History only
    assert _open(client, ivy, session="algebra-2", seed=1).status_code == 201
    t0 = client.get("/api/v1/agent/sessions/algebra-2", headers=_bearer(ivy)).get_json()
    assert _upload(client, otto, "algebra-2", 0, t0["next"][0]["t"], _jpeg()).status_code == 403
    assert client.get("/api/v1/agent/sessions/algebra-2", headers=_bearer(otto)).status_code == 403
    assert _open(client, otto, session="algebra-2").status_code == 403
    assert _open(client, otto, session="new", course="Algebra").status_code == 403
    # A course token cannot make sessions outside its course, nor ones with no course.
    assert _open(client, ivy, session="elsewhere", course="History").status_code == 403
    # An unknown course is refused as another's is (a 404 told any token which names exist),
    # and a token of no course asked for a session of none is told to name its course.
    unknown = _open(client, otto, session="new", course="NOPE")
    assert unknown.status_code == 403 and "'NOPE'" in unknown.get_json()["error"]
    none = _open(client, otto, session="new").get_json()["error"]
    assert "give the session's course" in none, none
    assert _frames(app) == 0 and dispatched == []
    # A revoked token is refused at once.
    with app.extensions["rollcall"].db.session() as s:
        row = agents.agent_for_token(s, ivy)
        agents.revoke(s, row.id)
    assert client.get("/api/v1/agent/sessions/algebra-2", headers=_bearer(ivy)).status_code == 401


def _bomb(side: int = 20000) -> bytes:
    """A small JPEG whose header claims side x side pixels (decoding it would take GBs)."""
    data = bytearray(_jpeg(64, 64))
    sof = data.index(b"\xff\xc0")
    data[sof + 5 : sof + 9] = side.to_bytes(2, "big") * 2
    return bytes(data)


def test_tokens_of_an_instructor_taken_off_the_course_stop_working_for_it(
    app: Flask, client: FlaskClient, dispatched: Dispatched
) -> None:
    """Both kinds of ivy's tokens: the course's, and her own that made a session of it."""
    from rollcall.storage.accounts import set_instructor

    course_token = _agent_token(app, "ivy", "Algebra")
    own_token = _agent_token(app, "ivy")
    assert _open(client, own_token, session="algebra-2", course="Algebra").status_code == 201
    with app.extensions["rollcall"].db.session() as s:
        set_instructor(s, require_course(s, "Algebra"), get_user(s, "ivy"), False)
    for token in (course_token, own_token):
        assert _open(client, token, session="algebra-3", course="Algebra").status_code == 403
        assert _open(client, token, session="algebra-2").status_code == 403
        due = _upload(client, token, "algebra-2", 0, 0.0, _jpeg())
        assert due.status_code == 403, due.get_json()
    assert _frames(app) == 0


@pytest.mark.parametrize(
    ("data", "status"),
    [
        (b"", 415),
        (b"GIF89a" + b"\0" * 100, 415),
        (b"\xff\xd8\xff\xe0" + b"\x13" * 5000, 422),  # a JPEG header and garbage
        (_jpeg()[: len(_jpeg()) // 3], 422),  # a truncated JPEG
        (_jpeg(20, 20), 422),  # too small to hold a face
        (b"\xff\xd8\xff" + b"\0" * (8 * 1024 * 1024 + 10), 413),
        (_bomb(), 422),  # refused from its header, before a pixel is decoded
    ],
    ids=["empty", "gif", "garbage", "truncated", "tiny", "huge", "bomb"],
)
def test_a_corrupt_upload_gets_a_4xx_and_nothing_is_recorded(
    app: Flask, client: FlaskClient, dispatched: Dispatched, data: bytes, status: int
) -> None:
    token = _agent_token(app, "ivy", "Algebra")
    due = _open(client, token, session="algebra-2", seed=3).get_json()["next"]
    counts_before = _head_counts(app)
    response = _upload(client, token, "algebra-2", 0, due[0]["t"], data)
    assert response.status_code == status, response.get_json()
    assert "error" in response.get_json()
    assert _frames(app) == 0 and dispatched == []
    assert _head_counts(app) == counts_before


def test_two_large_monitors_captured_together_are_taken(
    app: Flask, client: FlaskClient, dispatched: Dispatched
) -> None:
    """`--source screen` captures every monitor at once: two 2560 px screens side by side are
    accepted as they are; a wall of screens is scaled down by the agent, not refused."""
    from rollcall.capture.agent import encode

    token = _agent_token(app, "ivy", "Algebra")
    due = _open(client, token, session="algebra-2", seed=3).get_json()["next"]
    response = _upload(client, token, "algebra-2", 0, due[0]["t"], _jpeg(5120, 1440))
    assert response.status_code == 202, response.get_json()
    # A picture whose EXIF says it is turned (a phone's), and a progressive JPEG (refused:
    # its many scans can cost seconds of CPU; agents send baseline JPEGs).
    from PIL import Image

    turned, progressive = io.BytesIO(), io.BytesIO()
    picture = Image.new("RGB", (640, 480), (90, 90, 90))
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees to display
    picture.save(turned, "JPEG", exif=exif)
    picture.save(progressive, "JPEG", progressive=True)
    later = due[1]["t"]
    assert _upload(client, token, "algebra-2", 1, later, turned.getvalue()).status_code == 202
    refused = _upload(client, token, "algebra-2", 2, due[2]["t"], progressive.getvalue())
    assert refused.status_code == 422 and "baseline JPEG" in refused.get_json()["error"]
    wall = cv2.imdecode(np.frombuffer(encode(np.zeros((2160, 15360, 3), np.uint8)), np.uint8), 1)
    assert wall.shape[1] <= 8192 and wall.shape[0] * wall.shape[1] <= 40_000_000
    assert abs(wall.shape[1] / wall.shape[0] - 15360 / 2160) < 0.01


def test_bad_fields_are_refused_with_a_reason(
    app: Flask, client: FlaskClient, dispatched: Dispatched
) -> None:
    token = _agent_token(app, "ivy", "Algebra")
    assert _open(client, token, session="algebra-2", seed=3).status_code == 201
    url = "/api/v1/agent/sessions/algebra-2/frames"
    for form in (
        {"t": "1"},
        {"seq": "x", "t": "1"},
        {"seq": "0", "t": "nan"},
        {"seq": "-1", "t": "0"},
        {"seq": "0", "t": "0", "captured_at": "yesterday"},
        {"seq": "0", "t": "0", "captured_at": "2026-12-04T09:00:00"},  # no zone
        {"seq": "0", "t": "0"},  # no image
    ):
        response = client.post(url, data=form, headers=_bearer(token))
        assert response.status_code == 400, (form, response.get_json())
    assert _open(client, token, session="x", min_interval="soon").status_code == 400
    assert _open(client, token, name="no session key").status_code == 400
    # A time far from the sample's: not a frame of that sample.
    due = client.get("/api/v1/agent/sessions/algebra-2", headers=_bearer(token)).get_json()
    far = _upload(client, token, "algebra-2", 0, 1e9, _jpeg())
    assert far.status_code == 422 and "was due at" in far.get_json()["error"]
    # A backlog past SQLite's integers was a 500 once the frame was checked (a security review).
    form = {"seq": "0", "t": str(due["next"][0]["t"]), "backlog": str(10**20),
            "image": (io.BytesIO(_jpeg()), "frame.jpg")}  # fmt: skip
    huge = client.post(url, data=form, headers=_bearer(token), content_type="multipart/form-data")
    assert huge.status_code == 400 and huge.get_json()["error"] == (
        "backlog must be at most 1000000000"
    )
    assert (
        _upload(client, token, "algebra-2", 0, due["next"][0]["t"] + 20, _jpeg()).status_code == 202
    )
    assert _frames(app) == 1


def test_missed_sampling_times_go_on_the_timeline_once(
    app: Flask,
    client: FlaskClient,
    dispatched: Dispatched,
    browser,  # noqa: ANN001
) -> None:
    """The agent could not take samples 0-5 (it joined late): one event on the session's
    timeline, at the first one's time, however often it is told."""
    token = _agent_token(app, "ivy", "Algebra")
    due = _open(client, token, session="algebra-2", seed=3).get_json()["next"]
    url = "/api/v1/agent/sessions/algebra-2/missed"
    for _ in range(2):
        told = client.post(url, json={"from": 0, "to": 5}, headers=_bearer(token))
        assert told.status_code == 200, told.get_json()
    assert client.post(url, json={"from": "x"}, headers=_bearer(token)).status_code == 400
    # Sample numbers are bounded: finding one's time walks the schedule from 0.
    huge = {"from": 10**12, "to": 10**12}
    assert client.post(url, json=huge, headers=_bearer(token)).status_code == 400
    status = "/api/v1/agent/sessions/algebra-2?after=1000000000000"
    assert client.get(status, headers=_bearer(token)).status_code == 400
    otto = _agent_token(app, "otto")
    assert client.post(url, json={"from": 0, "to": 1}, headers=_bearer(otto)).status_code == 403
    with app.extensions["rollcall"].db.session() as s:
        events = s.execute(
            select(SessionEvent.t, SessionEvent.detail).where(SessionEvent.kind == "samples_missed")
        ).all()
    # The times handed out are rounded up to the millisecond (the frame at or after them).
    assert [math.ceil(t * 1000) / 1000 for t, _ in events] == [due[0]["t"]]
    assert "6 sampling time(s) not taken" in events[0][1]
    sheet = browser("ivy").get("/sessions/algebra-2").get_data(as_text=True)
    assert "samples the capture agent could not take" in sheet


def test_a_closed_session_takes_no_frames_and_finish_asks_for_closing(
    app: Flask, client: FlaskClient, dispatched: Dispatched
) -> None:
    token = _agent_token(app, "ivy", "Algebra")
    assert _upload(client, token, "algebra-1", 0, 0.0, _jpeg()).status_code == 409
    assert _open(client, token, session="algebra-1").status_code == 409
    # Nor missed sampling times on its timeline, judged and closed (a security review).
    missed = client.post("/api/v1/agent/sessions/algebra-1/missed", json={"from": 0, "to": 2},
                         headers=_bearer(token))  # fmt: skip
    assert missed.status_code == 409 and "closed" in missed.get_json()["error"]
    with app.extensions["rollcall"].db.session() as s:
        missed_kind = SessionEvent.kind == "samples_missed"
        assert s.scalar(select(func.count(SessionEvent.id)).where(missed_kind)) == 0
    due = _open(client, token, session="algebra-2", seed=3).get_json()["next"]
    assert _upload(client, token, "algebra-2", 0, due[0]["t"], _jpeg()).status_code == 202
    response = client.post(
        "/api/v1/agent/sessions/algebra-2/finish", json={"end_t": 12.5}, headers=_bearer(token)
    )
    assert response.status_code == 202
    with app.extensions["rollcall"].db.session() as s:
        row = s.scalar(select(AttendanceSession).where(AttendanceSession.name == "algebra-2"))
        assert row.close_at == 12.5
    assert dispatched.count(row.id) == 2


def test_an_entrance_session_takes_every_frame_from_its_agent(
    app: Flask, client: FlaskClient, dispatched: Dispatched
) -> None:
    """An entrance (created by an agent, or by `rollcall run --mode entrance`) gets frames
    numbered by the agent at any time, not at sampling times; a meeting agent may not join it."""
    token = _agent_token(app, "ivy", "Algebra")
    counts_before = _head_counts(app)
    bad_line = _open(client, token, session="door", mode="entrance", line="1,2")
    assert bad_line.status_code == 400 and "the line" in bad_line.get_json()["error"]
    too_fast = _open(client, token, session="door", mode="entrance", fps=120)
    assert too_fast.status_code == 400 and "fps" in too_fast.get_json()["error"]
    made = _open(client, token, session="door", mode="entrance", fps=6, line="0,100,320,100")
    assert made.status_code == 201, made.get_json()
    info = made.get_json()
    assert (info["mode"], info["fps"], info["line"], info["next"]) == (
        "entrance",
        6.0,
        "0,100,320,100",
        [],
    )
    assert info["received_through"] == -1 and info["received_t"] is None
    as_meeting = _open(client, token, session="door", mode="meeting")
    assert as_meeting.status_code == 409 and "entrance" in as_meeting.get_json()["error"]
    for seq in range(3):
        assert _upload(client, token, "door", seq, seq / 6, _jpeg()).status_code == 202
    assert _upload(client, token, "door", 1, 1 / 6, _jpeg()).get_json()["status"] == "duplicate"
    backwards = _upload(client, token, "door", 3, 0.1, _jpeg())
    assert backwards.status_code == 422 and "not after" in backwards.get_json()["error"]
    joined = _open(client, token, session="door").get_json()
    assert (joined["received_through"], joined["received_t"]) == (2, pytest.approx(2 / 6))
    # Joining with the session's own line is fine; with another, the agent is told so.
    same_line = _open(client, token, session="door", mode="entrance", line="0,100.0,320,100")
    assert same_line.status_code == 200, same_line.get_json()
    other_line = _open(client, token, session="door", line="0,200,320,200")
    assert other_line.status_code == 409
    assert "--line 0,100,320,100" in other_line.get_json()["error"]
    assert _frames(app) == 3 and _head_counts(app) == counts_before
    with app.extensions["rollcall"].db.session() as s:
        door = get_session(s, "door").id
    assert dispatched == [door] * 3
    assert dispatched.starting == [False] * 3  # an entrance's frames are all alike


def test_a_classroom_session_is_sampled_like_a_meeting_and_keeps_its_mode(
    app: Flask, client: FlaskClient, dispatched: Dispatched
) -> None:
    """`rollcall agent --mode classroom`: samples at random times, as a meeting's, analysed
    with the room camera's rules (the worker reads the session's mode); a meeting agent may not
    join it, and a mode nobody knows is refused by name."""
    token = _agent_token(app, "ivy", "Algebra")
    unknown = _open(client, token, session="room-1", mode="lecture")
    assert unknown.status_code == 400 and '"classroom"' in unknown.get_json()["error"]
    made = _open(client, token, session="room-1", mode="classroom", seed=2)
    assert made.status_code == 201, made.get_json()
    info = made.get_json()
    assert info["mode"] == "classroom" and info["next"] and info["next"][0]["t"] == 0
    as_meeting = _open(client, token, session="room-1", mode="meeting")
    assert as_meeting.status_code == 409
    assert "a classroom session" in as_meeting.get_json()["error"]
    assert _upload(client, token, "room-1", 0, 0.0, _jpeg()).status_code == 202
    with app.extensions["rollcall"].db.session() as s:
        row = get_session(s, "room-1")
        assert row.mode == "classroom"
    assert dispatched == [row.id]


def test_the_agent_creates_its_session_with_runs_options_over_http(app: Flask) -> None:
    """`rollcall agent --verify-every 600 --leave-after 240 ...`: the agent's own HTTP client,
    against the portal served on a loopback port, creates the session with those settings."""
    from rollcall.capture.agent import AgentOptions, ServerClient

    with served(app) as url:
        token = _agent_token(app, "ivy", "Algebra")
        options = AgentOptions(url, token, "algebra-3", "screen", seed=4, min_interval=5,
                               max_interval=9, verify_every=600, leave_after=240)  # fmt: skip
        info = ServerClient(url, token).open(options)
        assert info["next"][0]["seq"] == 0
    with app.extensions["rollcall"].db.session() as s:
        row = get_session(s, "algebra-3")
        assert (row.seed, row.min_interval, row.max_interval) == (4, 5, 9)
        assert (row.verify_every, row.leave_after) == (600, 240)


def test_a_camera_password_in_the_source_is_never_stored_or_shown(
    app: Flask, client: FlaskClient, browser, dispatched: Dispatched
) -> None:
    """`rollcall agent --source rtsp://user:password@camera/...`: the session list is on every
    staff member's screen; the password must not be there, nor in the database."""
    token = _agent_token(app, "ivy", "Algebra")
    source = "rtsp://admin:CamPassw0rd@10.1.2.3:554/stream1?channel=1&token=s3cr3t"
    assert _open(client, token, session="algebra-2", source=source).status_code == 201
    with app.extensions["rollcall"].db.session() as s:
        stored = get_session(s, "algebra-2").source
    assert stored == "rtsp://admin:***@10.1.2.3:554/stream1?channel=1&token=***"
    for user in ("ivy", "ada"):
        page = browser(user).get("/sessions/").get_data(as_text=True)
        assert "algebra-2" in page and "CamPassw0rd" not in page and "s3cr3t" not in page


def test_made_up_session_names_cost_nothing_and_bad_settings_are_a_400(
    app: Flask, client: FlaskClient, dispatched: Dispatched
) -> None:
    """A security review: one token uploading to 400 made-up names was never slowed down, each
    frame was decoded before the name was looked up, and the limiter kept a bucket per name for
    ever; a course sent as a list, or intervals of 1e308 s, gave 500s and a broken session."""
    from rollcall.web import agent_api

    token = _agent_token(app, "ivy", "Algebra")
    before = len(agent_api._buckets)
    for i in range(300):
        got = _upload(client, token, f"made-up-{i}", 0, 0.0, b"\xff\xd8\xff not a picture")
        assert got.status_code == 404, got.get_json()
    assert len(agent_api._buckets) == before
    assert _open(client, token, session="s1", course=["Algebra"]).status_code == 400
    huge = _open(client, token, session="s2", min_interval=1e308, max_interval=1e308)
    assert huge.status_code == 400 and "at most" in huge.get_json()["error"]
    # A seed past SQLite's integers (a 500 when stored: a security review), one numpy refuses
    # (the session stored, then a 500 on every request for it) or an infinite one.
    for seed, problem in ((2**70, "at most 2147483647"), (-1, "at least 0"),
                          (math.inf, "an integer")):  # fmt: skip
        wrong = _open(client, token, session="s3", seed=seed)
        assert wrong.status_code == 400, (seed, wrong.get_data())
        assert wrong.get_json()["error"] == f"seed must be {problem}"
    assert _open(client, token, session="s4", seed=2**31 - 1).status_code == 201
    with app.extensions["rollcall"].db.session() as s:
        assert get_session(s, "s1") is None and get_session(s, "s2") is None
        assert get_session(s, "s3") is None


def test_a_second_agent_is_refused_while_the_first_records_the_session(
    app: Flask, client: FlaskClient, dispatched: Dispatched, tmp_path
) -> None:  # noqa: ANN001
    """Two agents on one session (a second laptop, a copy left running) interleaved two
    sources' frames with nothing said. The agent holding the session keeps it while it is
    heard from; a restarted agent (the same spool folder) goes on at once; another is refused
    with a reason, and takes over once the first has been silent for the lease."""
    from datetime import timedelta

    from rollcall.capture.agent import AgentOptions, AgentRefused, ServerClient, Spool

    token = _agent_token(app, "ivy", "Algebra")
    first, second = Spool(tmp_path / "laptop", 10), Spool(tmp_path / "tablet", 10)
    assert first.instance == Spool(tmp_path / "laptop", 10).instance  # kept: a restart
    assert first.instance != second.instance
    with served(app) as url:
        options = AgentOptions(url, token, "algebra-2", "screen", seed=4)
        laptop = ServerClient(url, token, first.instance)
        tablet = ServerClient(url, token, second.instance)
        due = laptop.open(options)["next"]
        frame = tmp_path / "frame.jpg"
        frame.write_bytes(_jpeg())
        sample = {"seq": 0, "t": due[0]["t"], "captured_at": datetime.now(UTC).isoformat(),
                  "path": frame}  # fmt: skip
        assert laptop.upload("algebra-2", sample, 0) == "queued"
        with pytest.raises(AgentRefused, match="being recorded by another agent"):
            tablet.open(options)
        later = {**sample, "seq": 1, "t": due[1]["t"]}
        with pytest.raises(AgentRefused, match="being recorded by another agent"):
            tablet.upload("algebra-2", later, 0)
        assert _frames(app) == 1, "the second agent's frame was not stored"
        # The laptop's agent restarted: the same one, it goes on.
        restarted = ServerClient(url, token, Spool(tmp_path / "laptop", 10).instance)
        assert restarted.open(options)["next"][0] == due[1]  # (sample 0 is in)
        assert restarted.upload("algebra-2", later, 0) == "queued"
        # A client that names no agent does not take the session over either.
        plain = ServerClient(url, token)
        plain.status("algebra-2")
        with app.extensions["rollcall"].db.session() as s:
            assert get_session(s, "algebra-2").agent_instance == first.instance
            # The laptop falls silent for longer than the lease: the tablet may take over.
            get_session(s, "algebra-2").agent_seen_at = datetime.now(UTC) - timedelta(minutes=10)
        assert tablet.open(options)["next"][0] == due[2]
        with pytest.raises(AgentRefused, match="being recorded by another agent"):
            laptop.upload("algebra-2", {**sample, "seq": 2, "t": due[2]["t"]}, 0)
        # The tablet dies; the laptop is started again at once with --take-over.
        with pytest.raises(AgentRefused, match="--take-over"):
            laptop.open(options)
        from dataclasses import replace

        assert laptop.open(replace(options, take_over=True))["next"][0] == due[2]
        with pytest.raises(AgentRefused, match="being recorded by another agent"):
            tablet.upload("algebra-2", {**sample, "seq": 2, "t": due[2]["t"]}, 0)


def test_the_agent_measures_how_far_its_clock_is_from_the_servers(
    app: Flask, dispatched: Dispatched, monkeypatch
) -> None:  # noqa: ANN001
    """The server says its time in every answer that tells sampling times; the agent's client
    keeps its clock's difference (here 90 s slow), and the Agents page's lag is not taken
    from a made-up capture time."""
    from datetime import timedelta

    from rollcall.capture import agent as agent_module
    from rollcall.capture.agent import AgentOptions, ServerClient

    class SlowClock(datetime):
        @classmethod
        def now(cls, tz=None):  # noqa: ANN001, ANN206
            return datetime.now(tz) - timedelta(seconds=90)

    monkeypatch.setattr(agent_module, "datetime", SlowClock)
    with served(app) as url:
        token = _agent_token(app, "ivy", "Algebra")
        client = ServerClient(url, token)
        client.open(AgentOptions(url, token, "algebra-2", "screen", seed=4))
        assert abs(client.skew.total_seconds() - 90) < 2, client.skew
        # The computer's clock is then put right (NTP): the server's time stays the server's
        # (pinned to the monotonic clock), not this computer's plus the old difference.
        monkeypatch.setattr(agent_module, "datetime", datetime)
        assert abs((client.server_now() - datetime.now(UTC)).total_seconds()) < 2
    made_up = app.test_client().post(
        "/api/v1/agent/sessions/algebra-2/frames",
        data={
            "seq": "0",
            "t": "0",
            "captured_at": "1971-01-01T00:00:00+00:00",
            "image": (io.BytesIO(_jpeg()), "frame.jpg"),
        },  # fmt: skip
        headers=_bearer(token),
        content_type="multipart/form-data",
    )
    assert made_up.status_code == 202
    with app.extensions["rollcall"].db.session() as s:
        assert get_session(s, "algebra-2").agent_lag is None


class _Ended:
    """A recording already read to its end: the agent only sends what its spool holds."""

    live, duration, recorded_at, name = False, 600.0, None, "rec.mp4"

    def read(self, not_before: float = 0.0) -> None:
        return None

    def elapsed(self) -> float:
        return 0.0

    def close(self) -> None:
        pass


def test_a_spooled_frame_the_server_refuses_is_dropped_not_retried_for_ever(
    app: Flask, dispatched: Dispatched, tmp_path
) -> None:  # noqa: ANN001
    """A zero-byte picture (what a power loss can leave under a frame's name) is refused with
    415: it was taken for an outage ("server unreachable"), retried every 30 s at the head of
    the spool, and no frame behind it was ever sent (a recording's agent never finished). It
    is dropped with a note, and the frames behind it go."""
    from rollcall.capture.agent import Agent, AgentOptions, ServerClient, Spool

    token = _agent_token(app, "ivy", "Algebra")
    with served(app) as url:
        options = AgentOptions(url, token, "algebra-2", "rec.mp4", course="Algebra", seed=3)
        spool = Spool(tmp_path / "spool", 100)
        client = ServerClient(url, token, spool.instance)
        due = client.open(options)["next"]
        now = datetime.now(UTC)
        spool.add(0, due[0]["t"], now, b"")
        spool.add(1, due[1]["t"], now, _jpeg())
        spool.add(2, due[2]["t"], now, _jpeg())
        deadline = time.monotonic() + 20  # (it used to wait for an empty spool for ever)
        status = Agent(options, _Ended(), spool, client=client,
                       should_stop=lambda: time.monotonic() > deadline).run()  # fmt: skip
    assert _frames(app) == 2 and len(spool) == 0
    assert status.connected and status.sent == 2 and status.dropped == 1
    assert any(n.startswith("sample 0 refused (415): the frame must be a JPEG") for n in
               status.notes), status.notes  # fmt: skip
    with app.extensions["rollcall"].db.session() as s:
        assert get_session(s, "algebra-2").close_at is not None, "and the agent said finish"


def test_spooled_frames_are_on_disk_before_they_are_named(tmp_path, monkeypatch) -> None:  # noqa: ANN001
    """Renamed into place without an fsync, a frame's picture could be empty after a power loss
    under its final name (and was then refused by the server for ever)."""
    import os

    from rollcall.capture.agent import Spool

    synced: list[str] = []
    real = os.fsync

    def fsync(fd: int) -> None:
        synced.append(os.readlink(f"/proc/self/fd/{fd}"))
        real(fd)

    monkeypatch.setattr(os, "fsync", fsync)
    spool = Spool(tmp_path / "spool", 10)
    assert spool.add(4, 120.0, datetime.now(UTC), _jpeg())
    assert [os.path.basename(p) for p in synced] == ["000000004.jpg.tmp", "000000004.json.tmp"]


def test_an_entrance_starting_in_a_moment_keeps_no_frame_from_before_its_start(
    app: Flask, dispatched: Dispatched, tmp_path
) -> None:  # noqa: ANN001
    """An entrance set up a little before its --started-at (or on a computer whose clock is a
    little ahead) stamped the camera's first frames with t < 0; the server refused the first
    (400, "t must be at least 0"), the agent took that for a refusal of the session and
    exited, and every later start exited on the same frame at the head of its spool. Now the
    frames of before the start are not kept, and such a frame an older agent spooled is
    dropped with a note."""
    from datetime import timedelta

    from tests.capture.test_agent_entrance import Paced

    from rollcall.capture.agent import Agent, AgentOptions, Spool

    token = _agent_token(app, "ivy", "Algebra")
    start = datetime.now(UTC) + timedelta(seconds=3)
    options = AgentOptions("http://x", token, "door-2", "camera:0", course="Algebra",
                           mode="entrance", fps=8.0, started_at=start)  # fmt: skip
    spool = Spool(tmp_path / "spool", 2000)
    spool.add(0, -179.2, datetime.now(UTC), _jpeg())  # what the older agent left
    with served(app) as url:
        options = AgentOptions(**{**options.__dict__, "server": url})
        camera = Paced()
        stop_at = time.monotonic() + 5
        status = Agent(options, camera, spool,
                       should_stop=lambda: time.monotonic() > stop_at).run()  # fmt: skip
    with app.extensions["rollcall"].db.session() as s:
        stored = s.scalars(select(Frame.t)).all()
    assert len(stored) >= 8 and min(stored) >= 0.0, stored
    assert len(spool) == 0 and status.dropped == 1
    assert any(n.startswith("frame 0 refused (400): t must be at least 0") for n in
               status.notes), status.notes  # fmt: skip
    assert any("starts in" in n and "frames before then are not kept" in n for n in status.notes)
