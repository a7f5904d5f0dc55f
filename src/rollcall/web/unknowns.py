"""Review of faces that matched no one, grouped by stranger across sessions: assign a group to a
person (their marks follow), add it as templates, enroll it as a new person, or dismiss it."""

from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from sqlalchemy import select

from rollcall.attendance.monitor import PICTURE
from rollcall.attendance.strangers import group_faces
from rollcall.enrollment import CONSENT_METHODS, enroll_photos
from rollcall.errors import RollcallError
from rollcall.storage import accounts
from rollcall.storage.audit import (
    PersonEnrolled,
    UnknownAssigned,
    UnknownDeleted,
    UnknownDismissed,
    record,
)
from rollcall.storage.models import AttendanceRecord, AttendanceSession, Person, UnknownFace
from rollcall.storage.names import name_order
from rollcall.storage.people import get_person
from rollcall.storage.sessions import attendance_rows
from rollcall.storage.unknowns import assign_face, face_vectors
from rollcall.web.access import admin_required, me
from rollcall.web.context import db_session, portal
from rollcall.web.evidence import crop_bytes, send_evidence

bp = Blueprint("unknowns", __name__, url_prefix="/unknowns")
SHOWN = 500  # faces read for one page; groups are made from these
REVIEWS = ("pending", "assigned", "dismissed")


def _ascii_digits(text: str) -> bool:
    # "\xb2".isdigit() is true, and int() refuses it: a 500 for a form value.
    return text.isascii() and text.isdigit()


def form_ids(values: list[str]) -> list[int]:
    """Row ids from form fields; anything else (text, a 400-digit number) is ignored."""
    return [int(v) for v in values if _ascii_digits(v.strip()) and len(v.strip()) <= 9]


def _face_or_abort(s, face_id: int):  # noqa: ANN001, ANN202
    face = s.get(UnknownFace, face_id)
    if face is None:
        abort(404)
    row = s.get(AttendanceSession, face.session_id)
    if not accounts.can_see_session(s, me(s), row):
        abort(403)
    return face, row


def _group_or_abort(s, face_id: int) -> list[tuple[UnknownFace, AttendanceSession]]:  # noqa: ANN001
    """The face in the URL and the other faces of its group the form names (all visible)."""
    ids = [face_id] + form_ids(request.form.getlist("face"))
    return [_face_or_abort(s, i) for i in dict.fromkeys(ids)]


def _refuse_reviewed(group: list[tuple[UnknownFace, AttendanceSession]], what: str) -> None:
    """Faces are assigned, enrolled or dismissed once, while pending (as the queue offers
    them): an assigned face is its person's evidence (their mark took its time and crop), and
    assigning it again, or dismissing it, left that mark on the first person (a privacy
    review: another person's face in their export)."""
    done = [f for f, _ in group if f.review != "pending"]
    if done:
        labels = ", ".join(f"#{f.id} ({f.review})" for f in done)
        abort(
            409,
            description=f"Not {what}: face(s) {labels} were reviewed already; only faces pending "
            "review can be. If a mark is wrong, edit it on the session's page.",
        )


def _candidates(s, user, rows) -> list[str]:  # noqa: ANN001
    """Admins may assign anyone; instructors someone expected in one of the sessions."""
    if user.role == "admin":
        return sorted(s.scalars(select(Person.name)), key=name_order)
    names = {name for row in rows for _, name in attendance_rows(s, row.id)}
    return sorted(names, key=name_order)


def _face_label(face: UnknownFace, row: AttendanceSession) -> str:
    return f"#{face.id} ({row.name})"


