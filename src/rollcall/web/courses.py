"""Courses: roster and schedule (admins and the course's instructors); instructors (admins)."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from rollcall.attendance.course_report import build_course_report
from rollcall.attendance.report import session_zone
from rollcall.attendance.term import (
    WEEKDAYS,
    Term,
    format_meeting_days,
    month_grids,
    parse_day,
    parse_meeting_days,
)
from rollcall.errors import RollcallError
from rollcall.storage import accounts
from rollcall.storage.audit import CourseChanged, record
from rollcall.storage.models import Course, CourseHoliday, CourseMember, Person
from rollcall.storage.names import check_exact_name, name_order
from rollcall.storage.sessions import course_people, get_session, schedule_text, upsert_course
from rollcall.storage.staff import User
from rollcall.wallclock import zone_info, zone_name, zone_names
from rollcall.web.access import admin_required, course_or_abort, me
from rollcall.web.context import db_session, portal
from rollcall.web.forms import refused
from rollcall.web.meetings import course_hooks

bp = Blueprint("courses", __name__, url_prefix="/courses")


@bp.get("/")
def index():  # noqa: ANN201
    with db_session() as s:
        courses = [(c, len(course_people(s, c))) for c in accounts.visible_courses(s, me(s))]
        return render_template("courses/index.html", courses=courses)


@bp.post("/")
@admin_required
def create():  # noqa: ANN201
    name = " ".join(request.form.get("name", "").split())
    if not name or len(name) > 200:
        flash("Give the course a name (1 to 200 characters).", "error")
        return redirect(url_for("courses.index"))
    try:
        check_exact_name("course", name)
    except RollcallError as exc:
        flash(str(exc), "error")
        return redirect(url_for("courses.index"))
    with db_session() as s:
        if s.scalar(select(Course).where(Course.name == name)) is not None:
            flash(f"A course named {name} already exists.", "error")
            return redirect(url_for("courses.index"))
        upsert_course(s, name, [])
        record(s, me(s).name, CourseChanged(name, "created", "", name))
    return redirect(url_for("courses.detail", name=name))


def _term_text(course: Course) -> str:
    if not course.term_start:
        return "no term"
    days = course.meeting_days or "no meeting days"
    return f"{course.term_start} to {course.term_end}, {days}, {len(course.holidays)} holiday(s)"


def _first_to_come(course: Course, now: datetime) -> date:
    """The first meeting day still to come: today until today's class has ended (a class at
    09:00 with no session was still "to come" at 16:37: a teacher's review)."""
    start, end = course.start_time, course.end_time
    if start and end and start < end and now.strftime("%H:%M") >= end:
        return now.date() + timedelta(days=1)
    return now.date()


@bp.get("/<name>")
def detail(name: str):  # noqa: ANN201
    from rollcall.web.reports import date_range

    first, last = date_range(page=True)
    with db_session() as s:
        user = me(s)
        course = course_or_abort(s, name, user)
        zone = session_zone(course, portal().settings.timezone)
        report = build_course_report(s, course, portal().settings.timezone, first, last)
        days = report.calendar(_first_to_come(course, datetime.now(zone)))
        roster = course_people(s, course)
        on_roster = {p.id for p in roster}
        others = sorted(
            (p for p in s.scalars(select(Person)) if p.id not in on_roster),
            key=lambda p: name_order(p.name),
        )
        instructors = accounts.course_instructors(s, course)
        default_zone = zone_name(zone_info(portal().settings.timezone))
        teaching = {u.id for u in instructors}  # offered only to those not on it yet
        staff = [
            u
            for u in s.scalars(select(User).where(User.role == "instructor").order_by(User.name))
            if u.id not in teaching
        ]
        return render_template(
            "courses/detail.html",
            course=course,
            roster=roster,
            others=others if user.role == "admin" else [],
            instructors=instructors,
            staff=staff,
            default_zone=default_zone,
            zones=zone_names(),
            report=report,
            days=days,
            matrix_days=[d for d in days if d.kind in ("held", "missed", "extra")],
            months=month_grids(days),
            weekdays=WEEKDAYS,
            meeting=set(parse_meeting_days(course.meeting_days)),
            holidays="\n".join(f"{h.day} {h.label}".strip() for h in course.holidays),
            first=first,
            last=last,
            hooks=course_hooks(s, course),
        )


