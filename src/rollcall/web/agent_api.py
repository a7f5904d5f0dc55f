"""The capture agents' API under /api/v1/agent: sessions, sampling times, frame uploads.

An agent authenticates with its own token (`rollcall token create --agent`, or the portal),
creates or joins a session, asks when the next samples are due, and uploads each sample's frame
(JPEG, with its time on the session's timeline and the wall-clock time it was captured). The
server keeps the frame until a worker (or, without a broker, this process) has analyzed it.
Uploads are validated like the portal's (size, type, decoded in memory) and rate-limited per
token; a sample uploaded twice is stored once.
"""

from __future__ import annotations

import math
import threading
import time
from datetime import UTC, datetime
from itertools import islice

from flask import Blueprint, abort, g, jsonify, request
from sqlalchemy import func, select

from rollcall.analysis import MODES
from rollcall.analysis.entrance import DEFAULT_FPS, MAX_FPS, MIN_FPS
from rollcall.analysis.entrance.occupancy import line_text, parse_line
from rollcall.analysis.entrance.uploads import last_frame, watched_elsewhere
from rollcall.analysis.pending import Stored, Upload, decode, store_frame, waiting_frames
from rollcall.attendance.lifecycle import CLOSED
from rollcall.attendance.runner import RunOptions, prepare_session
from rollcall.attendance.schedule import SamplingSchedule
from rollcall.errors import RollcallError
from rollcall.source_text import shown_source
from rollcall.storage import agents
from rollcall.storage.models import (
    AttendanceSession,
    Frame,
    HeadCount,
    SessionEvent,
    SessionState,
    utcnow,
)
from rollcall.storage.sessions import get_session
from rollcall.wallclock import as_utc, parse_started_at
from rollcall.web.auth import csrf
from rollcall.web.context import db_session, portal
from rollcall.web.params import number
from rollcall.workers.dispatch import starting as is_starting

bp = Blueprint("agent_api", __name__, url_prefix="/api/v1/agent")
csrf.exempt(bp)  # bearer tokens, no cookies

MAX_FRAME_BYTES = 8 * 1024 * 1024
# Two 2560-wide monitors captured together are 5120 px wide; the agent scales down anything
# larger than these (capture.agent.fit_for_upload).
MAX_SIDE = 8192
MAX_FRAME_PIXELS = 40_000_000
# Uploads per second per token, with a burst: a backfill of a recording goes as fast as this,
# and an entrance camera at the highest --fps (MAX_FPS) keeps up with room to spare.
RATE, BURST = max(20.0, MAX_FPS + 10.0), 120.0
# Sample numbers an agent may be ahead of the server (it is handed at most 100 at a time).
MAX_AHEAD = 1000
# How far past what the server has an agent may name a sample number (its own last one, a
# run of missed ones): finding a number's time walks the schedule from 0 (~2 us a step), so an
# unbounded number held a thread for days. 10,000 samples are 55 hours at one every 20 s.
MAX_SEQ_AHEAD = 10_000
MAX_AHEAD_FRAMES = 10_000_000
# Integers an agent sends that are stored as they are: past SQLite's 64 bits they were a 500
# (OverflowError) when the row was written. Seeds are the range `rollcall run` draws its own
# from (a negative one numpy refuses, and the session it was stored with broke for good); a
# backlog of a billion frames is a year of an entrance camera at 30 fps.
MAX_SEED = 2**31 - 1
MAX_BACKLOG = 10**9
MISSED = "samples_missed"  # a session event: sampling times the agent could not take
# An agent may capture late (a busy machine, a folder of snapshots a minute apart, a recording
# with gaps), never much before the sample is due; a time a day after it is of another day.
EARLY_TOLERANCE = 1.0
LATE_TOLERANCE = 24 * 3600.0


class _Bucket:
    def __init__(self) -> None:
        self.tokens, self.at = BURST, time.monotonic()


_buckets: dict[tuple[int, str], _Bucket] = {}
MAX_BUCKETS = 1024  # then full ones are dropped (see _rate_limited)
DAY = 86400.0  # seconds: no sampling setting is longer
_buckets_lock = threading.Lock()


def _rate_limited(token_id: int, session: str) -> bool:
    # Per token and session: one staff token may serve two entrance cameras at full rate.
    with _buckets_lock:
        now = time.monotonic()
        if len(_buckets) > MAX_BUCKETS:
            # A bucket idle long enough to be full again is the same as no bucket.
            for key, idle in list(_buckets.items()):
                if idle.tokens + (now - idle.at) * RATE >= BURST:
                    del _buckets[key]
        bucket = _buckets.setdefault((token_id, session), _Bucket())
        bucket.tokens = min(BURST, bucket.tokens + (now - bucket.at) * RATE)
        bucket.at = now
        if bucket.tokens < 1.0:
            return True
        bucket.tokens -= 1.0
        return False


