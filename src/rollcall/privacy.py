"""Biometric privacy: erase a person completely, export their data, purge expired evidence."""

from __future__ import annotations

import json
import os
import re
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import Select, and_, delete, or_, select, update
from sqlalchemy.orm import Session

from rollcall.attendance.lifecycle import RUNNING
from rollcall.attendance.monitor import PICTURE
from rollcall.attendance.report import as_utc
from rollcall.attendance.run_lease import held
from rollcall.config import Settings
from rollcall.errors import RollcallError
from rollcall.storage.db import Database
from rollcall.storage.evidence import CropError, read_crop
from rollcall.storage.hooks import forget_stale_early_events
from rollcall.storage.models import (
    AttendanceRecord,
    AttendanceSession,
    Course,
    CourseMember,
    Frame,
    OutboxMessage,
    Person,
    PresenceInterval,
    SessionEvent,
    SessionState,
    Sighting,
    Template,
    UnknownFace,
)
from rollcall.storage.people import consent_of, require_person
from rollcall.storage.staff import AuditEntry

# What an erased person's name becomes in the messages that listed them among others.
ERASED = "(a person since erased)"


def inside_home(settings: Settings, relative: str | None) -> Path | None:
    """The file a stored relative path names, only if it stays inside ROLLCALL_HOME."""
    if not relative:
        return None
    home = settings.home.resolve()
    path = (home / relative).resolve()
    return path if path.is_relative_to(home) else None


def unlink(paths: list[Path | None]) -> int:
    removed = 0
    for path in paths:
        if path is not None and path.is_file():
            path.unlink()
            removed += 1
    return removed


@dataclass(frozen=True)
class Erasure:
    templates: int
    attendance_records: int
    files: int


def faces_of(session: Session, person: Person) -> list[UnknownFace]:
    """The reviewed faces that are this person's biometric data: those assigned to them, and
    pictures held up to an entrance camera that were recognised as them and that staff have
    not given to someone else (a photo of them; an attack or a real pass, their face either
    way). A face that merely resembled them is not theirs: such faces keep no candidate
    (EntranceMonitor._attack) or only a resemblance (strangers)."""
    return list(
        session.scalars(
            select(UnknownFace).where(
                or_(
                    UnknownFace.assigned_id == person.id,
                    and_(
                        UnknownFace.reason == PICTURE,
                        UnknownFace.candidate_id == person.id,
                        UnknownFace.assigned_id.is_(None),
                    ),
                )
            )
        )
    )


def erase_person(db: Database, settings: Settings, name: str) -> Erasure:
    """Delete a person, every template, attendance record, evidence crop and reviewed face,
    and their consent record: this is also how consent is withdrawn."""
    with db.session() as session:
        person = require_person(session, name)
        _lock_running_sessions(session)
        records = session.scalars(
            select(AttendanceRecord).where(AttendanceRecord.person_id == person.id)
        ).all()
        faces = faces_of(session, person)
        # Events about them that kept their face (an entrance's visitor): the rows cascade
        # with the person, their crops must go with them.
        event_crops = session.scalars(
            select(SessionEvent.crop_path).where(
                SessionEvent.person_id == person.id, SessionEvent.crop_path.is_not(None)
            )
        ).all()
        files = [inside_home(settings, r.evidence_path) for r in records]
        files += [inside_home(settings, f.crop_path) for f in faces]
        files += [inside_home(settings, path) for path in event_crops]
        # Every evidence crop the recorder wrote for them, not only the one each record points
        # to (it writes one before knowing whether a staff edit keeps the record's own).
        if settings.evidence_dir.is_dir():
            files += sorted(settings.evidence_dir.glob(f"session-*/{person.id}-*.jpg"))
        for face in faces:
            session.delete(face)
        n_templates = len(
            session.scalars(select(Template.id).where(Template.person_id == person.id)).all()
        )
        n_records = len(records)
        _erase_unnamed_sightings(session, person)
        _erase_meeting_accounts(session, person)
        _erase_from_monitor_states(session, db, person.name)
        _erase_from_outbox(session, person.name)
        _erase_from_event_details(session, person)
        session.delete(person)  # templates, consent, records, intervals and events cascade
    db.write_through()
    # Files go after the commit: a failed transaction must not have destroyed evidence.
    return Erasure(n_templates, n_records, unlink(files))


