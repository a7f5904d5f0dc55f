"""Reports: attendance rate per person across a course's sessions, and course exports."""

from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for

from rollcall.attendance.course_report import COURSE_EXPORTERS, build_course_report
from rollcall.attendance.term import parse_day
from rollcall.errors import RollcallError
from rollcall.storage import accounts
from rollcall.web.access import course_or_abort, me
from rollcall.web.context import db_session, portal
from rollcall.web.sessions import download

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.get("/")
def index():  # noqa: ANN201
    with db_session() as s:
        return render_template("reports/index.html", courses=accounts.visible_courses(s, me(s)))


def date_range(page: bool = False) -> tuple[date | None, date | None]:
    """?from=YYYY-MM-DD&to=YYYY-MM-DD (either may be left out). A bad date, or a range that
    runs backwards (which would show "no sessions"), is a 400; on a ``page`` (not a
    download) the page comes back instead, with the dates swapped or left out and a note
    saying so (a bare error page lost the course page it came from)."""
    out = []
    for key in ("from", "to"):
        text = request.args.get(key, "").strip()
        try:
            out.append(parse_day(text, key) if text else None)
        except RollcallError as exc:
            if not page:
                abort(400, description=str(exc))
            flash(f"{exc}: the dates were left out.", "error")
            abort(redirect(url_for(request.endpoint, **(request.view_args or {}))))
    if out[0] is not None and out[1] is not None and out[0] > out[1]:
        what = f"'from' ({out[0]}) is after 'to' ({out[1]})"
        if not page:
            abort(400, description=f"{what}: swap them")
        flash(f"{what}: shown swapped.", "info")
        view = request.view_args or {}
        abort(redirect(url_for(request.endpoint, **view, **{"from": out[1], "to": out[0]})))
    return out[0], out[1]


@bp.get("/<name>")
def course(name: str):  # noqa: ANN201
    first, last = date_range(page=True)
    with db_session() as s:
        course = course_or_abort(s, name)
        report = build_course_report(s, course, portal().settings.timezone, first, last)
        return render_template("reports/course.html", report=report)


@bp.get("/<name>/export.<fmt>")
def export(name: str, fmt: str):  # noqa: ANN201
    if fmt not in COURSE_EXPORTERS:
        abort(404)
    first, last = date_range()
    with db_session() as s:
        report = build_course_report(
            s, course_or_abort(s, name), portal().settings.timezone, first, last, details=True
        )
    return download(COURSE_EXPORTERS[fmt](report), f"{name}-course.{fmt}", fmt)