@bp.before_request
def _authenticate() -> None:
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        abort(
            401,
            description="Send an agent token: Authorization: Bearer TOKEN "
            "(create one with `rollcall token create --agent USER`).",
        )
    with db_session() as s:
        agent = agents.agent_for_token(s, token.strip())
        if agent is None:
            abort(401, description="The agent token is not valid (unknown or revoked).")
        g.agent_id = agent.id


def _agent(s):  # noqa: ANN001, ANN202
    from rollcall.storage.models import AgentToken

    return s.get(AgentToken, g.agent_id)


def _session_or_abort(s, name: str) -> AttendanceSession:  # noqa: ANN001
    row = get_session(s, name)
    if row is None:
        abort(404, description=f"no session named {name!r}")
    if not agents.may_record(s, _agent(s), row):
        abort(403, description="this agent token may not record that session")
    return row


# The header naming the running agent (capture.agent.AGENT_HEADER). A session is held by the
# agent that last spoke for it; another is refused until the holder has been silent for a
# lease: two agents recording one session at once (a second laptop, a copy left running)
# interleaved two sources' frames, and the entrance's frame numbers of one were refused or
# dropped as the other's duplicates.
AGENT_HEADER = "X-Rollcall-Agent"
LEASE = 120.0  # seconds; a meeting's at least twice its longest gap between samples


def _lease(row: AttendanceSession) -> float:
    if row.mode == "entrance":
        return LEASE
    return max(LEASE, 2.0 * (row.max_interval or 0.0))


def _hold(row: AttendanceSession, take_over: bool = False) -> bool:
    """Take (or keep) the session for the agent making this request; refuse (409) while
    another agent holds it. True when the request may count as the holder's sign of life.
    A client that names no agent (an older agent, a script) is not checked, and does not
    take the session from the one that holds it."""
    instance = request.headers.get(AGENT_HEADER, "").strip()[:64]
    if not instance:
        return row.agent_instance is None
    if not take_over and row.agent_instance not in (None, instance) and row.agent_seen_at:
        silent = (utcnow() - as_utc(row.agent_seen_at)).total_seconds()
        lease = _lease(row)
        if silent < lease:
            abort(
                409,
                description=f"session {row.name!r} is being recorded by another agent "
                f"(heard from {silent:.0f} s ago): stop that one, or wait until it has been "
                f"silent for {lease:.0f} s (or, if its computer is gone, run this one with "
                "--take-over)",
            )
    row.agent_instance = instance
    return True


def _received_through(s, row: AttendanceSession) -> int:  # noqa: ANN001
    """The last sample number the server has: recorded, analyzed, or waiting (for an
    entrance, the last frame number)."""
    if row.mode == "entrance":
        return last_frame(s, row.id)[0]
    values = [
        s.scalar(select(func.max(HeadCount.seq)).where(HeadCount.session_id == row.id)),
        s.scalar(select(func.max(Frame.seq)).where(Frame.session_id == row.id)),
    ]
    state = s.get(SessionState, row.id)
    if state is not None:
        values.append(state.seq)
    return max((v for v in values if v is not None), default=-1)


def _schedule(row: AttendanceSession) -> SamplingSchedule:
    return SamplingSchedule(row.min_interval, row.max_interval, row.seed)


def _due(row: AttendanceSession, *seqs: int) -> list[float]:
    """When each of samples ``seqs`` is due on the session's timeline, found in one walk of
    the (endless) schedule."""
    wanted, found = set(seqs), {}
    for n, t in _schedule(row):
        if n in wanted:
            found[n] = t
            if len(found) == len(wanted):
                return [found[seq] for seq in seqs]
    raise AssertionError("unreachable: the schedule counts up from 0")


def _within_reach(through: int, seq: int, name: str) -> None:
    """``seq`` at most MAX_SEQ_AHEAD past what the server has (``through``)."""
    if seq > through + MAX_SEQ_AHEAD:
        abort(400, description=f"{name} is more than {MAX_SEQ_AHEAD} samples past what the "
              "server has")  # fmt: skip


