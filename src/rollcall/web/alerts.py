"""Alerts: the outbox (each message, its state, retry) and a course's settings with a preview."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from rollcall.alerts.compose import plan_summary, plan_thresholds, staff_emails
from rollcall.alerts.outbox import STATES, counts, deliver, queued
from rollcall.errors import RollcallError
from rollcall.storage import accounts
from rollcall.storage.audit import CourseChanged, record
from rollcall.storage.models import AttendanceSession, Course, CourseAlerts, OutboxMessage
from rollcall.web.access import course_or_abort, me
from rollcall.web.context import db_session, portal
from rollcall.web.forms import refused
from rollcall.web.unknowns import form_ids

bp = Blueprint("alerts", __name__, url_prefix="/alerts")
PAGE = 200


def _visible(s, user):  # noqa: ANN001, ANN202
    """Admins see every message; instructors those about their courses."""
    query = select(OutboxMessage).order_by(OutboxMessage.id.desc())
    if user.role != "admin":
        names = [c.name for c in accounts.visible_courses(s, user)]
        query = query.where(OutboxMessage.course_name.in_(names))
    return query


@bp.get("/")
def index():  # noqa: ANN201
    show = request.args.get("state", "")
    with db_session() as s:
        user = me(s)
        query = _visible(s, user)
        if show in STATES:
            query = query.where(OutboxMessage.state == show)
        messages = s.scalars(query.limit(PAGE)).all()
        mailer = portal().settings.mailer
        return render_template(
            "alerts/index.html",
            messages=messages,
            tally=counts(s) if user.role == "admin" else {},
            show=show,
            states=STATES,
            mailer=mailer.describe() if mailer else None,
        )


@bp.post("/send")
def send():  # noqa: ANN201
    """Retry the messages ticked (even those that gave up); an admin may send all that is due."""
    ids = form_ids(request.form.getlist("message"))
    with db_session() as s:
        user = me(s)
        visible = set(s.scalars(_visible(s, user).with_only_columns(OutboxMessage.id)))
        admin = user.role == "admin"
    if (ids and not set(ids) <= visible) or (not ids and not admin):
        abort(403)
    mailer = portal().settings.mailer
    if mailer is None:
        flash("Set ROLLCALL_SMTP_URL to send email; messages wait in the outbox.", "error")
        return redirect(url_for("alerts.index"))
    done = deliver(portal().db, mailer, ids=ids or None)
    flash(f"Outbox: {done}.", "success" if not done.failed else "error")
    return redirect(url_for("alerts.index"))


@bp.get("/<int:message_id>")
def message(message_id: int):  # noqa: ANN201
    with db_session() as s:
        if s.get(OutboxMessage, message_id) is None:
            abort(404)
        row = s.scalar(_visible(s, me(s)).where(OutboxMessage.id == message_id))
        if row is None:
            abort(403)  # about a course that is not theirs
        return render_template("alerts/message.html", m=row)


def _rules(s, course: Course) -> CourseAlerts:  # noqa: ANN001
    return s.get(CourseAlerts, course.id) or CourseAlerts(
        course_id=course.id, after_session=False, to_staff=True, to_student=False,
        to_guardian=False, cc="",
    )  # fmt: skip


def _describe(rules: CourseAlerts) -> str:
    parts = ["summary after each session" if rules.after_session else "no summary"]
    if rules.absences is not None:
        parts.append(f"{rules.absences} absences")
    if rules.rate_below is not None:
        parts.append(f"rate under {rules.rate_below}%")
    who = [w for w, on in (("staff", rules.to_staff), ("student", rules.to_student),
                           ("guardian", rules.to_guardian)) if on]  # fmt: skip
    return ", ".join(parts) + f"; to {', '.join(who) or 'no one'}"


@bp.route("/course/<name>", methods=["GET", "POST"])
def course(name: str):  # noqa: ANN201
    """A course's alert settings, and a preview of what would be sent now."""
    with db_session() as s:
        user = me(s)
        row = course_or_abort(s, name, user)
        rules = _rules(s, row)
        if request.method == "POST":
            before = _describe(rules) if s.get(CourseAlerts, row.id) else "off"
            try:
                _update(rules, request.form)
            except RollcallError as exc:
                s.rollback()  # half-updated settings are not saved
                return refused(f"alerts:{name}", str(exc), url_for("alerts.course", name=name))
            if s.get(CourseAlerts, row.id) is None:
                s.add(rules)
            record(s, user.name, CourseChanged(row.name, "alerts", before, _describe(rules)))
            flash(f"Alert settings of {name} saved.", "success")
            return redirect(url_for("alerts.course", name=name))
        zone = portal().settings.timezone
        latest = s.scalar(
            select(AttendanceSession)
            .where(AttendanceSession.course_id == row.id, AttendanceSession.state == "closed")
            .order_by(AttendanceSession.started_at.desc())
        )
        preview = []
        if s.get(CourseAlerts, row.id) is not None:
            preview = (plan_summary(s, latest, zone) if latest else []) + plan_thresholds(
                s, row, zone
            )
        already = queued(s, [letter.dedupe for letter in preview])
        return render_template(
            "alerts/course.html",
            course=row,
            rules=rules,
            latest=latest,
            preview=preview,
            already=already,
            staff=staff_emails(s, row),
        )


def _update(rules: CourseAlerts, form) -> None:  # noqa: ANN001
    def number(key: str, low: int, high: int) -> int | None:
        text = form.get(key, "").strip()
        if not text:
            return None
        if not (text.isascii() and text.isdigit()) or not low <= int(text) <= high:
            raise RollcallError(f"{key.replace('_', ' ')} must be a whole number {low}-{high}")
        return int(text)

    rules.after_session = form.get("after_session") == "on"
    rules.absences = number("absences", 1, 100)
    rules.rate_below = number("rate_below", 1, 100)
    rules.to_staff = form.get("to_staff") == "on"
    rules.to_student = form.get("to_student") == "on"
    rules.to_guardian = form.get("to_guardian") == "on"
    cc = [a.strip() for a in form.get("cc", "").split(",") if a.strip()]
    bad = [a for a in cc if "@" not in a or " " in a]
    if bad:
        raise RollcallError(f"not an email address: {', '.join(bad)}")
    rules.cc = ", ".join(cc)[:500]
