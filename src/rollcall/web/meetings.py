"""Online meetings in the portal: participant reports uploaded to a session, proposals
confirmed, suspected cases reviewed (the review list), people's meeting accounts."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from rollcall.attendance.participants import parse_report
from rollcall.attendance.participants.store import (
    add_alias,
    confirm,
    import_report,
    remove_alias,
    remove_reported,
)
from rollcall.attendance.participants.text import csv_rows, decode
from rollcall.attendance.reconcile import reconcile_session
from rollcall.attendance.report import row_zone
from rollcall.errors import RollcallError
from rollcall.storage import accounts
from rollcall.storage.audit import MeetingChanged, record
from rollcall.storage.meetings import MeetingParticipant, MeetingReview
from rollcall.storage.models import Person, utcnow
from rollcall.storage.names import name_order
from rollcall.storage.people import get_person
from rollcall.wallclock import check_zone, zone_info
from rollcall.web.access import admin_required, me, session_or_abort
from rollcall.web.context import db_session, portal

bp = Blueprint("meetings", __name__)
MAX_REPORT_BYTES = 5 * 1024 * 1024
DECISIONS = ("confirmed", "dismissed")


def _sheet(name: str):  # noqa: ANN202
    return redirect(url_for("sessions.sheet", name=name, _anchor="meeting"))


def _upload(field: str) -> tuple[str, bytes]:
    f = request.files.get(field)
    if f is None or not f.filename:
        raise RollcallError("Choose a file to upload.")
    data = f.read(MAX_REPORT_BYTES + 1)
    if len(data) > MAX_REPORT_BYTES:
        raise RollcallError("The file is over 5 MB: not a participant report.")
    # The client's file name is only a label for messages.
    label = "".join(c for c in f.filename if c.isalnum() or c in " -_.()")[:80] or "report"
    return label, data


@bp.post("/sessions/<name>/participants")
def upload(name: str):  # noqa: ANN201
    """A platform's participant report into the session: all of it or, on any error, nothing."""
    with db_session() as s:
        session_or_abort(s, name)  # not theirs: 403 before the file is read
    try:
        label, data = _upload("report")
        report = parse_report(data, label)
        with db_session() as s:
            user = me(s)
            row = session_or_abort(s, name, user)
            given = request.form.get("timezone", "").strip()
            zone = (
                zone_info(check_zone(given, "the report's time zone"))
                if given
                else row_zone(row, portal().settings.timezone)
            )
            result = import_report(s, row, report, zone)
            what = (
                f"imported {result.platform} report {label}: {len(result.accounts)} account(s), "
                f"{result.stays_added} new stay(s)"
            )
            record(s, user.name, MeetingChanged(row.name, what, label))
    except RollcallError as exc:
        flash(f"Nothing was imported: {exc}", "error")
        return _sheet(name)
    flash(
        f"{what}: {len(result.matched)} matched, {len(result.proposed)} proposed for you to "
        f"confirm, {len(result.unmatched)} not matched.",
        "success",
    )
    return _sheet(name)


@bp.post("/sessions/<name>/participants/remove")
def remove_reports(name: str):  # noqa: ANN201
    """Undo the reports imported into the session (a wrong file, another meeting's)."""
    with db_session() as s:
        user = me(s)
        row = session_or_abort(s, name, user)
        stays, emptied = remove_reported(s, row)
        what = f"removed imported reports: {stays} stay(s), {emptied} account(s)"
        record(s, user.name, MeetingChanged(row.name, what, ""))
    flash(what[0].upper() + what[1:] + ".", "success")
    return _sheet(name)


@bp.post("/sessions/<name>/participants/<int:participant_id>/confirm")
def confirm_match(name: str, participant_id: int):  # noqa: ANN201
    """Staff say which person an account is (the proposal, or another); remembered as an alias."""
    with db_session() as s:
        user = me(s)
        row = session_or_abort(s, name, user)
        p = s.get(MeetingParticipant, participant_id)
        if p is None or p.session_id != row.id:
            abort(404, description="No such account in this session.")
        chosen = request.form.get("person", "").strip()
        person = get_person(s, chosen) if chosen in people_names(s, row) else None
        if person is None:
            flash("Choose an enrolled person.", "error")
            return _sheet(name)
        done = confirm(s, p, person, user.name)
        account = p.name or p.email or ""
        # The account's name or email is not kept in the trail, which outlives an erasure.
        what = f"a meeting account confirmed as {person.name}"
        record(s, user.name, MeetingChanged(row.name, what, person.name))
    flash(done.words(account, person.name), "success")
    return _sheet(name)


