"""A person's history: every session of their courses, rate, trend and absence streaks.

Admins see everyone's; an instructor sees only the sessions of their own courses, and only
for people on those courses (a person in none of them is a 403).
"""

from __future__ import annotations

from flask import Blueprint, abort, render_template
from sqlalchemy import select

from rollcall.attendance.history import person_history
from rollcall.storage import accounts
from rollcall.storage.models import AttendanceRecord, AttendanceSession, CourseMember
from rollcall.storage.people import get_person
from rollcall.web.access import me
from rollcall.web.chart import rate_trend_svg
from rollcall.web.context import db_session, portal

bp = Blueprint("history", __name__, url_prefix="/history")


@bp.get("/<name>")
def person(name: str):  # noqa: ANN201
    with db_session() as s:
        user = me(s)
        row = get_person(s, name)
        nobody = f"No one named {name!r} is enrolled."
        if row is None:
            abort(404, description=nobody)
        courses = None
        if user.role != "admin":
            courses = accounts.owned_course_ids(s, user.id)
            on_roster = s.scalar(
                select(CourseMember.person_id).where(
                    CourseMember.person_id == row.id, CourseMember.course_id.in_(courses)
                )
            )
            expected = s.scalar(
                select(AttendanceRecord.id)
                .join(AttendanceSession, AttendanceSession.id == AttendanceRecord.session_id)
                .where(
                    AttendanceRecord.person_id == row.id,
                    AttendanceSession.course_id.in_(courses),
                )
                .limit(1)
            )
            if on_roster is None and expected is None:
                # As for no one at all: a 403 would tell an instructor who is enrolled in
                # courses they cannot see (the roster's lookups say nothing either).
                abort(404, description=nobody)
        history = person_history(s, row.id, row.name, courses, portal().settings.timezone)
        trend = [(e.started_local.strftime("%d %b"), rate, e.status) for e, rate in history.trend()]
        return render_template(
            "history/person.html",
            person=row,
            history=history,
            chart=rate_trend_svg(trend),
            streaks=history.streaks(),
        )
