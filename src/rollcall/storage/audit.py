"""The audit trail: staff actions as small event dataclasses, written once as AuditEntry rows."""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import asdict, dataclass
from typing import ClassVar

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rollcall.storage.staff import AuditEntry


@dataclass(frozen=True)
class AuditEvent:
    """Something a member of staff did. `name` is the action; the fields are its properties."""

    name: ClassVar[str] = "event"

    def properties(self) -> dict[str, object]:
        return asdict(self)

    # What the entry's summary columns hold; subclasses fill in what applies.
    def session_name(self) -> str | None:
        return None

    def subject(self) -> str:
        return ""

    def change(self) -> tuple[str | None, str | None, str]:
        """(before, after, reason)."""
        return None, None, ""


@dataclass(frozen=True)
class MarkEdited(AuditEvent):
    name: ClassVar[str] = "mark.edited"
    session: str
    person: str
    before: str
    after: str
    reason: str

    def session_name(self) -> str | None:
        return self.session

    def subject(self) -> str:
        return self.person

    def change(self) -> tuple[str | None, str | None, str]:
        return self.before, self.after, self.reason


@dataclass(frozen=True)
class PersonEnrolled(AuditEvent):
    """Photos added for a person; `consent_method` is set when this enrollment recorded consent."""

    name: ClassVar[str] = "person.enrolled"
    person: str
    accepted: int
    refused: int
    consent_method: str | None = None
    consent_note: str = ""

    def subject(self) -> str:
        return self.person

    def change(self) -> tuple[str | None, str | None, str]:
        if self.consent_method is None:
            return None, None, ""
        note = f" ({self.consent_note})" if self.consent_note else ""
        return None, None, f"consent: {self.consent_method}{note}"


@dataclass(frozen=True)
class PersonDeleted(AuditEvent):
    name: ClassVar[str] = "person.deleted"
    person: str
    templates: int
    files: int

    def subject(self) -> str:
        return self.person


@dataclass(frozen=True)
class UnknownAssigned(AuditEvent):
    name: ClassVar[str] = "unknown.assigned"
    session: str
    unknown_id: int
    person: str
    added_template: bool
    attendance: str = ""  # how their mark changed ("not seen → seen at 95 s"), if it did
    # The face was judged a picture held up to an entrance camera: this assignment overrules
    # the liveness check (staff saw it was the person, in person).
    picture: bool = False
    reason: str = ""  # staff's, when given

    def session_name(self) -> str | None:
        return self.session

    def subject(self) -> str:
        return self.person

    def change(self) -> tuple[str | None, str | None, str]:
        before, _, after = self.attendance.partition(" → ")
        why = [self.reason] if self.reason else []
        if self.picture:
            why.append("judged a picture held up to the camera; staff: them in person")
        return before or None, after or None, "; ".join(why)


@dataclass(frozen=True)
class UnknownDismissed(AuditEvent):
    name: ClassVar[str] = "unknown.dismissed"
    session: str
    unknown_id: int

    def session_name(self) -> str | None:
        return self.session

    def subject(self) -> str:
        return f"unknown face #{self.unknown_id}"


@dataclass(frozen=True)
class UnknownDeleted(UnknownDismissed):
    """A stranger's face erased: its crop and sealed embedding (their data, not a person's
    enrolled: a DPO's review found no way to erase one)."""

    name: ClassVar[str] = "unknown.deleted"


@dataclass(frozen=True)
class CourseChanged(AuditEvent):
    """A course was created, or its roster, schedule or instructors changed."""

    name: ClassVar[str] = "course.changed"
    course: str
    what: str  # created | roster | schedule | instructors
    before: str
    after: str

    def subject(self) -> str:
        return self.course

    def change(self) -> tuple[str | None, str | None, str]:
        return self.before[:200], self.after[:200], self.what


@dataclass(frozen=True)
class SessionClosed(AuditEvent):
    """A session closed by hand (`rollcall sessions close`), not by its source or --duration."""

    name: ClassVar[str] = "session.closed"
    session: str
    state_before: str  # interrupted | running

    def session_name(self) -> str | None:
        return self.session

    def subject(self) -> str:
        return self.session

    def change(self) -> tuple[str | None, str | None, str]:
        return self.state_before, "closed", ""


