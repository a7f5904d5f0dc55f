"""People (admins only): enroll from uploads, see templates, delete with all biometric data."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from rollcall.attendance.participants.store import aliases_of
from rollcall.enrollment import CONSENT_METHODS, Consent, enroll_photos
from rollcall.errors import RollcallError
from rollcall.source_text import shown_text
from rollcall.storage.accounts import check_email
from rollcall.storage.audit import PersonDeleted, PersonDetailsChanged, PersonEnrolled, record
from rollcall.storage.models import Course, CourseMember, Template
from rollcall.storage.people import (
    ConsentOnRecord,
    consent_of,
    details_for_audit,
    get_person,
    list_people,
    set_student_id,
)
from rollcall.web.access import admin_required, me
from rollcall.web.context import db_session, portal
from rollcall.web.forms import refused

bp = Blueprint("people", __name__, url_prefix="/people")
MAX_PHOTOS = 20


@bp.before_request
@admin_required
def _admins_only() -> None:
    """Biometric data: only administrators enroll, inspect or delete people."""


@bp.get("/")
def index():  # noqa: ANN201
    with db_session() as s:
        return render_template("people/index.html", people=list_people(s))


def uploaded_photos() -> list[tuple[str, bytes]]:
    """The uploaded files as (safe label, bytes); refuses what is plainly not a photo."""
    files = [f for f in request.files.getlist("photos") if f and f.filename]
    if not files:
        raise RollcallError("Choose at least one photo.")
    if len(files) > MAX_PHOTOS:
        raise RollcallError(f"Send at most {MAX_PHOTOS} photos at a time.")
    out = []
    for i, f in enumerate(files, 1):
        # The client's file name is only a label for messages (escaped where shown); nothing
        # is stored under it. Its own letters are kept: made ASCII, "写真.jpg" became "jpg".
        # Whether it is a photo is decided by its content, file by file (enroll_photos): a
        # suffix the list did not know (".jfif") refused the whole upload.
        name = (f.filename or "").replace("\\", "/").rsplit("/", 1)[-1]
        label = shown_text(name).strip()[:80] or f"photo-{i}"
        out.append((label, f.read()))
    return out


def _consent_on_record(name: str) -> ConsentOnRecord | None:
    """The consent already on record for `name`, if they are enrolled with one."""
    if not name:
        return None
    with db_session() as s:
        person = get_person(s, name)
        return None if person is None else consent_of(s, person)


def consent_from_form(staff: str) -> Consent:
    """The consent statement the form records; refuses a form that does not give one."""
    if request.form.get("consent_confirmed") != "on":
        raise RollcallError(
            "Consent is required: tick the box to confirm you have the person's consent "
            "to store their face templates."
        )
    method = request.form.get("consent_method", "")
    if method not in CONSENT_METHODS:
        raise RollcallError("Consent is required: choose how the person gave their consent.")
    return Consent(method, staff, request.form.get("consent_note", ""))


def _form(name: str, status: int = 200):  # noqa: ANN202
    return render_template(
        "people/enroll.html",
        name=name,
        methods=CONSENT_METHODS,
        method=request.form.get("consent_method", ""),
        note=request.form.get("consent_note", ""),
        on_record=_consent_on_record(name),
    ), status


@bp.route("/new", methods=["GET", "POST"])
def enroll():  # noqa: ANN201
    if request.method == "GET":
        return _form(" ".join(request.args.get("name", "").split()))
    name = " ".join(request.form.get("name", "").split())
    with db_session() as s:
        staff = me(s).name
    errors, photos, consent = [], [], None
    if not name or len(name) > 200:
        errors.append("Give the person's name (1 to 200 characters).")
    try:
        photos = uploaded_photos()
    except RollcallError as exc:
        errors.append(str(exc))
    # Someone with consent on record can be given more photos without a new statement.
    if _consent_on_record(name) is None:
        try:
            consent = consent_from_form(staff)
        except RollcallError as exc:
            errors.append(str(exc))
    if errors:
        for message in errors:
            flash(message, "error")
        return _form(name, 400)
    p = portal()
    try:
        result = enroll_photos(p.db, p.engine, name, photos, consent=consent)
    except RollcallError as exc:  # e.g. consent withdrawn (person erased) meanwhile
        flash(str(exc), "error")
        return _form(name, 400)
    for label, reason in result.refused:
        flash(f"{label}: refused: {reason}", "error")
    if not (result.accepted or result.duplicates):
        return _form(name, 400)
    recorded = consent if result.consent_recorded else None
    with db_session() as s:
        record(
            s,
            staff,
            PersonEnrolled(
                name,
                len(result.accepted),
                len(result.refused),
                consent_method=recorded.method if recorded else None,
                consent_note=recorded.note if recorded else "",
            ),
        )
    flash(
        f"{name}: {len(result.accepted)} template(s) added"
        + (f", {len(result.duplicates)} already enrolled" if result.duplicates else "")
        + (f"; consent recorded ({recorded.method})" if recorded else ""),
        "success",
    )
    return redirect(url_for("people.detail", name=name))


@bp.get("/<name>")
def detail(name: str):  # noqa: ANN201
    with db_session() as s:
        person = get_person(s, name)
        if person is None:
            abort(404, description=f"No one named {name!r} is enrolled.")
        templates = s.scalars(
            select(Template).where(Template.person_id == person.id).order_by(Template.id)
        ).all()
        courses = s.scalars(
            select(Course.name)
            .join(CourseMember, CourseMember.course_id == Course.id)
            .where(CourseMember.person_id == person.id)
            .order_by(Course.name)
        ).all()
        return render_template(
            "people/detail.html",
            person=person,
            templates=templates,
            courses=courses,
            consent=consent_of(s, person),
            meeting_accounts=aliases_of(s, person),
        )


@bp.post("/<name>/delete")
def remove(name: str):  # noqa: ANN201
    """Delete the person, their templates (cascade), marks, and every crop or evidence file."""
    if request.form.get("confirm", "").strip() != name:
        flash("Type the person's name exactly to confirm the deletion.", "error")
        return redirect(url_for("people.detail", name=name))
    from rollcall.privacy import erase_person

    with db_session() as s:
        if get_person(s, name) is None:
            abort(404)
    # The one erasure the command line does too (privacy.erase_person): templates, marks,
    # crops, faces assigned to them, their meeting accounts and their monitors' state.
    gone = erase_person(portal().db, portal().settings, name)
    with db_session() as s:
        record(s, me(s).name, PersonDeleted(name, gone.templates, gone.files))
    templates, removed = gone.templates, gone.files
    flash(f"Deleted {name}: {templates} template(s) and {removed} image file(s).", "success")
    return redirect(url_for("people.index"))


@bp.post("/<name>/details")
def details(name: str):  # noqa: ANN201
    """Student id and email addresses (for exports and alerts)."""
    with db_session() as s:
        person = get_person(s, name)
        if person is None:
            abort(404)
        before = details_for_audit(person)
        try:
            email = check_email(request.form.get("email"))
            guardian = check_email(request.form.get("guardian_email"))
            set_student_id(s, person, request.form.get("student_id", ""))
        except RollcallError as exc:
            return refused(f"details:{name}", str(exc), url_for("people.detail", name=name))
        person.email, person.guardian_email = email, guardian
        record(s, me(s).name, PersonDetailsChanged(name, before, details_for_audit(person)))
    flash(f"Details of {name} saved.", "success")
    return redirect(url_for("people.detail", name=name))
