"""Review queue of faces that matched no one: assign to a person (maybe as a template), dismiss."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from rollcall.enrollment import enroll_photos
from rollcall.errors import RollcallError
from rollcall.storage import accounts
from rollcall.storage.audit import UnknownAssigned, UnknownDismissed, record
from rollcall.storage.models import AttendanceSession, Person, UnknownFace
from rollcall.storage.people import get_person
from rollcall.storage.sessions import attendance_rows
from rollcall.web.access import me
from rollcall.web.context import db_session, portal
from rollcall.web.evidence import resolve, send_evidence

bp = Blueprint("unknowns", __name__, url_prefix="/unknowns")


def _face_or_abort(s, face_id: int):  # noqa: ANN001, ANN202
    face = s.get(UnknownFace, face_id)
    if face is None:
        abort(404)
    row = s.get(AttendanceSession, face.session_id)
    if not accounts.can_see_session(s, me(s), row):
        abort(403)
    return face, row


def _candidates(s, user, row) -> list[str]:  # noqa: ANN001
    """Admins may assign anyone; instructors only someone expected in that session."""
    if user.role == "admin":
        return list(s.scalars(select(Person.name).order_by(Person.name)))
    return [name for _, name in attendance_rows(s, row.id)]


@bp.get("/")
def index():  # noqa: ANN201
    show = request.args.get("show", "pending")
    if show not in ("pending", "assigned", "dismissed"):
        show = "pending"
    with db_session() as s:
        user = me(s)
        rows = {r.id: r for r in accounts.visible_sessions(s, user)}
        faces = s.scalars(
            select(UnknownFace)
            .where(UnknownFace.session_id.in_(rows), UnknownFace.review == show)
            .order_by(UnknownFace.session_id.desc(), UnknownFace.t)
            .limit(300)
        ).all()
        names = {p.id: p.name for p in s.scalars(select(Person))}
        choices = {sid: _candidates(s, user, rows[sid]) for sid in {f.session_id for f in faces}}
        return render_template(
            "unknowns/index.html",
            faces=faces,
            sessions=rows,
            names=names,
            choices=choices,
            show=show,
        )


@bp.get("/<int:face_id>/crop")
def crop(face_id: int):  # noqa: ANN201
    with db_session() as s:
        face, _ = _face_or_abort(s, face_id)
        stored = face.crop_path
    return send_evidence(portal().settings, stored)


@bp.post("/<int:face_id>/assign")
def assign(face_id: int):  # noqa: ANN201
    person_name = request.form.get("person", "")
    as_template = request.form.get("as_template") == "on"
    with db_session() as s:
        user = me(s)
        face, row = _face_or_abort(s, face_id)
        person = get_person(s, person_name)
        if person is None or person_name not in _candidates(s, user, row):
            flash("Choose a person from the list.", "error")
            return redirect(url_for("unknowns.index"))
        stored, session_name = face.crop_path, row.name
    added = False
    if as_template:
        p = portal()
        path = resolve(p.settings, stored)
        if path is None:
            flash("The face image is missing, so it cannot become a template.", "error")
        else:
            photo = (f"unknown-{face_id}.jpg", path.read_bytes())
            try:
                # Only someone with consent on record gains a template here: this form asks
                # for none, so a person enrolled before consents were kept is refused.
                result = enroll_photos(p.db, p.engine, person_name, [photo], consent=None)
            except RollcallError as exc:
                flash(f"Not added as a template: {exc}", "error")
            else:
                added = bool(result.accepted)
                for _, reason in result.refused:
                    flash(f"Not added as a template: {reason}", "error")
    with db_session() as s:
        face = s.get(UnknownFace, face_id)
        face.review = "assigned"
        face.assigned_id = get_person(s, person_name).id
        record(s, me(s).name, UnknownAssigned(session_name, face_id, person_name, added))
    flash(
        f"Face #{face_id} assigned to {person_name}"
        + (" and added as a template." if added else "."),
        "success",
    )
    return redirect(url_for("unknowns.index"))


@bp.post("/<int:face_id>/dismiss")
def dismiss(face_id: int):  # noqa: ANN201
    with db_session() as s:
        face, row = _face_or_abort(s, face_id)
        face.review = "dismissed"
        record(s, me(s).name, UnknownDismissed(row.name, face_id))
    flash(f"Face #{face_id} dismissed.", "success")
    return redirect(url_for("unknowns.index"))
