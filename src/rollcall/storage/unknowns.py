"""Repository for unknown faces under review: their sealed embeddings, and assigning them."""

from __future__ import annotations

import numpy as np
from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.errors import RollcallError
from rollcall.storage.models import AttendanceRecord, Person, UnknownFace, utcnow
from rollcall.storage.templates import TemplateCipher, TemplateKeyError


def face_vectors(
    cipher: TemplateCipher, faces: list[UnknownFace]
) -> dict[int, tuple[str, np.ndarray] | None]:
    """Each face's (embedder, embedding), None when it has none (kept before migration 0008,
    purged, or sealed under another key)."""
    out: dict[int, tuple[str, np.ndarray] | None] = {}
    for face in faces:
        out[face.id] = None
        if face.embedding and face.embedder and face.dim:
            try:
                vector = cipher.open_unknown(
                    face.embedding, face.dim, face.session_id, face.embedder
                )
            except (TemplateKeyError, ValueError):
                continue
            out[face.id] = (face.embedder, vector)
    return out


def assign_face(session: Session, face: UnknownFace, person: Person) -> str:
    """The face is `person`'s: if they were expected in its session, their mark takes it into
    account (seen at the face's time, with its crop as evidence unless they have one). Returns
    how their mark changed ("" when they were not expected, or the face is within the times
    they were already seen).

    Only a pending face is assigned: one assigned already is its person's evidence (their mark
    took its time and crop, which a second assignment would not undo), and one dismissed was
    judged nobody's."""
    if face.review != "pending":
        raise RollcallError(f"face #{face.id} is {face.review} already, not pending review")
    face.review = "assigned"
    face.assigned_id = person.id
    record = session.scalar(
        select(AttendanceRecord).where(
            AttendanceRecord.session_id == face.session_id,
            AttendanceRecord.person_id == person.id,
        )
    )
    if record is None:
        return ""
    before = _seen_text(record.first_seen, record.last_seen)
    if record.first_seen is None or face.t < record.first_seen:
        record.first_seen = face.t
    if record.last_seen is None or face.t > record.last_seen:
        record.last_seen = face.t
    if not record.evidence_path and face.crop_path:
        record.evidence_path, record.evidence_t = face.crop_path, face.t
    if record.marked_at is None:
        record.marked_at = utcnow()
    if not record.edited and record.status == "absent":
        record.status = "present"  # what the recorder stores; reports recompute late/left early
    # Status follows from the times (present, late, left early), unless staff set it by hand:
    # a face inside the times already seen changes nothing.
    after = _seen_text(record.first_seen, record.last_seen)
    return f"{before} → {after}" if after != before else ""


def _seen_text(first: float | None, last: float | None) -> str:
    if first is None or last is None:
        return "not seen"
    return (
        f"seen at {first:.0f} s"
        if round(first) == round(last)
        else f"seen {first:.0f}-{last:.0f} s"
    )