def _describe(s, row: AttendanceSession, count: int = 10, after: int = -1) -> dict[str, object]:  # noqa: ANN001, E501
    """The session as its agent sees it; ``next`` holds the sampling times after both what
    the server received and ``after`` (the agent's own last sample, taken or missed: missed
    ones never reach the server, and an agent that skipped past what it was told must still
    be told what comes next)."""
    extra: dict[str, object] = {}
    if row.mode == "entrance":
        # An entrance agent sends every frame at the session's fps: no sampling times (and
        # its frame numbers are not sample numbers to look the schedule up by).
        through, extra["received_t"] = last_frame(s, row.id)
        upcoming = []
    else:
        through = _received_through(s, row)
        _within_reach(through, after, "after")
        upcoming = [
            # Up to the millisecond, never down: the agent then takes the first frame at or
            # after the exact time, the one `rollcall run` takes (rounded down, a frame just
            # before it could be sent instead).
            {"seq": seq, "t": math.ceil(t * 1000) / 1000}
            for seq, t in islice((x for x in _schedule(row) if x[0] > max(through, after)), count)
        ]
    return extra | {
        "session": row.name,
        "mode": row.mode,
        "fps": row.entrance_fps,
        "line": row.entrance_line,
        # Its own settings: an agent joining it with others is told they are not used.
        "seed": row.seed,
        "min_interval": row.min_interval,
        "max_interval": row.max_interval,
        "verify_every": row.verify_every,
        "leave_after": row.leave_after,
        "state": row.state,
        "started_at": as_utc(row.started_at).isoformat(),
        "received_through": through,
        "waiting": waiting_frames(s, row.id),
        "next": upcoming,
        # The agent takes samples on this clock, not its own (capture.agent.ServerClient.skew).
        "server_time": utcnow().isoformat(),
    }


PROGRESSIVE = (0, 0)  # _header_size's answer for a progressive JPEG


def _header_size(data: bytes) -> tuple[int, int] | None:
    """(width, height) as the image's header states them, PROGRESSIVE for a progressive
    JPEG, or None if it has no such header."""
    import io

    from PIL import Image, UnidentifiedImageError

    try:
        with Image.open(io.BytesIO(data)) as img:
            if img.format == "JPEG" and img.info.get("progressive"):
                # Thousands of scans of a large picture cost seconds of CPU whatever its
                # size; agents send baseline JPEGs.
                return PROGRESSIVE
            return img.size
    except Image.DecompressionBombError:
        return (MAX_SIDE + 1, MAX_SIDE + 1)  # Pillow's own limit said it first: too large
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError):
        return None


@bp.post("/sessions")
def open_session():  # noqa: ANN201
    """Create a session for this agent, or join one the portal (or an earlier run) created."""
    body = request.get_json(silent=True)
    if not isinstance(body, dict) or not isinstance(body.get("session"), str):
        abort(400, description='send JSON with at least {"session": NAME}')
    name = body["session"]
    with db_session() as s:
        agent = _agent(s)
        row = get_session(s, name)
        if row is not None:
            if not agents.may_record(s, agent, row):
                abort(403, description="this agent token may not record that session")
            if row.state == CLOSED:
                abort(409, description=f"session {name!r} is closed")
            if body.get("mode") not in (None, row.mode):
                abort(
                    409,
                    description=f"session {name!r} is a{'n' if row.mode == 'entrance' else ''} "
                    f"{row.mode} session, not {body['mode']!r}",
                )
            if body.get("line"):
                # As `run --resume`: a line the session was not started with would count a
                # different door (or start counting halfway), so the agent is told, not ignored.
                try:
                    asked = line_text(parse_line(str(body["line"])))
                except RollcallError as exc:
                    abort(400, description=str(exc))
                if asked != row.entrance_line:
                    was = f"--line {row.entrance_line}" if row.entrance_line else "no --line"
                    abort(
                        409,
                        description=f"session {name!r} was started with {was}: "
                        "join it without --line",
                    )
            _hold(row, take_over=body.get("take_over") is True)
            row.agent_token_id, row.agent_seen_at = agent.id, utcnow()
            return jsonify(_describe(s, row, 20)), 200
        course_name = body.get("course") or None
        if course_name is not None and not isinstance(course_name, str):
            abort(400, description="course must be a course's name")
        if course_name is None and agent.course_id is not None:
            from rollcall.storage.models import Course

            course_name = s.get(Course, agent.course_id).name
        course = None
        if course_name is not None:
            from rollcall.storage.sessions import get_course

            course = get_course(s, course_name)
        # An unknown course and another's are refused alike: a token does not learn which
        # course names exist.
        if course_name is not None and (
            course is None or not agents.may_create_for(s, agent, course)
        ):
            abort(403, description=f"this agent token may not create sessions for {course_name!r}")
        if course is None and not agents.may_create_for(s, agent, None):
            abort(403, description="give the session's course (--course): this agent token "
                  "may create sessions of its courses only")  # fmt: skip
        agent_id = agent.id
    started_at = None
    if body.get("started_at"):
        try:
            started_at = parse_started_at(str(body["started_at"]))
        except RollcallError as exc:
            abort(400, description=str(exc))
    mode = body.get("mode") or "meeting"
    if mode not in MODES:
        abort(400, description='mode must be "meeting", "classroom" or "entrance"')
    line = None
    if mode == "entrance" and body.get("line"):
        try:
            line = line_text(parse_line(str(body["line"])))
        except RollcallError as exc:
            abort(400, description=str(exc))
    options = RunOptions(
        session=name,
        mode=mode,
        entrance_fps=number("fps", body.get("fps") or DEFAULT_FPS, float, MIN_FPS, MAX_FPS)
        if mode == "entrance"
        else None,
        entrance_line=line,
        source=shown_source(str(body.get("source") or "agent"))[:1000],
        course=course_name,
        # The portal's bounds: 1e308 s passed every check and broke the session for good.
        min_interval=number("min_interval", body.get("min_interval", 20.0), float, 1.0, DAY),
        max_interval=number("max_interval", body.get("max_interval", 90.0), float, 1.0, DAY),
        verify_every=number("verify_every", body.get("verify_every", 300.0), float, 1.0, DAY),
        leave_after=number("leave_after", body.get("leave_after", 180.0), float, 1.0, DAY),
        seed=int(number("seed", body["seed"], int, 0, MAX_SEED))
        if body.get("seed") is not None
        else None,
        started_at=started_at,
    )
    try:
        prepare_session(portal().db, options, started_at or datetime.now(UTC))
    except RollcallError as exc:
        abort(409 if "already exists" in str(exc) else 400, description=str(exc))
    with db_session() as s:
        row = get_session(s, name)
        _hold(row)
        row.agent_token_id, row.agent_seen_at = agent_id, utcnow()
        return jsonify(_describe(s, row, 20)), 201


