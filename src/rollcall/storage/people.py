"""Repository for people and their templates."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rollcall.errors import NotFound, RollcallError
from rollcall.storage.models import ConsentRecord, Person, Template
from rollcall.storage.names import name_order, same_name_key, stored_form, written_forms
from rollcall.storage.templates import TemplateCipher


@dataclass(frozen=True)
class ConsentOnRecord:
    """How a person's consent to enrollment was given, who recorded it and when."""

    method: str
    recorded_by: str
    recorded_at: datetime
    note: str | None

    @classmethod
    def of(cls, row: ConsentRecord) -> ConsentOnRecord:
        return cls(row.method, row.recorded_by, row.recorded_at, row.note)

    def to_json(self) -> dict[str, object]:
        at = self.recorded_at
        at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        return {
            "method": self.method,
            "recorded_by": self.recorded_by,
            "recorded_at": at.isoformat(),
            "note": self.note,
        }


@dataclass(frozen=True)
class PersonSummary:
    name: str
    templates: int
    created_at: object
    consent: ConsentOnRecord | None = None


def details_text(person: Person) -> str:
    """Student id and email addresses, as the operator who set them is shown them."""
    return (
        f"student id {person.student_id or '-'}, email {person.email or '-'}, "
        f"guardian {person.guardian_email or '-'}"
    )


def details_for_audit(person: Person) -> str:
    """What the audit trail keeps of a person's details: whether the student id is set and the
    emails' domains. The trail cannot be changed, so it outlives an erasure: it kept every
    student id and address in full after the person was deleted (a DPO's review)."""

    def domain(email: str | None) -> str:
        return f"…@{email.rpartition('@')[2]}" if email else "-"

    return (
        f"student id {'set' if person.student_id else '-'}, email {domain(person.email)}, "
        f"guardian {domain(person.guardian_email)}"
    )


def set_student_id(session: Session, person: Person, text: str) -> None:
    """The school's id for them (spaces collapsed; empty: none). Another person's id is refused:
    two students under one id in the registrar's export is one of them credited the other's
    attendance."""
    value = " ".join(text.split())[:64] or None
    if value is not None:
        holder = session.scalar(
            select(Person.name).where(Person.student_id == value, Person.id != person.id)
        )
        if holder is not None:
            raise RollcallError(f"student id {value!r} is {holder}'s")
    person.student_id = value


def get_person(session: Session, name: str) -> Person | None:
    return session.scalar(select(Person).where(Person.name.in_(written_forms(name))))


def require_person(session: Session, name: str) -> Person:
    person = get_person(session, name)
    if person is None:
        spelled = written_otherwise(session, name)
        hint = f"; did you mean {spelled!r}?" if spelled else " (see `rollcall people`)"
        raise NotFound(f"no enrolled person named {name!r}{hint}")
    return person


def written_otherwise(session: Session, name: str) -> str | None:
    """The enrolled name that is ``name`` written otherwise (storage.names.same_name_key:
    case, spaces, underscores), if any."""
    key = same_name_key(name)
    return next((n for n in session.scalars(select(Person.name)) if same_name_key(n) == key), None)


def get_or_create_person(session: Session, name: str) -> Person:
    person = get_person(session, name)
    if person is None:
        person = Person(name=stored_form(name))
        session.add(person)
        session.flush()
    return person


def consent_of(session: Session, person: Person) -> ConsentOnRecord | None:
    row = session.scalar(select(ConsentRecord).where(ConsentRecord.person_id == person.id))
    return None if row is None else ConsentOnRecord.of(row)


def record_consent(
    session: Session, person: Person, *, method: str, recorded_by: str, note: str | None = None
) -> ConsentRecord:
    """Write the person's consent; the database refuses a second one (one per person)."""
    row = ConsentRecord(
        person_id=person.id, method=method, recorded_by=recorded_by, note=note or None
    )
    session.add(row)
    session.flush()
    return row


def has_template(session: Session, person: Person, embedder: str, source_sha256: str) -> bool:
    return (
        session.scalar(
            select(Template.id).where(
                Template.person_id == person.id,
                Template.embedder == embedder,
                Template.source_sha256 == source_sha256,
            )
        )
        is not None
    )


def add_template(
    session: Session,
    person: Person,
    *,
    cipher: TemplateCipher,
    embedder: str,
    vector: np.ndarray,
    source_name: str,
    source_sha256: str,
    face_px: float,
    sharpness: float,
) -> Template:
    template = Template(
        person_id=person.id,
        embedder=embedder,
        dim=int(vector.size),
        vector=cipher.seal(vector, person.id, embedder),
        source_name=source_name[:255],
        source_sha256=source_sha256,
        face_px=face_px,
        sharpness=sharpness,
    )
    session.add(template)
    session.flush()
    return template


def list_people(session: Session, embedder: str | None = None) -> list[PersonSummary]:
    count = func.count(Template.id)
    join_on = Person.id == Template.person_id
    if embedder is not None:
        join_on = join_on & (Template.embedder == embedder)
    rows = session.execute(
        select(Person.id, Person.name, count, Person.created_at)
        .outerjoin(Template, join_on)
        .group_by(Person.id)
        .order_by(Person.name)
    )
    consents = {
        person_id: ConsentOnRecord.of(row)
        for person_id, row in session.execute(select(ConsentRecord.person_id, ConsentRecord))
    }
    return [
        PersonSummary(name, n, created, consents.get(person_id))
        for person_id, name, n, created in sorted(rows, key=lambda r: name_order(r[1]))
    ]


def remove_person(session: Session, name: str) -> int:
    """Delete a person and every template of theirs; returns how many templates went."""
    person = require_person(session, name)
    n = session.scalar(select(func.count(Template.id)).where(Template.person_id == person.id))
    session.delete(person)
    session.flush()
    return int(n or 0)


def load_templates(
    session: Session, embedder: str, cipher: TemplateCipher, people: list[str] | None = None
) -> tuple[list[str], np.ndarray, np.ndarray]:
    """(names, person_index, templates) for every template made by `embedder`."""
    query = (
        select(Person.name, Person.id, Template.vector, Template.dim)
        .join(Template, Template.person_id == Person.id)
        .where(Template.embedder == embedder)
        .order_by(Person.name, Template.id)
    )
    if people is not None:
        query = query.where(Person.name.in_(people))
    names: list[str] = []
    index: list[int] = []
    vectors: list[np.ndarray] = []
    for name, person_id, blob, dim in session.execute(query):
        if not names or names[-1] != name:
            names.append(name)
        index.append(len(names) - 1)
        vectors.append(cipher.open(blob, dim, person_id, embedder))
    dim = vectors[0].size if vectors else 128
    matrix = np.vstack(vectors) if vectors else np.zeros((0, dim), np.float32)
    return names, np.asarray(index, np.int64), matrix