def _erase_unnamed_sightings(session: Session, person: Person) -> None:
    """The tile labels that showed their name or a meeting alias of theirs are blanked on the
    samples' faces that were not named as them (those that were cascade with the person): a
    face under their label, not yet named, was most likely theirs. A face that nearly matched
    them loses the link with the person (the key is set null), like a lookalike under review."""
    from rollcall.attendance.participants.match import name_key
    from rollcall.storage.meetings import PersonAlias

    keys = {name_key(person.name)} | set(
        session.scalars(
            select(PersonAlias.norm).where(
                PersonAlias.person_id == person.id, PersonAlias.kind == "alias"
            )
        )
    )
    keys.discard("")
    # Only in the sessions they were in (expected there, or an account of theirs in its
    # meeting), on faces not named as anyone: an alias like "iPad" is someone else's label
    # elsewhere, and a named face's label is its own person's.
    from rollcall.storage.meetings import MeetingParticipant

    sessions = set(
        session.scalars(
            select(AttendanceRecord.session_id).where(AttendanceRecord.person_id == person.id)
        )
    ) | set(
        session.scalars(
            select(MeetingParticipant.session_id).where(MeetingParticipant.person_id == person.id)
        )
    )
    if not sessions:
        return
    unnamed = (
        Sighting.person_id.is_(None),
        Sighting.session_id.in_(sessions),
        Sighting.label.is_not(None),
    )
    labels = session.scalars(select(Sighting.label).where(*unnamed).distinct())
    theirs = [label for label in labels if name_key(label) in keys]
    if theirs:
        session.execute(
            update(Sighting).where(*unnamed, Sighting.label.in_(theirs)).values(label=None)
        )


def _lock_running_sessions(session: Session) -> None:
    """Take the row lock of every running session, in order, before touching anything of the
    person's: a sample's writer takes its session's lock first too (recorder._lock_session),
    so a sample judged with the person still enrolled is either committed before the erasure
    reads its state, or after it, finding them gone; and a session's first sample (no state
    yet) cannot hold a row of theirs the erasure needs while waiting for one it holds. A
    closed session has no writer, and is not held up."""
    session.scalars(
        select(AttendanceSession.id)
        .where(AttendanceSession.state == RUNNING)
        .order_by(AttendanceSession.id)
        .with_for_update(key_share=True)
    ).all()


def _erase_from_monitor_states(session, db: Database, name: str) -> None:  # noqa: ANN001
    """Meeting monitors keep, between samples, who is marked and their face tracks (with
    embeddings): what is theirs goes from every stored state, sealed again. A run still
    holding them in memory writes nothing more of theirs (the recorder skips names no longer
    enrolled)."""
    from rollcall.analysis import state as monitor_state
    from rollcall.analysis.sample import state_context
    from rollcall.storage.templates import TemplateKeyError

    ids = session.scalars(select(SessionState.session_id).order_by(SessionState.session_id))
    for session_id in ids.all():
        # Read again under the session's lock (_lock_running_sessions): a sample committed
        # while the erasure waited for it is scrubbed, not left with the person back in.
        stored = session.get(SessionState, session_id, populate_existing=True)
        if stored is None or not db.cipher.is_sealed(stored.state):
            continue  # an entrance's progress (plain counts), not a sealed monitor state
        context = state_context(stored.session_id)
        try:
            blob = db.cipher.open_bytes(stored.state, context)
        except TemplateKeyError as exc:
            # A wrong key (or a missing one, made anew): the state cannot be scrubbed, so
            # the erasure stops here, undone, rather than say it was done.
            raise TemplateKeyError(
                f"{name} cannot be erased from session {stored.session_id}'s saved progress: {exc}"
            ) from None
        scrubbed = monitor_state.forget_person(blob, name)
        if scrubbed is not None:
            stored.state = db.cipher.seal_bytes(scrubbed, context)