@bp.get("/sessions/<name>")
def session_status(name: str):  # noqa: ANN201
    count = int(number("count", request.args.get("count", 10), int, 1))
    after = int(number("after", request.args.get("after", -1), int, -1))
    with db_session() as s:
        row = _session_or_abort(s, name)
        if _hold(row):
            row.agent_seen_at = utcnow()
        return jsonify(_describe(s, row, min(count, 100), after))


@bp.post("/sessions/<name>/frames")
def upload_frame(name: str):  # noqa: ANN201
    # The session first: a token's uploads to made-up names (or to sessions it may not
    # record) are refused before any bucket is made or any picture decoded.
    with db_session() as s:
        _session_or_abort(s, name)
    if _rate_limited(g.agent_id, name):
        response = jsonify(error="too many uploads; slow down")
        response.status_code, response.headers["Retry-After"] = 429, "1"
        return response
    seq = int(number("seq", request.form.get("seq"), int, 0))
    t = number("t", request.form.get("t"), float, 0.0)
    backlog = int(number("backlog", request.form.get("backlog", 0), int, 0, MAX_BACKLOG))
    captured_at = utcnow()
    if request.form.get("captured_at"):
        try:
            captured_at = datetime.fromisoformat(request.form["captured_at"])
        except ValueError:
            abort(400, description="captured_at must be ISO 8601 with a zone")
        if captured_at.tzinfo is None:
            abort(400, description="captured_at must be ISO 8601 with a zone")
    upload = request.files.get("image")
    if upload is None:
        abort(400, description="send the frame as the multipart file 'image' (JPEG)")
    data = upload.read(MAX_FRAME_BYTES + 1)
    if len(data) > MAX_FRAME_BYTES:
        abort(413, description=f"a frame may be at most {MAX_FRAME_BYTES // 2**20} MB")
    if not (data.startswith(b"\xff\xd8\xff") or data.startswith(b"\x89PNG\r\n\x1a\n")):
        abort(415, description="the frame must be a JPEG (or PNG) image")
    # The size from the header before any pixel is decoded: a small file can claim 20000 px
    # a side, and decoding it would take gigabytes.
    size = _header_size(data)
    if size == PROGRESSIVE:
        abort(422, description="a progressive JPEG is refused: send a baseline JPEG (or PNG)")
    if (
        size is None
        or min(size) < 32
        or max(size) > MAX_SIDE
        or size[0] * size[1] > MAX_FRAME_PIXELS
    ):
        abort(422, description=f"the frame cannot be decoded, or is not 32-{MAX_SIDE} px")
    image = decode(data)
    # (Pixel counts, not sizes: OpenCV turns a picture its EXIF says is rotated.)
    if image is None or image.shape[0] * image.shape[1] != size[0] * size[1]:
        abort(422, description="the frame cannot be decoded")
    with db_session() as s:
        row = _session_or_abort(s, name)
        if row.state == CLOSED:
            abort(409, description=f"session {name!r} is closed")
        _hold(row)
        entrance = row.mode == "entrance"
        if entrance:
            # Frames of an entrance are numbered by the agent; a day at 30 fps is 2.6 million.
            last_seq, last_t = last_frame(s, row.id)
            if seq > last_seq + MAX_AHEAD_FRAMES:
                abort(422, description=f"frame {seq} is too far ahead of what the server has")
            if seq > last_seq and last_t is not None and t <= last_t:
                # Tracks follow people forward in time: a later frame cannot be earlier.
                abort(422, description=f"frame {seq} at {t:.3f} s is not after {last_t:.3f} s")
        else:
            if seq > _received_through(s, row) + MAX_AHEAD:
                abort(422, description=f"sample {seq} is too far ahead of what the server has")
            (due,) = _due(row, seq)
            if t < due - EARLY_TOLERANCE:
                abort(422, description=f"sample {seq} is due at {due:.3f} s, not before")
            if t > due + LATE_TOLERANCE:
                abort(
                    422,
                    description=f"sample {seq} was due at {due:.3f} s, not {t:.3f} s: "
                    "a frame of another time",
                )
        result = store_frame(s, row, Upload(seq, t, captured_at, data))
        row.agent_token_id, row.agent_seen_at, row.agent_backlog = g.agent_id, utcnow(), backlog
        if result is Stored.QUEUED:
            # From the time the agent says it took the frame: an agent of before the server's
            # clock was used (or a made-up time) is not believed beyond a day either way.
            lag = (utcnow() - captured_at).total_seconds()
            row.agent_lag = max(0.0, lag) if -DAY < lag < DAY else None
        session_id = row.id
    if result is Stored.QUEUED and not (entrance and _watched_elsewhere(session_id)):
        portal().dispatch(session_id, starting=not entrance and is_starting(seq))
    return jsonify(status=result.value, seq=seq), 202 if result is Stored.QUEUED else 200


