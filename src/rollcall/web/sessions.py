"""Sessions: the list, the attendance sheet with evidence and chart, mark edits, exports."""

from __future__ import annotations

import tempfile
from pathlib import Path

from flask import Blueprint, abort, flash, redirect, render_template, request, send_file, url_for
from sqlalchemy import select

from rollcall.alerts.compose import queue_after_edit
from rollcall.attendance.export import EXPORTERS, edit_reasons, export_details
from rollcall.attendance.report import as_utc, build_report, row_zone
from rollcall.attendance.status import exported_status
from rollcall.storage import accounts
from rollcall.storage.audit import MarkEdited, SessionClosed, entries_for_session, record
from rollcall.storage.models import AttendanceRecord, Person
from rollcall.storage.sessions import samples_named, session_events, unknown_faces
from rollcall.wallclock import clock_at, in_zone
from rollcall.web.access import me, session_or_abort
from rollcall.web.chart import clock, head_count_svg, span
from rollcall.web.context import db_session, portal
from rollcall.web.evidence import send_evidence
from rollcall.web.meetings import meeting_view

bp = Blueprint("sessions", __name__, url_prefix="/sessions")

STATUSES = ("present", "late", "left_early", "absent")
MIMETYPES = {
    "csv": "text/csv",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}


@bp.app_template_filter("clock")
def _clock(seconds: float | None) -> str:
    return "" if seconds is None else clock(seconds)


@bp.app_template_filter("span")
def _span(seconds: float | None) -> str:
    return "" if seconds is None else span(seconds)


@bp.app_template_filter("count")
def _count(n: int, noun: str, plural: str | None = None) -> str:
    """ "1 face", "3 faces": a number with its noun agreeing (the pages said "face(s)")."""
    return f"{n} {noun if n == 1 else plural or noun + 's'}"


@bp.app_template_filter("utc")
def _utc(value) -> str:  # noqa: ANN001
    return "" if value is None else as_utc(value).strftime("%Y-%m-%d %H:%M UTC")


@bp.app_template_filter("utc_seconds")
def _utc_seconds(value) -> str:  # noqa: ANN001
    return "" if value is None else as_utc(value).strftime("%Y-%m-%d %H:%M:%S")


@bp.app_template_filter("hms")
def _hms(value) -> str:  # noqa: ANN001
    """A clock time of the session's own zone (from SessionReport.clock)."""
    return "" if value is None else value.strftime("%H:%M:%S")


@bp.app_template_filter("session_start")
def _session_start(row) -> str:  # noqa: ANN001
    """When a session started, on the clock of its course's zone (else the portal's)."""
    zone = row_zone(row, portal().settings.timezone)
    return in_zone(row.started_at, zone).strftime("%Y-%m-%d %H:%M %Z")


@bp.app_template_filter("session_clock")
def _session_clock(row, seconds: float | None) -> str:  # noqa: ANN001
    """The clock time ``seconds`` into session ``row``, in its course's zone ("09:03:49"), as
    the session's own page shows it."""
    zone = row_zone(row, portal().settings.timezone)
    when = clock_at(row.started_at, seconds, zone)
    return "" if when is None else when.strftime("%H:%M:%S")


def report_of(s, row):  # noqa: ANN001, ANN201
    return build_report(s, row, portal().settings.timezone)


# Sessions a page: a school records hundreds a day, and the list once rendered every one.
PAGE = 100