def _erase_from_outbox(session: Session, name: str) -> None:
    """Alert emails about them (absences, to them and their guardian) go, sent or not: one
    still waiting would otherwise be sent after consent was withdrawn. Session summaries to
    staff that list them keep their figures with the name taken out."""
    session.execute(delete(OutboxMessage).where(OutboxMessage.person_name == name))
    named = _naming(name)
    for message in session.scalars(
        select(OutboxMessage).where(
            or_(OutboxMessage.body.contains(name), OutboxMessage.subject.contains(name))
        )
    ):
        message.subject = named.sub(ERASED, message.subject)
        message.body = named.sub(ERASED, message.body)


# A running session nothing has been heard of (analysis, agent, lease) for this long at least
# is abandoned, whatever the retention period (purge_evidence).
ABANDONED_AFTER = timedelta(days=7)
ANOTHER = "[another person]"
_SELF = "\x00self\x00"  # their name while a text is worked on: no comma, no word in it


class _Theirs:
    """What a text held about someone else says of this person, and no more: an export must
    not hand them their classmates' absences, or a roster change's other names.

    Every enrolled name in a text is found at once, the longest first, so "Ann" is not found
    inside "Ann Lee" (nor "Ann Lee" left as "[another person] Lee"), and a name with a comma
    in it ("Smith, Ann") is one name, not two items of a list."""

    def __init__(self, own: str, others: list[str]) -> None:
        self.own = own
        names = sorted({own, *others}, key=len, reverse=True)
        self._names = re.compile(r"(?<!\w)(?:" + "|".join(re.escape(n) for n in names) + r")(?!\w)")

    def _marked(self, text: str) -> str:
        return self._names.sub(lambda m: _SELF if m.group(0) == self.own else ANOTHER, text)

    def names_them(self, *texts: str | None) -> bool:
        """Whether any of the texts names them (not merely a name that holds theirs)."""
        return any(_SELF in self._marked(t) for t in texts if t)

    def text(self, value: str | None) -> str | None:
        """The text with everyone else enrolled named in it taken out."""
        if not value:
            return value
        return self._marked(value).replace(_SELF, self.own)

    def lines(self, body: str) -> str:
        """Only the lines that name them; of a list ("Absent: Ann, Virat"), only them."""
        kept = []
        for line in self._marked(body).splitlines():
            if _SELF not in line:
                continue
            head, sep, items = line.partition(": ")
            if sep and ", " in items:
                line = head + sep + ", ".join(i for i in items.split(", ") if _SELF in i)
            kept.append(line.strip().replace(_SELF, self.own))
        return "\n".join(kept)


def _erase_from_event_details(session: Session, person: Person) -> None:
    """Events about them cascade with them; events that only name them keep what happened with
    the name taken out, as a summary to staff does (a "disputed" event has no person: "one face
    matched Ann, Bob")."""
    named = _naming(person.name)
    for event in session.scalars(_events_naming(person)):
        event.detail = named.sub(ERASED, event.detail)


def _events_naming(person: Person) -> Select[tuple[SessionEvent]]:
    """The events about someone else, or no one, whose detail may name them (the text is
    matched as a whole word by ``_naming`` afterwards)."""
    return select(SessionEvent).where(
        or_(SessionEvent.person_id.is_(None), SessionEvent.person_id != person.id),
        SessionEvent.detail.contains(person.name),
    )


def _naming(name: str) -> re.Pattern[str]:
    """Their name as a whole word in a text ("Ann" in "Ann, Bob", not in "Anna")."""
    return re.compile(rf"(?<!\w){re.escape(name)}(?!\w)")