def _watched_elsewhere(session_id: int) -> bool:
    """A worker is watching this entrance and will take the frame: no task per frame. Read
    after the frame is committed, so a watcher letting go meanwhile has seen it (see
    analysis.entrance.uploads.EntranceFrames.release_in)."""
    with db_session() as s:
        return watched_elsewhere(s, session_id)


@bp.post("/sessions/<name>/missed")
def missed(name: str):  # noqa: ANN201
    """Sampling times ``from``..``to`` (sample numbers) the agent could not take: it was offline
    past the times it held, or joined late. They go on the session's timeline as one event, so
    staff see a hole in the evidence rather than nothing; reported twice, recorded once."""
    body = request.get_json(silent=True) or {}
    first = int(number("from", body.get("from"), int, 0))
    last = int(number("to", body.get("to"), int, first))
    if last - first > MAX_AHEAD * 100:
        abort(400, description="too many samples in one report")
    with db_session() as s:
        row = _session_or_abort(s, name)
        if row.state == CLOSED:
            # As upload_frame: a closed session's timeline stays as it was judged.
            abort(409, description=f"session {name!r} is closed")
        if row.mode == "entrance":
            abort(409, description="an entrance has no sampling times")
        _hold(row)
        _within_reach(_received_through(s, row), last, "to")
        t_first, t_last = _due(row, first, last)
        known = s.scalar(
            select(SessionEvent.id).where(
                SessionEvent.session_id == row.id,
                SessionEvent.kind == MISSED,
                SessionEvent.t == t_first,
            )
        )
        if known is None:
            n = last - first + 1
            s.add(
                SessionEvent(
                    session_id=row.id,
                    t=t_first,
                    kind=MISSED,
                    detail=f"{n} sampling time(s) not taken, {t_first:.0f}-{t_last:.0f} s: the "
                    "agent was offline, or joined late",
                )
            )
    return jsonify(status="recorded"), 200


@bp.post("/sessions/<name>/finish")
def finish(name: str):  # noqa: ANN201
    """The source ended at ``end_t``: close the session once its waiting frames are analyzed."""
    body = request.get_json(silent=True) or {}
    end_t = number("end_t", body.get("end_t"), float, 0.0)
    with db_session() as s:
        row = _session_or_abort(s, name)
        _hold(row)
        if row.state != CLOSED:
            row.close_at = max(end_t, row.processed_until or 0.0)
        session_id = row.id
    portal().dispatch(session_id)
    return jsonify(status="closing"), 202