@bp.get("/")
def index():  # noqa: ANN201
    show = request.args.get("show", "pending")
    if show not in REVIEWS:
        show = "pending"
    with db_session() as s:
        user = me(s)
        query = select(UnknownFace).where(UnknownFace.review == show)
        if user.role != "admin":
            # Through the sessions' courses, not a list of every session id the user may see
            # (a school's history is tens of thousands).
            mine = select(AttendanceSession.id).where(
                AttendanceSession.course_id.in_(accounts.owned_course_ids(s, user.id))
            )
            query = query.where(UnknownFace.session_id.in_(mine))
        faces = s.scalars(
            query.order_by(UnknownFace.session_id.desc(), UnknownFace.t).limit(SHOWN)
        ).all()
        rows = {
            r.id: r
            for r in s.scalars(
                select(AttendanceSession).where(
                    AttendanceSession.id.in_({f.session_id for f in faces})
                )
            )
        }
        by_id = {f.id: f for f in faces}
        groups = [
            [by_id[i] for i in group]
            for group in group_faces(face_vectors(portal().db.cipher, list(faces)))
        ]
        groups.sort(key=lambda g: (-len({f.session_id for f in g}), -len(g), g[0].id))
        names = dict(s.execute(select(Person.id, Person.name)).all())
        if user.role == "admin":
            everyone = _candidates(s, user, [])
            choices = [everyone for _ in groups]
        else:
            # Each session's expected people, read once: a group's choices, and the names an
            # instructor may see (the closest match of a stranger may be another course's).
            expected = {sid: {n for _, n in attendance_rows(s, sid)} for sid in rows}
            choices = [
                sorted(set().union(*(expected[sid] for sid in {f.session_id for f in g})))
                for g in groups
            ]
            visible = set().union(*expected.values())
            names = {pid: name for pid, name in names.items() if name in visible}
        return render_template(
            "unknowns/index.html",
            groups=list(zip(groups, choices, strict=True)),
            faces=faces,
            sessions=rows,
            names=names,
            show=show,
        )


@bp.get("/<int:face_id>/crop")
def crop(face_id: int):  # noqa: ANN201
    with db_session() as s:
        face, _ = _face_or_abort(s, face_id)
        stored = face.crop_path
    return send_evidence(portal().settings, stored)


def _template_crops(group: list[tuple[UnknownFace, AttendanceSession]]) -> list[tuple[int, str]]:
    """The crops that may become templates: not those of faces judged a picture held up to an
    entrance camera. Assigned, such a face credits a person who was there after all; as a
    template, a photo of a photo would make the next such photo look like them."""
    pictures = [f.id for f, _ in group if f.reason == PICTURE]
    if pictures:
        flash(
            f"{len(pictures)} face(s) judged a picture held up to the camera "
            f"(#{', #'.join(map(str, pictures))}) are never added as templates.",
            "error",
        )
    return [(f.id, f.crop_path) for f, _ in group if f.reason != PICTURE]


def _add_templates(person_name: str, stored: list[tuple[int, str]], consent=None) -> int:  # noqa: ANN001
    """Each face's crop as a template photo (quality checks as for any photo); returns how
    many were accepted, flashing why the others were not."""
    p = portal()
    photos = []
    for face_id, path in stored:
        data = crop_bytes(p.settings, path)
        if data is not None:
            photos.append((f"unknown-{face_id}.jpg", data))
    if not photos:
        flash("The face images are missing, so they cannot become templates.", "error")
        return 0
    try:
        result = enroll_photos(p.db, p.engine, person_name, photos, consent=consent)
    except RollcallError as exc:
        flash(f"Not added as templates: {exc}", "error")
        return 0
    for label, reason in result.refused:
        flash(f"{label}: not added as a template: {reason}", "error")
    return len(result.accepted)


def _assignable(
    group: list[tuple[UnknownFace, AttendanceSession]],
) -> list[tuple[UnknownFace, AttendanceSession]]:
    """The faces an assignment takes: the group, less faces judged a picture held up in
    sessions other than the one staff looked at. Staff vouch that it was the person in person
    at one door, once; the same picture held up elsewhere credited them in every session it
    was shown in (an entrance operator's review)."""
    looked_at = group[0][1].id
    return [(f, r) for f, r in group if f.reason != PICTURE or r.id == looked_at]


def _confirmed_sit_in(s, person: Person, rows: list[AttendanceSession]) -> str | None:  # noqa: ANN001
    """Why this person may not be credited with these faces: staff confirmed, in one of the
    sessions, that someone sat in for them (the face in their tile was another's). Assigning
    that face to them marked them present under the confirmed case (a teacher's review)."""
    from rollcall.attendance.reconcile import reconcile_session

    for row in {r.id: r for r in rows}.values():
        result = reconcile_session(s, row)
        for e in result.entries if result else []:
            if (
                e.person == person.name
                and e.status == "proxy_suspected"
                and e.review is not None
                and e.review.decision == "confirmed"
            ):
                note = f": {e.review.note}" if e.review.note else ""
                return (
                    f"Not assigned: in {row.name}, {e.review.decided_by} confirmed that someone "
                    f"sat in for {person.name}{note}. Dismiss that decision on the session's "
                    "page first if it was them after all."
                )
    return None