def _erase_meeting_accounts(session, person) -> None:  # noqa: ANN001
    """Their accounts in past meetings (names, emails, stays) and the staff reviews about them
    go too; their aliases cascade with them."""
    from rollcall.storage.meetings import MeetingParticipant, MeetingReview

    accounts = session.scalars(
        select(MeetingParticipant).where(MeetingParticipant.person_id == person.id)
    ).all()
    keys = {(a.session_id, a.account_key) for a in accounts}
    for review in session.scalars(select(MeetingReview)):
        _, _, subject = review.case_key.partition(":")
        if (review.session_id, subject) in keys or subject == f"person:{person.name}":
            session.delete(review)
    for account in accounts:
        session.delete(account)
    session.flush()


def _meeting_json(session, person) -> dict[str, object]:  # noqa: ANN001
    from rollcall.storage.meetings import MeetingParticipant, PersonAlias

    aliases = session.scalars(select(PersonAlias).where(PersonAlias.person_id == person.id))
    accounts = _theirs_by_session(session, MeetingParticipant, person)
    return {
        "meeting_accounts": [{"kind": a.kind, "value": a.value} for a in aliases],
        "meetings": [
            {
                "session": session_name,
                "account": p.name,
                "email": p.email,
                "platform": p.platform,
                "stays_s": [[st.join_t, st.leave_t] for st in p.stays],
            }
            for p, session_name in accounts
        ],
    }


def _theirs_by_session(session: Session, model: type[Any], person: Person, *then: Any) -> list[Any]:
    """(row, session name) of every ``model`` row about ``person``, session by session in the
    order they started (then by ``then``): what a subject-access export lists."""
    return session.execute(
        select(model, AttendanceSession.name)
        .join(AttendanceSession, AttendanceSession.id == model.session_id)
        .where(model.person_id == person.id)
        .order_by(AttendanceSession.started_at, *then)
    ).all()


@dataclass(frozen=True)
class Export:
    path: Path
    unopened: list[str]  # stored paths of crops that did not open (left out of the zip)


