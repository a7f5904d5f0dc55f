"""Staff make and revoke kiosk tokens: per session (its sheet) or per course (its page).

An admin or the course's instructor may make one; the new token is shown once, inside the link
to open on the kiosk's screen. Every change is in the audit trail.
"""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from rollcall.errors import RollcallError
from rollcall.storage import accounts, kiosks
from rollcall.storage.audit import AccountChanged, record
from rollcall.storage.models import AttendanceSession, Course, KioskToken
from rollcall.web.access import course_or_abort, me, session_or_abort
from rollcall.web.context import db_session
from rollcall.web.kiosk import kiosk_url

bp = Blueprint("kiosk_tokens", __name__)


def _page(target: kiosks.KioskTarget, s):  # noqa: ANN001, ANN202
    link = None
    if request.method == "POST":
        user = me(s)
        try:
            row, token = kiosks.create_kiosk_token(
                s, user, target, request.form.get("label", "")[:200] or None
            )
        except RollcallError as exc:
            abort(403, description=str(exc))
        record(s, user.name, AccountChanged(user.name, f"kiosk token #{row.id} created"))
        # A course's kiosk opens any of its sessions: the link names the latest one.
        shown = target.session or latest_session(s, target.course.id)
        link = kiosk_url(shown.name if shown is not None else "SESSION", token)
        flash(
            "Kiosk link made: open it once on the kiosk's screen. It is not shown again.", "success"
        )
    tokens = kiosks.list_kiosk_tokens(s, target)
    return render_template(
        "kiosk_tokens.html", target=target, tokens=tokens, link=link, label=target.label
    )


def latest_session(s, course_id: int) -> AttendanceSession | None:  # noqa: ANN001
    return s.scalar(
        select(AttendanceSession)
        .where(AttendanceSession.course_id == course_id)
        .order_by(AttendanceSession.started_at.desc())
        .limit(1)
    )


@bp.route("/sessions/<name>/kiosk", methods=["GET", "POST"])
def for_session(name: str):  # noqa: ANN201
    with db_session() as s:
        row = session_or_abort(s, name)
        return _page(kiosks.KioskTarget(session=row), s)


@bp.route("/courses/<name>/kiosk", methods=["GET", "POST"])
def for_course(name: str):  # noqa: ANN201
    with db_session() as s:
        course = course_or_abort(s, name)
        return _page(kiosks.KioskTarget(course=course), s)


@bp.post("/kiosk-tokens/<int:token_id>/revoke")
def revoke(token_id: int):  # noqa: ANN201
    with db_session() as s:
        row = s.get(KioskToken, token_id)
        if row is None:
            abort(404, description=f"There is no kiosk token #{token_id}.")
        shown = s.get(AttendanceSession, row.session_id) if row.session_id else None
        course_id = shown.course_id if shown is not None else row.course_id
        user = me(s)
        if not accounts.can_see_course(s, user, course_id):
            abort(403)
        kiosks.revoke(s, token_id)
        record(s, user.name, AccountChanged(user.name, f"kiosk token #{token_id} revoked"))
        if shown is not None:
            back = url_for("kiosk_tokens.for_session", name=shown.name)
        else:
            back = url_for("kiosk_tokens.for_course", name=s.get(Course, course_id).name)
    flash(f"Kiosk token #{token_id} revoked: its screen stops at once.", "success")
    return redirect(back)
