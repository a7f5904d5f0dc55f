"""Live participant events under /api/v1/hooks: Zoom's webhooks and a generic JSON form.

Each hook has its own URL token (made by staff: `rollcall participants hook`). Zoom's requests
are signed: ``x-zm-signature`` is ``v0=`` + HMAC-SHA256(secret, ``v0:{timestamp}:{body}``),
refused when wrong or when the timestamp is more than MAX_SKEW old (a replay); its
``endpoint.url_validation`` challenge is answered with HMAC-SHA256(secret, plainToken). The
JSON form takes ``{"event": "joined"|"left", "name", "email", "time" (ISO 8601 with an
offset) or "t" (seconds from the session's start), "session"}`` or ``{"events": [...]}``,
signed with ``X-Rollcall-Signature: sha256=HMAC(secret, body)`` when the hook has a secret.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from datetime import datetime

from flask import Blueprint, abort, jsonify, request
from sqlalchemy.orm import Session

from rollcall.attendance.participants.store import MAX_EVENT_OFFSET, in_meeting, record_event
from rollcall.errors import RollcallError
from rollcall.storage.hooks import (
    ended_by,
    hook_for_token,
    keep_early,
    kept_join,
    lesson_end,
    may_keep_early,
    secret_of,
    session_for,
)
from rollcall.storage.meetings import MeetingHook
from rollcall.storage.models import AttendanceSession, utcnow
from rollcall.storage.sessions import get_session
from rollcall.wallclock import as_utc
from rollcall.web.auth import csrf
from rollcall.web.context import db_session, portal

bp = Blueprint("hooks", __name__, url_prefix="/api/v1/hooks")
csrf.exempt(bp)  # signed by the platform, no cookies

MAX_SKEW = 300  # seconds: Zoom's own samples refuse older timestamps
MAX_EVENTS = 500
ZOOM_EVENTS = {"meeting.participant_joined": "joined", "meeting.participant_left": "left"}


def _sign(secret: bytes, message: bytes) -> str:
    return hmac.new(secret, message, hashlib.sha256).hexdigest()


def _matches(expected: str, given: str) -> bool:
    """Whether a signature header is the expected one. WSGI hands headers over as latin-1
    text, and compare_digest refuses (TypeError: a 500) text with non-ASCII characters; the
    expected hex never has any, so such a header is simply wrong."""
    return given.isascii() and hmac.compare_digest(expected, given)


def _hook(s: Session, platform: str, token: str) -> MeetingHook:
    hook = hook_for_token(s, platform, token)
    if hook is None:
        abort(401, description="This webhook address is not valid (unknown or revoked).")
    return hook


def _body_json() -> dict:
    try:
        data = json.loads(request.get_data() or b"null")
    except (ValueError, UnicodeDecodeError):
        abort(400, description="The body is not JSON.")
    if not isinstance(data, dict):
        abort(400, description="The body must be a JSON object.")
    return data


def _parse_time(text: object, what: str) -> datetime:
    if not isinstance(text, str):
        raise RollcallError(f"{what} must be an ISO 8601 time with its offset")
    try:
        value = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise RollcallError(f"{what} {text!r} is not an ISO 8601 time") from None
    if value.tzinfo is None:
        raise RollcallError(f"{what} {text!r} has no offset (add Z or +01:00)")
    try:
        return as_utc(value)
    except OverflowError:  # "0001-01-01T00:00:00+14:00" is before the first UTC instant
        raise RollcallError(f"{what} {text!r} is out of range") from None


def _refuse_late_join(row: AttendanceSession, at: datetime | float, where: str = "") -> None:
    """A closed session's evidence is kept as it was judged: a join after its end (days later,
    even) was added to it (a roles review). A join after a session ended is not that
    session's; its end is the lesson's (storage.hooks.lesson_end), not when it was closed."""
    end = lesson_end(row)
    if end is None:
        return
    t = at if not isinstance(at, datetime) else (
        as_utc(at) - as_utc(row.started_at)).total_seconds()  # fmt: skip
    if t > end:
        raise RollcallError(f"{where}session {row.name!r} ended {t - end:.0f} s before this join")


def _deliver(
    s: Session,
    hook: MeetingHook,
    platform: str,
    event: str,
    name: str,
    email,
    at,  # noqa: ANN001
    where: str = "",
) -> dict[str, object]:
    when = at if isinstance(at, datetime) else None
    row: AttendanceSession | None = session_for(s, hook, when or utcnow(), event)
    if row is not None and event == "joined" and hook.session_id is not None:
        # A session's own hook names its session as an event's "session" does: a join after
        # the session ended is refused alike (it went into the closed session: a security
        # review). A course's hook sends it to the class after (session_for).
        _refuse_late_join(row, at, where)
    if (
        row is not None
        and event == "left"
        and when is not None
        and ended_by(row, when)
        and not in_meeting(s, row, name, email)
        and kept_join(s, hook, name, email)
    ):
        # A leave after the session ended, of an account not in it whose join came after the
        # end too and was kept for the next session: the leave goes with it (it made a stay
        # from the ended session's start). A leave whose join never came at all is the ended
        # session's, as ever (record_event dates the stay from its start).
        row = None
    if row is None and when is not None and may_keep_early(hook, when, utcnow()):
        # Before the class's session exists (students join early): kept for it.
        keep_early(s, hook, platform, event, name, email, when)
        return {"kept": "no session of this hook's course running then: kept for the next one"}
    if row is None:
        return {"ignored": "no session of this hook's course at that time"}
    record_event(s, row, platform, event, name, email, at)
    return {"session": row.name, "event": event, "account": name or email}


@bp.post("/zoom/<token>")
def zoom(token: str):  # noqa: ANN201
    body = request.get_data()
    with db_session() as s:
        hook = _hook(s, "zoom", token)
        secret = secret_of(hook, portal().db.cipher)
        if not secret:
            abort(401, description="This Zoom webhook has no secret to check signatures with.")
        stamp = request.headers.get("x-zm-request-timestamp", "")
        signature = request.headers.get("x-zm-signature", "")
        # ASCII digits only, and few: "\xb2".isdigit() is true and int() refuses it, as it
        # does 4,300 digits and more (both were a 500).
        if not re.fullmatch(r"[0-9]{1,12}", stamp) or abs(time.time() - int(stamp)) > MAX_SKEW:
            abort(401, description="Missing or stale x-zm-request-timestamp.")
        expected = "v0=" + _sign(secret, b"v0:" + stamp.encode() + b":" + body)
        if not _matches(expected, signature):
            abort(401, description="The x-zm-signature does not match this webhook's secret.")
        hook.last_used_at = utcnow()
        data = _body_json()
        event = data.get("event")
        payload = data.get("payload") if isinstance(data.get("payload"), dict) else {}
        if event == "endpoint.url_validation":
            plain = payload.get("plainToken")
            if not isinstance(plain, str) or not plain:
                abort(400, description="payload.plainToken is missing.")
            return jsonify(plainToken=plain, encryptedToken=_sign(secret, plain.encode()))
        if event not in ZOOM_EVENTS:
            return jsonify(ignored=f"event {event!r} is not a participant's join or leave")
        obj = payload.get("object") if isinstance(payload.get("object"), dict) else {}
        meeting = "".join(str(obj.get("id") or "").split())
        if hook.meeting_id is not None and meeting != hook.meeting_id:
            # An app installed for a whole account reports every meeting held on it.
            return jsonify(ignored=f"meeting {meeting or '?'} is not this webhook's meeting")
        who = obj.get("participant") if isinstance(obj.get("participant"), dict) else {}
        kind = ZOOM_EVENTS[event]
        name = str(who.get("user_name") or "").strip()[:200]
        email = str(who.get("email") or "").strip()[:254] or None
        if not name and not email:
            abort(400, description="payload.object.participant has neither user_name nor email.")
        try:
            at = _parse_time(who.get("join_time" if kind == "joined" else "leave_time"), kind)
            return jsonify(_deliver(s, hook, "zoom", kind, name, email, at))
        except RollcallError as exc:
            abort(400, description=str(exc))


@bp.post("/json/<token>")
def generic(token: str):  # noqa: ANN201
    body = request.get_data()
    with db_session() as s:
        hook = _hook(s, "json", token)
        secret = secret_of(hook, portal().db.cipher)
        if secret:
            given = request.headers.get("X-Rollcall-Signature", "")
            if not _matches("sha256=" + _sign(secret, body), given):
                abort(401, description="X-Rollcall-Signature does not match this hook's secret.")
        hook.last_used_at = utcnow()
        data = _body_json()
        events = data.get("events", [data])
        if not isinstance(events, list) or not 1 <= len(events) <= MAX_EVENTS:
            abort(400, description=f"Send one event or a list of 1 to {MAX_EVENTS} under events.")
        results = []
        try:
            for i, e in enumerate(events):
                results.append(_generic_event(s, hook, e, f"event {i}"))
        except RollcallError as exc:
            # One request, one transaction: the abort rolls back every event of it.
            abort(400, description=str(exc))
        return jsonify(results=results)


def _generic_event(s: Session, hook: MeetingHook, e: object, where: str) -> dict[str, object]:
    if not isinstance(e, dict):
        raise RollcallError(f"{where}: not a JSON object")
    event = e.get("event")
    if event not in ("joined", "left"):
        raise RollcallError(f"{where}: event must be 'joined' or 'left'")
    name = str(e.get("name") or "").strip()[:200]
    email = str(e.get("email") or "").strip()[:254] or None
    if not name and not email:
        raise RollcallError(f"{where}: give a name or an email")
    if "t" in e:
        if not isinstance(e["t"], int | float) or isinstance(e["t"], bool):
            raise RollcallError(f"{where}: t must be seconds from the session's start")
        # Bounded before float(): a JSON integer of 400 digits does not fit one (a 500). NaN
        # fails the comparison too.
        if not -MAX_EVENT_OFFSET <= e["t"] <= MAX_EVENT_OFFSET:
            raise RollcallError(
                f"{where}: t must be within {MAX_EVENT_OFFSET / 86400:g} days of the "
                "session's start"
            )
        at: datetime | float = float(e["t"])
    else:
        at = _parse_time(e.get("time"), f"{where}: time")
    if e.get("session") is not None:
        row = get_session(s, str(e["session"]))
        allowed = row is not None and (
            row.id == hook.session_id or (hook.course_id and row.course_id == hook.course_id)
        )
        if not allowed:
            raise RollcallError(f"{where}: this hook may not write to session {e['session']!r}")
        if event == "joined":
            _refuse_late_join(row, at, f"{where}: ")
        record_event(s, row, "json", event, name, email, at)
        return {"session": row.name, "event": event, "account": name or email}
    if not isinstance(at, datetime) and hook.session_id is None:
        raise RollcallError(f"{where}: with t, name the session (this hook is for a course)")
    return _deliver(s, hook, "json", event, name, email, at, f"{where}: ")