def export_person(db: Database, settings: Settings, name: str, output: Path) -> Export:
    """A zip of everything rollcall holds about a person (subject access request)."""
    with db.session() as session:
        person = require_person(session, name)
        others = [n for n in session.scalars(select(Person.name)) if n != person.name]
        theirs = _Theirs(person.name, others)
        templates = session.scalars(
            select(Template).where(Template.person_id == person.id).order_by(Template.id)
        ).all()
        rows = _theirs_by_session(session, AttendanceRecord, person)
        consent = consent_of(session, person)
        seen = _theirs_by_session(session, Sighting, person, Sighting.seq)
        faces = faces_of(session, person)
        # Events about them (joined, left, a visit to a session they were not on the list of,
        # with the shot an entrance kept of them).
        events = _theirs_by_session(session, SessionEvent, person, SessionEvent.t)
        # And events that name them without being theirs ("one face matched Ann, Bob"): their
        # text only, as an erasure scrubs it; a crop such an event kept is not known to be
        # their face.
        naming_events = session.execute(
            _events_naming(person)
            .add_columns(AttendanceSession.name)
            .join(AttendanceSession, AttendanceSession.id == SessionEvent.session_id)
            .order_by(AttendanceSession.started_at, SessionEvent.t)
        ).all()
        named_in = [(e, name) for e, name in naming_events if theirs.names_them(e.detail)]
        face_sessions = dict(
            session.execute(
                select(AttendanceSession.id, AttendanceSession.name).where(
                    AttendanceSession.id.in_({f.session_id for f in faces})
                )
            ).all()
        )
        spans: dict[str, list[list[float | None]]] = {}
        for iv, session_name in _theirs_by_session(
            session, PresenceInterval, person, PresenceInterval.start_t
        ):
            spans.setdefault(session_name, []).append(
                [iv.start_t, iv.end_t if iv.end_t is not None else iv.last_seen]
            )
        summary = {
            "person": person.name,
            "enrolled_at": as_utc(person.created_at).isoformat(),
            "student_id": person.student_id,
            "email": person.email,
            "guardian_email": person.guardian_email,
            "courses": sorted(
                session.scalars(
                    select(Course.name)
                    .join(CourseMember, CourseMember.course_id == Course.id)
                    .where(CourseMember.person_id == person.id)
                )
            ),
            "consent": consent.to_json() if consent else None,
            "templates": [
                {
                    "embedder": t.embedder,
                    "source_photo": t.source_name,
                    "face_px": t.face_px,
                    "created_at": as_utc(t.created_at).isoformat(),
                    "vector": db.cipher.open(t.vector, t.dim, person.id, t.embedder).tolist(),
                }
                for t in templates
            ],
            "attendance": [
                {
                    "session": session_name,
                    "status": r.status,
                    "first_seen_s": r.first_seen,
                    "last_seen_s": r.last_seen,
                    "confidence": r.confidence,
                    "edited_by_staff": r.edited,
                    "evidence_file": _evidence_entry(r.evidence_path) if r.evidence_path else None,
                    # When they were seen there, from-to (s from the session's start).
                    "present_s": spans.get(session_name, []),
                }
                for r, session_name in rows
            ],
            # What staff did about them (mark edits and their reasons, faces assigned to them).
            "staff_actions": [
                {
                    "at": as_utc(a.at).isoformat(),
                    "by": a.actor,
                    "action": a.action,
                    "session": a.session_name,
                    **{
                        key: value if a.subject == person.name else theirs.text(value)
                        for key, value in (("before", a.before), ("after", a.after))
                    },
                    "reason": a.reason if a.subject == person.name else theirs.text(a.reason),
                }
                for a in session.scalars(
                    select(AuditEntry)
                    .where(
                        or_(
                            AuditEntry.subject == person.name,
                            AuditEntry.reason.contains(person.name),
                            AuditEntry.before.contains(person.name),
                            AuditEntry.after.contains(person.name),
                        )
                    )
                    .order_by(AuditEntry.id)
                )
                # Entries about them, and entries about something else that name them (a
                # course's roster "add …, Tony, …": a DPO's review found them left out).
                if a.subject == person.name or theirs.names_them(a.reason, a.before, a.after)
            ],
            # Alert emails about them (to them, their guardian, staff), sent or waiting.
            "alert_emails": [
                {
                    "created_at": as_utc(m.created_at).isoformat(),
                    "to": m.recipient,
                    "subject": m.subject,
                    "body": m.body,
                    "state": m.state,
                }
                if m.person_name == person.name
                # A summary to staff: only what it says of them (its other lines, and the
                # classmates named beside them, are other people's data), not who it went to.
                else {
                    "created_at": as_utc(m.created_at).isoformat(),
                    "to": "staff (a session summary)",
                    "subject": theirs.text(m.subject),
                    "body": theirs.lines(m.body),
                    "state": m.state,
                }
                for m in session.scalars(
                    select(OutboxMessage)
                    .where(
                        or_(
                            OutboxMessage.person_name == person.name,
                            OutboxMessage.subject.contains(person.name),
                            OutboxMessage.body.contains(person.name),
                        )
                    )
                    .order_by(OutboxMessage.id)
                )
                # And the session summaries to staff that list them by name.
                if m.person_name == person.name or theirs.names_them(m.subject, m.body)
            ],
            # Every sample in which a face was taken for them: where, and how alike it was.
            "sightings": [
                {
                    "session": session_name,
                    "t_s": sg.t,
                    "box": [sg.x, sg.y, sg.w, sg.h],
                    "similarity": sg.similarity,
                }
                for sg, session_name in seen
            ],
            # Faces staff assigned to them, and pictures of them held up to an entrance camera.
            "reviewed_faces": [
                {
                    "session": face_sessions.get(f.session_id),
                    "t_s": f.t,
                    "why_unknown": f.reason,
                    "review": f.review,
                    "file": _face_entry(f.crop_path) if f.crop_path else None,
                }
                for f in faces
            ],
            "events": [
                {
                    "session": session_name,
                    "t_s": e.t,
                    "kind": e.kind,
                    "detail": e.detail,
                    "file": _face_entry(e.crop_path) if e.crop_path else None,
                }
                for e, session_name in events
            ],
            "events_naming_them": [
                {
                    "session": session_name,
                    "t_s": e.t,
                    "kind": e.kind,
                    "detail": theirs.text(e.detail),
                }
                for e, session_name in named_in
            ],
            **_meeting_json(session, person),
        }
        evidence = [(inside_home(settings, r.evidence_path), r.evidence_path) for r, _ in rows]
        face_files = [(inside_home(settings, f.crop_path), f.crop_path) for f in faces]
        face_files += [
            (inside_home(settings, e.crop_path), e.crop_path) for e, _ in events if e.crop_path
        ]
    # The person's own copy is in the clear: crops are opened from their sealed files. One
    # that does not open (tampered with, or sealed under another key) is named, not fatal: a
    # subject access request is answered with everything else.
    files: list[tuple[str, bytes]] = []
    unopened: list[str] = []
    # (Records without a crop have no stored path.)
    crops = [(p, st, _evidence_entry(st)) for p, st in evidence if st and p is not None]
    crops += [(p, st, _face_entry(st)) for p, st in face_files if st and p is not None]
    cipher = db.cipher if crops else None  # (a key problem stops the export)
    for path, stored, entry in crops:
        if not path.is_file():
            continue
        try:
            files.append((entry, read_crop(cipher, settings.evidence_dir, path)))
        except FileNotFoundError:
            continue  # gone meanwhile (a purge): as if it had been missing
        except (CropError, OSError):
            unopened.append(stored)  # (unreadable: a file another user sealed, a disk error)
    summary["crops_not_opened"] = unopened
    output.parent.mkdir(parents=True, exist_ok=True)
    # Private from its first byte (templates in the clear, opened crops), as a backup is: made
    # 0600 beside the output and renamed once whole, so no half of it is left on a failure.
    tmp = output.with_name(output.name + ".partial")
    tmp.unlink(missing_ok=True)
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw, zipfile.ZipFile(raw, "w", zipfile.ZIP_DEFLATED) as zf:
            zf.writestr("person.json", json.dumps(summary, indent=2))
            for entry, data in files:
                zf.writestr(entry, data)
        tmp.replace(output)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return Export(output, unopened)