@bp.get("/")
def index():  # noqa: ANN201
    search = " ".join(request.args.get("q", "").split())[:100] or None
    try:
        page = max(1, int(request.args.get("page", "1")))
    except ValueError:
        page = 1
    with db_session() as s:
        user = me(s)
        total = accounts.count_visible_sessions(s, user, search)
        pages = max(1, -(-total // PAGE))
        page = min(page, pages)
        rows = accounts.visible_sessions(
            s, user, limit=PAGE, offset=(page - 1) * PAGE, search=search
        )
        items = [(r, r.course.name if r.course else None) for r in rows]
        return render_template(
            "sessions/index.html",
            items=items,
            page=page,
            pages=pages,
            total=total,
            first=(page - 1) * PAGE + 1,
            search=search or "",
        )


def _record(s, session_id: int, person: str) -> AttendanceRecord:  # noqa: ANN001
    rec = s.scalar(
        select(AttendanceRecord)
        .join(Person, Person.id == AttendanceRecord.person_id)
        .where(AttendanceRecord.session_id == session_id, Person.name == person)
    )
    if rec is None:
        abort(404, description=f"{person!r} is not expected in this session.")
    return rec


@bp.get("/<name>")
def sheet(name: str):  # noqa: ANN201
    with db_session() as s:
        row = session_or_abort(s, name)
        report = report_of(s, row)
        return render_template(
            "sessions/sheet.html",
            row=row,
            report=report,
            chart=head_count_svg(report.head_counts, row.duration or row.processed_until),
            unknowns=unknown_faces(s, row.id),
            audit=entries_for_session(s, row.name),
            statuses=STATUSES,
            named_in=samples_named(s, row.id),
            # Marks staff changed, by an edit or by assigning a face (as the exports say).
            changed={person for _, person in edit_reasons(s, [row.name])},
            samples=len(report.head_counts),
            notices=_notices(s, row.id),
            # Absent is final only once the session is closed (an interrupted one resumes).
            running=row.state != "closed",
            # An entrance marks people as they pass: no minutes present, samples seen in, or
            # meeting participant list (it has no meeting).
            entrance=row.mode == "entrance",
            **meeting_view(s, row, report),
        )


# Events the instructor must see on the sheet: who was there without being expected, one face
# shown twice, faces that matched two people or lost their name, two people at one camera.
NOTICE_KINDS = {
    "visitor": "visitor (enrolled, not on the roster)",
    "duplicate": "the same face in two places",
    "disputed": "one face matched two people",
    "identity_lost": "a face lost its name",
    "shared_camera": "two people at one camera",
    # Faces that never moved: a classroom camera's (vision.still: counted by nobody, named
    # never) or a meeting participant's own camera (vision.frozen: not credited, a mark made on
    # nothing else withdrawn). The crop shows which, so a real person the check got wrong can
    # be seen and put right.
    "pictures": "faces that never moved, taken for pictures (a poster, a photo as a camera)",
    # An entrance track that moved like a photo or a screen, or whose nose could not be
    # measured (the event's detail says which): no one credited, its face is in the unknown
    # faces to review (a real person the check got wrong is put right there).
    "presentation_attack": "a picture held up to the camera",
    # web.agent_api.missed: a hole in the evidence, not something anyone did.
    "samples_missed": "samples the capture agent could not take",
    # A meeting screen that showed no face at all after showing some (a screen share): a
    # hole in the evidence too; nobody is judged to have left early in it (attendance.status).
    "no_faces": "no face on screen (slides shared?)",
}


def _notices(s, session_id: int) -> list[tuple[object, str, str | None, str]]:  # noqa: ANN001
    """(event, label, person name, detail) for the events worth the instructor's attention."""
    events = [e for e in session_events(s, session_id) if e.kind in NOTICE_KINDS]
    ids = {e.person_id for e in events if e.person_id is not None}
    names = dict(s.execute(select(Person.id, Person.name).where(Person.id.in_(ids))).all())
    return [(e, NOTICE_KINDS[e.kind], names.get(e.person_id), e.detail) for e in events]


@bp.post("/<name>/close")
def close(name: str):  # noqa: ANN201
    """End a running or interrupted session for good, as `rollcall sessions close` does: a
    session started here for a capture agent that never came back stayed running (on the
    dashboard, its absent people "not yet seen") until someone had the command line."""
    from rollcall.attendance import lifecycle

    with db_session() as s:
        user = me(s)
        row = session_or_abort(s, name, user)
        if row.state == lifecycle.CLOSED:
            flash(f"{name} is already closed.", "error")
            return redirect(url_for("sessions.sheet", name=name))
        before = row.state
        lifecycle.close(s, row, row.processed_until or 0.0, portal().settings.timezone)
        record(s, user.name, SessionClosed(row.name, before))
    flash(
        f"{name} is closed: final statuses are given, and a run or agent still recording it "
        "stops. It is in the audit trail.",
        "success",
    )
    return redirect(url_for("sessions.sheet", name=name))


def _shown(entry, row) -> str:  # noqa: ANN001
    """The mark as staff see it: someone not yet seen in a session still going is not yet
    absent, so marking them absent (excused, known to be away) is a change."""
    return entry.status if entry.edited else exported_status(entry.status, row.state)


@bp.post("/<name>/marks")
def bulk_edit(name: str):  # noqa: ANN201
    """Several marks changed at once with one reason; each change is its own audit entry."""
    people = request.form.getlist("person")
    status = request.form.get("status", "")
    reason = " ".join(request.form.get("reason", "").split())[:500]
    problems = []
    if not people:
        problems.append("Tick the people whose mark should change.")
    if status not in STATUSES:
        problems.append("Choose one of the statuses.")
    if len(reason) < 3:
        problems.append("Give a reason for the change (at least 3 characters).")
    with db_session() as s:
        session_or_abort(s, name)  # not theirs: 403 before anything else is said
    if problems:
        for p in problems:
            flash(p, "error")
        return redirect(url_for("sessions.sheet", name=name, _anchor="attendance"))
    changed, unchanged = [], []
    with db_session() as s:
        user = me(s)
        row = session_or_abort(s, name, user)
        current = {a.person: _shown(a, row) for a in report_of(s, row).attendance}
        for person in dict.fromkeys(people):
            rec = _record(s, row.id, person)
            if current[person] == status:
                unchanged.append(person)
                continue
            rec.status, rec.edited = status, True
            record(s, user.name, MarkEdited(row.name, person, current[person], status, reason))
            changed.append(person)
        if changed:
            s.flush()
            queue_after_edit(s, row, portal().settings.timezone)
    message = f"{len(changed)} mark(s) set to {status}: {', '.join(changed) or 'none'}."
    if unchanged:
        message += f" Already {status}: {', '.join(unchanged)}."
    flash(message + " Each change is in the audit trail.", "success")
    return redirect(url_for("sessions.sheet", name=name, _anchor="audit"))


@bp.route("/<name>/marks/<person>", methods=["GET", "POST"])
def mark(name: str, person: str):  # noqa: ANN201
    """The evidence for one mark, and the form that changes it with a reason."""
    with db_session() as s:
        user = me(s)
        row = session_or_abort(s, name, user)
        rec = _record(s, row.id, person)
        report = report_of(s, row)
        entry = next(a for a in report.attendance if a.person == person)
        if request.method == "GET":
            return render_template(
                "sessions/mark.html",
                row=row,
                report=report,
                entry=entry,
                rec=rec,
                statuses=STATUSES,
            )
        status = request.form.get("status", "")
        reason = " ".join(request.form.get("reason", "").split())[:500]
        problems = []
        if status not in STATUSES:
            problems.append("Choose one of the statuses.")
        if len(reason) < 3:
            problems.append("Give a reason for the change (at least 3 characters).")
        before = _shown(entry, row)
        if status == before:
            problems.append(f"The mark is already {status}.")
        if problems:
            for p in problems:
                flash(p, "error")
            return render_template(
                "sessions/mark.html",
                row=row,
                report=report,
                entry=entry,
                rec=rec,
                statuses=STATUSES,
                reason=reason,
            ), 400
        rec.status = status
        rec.edited = True
        record(s, user.name, MarkEdited(row.name, person, before, status, reason))
        s.flush()
        queue_after_edit(s, row, portal().settings.timezone)
    flash(f"{person}: {before} → {status}. The change is in the audit trail.", "success")
    return redirect(url_for("sessions.sheet", name=name, _anchor="audit"))


@bp.get("/<name>/evidence/<person>")
def evidence(name: str, person: str):  # noqa: ANN201
    with db_session() as s:
        row = session_or_abort(s, name)
        stored = _record(s, row.id, person).evidence_path
    return send_evidence(portal().settings, stored)


@bp.get("/<name>/events/<int:event_id>/crop")
def event_crop(name: str, event_id: int):  # noqa: ANN201
    """The image an event kept (a classroom's picture on the wall): of this session only."""
    from rollcall.storage.models import SessionEvent

    with db_session() as s:
        row = session_or_abort(s, name)
        event = s.get(SessionEvent, event_id)
        if event is None or event.session_id != row.id:
            abort(404)
        stored = event.crop_path
    return send_evidence(portal().settings, stored)


@bp.get("/<name>/export.<fmt>")
def export(name: str, fmt: str):  # noqa: ANN201
    if fmt not in EXPORTERS:
        abort(404)
    with db_session() as s:
        report = report_of(s, session_or_abort(s, name))
        details = export_details(s, report)
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / f"attendance.{fmt}"
        EXPORTERS[fmt](report, path, details)
        data = path.read_bytes()
    return download(data, f"{name}-attendance.{fmt}", fmt)


def download(data: bytes, filename: str, fmt: str):  # noqa: ANN201
    import io

    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in filename)
    return send_file(
        io.BytesIO(data), mimetype=MIMETYPES[fmt], as_attachment=True, download_name=safe
    )
