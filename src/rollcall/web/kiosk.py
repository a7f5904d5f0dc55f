"""The kiosk screen at the door: /kiosk/<session>, opened with a kiosk token, no staff login.

Staff give the screen a link with ``?token=rck_...`` once; the token moves into a cookie that
only /kiosk sees, and the browser is sent to the clean address, so the token is not left in
the address bar or the history. The page follows the session over server-sent events.

waitress gives every request a thread of its own for as long as it runs, and an event stream
runs for as long as the page is open. So a stream lasts at most KIOSK_STREAM_SECONDS (the
browser's EventSource reconnects by itself after ``retry`` ms), and at most KIOSK_MAX_STREAMS
streams run at once: a kiosk over that limit gets the current lines and a closed stream, so it
polls every few seconds instead of holding a thread, and staff pages always have threads left.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta, tzinfo

from flask import (
    Blueprint,
    Flask,
    Response,
    abort,
    current_app,
    g,
    redirect,
    render_template,
    request,
    url_for,
)

from rollcall.attendance.report import row_zone
from rollcall.storage import kiosks
from rollcall.storage.kiosk_feed import live_lines, shown_crop
from rollcall.storage.models import AttendanceSession, KioskToken, utcnow
from rollcall.storage.sessions import get_session
from rollcall.wallclock import as_utc
from rollcall.web.context import Portal, db_session, portal
from rollcall.web.evidence import send_evidence

bp = Blueprint("kiosk", __name__, url_prefix="/kiosk")
COOKIE = "rollcall_kiosk"
POLL_S = 0.5  # how often a stream reads the database: a new mark shows within a second
HEARTBEAT_S = 15.0  # a comment line now and then, so proxies keep the connection open
RETRY_MS = 1000  # the EventSource reconnects this soon after a stream ends
BUSY_RETRY_MS = 3000  # ... or this soon when every stream slot was taken
TOUCH_EVERY = timedelta(minutes=1)  # how often last_used_at is written


def init_app(app: Flask) -> None:
    app.config.setdefault("KIOSK_STREAM_SECONDS", 30.0)
    app.config.setdefault("KIOSK_MAX_STREAMS", 4)
    app.extensions["rollcall.kiosk_streams"] = threading.BoundedSemaphore(
        int(app.config["KIOSK_MAX_STREAMS"])
    )
    app.register_blueprint(bp)


def _refuse(message: str) -> None:
    abort(401, description=message)


@bp.before_request
def _authenticate():  # noqa: ANN202
    """The kiosk token from ?token= (moved into a cookie) or from the cookie; its scope."""
    given = request.args.get("token")
    token = given if given is not None else request.cookies.get(COOKIE, "")
    if not token:
        _refuse("This screen needs a kiosk link from staff (a session's Kiosk page).")
    name = (request.view_args or {}).get("name", "")
    with db_session() as s:
        kiosk = kiosks.kiosk_for_token(s, token.strip())
        if kiosk is None:
            _refuse("This kiosk link is not valid any more (revoked or unknown): ask staff.")
        row = get_session(s, name)
        if row is None and kiosk.course_id is not None and request.endpoint == "kiosk.page":
            # A course's screen opened before the camera's session starts: it waits for it
            # (it showed a 404, with a link to the staff dashboard, until someone reloaded).
            waiting = render_template("kiosk.html", name=name, title=name, waiting=True)
            return _keep_token(given, token) or waiting
        if row is None:
            abort(404, description=f"There is no session named {name!r}.")
        if not kiosks.may_show(s, kiosk, row):
            abort(403, description="This kiosk link is for another session.")
        if kiosk.last_used_at is None or utcnow() - as_utc(kiosk.last_used_at) > TOUCH_EVERY:
            kiosk.last_used_at = utcnow()
        g.kiosk_id, g.kiosk_session_id = kiosk.id, row.id
        g.kiosk_zone = row_zone(row, portal().settings.timezone)
    return _keep_token(given, token)


def _keep_token(given: str | None, token: str) -> Response | None:
    """A token given in the address goes into a cookie only /kiosk receives, and the browser
    to the clean address."""
    if given is None:
        return None
    response = redirect(request.path)
    response.set_cookie(
        COOKIE,
        token.strip(),
        max_age=365 * 24 * 3600,
        path=bp.url_prefix,
        secure=request.is_secure,
        httponly=True,
        samesite="Strict",
    )
    return response


@bp.get("/<name>")
def page(name: str):  # noqa: ANN201
    with db_session() as s:
        row = s.get(AttendanceSession, g.kiosk_session_id)
        title = row.course.name if row.course is not None else row.name
    return render_template("kiosk.html", name=name, title=title)


@bp.get("/<name>/stream")
def stream(name: str) -> Response:
    app_portal = portal()
    limit = float(current_app.config["KIOSK_STREAM_SECONDS"])
    slots: threading.BoundedSemaphore = current_app.extensions["rollcall.kiosk_streams"]
    crops = url_for("kiosk.page", name=name) + "/crop/"  # (the name quoted for a URL)
    events = _events(app_portal, g.kiosk_id, g.kiosk_session_id, g.kiosk_zone, crops, limit, slots)
    response = Response(events, mimetype="text/event-stream")
    response.headers["X-Accel-Buffering"] = "no"  # nginx: pass each event on at once
    return response


def _snapshot(
    app_portal: Portal, kiosk_id: int, session_id: int, zone: tzinfo, crops: str
) -> str | None:
    """The screen's lines as JSON, or None when the kiosk token stopped being valid."""
    with app_portal.db.session() as s:
        kiosk = s.get(KioskToken, kiosk_id)
        row = s.get(AttendanceSession, session_id)
        if (
            kiosk is None
            or row is None
            or not kiosks.kiosk_still_valid(s, kiosk)
            or not kiosks.may_show(s, kiosk, row)
        ):
            return None
        lines = live_lines(s, row, zone, datetime.now(UTC))
    return json.dumps([line.to_json() | {"crop": crops + line.crop} for line in lines])