def _evidence_entry(stored: str) -> str:
    """A mark's crop in the export: its session folder and file (every session names the crop
    of a person's mark alike: <person id>-0.jpg)."""
    relative = Path(stored)
    return f"evidence/{relative.parent.name}/{relative.name}"


def _face_entry(stored: str) -> str:
    """A reviewed face's name in the export: its session folder and file (names repeat across
    sessions)."""
    relative = Path(stored)
    return f"faces/{relative.parent.name}/{relative.name}"


def _last_heard(row: AttendanceSession) -> datetime:
    """A session still marked running: the latest sign of it, from its analysis, its capture
    agent or its run's lease."""
    times = [_last_analysed(row)]
    if row.agent_seen_at is not None:
        times.append(as_utc(row.agent_seen_at))
    if row.run_until is not None:
        times.append(datetime.fromtimestamp(row.run_until, UTC))
    return max(times)


def _last_analysed(row: AttendanceSession) -> datetime:
    """Where an interrupted session's analysis got to, as a time: it expires counted from
    there (its start would take the resume state of a long session interrupted today)."""
    return as_utc(row.started_at) + timedelta(seconds=row.processed_until or 0.0)


@dataclass(frozen=True)
class Purge:
    sessions: int
    files: int


def purge_evidence(
    db: Database, settings: Settings, older_than_days: int, now: datetime | None = None
) -> Purge:
    """Delete evidence crops of sessions that ended more than N days ago (an interrupted one
    never closed: whose analysis got to more than N days ago); records stay. Live
    participant events kept for a session that never came go too, once a day old."""
    if older_than_days < 0:
        raise RollcallError("the retention period cannot be negative")
    cutoff = (now or datetime.now(UTC)) - timedelta(days=older_than_days)
    with db.session() as session:
        forget_stale_early_events(session, now or datetime.now(UTC))
        # Ended that long ago; or interrupted and never closed, and last analysed that long ago
        # (its evidence was kept for ever: a DPO's review); or still marked running but
        # abandoned (a run killed outright, an agent's session nobody closed): nothing heard
        # of it for as long. One that runs is left alone.
        clock = (now or datetime.now(UTC)).timestamp()
        # Silent that long, and for ABANDONED_AFTER at least: an agent off for a weekend, or a
        # purge with --older-than 0, must not empty a session still being taken.
        abandoned = min(cutoff, (now or datetime.now(UTC)) - ABANDONED_AFTER)
        expired = [
            s
            for s in session.scalars(select(AttendanceSession))
            if (s.ended_at is not None and as_utc(s.ended_at) <= cutoff)
            or (s.ended_at is None and s.state != RUNNING and _last_analysed(s) <= cutoff)
            or (s.state == RUNNING and not held(s, clock) and _last_heard(s) <= abandoned)
        ]
        ids = [s.id for s in expired]
        if not ids:
            return Purge(0, 0)
        records = session.scalars(
            select(AttendanceRecord).where(
                AttendanceRecord.session_id.in_(ids), AttendanceRecord.evidence_path.is_not(None)
            )
        ).all()
        faces = session.scalars(
            select(UnknownFace).where(UnknownFace.session_id.in_(ids), UnknownFace.crop_path != "")
        ).all()
        # Crops on events (the recorder keeps one when an event carries it; until migration
        # 0015 moved them to unknown faces, an entrance's presentation attacks did).
        events = session.scalars(
            select(SessionEvent.crop_path).where(
                SessionEvent.session_id.in_(ids), SessionEvent.crop_path.is_not(None)
            )
        ).all()
        files = [inside_home(settings, r.evidence_path) for r in records]
        files += [inside_home(settings, f.crop_path) for f in faces]
        files += [inside_home(settings, path) for path in events]
        session.execute(
            update(SessionEvent).where(SessionEvent.session_id.in_(ids)).values(crop_path=None)
        )
        session.execute(
            update(AttendanceRecord)
            .where(AttendanceRecord.session_id.in_(ids))
            .values(evidence_path=None)
        )
        # A closed session's monitor state (its face tracks' embeddings) is needed no more, nor
        # an abandoned one's frames that were never analysed (whole pictures of the room).
        session.execute(delete(SessionState).where(SessionState.session_id.in_(ids)))
        session.execute(delete(Frame).where(Frame.session_id.in_(ids)))
        # The faces' sealed embeddings are biometric data too: they go with the crops.
        session.execute(
            update(UnknownFace)
            .where(UnknownFace.session_id.in_(ids))
            .values(crop_path="", embedding=None, embedder=None, dim=None)
        )
    removed = unlink(files)
    for sid in ids:
        # Every crop of an expired session goes, not only those a row names: a crop left
        # without one (a mark's crop that did not open when its picture was paired with it,
        # a write's temporary file after a crash) is that session's evidence too.
        folder = settings.evidence_dir / f"session-{sid}"
        if folder.is_dir():
            removed += unlink([p for p in folder.iterdir() if p.is_file()])
            if not any(folder.iterdir()):
                folder.rmdir()
    return Purge(len(ids), removed)
