"""Reports: attendance rate per person across a course's sessions, and course exports."""

from __future__ import annotations

from flask import Blueprint, abort, render_template

from rollcall.attendance.course_report import COURSE_EXPORTERS, build_course_report
from rollcall.storage import accounts
from rollcall.web.access import course_or_abort, me
from rollcall.web.context import db_session, portal
from rollcall.web.sessions import download

bp = Blueprint("reports", __name__, url_prefix="/reports")


@bp.get("/")
def index():  # noqa: ANN201
    with db_session() as s:
        return render_template("reports/index.html", courses=accounts.visible_courses(s, me(s)))


@bp.get("/<name>")
def course(name: str):  # noqa: ANN201
    with db_session() as s:
        report = build_course_report(s, course_or_abort(s, name), portal().settings.timezone)
        return render_template("reports/course.html", report=report)


@bp.get("/<name>/export.<fmt>")
def export(name: str, fmt: str):  # noqa: ANN201
    if fmt not in COURSE_EXPORTERS:
        abort(404)
    with db_session() as s:
        report = build_course_report(s, course_or_abort(s, name), portal().settings.timezone)
    return download(COURSE_EXPORTERS[fmt](report), f"{name}-course.{fmt}", fmt)