@bp.post("/<int:face_id>/assign")
def assign(face_id: int):  # noqa: ANN201
    """The face (and the rest of its group) is this person: their marks follow."""
    person_name = request.form.get("person", "")
    as_template = request.form.get("as_template") == "on"
    reason = request.form.get("reason", "").strip()[:300]
    with db_session() as s:
        user = me(s)
        group = _assignable(_group_or_abort(s, face_id))
        _refuse_reviewed(group, "assigned")
        person = get_person(s, person_name)
        if person is None or person_name not in _candidates(s, user, [r for _, r in group]):
            flash("Choose a person from the list.", "error")
            return redirect(url_for("unknowns.index"))
        if as_template and user.role != "admin":
            # A template names its face as the person in every course they are on: biometric
            # data is enrolled by administrators only, as on the People pages.
            flash("Only administrators add face templates; nothing was assigned.", "error")
            return redirect(url_for("unknowns.index"))
        if held := _confirmed_sit_in(s, person, [r for _, r in group]):
            flash(held, "error")
            return redirect(url_for("unknowns.index"))
        stored = [(f.id, f.crop_path) for f, _ in group]
        crops = _template_crops(group) if as_template else []
    added = _add_templates(person_name, crops) if crops else 0
    marked = []
    with db_session() as s:
        actor = me(s).name
        person = get_person(s, person_name)
        group = _assignable(_group_or_abort(s, face_id))
        _refuse_reviewed(group, "assigned")  # (again: another request may have meanwhile)
        for face, row in group:
            change = assign_face(s, face, person)
            if change:
                marked.append(row.name)
            record(
                s,
                actor,
                UnknownAssigned(
                    row.name,
                    face.id,
                    person_name,
                    added > 0,
                    change,
                    face.reason == PICTURE,
                    reason,
                ),
            )
    flash(
        f"{len(stored)} face(s) assigned to {person_name}"
        + (f"; {added} added as template(s)" if added else "")
        + (f"; times seen updated in {', '.join(sorted(set(marked)))}" if marked else "")
        + ".",
        "success",
    )
    return redirect(url_for("unknowns.index"))


@bp.post("/<int:face_id>/dismiss")
def dismiss(face_id: int):  # noqa: ANN201
    with db_session() as s:
        group = _group_or_abort(s, face_id)
        _refuse_reviewed(group, "dismissed")
        _dismiss(s, group)
    flash(f"{len(group)} face(s) dismissed.", "success")
    return redirect(url_for("unknowns.index"))


def _dismiss(s, group) -> None:  # noqa: ANN001
    actor = me(s).name
    for face, row in group:
        face.review = "dismissed"
        record(s, actor, UnknownDismissed(row.name, face.id))


@bp.post("/<int:face_id>/delete")
@admin_required
def delete(face_id: int):  # noqa: ANN201
    """Erase a stranger's faces (crops and sealed embeddings), pending or dismissed: a face no
    one was credited with is still someone's biometric data, and they may ask for it to go.
    The files go after the rows are committed, as an erasure's do."""
    from rollcall.privacy import inside_home, unlink

    with db_session() as s:
        group = _group_or_abort(s, face_id)
        crops = {face.crop_path for face, _ in group if face.crop_path}
        evidence = bool(crops) and s.scalar(
            select(AttendanceRecord.id).where(AttendanceRecord.evidence_path.in_(crops)).limit(1)
        )
        if evidence or any(
            face.review == "assigned" or face.assigned_id is not None for face, _ in group
        ):
            # An assigned face is a mark's evidence now (its crop may be the mark's own), and
            # so is one dismissed after it was assigned (before that was refused), or a
            # picture's crop another session's face shares with the mark it was assigned to.
            flash("Assigned faces are someone's evidence, and so are their pictures: delete "
                  "the person or the session to erase them.", "error")  # fmt: skip
            return redirect(url_for("unknowns.index", show=request.args.get("show", "assigned")))
        actor = me(s).name
        files = [inside_home(portal().settings, face.crop_path) for face, _ in group]
        for face, row in group:
            record(s, actor, UnknownDeleted(row.name, face.id))
            s.delete(face)
    unlink(files)
    flash(f"{len(group)} face(s) deleted, with their pictures.", "success")
    return redirect(url_for("unknowns.index", show=request.args.get("show", "pending")))