@dataclass(frozen=True)
class SessionDeleted(AuditEvent):
    """A session deleted with everything it recorded and its evidence crops."""

    name: ClassVar[str] = "session.deleted"
    session: str
    head_counts: int
    marks: int
    files: int

    def session_name(self) -> str | None:
        return self.session

    def subject(self) -> str:
        return self.session

    def change(self) -> tuple[str | None, str | None, str]:
        return None, None, f"{self.head_counts} head counts, {self.marks} marks, {self.files} files"


@dataclass(frozen=True)
class CourseDeleted(AuditEvent):
    """A course deleted with its roster, instructors, term and alerts (and maybe sessions)."""

    name: ClassVar[str] = "course.deleted"
    course: str
    sessions_deleted: int
    sessions_kept: int

    def subject(self) -> str:
        return self.course

    def change(self) -> tuple[str | None, str | None, str]:
        return (
            None,
            None,
            f"{self.sessions_deleted} session(s) deleted, {self.sessions_kept} kept",
        )


@dataclass(frozen=True)
class PersonDetailsChanged(AuditEvent):
    """A person's student id or email addresses changed."""

    name: ClassVar[str] = "person.details"
    person: str
    before: str
    after: str

    def subject(self) -> str:
        return self.person

    def change(self) -> tuple[str | None, str | None, str]:
        return self.before[:200], self.after[:200], ""


@dataclass(frozen=True)
class AccountChanged(AuditEvent):
    name: ClassVar[str] = "account.changed"
    user: str
    what: str  # created | token created | token N revoked | disabled | enabled | removed | …

    def subject(self) -> str:
        return self.user

    def change(self) -> tuple[str | None, str | None, str]:
        return None, None, self.what


@dataclass(frozen=True)
class MeetingChanged(AuditEvent):
    """A session's meeting: a participant report imported, an account confirmed as a person,
    a suspected case reviewed, a webhook made or revoked; or a person's meeting accounts."""

    name: ClassVar[str] = "meeting.changed"
    session: str | None
    what: str  # "imported zoom report x.csv: 12 accounts" | "confirmed 'Bobby' as Bob" | …
    subject_: str = ""

    def session_name(self) -> str | None:
        return self.session

    def subject(self) -> str:
        return self.subject_

    def change(self) -> tuple[str | None, str | None, str]:
        return None, None, self.what


def record(session: Session, actor: str, event: AuditEvent) -> AuditEntry:
    before, after, reason = event.change()
    entry = AuditEntry(
        actor=actor,
        action=event.name,
        session_name=event.session_name(),
        subject=event.subject()[:200],
        before=before,
        after=after,
        reason=reason[:500],
        details=json.dumps(event.properties(), sort_keys=True, default=str),
    )
    session.add(entry)
    session.flush()
    return entry


def entries_for_session(session: Session, session_name: str) -> list[AuditEntry]:
    """The trail of the session that now has this name."""
    before = earlier_sessions_end(session, [session_name]).get(session_name, 0)
    return list(
        session.scalars(
            select(AuditEntry)
            .where(AuditEntry.session_name == session_name, AuditEntry.id > before)
            .order_by(AuditEntry.at, AuditEntry.id)
        )
    )


def earlier_sessions_end(session: Session, session_names: Iterable[str]) -> dict[str, int]:
    """Per session name, the id of the entry that deleted an earlier session of that name.

    The trail names sessions, and a name is free again once its session is deleted: entries up
    to that deletion are the earlier session's (its edits and their reasons), not the one that
    has the name now. The trail only grows, so ids order it."""
    names = list(session_names)
    if not names:
        return {}
    rows = session.execute(
        select(AuditEntry.session_name, func.max(AuditEntry.id))
        .where(AuditEntry.action == SessionDeleted.name, AuditEntry.session_name.in_(names))
        .group_by(AuditEntry.session_name)
    )
    return {name: last for name, last in rows if name is not None}


def recent_entries(session: Session, limit: int = 200) -> list[AuditEntry]:
    return list(session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(limit)))