def _holidays(text: str) -> dict:
    """One per line: "2026-03-10 Spring break" or a range "2026-04-06..2026-04-10 Easter"."""
    from datetime import timedelta

    out = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        when, _, label = line.strip().partition(" ")
        start_text, _, end_text = when.partition("..")
        start = parse_day(start_text, "a holiday")
        end = parse_day(end_text, "a holiday") if end_text else start
        if end < start or (end - start).days > 120:
            raise RollcallError(f"holiday range {when!r} must run forwards, at most 120 days")
        day = start
        while day <= end:
            out[day] = label.strip()[:100]
            day += timedelta(days=1)
    return out


def _refused(form: str, name: str, reason: str):  # noqa: ANN202
    """Back to the course's form with what was typed, and why nothing was saved."""
    return refused(f"{form}:{name}", reason, url_for("courses.detail", name=name, _anchor=form))


@bp.post("/<name>/term")
def term(name: str):  # noqa: ANN201
    """Meeting days, first and last day of the term, holidays."""
    with db_session() as s:
        user = me(s)
        course = course_or_abort(s, name, user)
        before = _term_text(course)
        form = request.form
        try:
            days = parse_meeting_days(form.getlist("meeting_days"))
            start_text, end_text = form.get("term_start", ""), form.get("term_end", "")
            start = parse_day(start_text, "the first day") if start_text.strip() else None
            end = parse_day(end_text, "the last day") if end_text.strip() else None
            if (start is None) != (end is None):
                raise RollcallError("Give both the first and the last day of the term, or neither.")
            holidays = _holidays(form.get("holidays", ""))
            Term(start, end, days, holidays)  # checks the term's length and order
        except RollcallError as exc:
            return _refused("term", name, str(exc))
        course.meeting_days = format_meeting_days(days) or None
        course.term_start, course.term_end = start, end
        course.holidays = [
            CourseHoliday(course_id=course.id, day=d, label=label) for d, label in holidays.items()
        ]
        s.flush()
        record(s, user.name, CourseChanged(course.name, "term", before, _term_text(course)))
    flash(f"Term of {name} saved.", "success")
    return redirect(url_for("courses.detail", name=name))


@bp.post("/<name>/roster")
def roster(name: str):  # noqa: ANN201
    """Add or remove one person; instructors may only remove (adding is an admin's call)."""
    with db_session() as s:
        user = me(s)
        course = course_or_abort(s, name, user)
        action = request.form.get("action")
        if action == "add" and user.role != "admin":
            abort(403)  # before the name is looked up: the answer says nothing about it
        person = s.scalar(select(Person).where(Person.name == request.form.get("person", "")))
        if person is None or action not in ("add", "remove"):
            abort(400, description="Choose a person and whether to add or remove them.")
        member = s.get(CourseMember, (course.id, person.id))
        if action == "remove" and member is None:
            # The same answer as for a name no one has: an instructor may not learn who is
            # enrolled elsewhere, and nothing happened to audit.
            abort(400, description="Choose a person and whether to add or remove them.")
        if action == "add" and member is None:
            s.add(CourseMember(course_id=course.id, person_id=person.id))
        elif action == "remove":
            s.delete(member)
        record(s, user.name, CourseChanged(course.name, "roster", "", f"{action} {person.name}"))
    flash(f"{person.name} {'added to' if action == 'add' else 'removed from'} {name}.", "success")
    return redirect(url_for("courses.detail", name=name))


@bp.post("/<name>/schedule")
def schedule(name: str):  # noqa: ANN201
    with db_session() as s:
        user = me(s)
        course = course_or_abort(s, name, user)
        before = schedule_text(course)
        starts = request.form.get("start_time", "").strip() or None
        ends = request.form.get("end_time", "").strip() or None
        zone = request.form.get("timezone", "").strip() or None
        try:
            grace = int(request.form.get("grace_minutes", "5"))
            if not 0 <= grace <= 240:
                raise ValueError
        except ValueError:
            return _refused("schedule", name, "grace must be a whole number of minutes, 0-240")
        if (starts is None) != (ends is None):
            return _refused("schedule", name, "give both a start and an end time, or neither")
        try:
            upsert_course(s, course.name, [], starts, ends, grace, zone)
        except RollcallError as exc:
            s.rollback()
            return _refused("schedule", name, str(exc))
        if starts is not None and course.start_time == course.end_time:
            # (An end before the start is a class past midnight, which the rules place.)
            s.rollback()
            return _refused("schedule", name, f"it starts and ends at {starts}")
        if starts is None:
            course.start_time = course.end_time = None
        if zone is None:
            course.timezone = None
        record(s, user.name, CourseChanged(course.name, "schedule", before, schedule_text(course)))
    flash(f"Schedule of {name} saved.", "success")
    return redirect(url_for("courses.detail", name=name))