@bp.post("/dismiss")
def dismiss_many():  # noqa: ANN201
    """Bulk: every face of every group ticked (a group's box holds its faces' ids, "3,7,9")."""
    values = request.form.getlist("face") + [
        i for group in request.form.getlist("faces") for i in group.split(",")
    ]
    ids = form_ids(values)
    if not ids:
        flash("Tick the faces to dismiss.", "error")
        return redirect(url_for("unknowns.index"))
    with db_session() as s:
        group = [_face_or_abort(s, i) for i in dict.fromkeys(ids)]
        _refuse_reviewed(group, "dismissed")
        _dismiss(s, group)
    flash(f"{len(group)} face(s) dismissed.", "success")
    return redirect(url_for("unknowns.index"))


@bp.route("/<int:face_id>/enroll", methods=["GET", "POST"])
@admin_required
def enroll(face_id: int):  # noqa: ANN201
    """Enroll this stranger as a new person from their faces' crops, with consent on record;
    the faces are then assigned to them."""
    from rollcall.web.people import consent_from_form

    ids = [face_id] + form_ids(request.values.getlist("face"))
    with db_session() as s:
        group = [_face_or_abort(s, i) for i in dict.fromkeys(ids)]
        _refuse_reviewed(group, "enrolled")  # (before the consent form is filled in)
        staff = me(s).name
        if all(f.reason == PICTURE for f, _ in group):
            # Nothing could become a template: say so before the consent form is filled in.
            flash(
                "These faces were judged pictures held up to the camera: no one can be "
                "enrolled from them. Assign them to the person if it was them in person.",
                "error",
            )
            return redirect(url_for("unknowns.index"), 303)
        stored = _template_crops(group) if request.method == "POST" else []
        labels = [_face_label(f, r) for f, r in group if f.reason != PICTURE]
        ids = [f.id for f, _ in group if f.reason != PICTURE]
    name = " ".join(request.form.get("name", "").split())
    if request.method == "GET":
        return _enroll_form(face_id, ids, labels, name)
    problems = []
    if not name or len(name) > 200:
        problems.append("Give the person's name (1 to 200 characters).")
    with db_session() as s:
        if name and get_person(s, name) is not None:
            problems.append(f"{name} is already enrolled: assign the faces to them instead.")
    try:
        consent = consent_from_form(staff)
    except RollcallError as exc:
        problems.append(str(exc))
    if problems:
        for message in problems:
            flash(message, "error")
        return _enroll_form(face_id, ids, labels, name, 400)
    added = _add_templates(name, stored, consent) if stored else 0
    if not added:
        flash(f"{name} was not enrolled: no face was good enough for a template.", "error")
        return _enroll_form(face_id, ids, labels, name, 400)
    with db_session() as s:
        person = get_person(s, name)
        record(
            s, staff, PersonEnrolled(name, added, len(stored) - added, consent.method, consent.note)
        )
        group = [_face_or_abort(s, i) for i in dict.fromkeys(ids)]
        _refuse_reviewed(group, "assigned")  # (assigned meanwhile: the person stays enrolled)
        for face, row in group:
            change = assign_face(s, face, person)
            # (Faces judged pictures were left out of ``ids`` above: never assigned here.)
            record(s, staff, UnknownAssigned(row.name, face.id, name, True, change))
    flash(f"Enrolled {name} from {added} face(s), consent recorded ({consent.method}).", "success")
    return redirect(url_for("people.detail", name=name))


def _enroll_form(face_id: int, ids: list[int], labels: list[str], name: str, status: int = 200):  # noqa: ANN202
    return render_template(
        "unknowns/enroll.html",
        face_id=face_id,
        ids=ids,
        labels=labels,
        name=name,
        methods=CONSENT_METHODS,
        method=request.form.get("consent_method", ""),
        note=request.form.get("consent_note", ""),
    ), status