@bp.post("/sessions/<name>/review")
def review(name: str):  # noqa: ANN201
    """A decision on one suspected case; the case stays listed with it, marks do not change."""
    case = request.form.get("case", "")[:300]
    decision = request.form.get("decision", "")
    note = " ".join(request.form.get("note", "").split())[:500]
    with db_session() as s:
        user = me(s)
        row = session_or_abort(s, name, user)
        if decision not in DECISIONS:
            flash("Choose confirmed or dismissed.", "error")
            return _sheet(name)
        result = reconcile_session(s, row)
        cases = {e.case: e for e in result.to_review} if result else {}
        if case not in cases:
            flash("That case is not on this session's review list (any more).", "error")
            return _sheet(name)
        held = s.scalar(
            select(MeetingReview).where(
                MeetingReview.session_id == row.id, MeetingReview.case_key == case
            )
        )
        if held is None:
            held = MeetingReview(session_id=row.id, case_key=case)
            s.add(held)
        held.decision, held.note, held.decided_by, held.decided_at = (
            decision,
            note,
            user.name,
            utcnow(),
        )
        # About its person (their subject-access export holds it), without the account's
        # email or name in the case's key: the trail outlives an erasure.
        entry = cases[case]
        what = f"{entry.status} case: {decision}" + (f" ({note})" if note else "")
        record(s, user.name, MeetingChanged(row.name, what[:500], entry.person or ""))
    flash(f"Recorded: {decision}. Marks are changed only from the attendance table.", "success")
    return _sheet(name)


@bp.get("/meetings/review")
def review_list():  # noqa: ANN201
    """Every suspected case of the sessions the user may see, undecided ones first."""
    items = []
    with db_session() as s:
        # Only sessions with a participant report can have a case: reconciling every session
        # ever recorded (a few queries each) made this page grow with the school's history.
        reported = set(s.scalars(select(MeetingParticipant.session_id).distinct()))
        for row in accounts.visible_sessions(s, me(s)):
            if row.id not in reported:
                continue
            result = reconcile_session(s, row)
            if result is None:
                continue
            items += [(row, e) for e in result.to_review]
        items.sort(key=lambda x: (x[1].review is not None, -x[0].started_at.timestamp()))
        return render_template("meetings/review.html", items=items)


# -- people's meeting accounts (admins, like the rest of a person's details) ---------------------


@bp.post("/people/<name>/accounts")
@admin_required
def person_accounts(name: str):  # noqa: ANN201
    with db_session() as s:
        user = me(s)
        person = get_person(s, name)
        if person is None:
            abort(404, description=f"There is no person named {name!r}.")
        kind = request.form.get("kind", "")
        value = request.form.get("value", "")
        try:
            if request.form.get("remove"):
                if not remove_alias(s, person, value):
                    raise RollcallError(f"{name} has no meeting account {value!r}")
                what = f"meeting account removed: {value}"
                audited = "a meeting account removed"
            else:
                add_alias(s, person, kind, value, user.name)
                what = f"meeting {kind} added: {value}"
                audited = f"a meeting {kind} added"
            # Which kind, not the value: the trail outlives an erasure (details_for_audit).
            record(s, user.name, MeetingChanged(None, audited, name))
        except RollcallError as exc:
            flash(str(exc), "error")
            return redirect(url_for("people.detail", name=name, _anchor="accounts"))
    flash(f"{name}: {what}.", "success")
    return redirect(url_for("people.detail", name=name, _anchor="accounts"))


@bp.post("/people/accounts")
@admin_required
def accounts_csv():  # noqa: ANN201
    """Meeting emails and aliases for many people: a CSV of person,email,alias; all or nothing."""
    try:
        label, data = _upload("accounts")
        rows = csv_rows(decode(data, label), label)
        header = [h.strip().casefold() for h in (rows[0] if rows else [])]
        if "person" not in header or not ({"email", "alias"} & set(header)):
            raise RollcallError(f"{label}, line 1: expected the columns person, email and alias")
        col = {h: i for i, h in enumerate(header)}
        added = 0
        with db_session() as s:
            user = me(s)
            for line, row in enumerate(rows[1:], start=2):
                value = {h: row[i].strip() if i < len(row) else "" for h, i in col.items()}
                if not any(value.values()):
                    continue
                person = get_person(s, value["person"])
                if person is None:
                    raise RollcallError(
                        f"{label}, line {line}: no person named {value['person']!r}"
                    )
                for kind in ("email", "alias"):
                    if value.get(kind):
                        try:
                            added += add_alias(s, person, kind, value[kind], user.name)
                        except RollcallError as exc:
                            raise RollcallError(f"{label}, line {line}: {exc}") from None
            record(s, user.name, MeetingChanged(None, f"{added} account(s) from {label}"))
    except RollcallError as exc:
        flash(f"Nothing was imported: {exc}", "error")
        return redirect(url_for("people.index"))
    flash(f"Added {added} meeting account(s) from {label}.", "success")
    return redirect(url_for("people.index"))


def people_names(s, row) -> list[str]:  # noqa: ANN001
    """Whom an account may be confirmed as: anyone for admins; the course's roster for its
    instructors (they do not see the other courses' people)."""
    from rollcall.storage.models import CourseMember

    query = select(Person.name)
    if me(s).role != "admin":
        query = query.join(CourseMember, CourseMember.person_id == Person.id).where(
            CourseMember.course_id == row.course_id
        )
    return sorted(s.scalars(query), key=name_order)