@bp.post("/<name>/sessions")
def start_session(name: str):  # noqa: ANN201
    """A session of the course for a capture agent to join (`rollcall agent --session NAME`):
    made here, it starts now and its sampling times run from now."""
    from rollcall.analysis import MODES
    from rollcall.analysis.entrance import DEFAULT_FPS, MAX_FPS, MIN_FPS
    from rollcall.analysis.entrance.occupancy import line_text, parse_line
    from rollcall.attendance.runner import RunOptions, prepare_session

    with db_session() as s:
        user = me(s)
        course = course_or_abort(s, name, user)
        course_name = course.name
    form = request.form
    try:
        session_name = check_exact_name("session", form.get("session", "").strip())
        mode = form.get("mode", "meeting")
        if mode not in MODES:
            raise RollcallError("choose meeting, classroom or entrance")
        lo, hi = float(form.get("min_interval", 20)), float(form.get("max_interval", 90))
        if not 5 <= lo <= hi <= 3600:
            raise RollcallError("sampling intervals: 5 s to an hour, the shortest first")
        fps = float(form.get("fps") or DEFAULT_FPS) if mode == "entrance" else None
        if fps is not None and not MIN_FPS <= fps <= MAX_FPS:
            raise RollcallError(f"frames per second: {MIN_FPS:g} to {MAX_FPS:g}")
        with db_session() as s:
            if get_session(s, session_name) is not None:
                # (Said here in the portal's words: `run` points at its --resume.)
                raise RollcallError(f"a session named {session_name!r} exists; pick a new name")
        line = form.get("line", "").strip() if mode == "entrance" else ""
        line = line_text(parse_line(line)) if line else None
        options = RunOptions(session=session_name, source="agent", course=course_name,
                             min_interval=lo, max_interval=hi, mode=mode, entrance_fps=fps,
                             entrance_line=line)  # fmt: skip
        prepare_session(portal().db, options, datetime.now().astimezone())
    except ValueError:
        flash("Nothing was started: the intervals and fps are numbers.", "error")
        return redirect(url_for("courses.detail", name=name, _anchor="agent-session"))
    except RollcallError as exc:
        flash(f"Nothing was started: {exc}", "error")
        return redirect(url_for("courses.detail", name=name, _anchor="agent-session"))
    with db_session() as s:
        what = f"session {session_name} started for an agent ({mode})"
        record(s, user.name, CourseChanged(course_name, "session", "", what))
    flash(
        f"Session {session_name} started. On the machine with the video: rollcall agent "
        f"--server {request.host_url.rstrip('/')} --token … --session {session_name} "
        "--source screen (or camera:0, rtsp://…)",
        "success",
    )
    return redirect(url_for("sessions.sheet", name=session_name))


@bp.post("/<name>/instructors")
@admin_required
def instructors(name: str):  # noqa: ANN201
    with db_session() as s:
        course = course_or_abort(s, name)
        user = s.scalar(select(User).where(User.name == request.form.get("user", "")))
        action = request.form.get("action")
        if user is None or user.role != "instructor" or action not in ("add", "remove"):
            abort(400, description="Choose an instructor and whether to add or remove them.")
        accounts.set_instructor(s, course, user, action == "add")
        record(
            s, me(s).name, CourseChanged(course.name, "instructors", "", f"{action} {user.name}")
        )
    return redirect(url_for("courses.detail", name=name))


@bp.post("/<name>/delete")
@admin_required
def remove(name: str):  # noqa: ANN201
    from rollcall.attendance.lifecycle import delete_course

    if request.form.get("confirm", "").strip() != name:
        flash("Type the course's name exactly to confirm the deletion.", "error")
        return redirect(url_for("courses.detail", name=name))
    with db_session() as s:
        course_or_abort(s, name)
        actor = me(s).name
    p = portal()
    deleted, kept = delete_course(
        p.db, p.settings, name, actor, request.form.get("with_sessions") == "on"
    )
    flash(f"Deleted course {name}: {deleted} session(s) deleted, {kept} kept.", "success")
    return redirect(url_for("courses.index"))