def _events(
    app_portal: Portal,
    kiosk_id: int,
    session_id: int,
    zone: tzinfo,
    crops: str,
    limit_s: float,
    slots: threading.BoundedSemaphore,
) -> Iterator[str]:
    if not slots.acquire(blocking=False):
        # Every slot is busy: the current lines, and come back in a few seconds.
        lines = _snapshot(app_portal, kiosk_id, session_id, zone, crops)
        yield f"retry: {BUSY_RETRY_MS}\n\n"
        yield "event: revoked\ndata: {}\n\n" if lines is None else f"data: {lines}\n\n"
        return
    try:
        yield f"retry: {RETRY_MS}\n\n"
        deadline = time.monotonic() + limit_s
        sent, sent_at = None, time.monotonic()
        while True:
            lines = _snapshot(app_portal, kiosk_id, session_id, zone, crops)
            if lines is None:
                yield "event: revoked\ndata: {}\n\n"
                return
            now = time.monotonic()
            if lines != sent:
                yield f"data: {lines}\n\n"
                sent, sent_at = lines, now
            elif now - sent_at >= HEARTBEAT_S:
                yield ": still here\n\n"
                sent_at = now
            if now >= deadline:
                return
            time.sleep(POLL_S)
    finally:
        slots.release()


@bp.get("/<name>/crop/<what>/<int:item_id>")
def crop(name: str, what: str, item_id: int):  # noqa: ANN201
    if what not in ("mark", "event", "unknown"):
        abort(404)
    with db_session() as s:
        row = s.get(AttendanceSession, g.kiosk_session_id)
        stored = shown_crop(s, row, g.kiosk_zone, datetime.now(UTC), what, item_id)
    if stored is None:
        abort(404, description="This photo is not on the kiosk's screen.")
    return send_evidence(portal().settings, stored)


def kiosk_url(name: str, token: str) -> str:
    """The link to give a kiosk screen (the token moves into a cookie on first use)."""
    return url_for("kiosk.page", name=name, token=token, _external=True)