def meeting_view(s, row, report) -> dict[str, object]:  # noqa: ANN001
    """What the session sheet's meeting section shows: the reconciliation with links to the
    crops behind each case, the accounts waiting for a match, and who can be chosen."""
    from rollcall.storage.models import AttendanceRecord, SessionEvent, UnknownFace

    result = report.meeting
    if result is None:
        return {"meeting": None}
    crops = {
        round(u.t, 2): u.id
        for u in s.scalars(select(UnknownFace).where(UnknownFace.session_id == row.id))
    }
    with_evidence = set(
        s.scalars(
            select(Person.name)
            .join(AttendanceRecord, AttendanceRecord.person_id == Person.id)
            .where(
                AttendanceRecord.session_id == row.id, AttendanceRecord.evidence_path.is_not(None)
            )
        )
    )
    # Someone enrolled but not expected (a sit-in from another course): their visit's crop.
    visits = {
        name: event_id
        for event_id, name in s.execute(
            select(SessionEvent.id, Person.name)
            .join(Person, Person.id == SessionEvent.person_id)
            .where(
                SessionEvent.session_id == row.id,
                SessionEvent.kind == "visitor",
                SessionEvent.crop_path.is_not(None),
            )
        )
    }
    evidence = {}
    for e in result.entries:
        links = []
        for seen in e.evidence[:6]:
            if seen.person is None:
                face = crops.get(round(seen.t, 2))
                url = url_for("unknowns.crop", face_id=face) if face else None
            elif seen.person in with_evidence:
                url = url_for("sessions.evidence", name=row.name, person=seen.person)
            elif seen.person in visits:
                url = url_for("sessions.event_crop", name=row.name, event_id=visits[seen.person])
            else:
                url = None
            links.append((seen, url))
        evidence[e.case] = links
    waiting = [
        p
        for p in s.scalars(
            select(MeetingParticipant)
            .where(MeetingParticipant.session_id == row.id, MeetingParticipant.matched_by.is_(None))
            .order_by(MeetingParticipant.name)
        )
    ]
    names = dict(s.execute(select(Person.id, Person.name)).all())
    # The person the face in an unmatched account's tile was (the reconciliation's "matched by
    # the face in its tile"): offered, as a name proposal is (it was described, not offered).
    # (By the account's key, which a case ends with: two "iPhone" accounts are two accounts.)
    by_face = {e.case.partition(":")[2]: e.person for e in result.entries if e.person}
    return {
        "meeting": result,
        "evidence": evidence,
        "waiting": [(p, names.get(p.proposed_id) or by_face.get(p.account_key)) for p in waiting],
        "people_names": people_names(s, row),
    }


# -- webhooks for a course's live participant events ------------------------------------------


def course_hooks(s, course) -> list:  # noqa: ANN001
    """The course's hooks, each with whether its maker still may feed it (maker_may_use)."""
    from rollcall.storage.hooks import maker_may_use
    from rollcall.storage.meetings import MeetingHook

    rows = s.scalars(
        select(MeetingHook).where(MeetingHook.course_id == course.id).order_by(MeetingHook.id)
    )
    return [(row, maker_may_use(s, row)) for row in rows]


@bp.post("/courses/<name>/hooks")
def create_course_hook(name: str):  # noqa: ANN201
    """A webhook for the course's live participant events; its address is shown only now."""
    from rollcall.storage.hooks import create_hook
    from rollcall.web.access import course_or_abort

    with db_session() as s:
        user = me(s)
        course = course_or_abort(s, name, user)
        try:
            row, token = create_hook(
                s,
                portal().db.cipher,
                request.form.get("label", ""),
                request.form.get("platform", ""),
                user.name,
                course=course,
                secret=request.form.get("secret") or None,
                meeting_id=request.form.get("meeting_id") or None,
                maker=user,
            )
        except RollcallError as exc:
            flash(str(exc), "error")
            return redirect(url_for("courses.detail", name=name, _anchor="hooks"))
        record(s, user.name, MeetingChanged(None, f"webhook {row.id} made for {name}", row.name))
        path = url_for(f"hooks.{'zoom' if row.platform == 'zoom' else 'generic'}", token=token)
        hook_id = row.id
    # On the page, never in a flash: Flask's session cookie is signed, not encrypted, and
    # the address is the hook's credential (as admin.py shows one-time passwords).
    return render_template(
        "meetings/hook_made.html",
        hook_id=hook_id,
        course=name,
        address=f"{request.host_url.rstrip('/')}{path}",
    )


@bp.post("/courses/<name>/hooks/<int:hook_id>/revoke")
def revoke_course_hook(name: str, hook_id: int):  # noqa: ANN201
    from rollcall.storage.hooks import revoke
    from rollcall.storage.meetings import MeetingHook
    from rollcall.web.access import course_or_abort

    with db_session() as s:
        user = me(s)
        course = course_or_abort(s, name, user)
        hook = s.get(MeetingHook, hook_id)
        if hook is None or hook.course_id != course.id:
            abort(404, description="No such webhook for this course.")
        revoke(s, hook_id)
        record(s, user.name, MeetingChanged(None, f"webhook {hook_id} revoked", hook.name))
    flash(f"Webhook {hook_id} revoked: its address no longer works.", "success")
    return redirect(url_for("courses.detail", name=name, _anchor="hooks"))
