"""What the alerts say and to whom: a summary for instructors after each session, and a note
when someone crosses a course's threshold (so many absences, a rate under so much).

plan_* functions only read the database and return Letters, so the portal can preview them;
queue_after_close puts them in the outbox, inside the transaction that closed the session.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from urllib.parse import quote

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.alerts.outbox import FAILED, PENDING, WITHDRAWN, Letter, enqueue
from rollcall.attendance.course_report import build_course_report
from rollcall.attendance.report import SessionReport, build_report
from rollcall.config import portal_address
from rollcall.storage import accounts
from rollcall.storage.models import (
    AttendanceSession,
    Course,
    CourseAlerts,
    HeadCount,
    OutboxMessage,
    Person,
    SessionEvent,
    UnknownFace,
)
from rollcall.storage.names import name_order

REVIEW_EVENTS = (
    "duplicate",
    "disputed",
    "identity_lost",
    "visitor",
    "shared_camera",
    "pictures",  # a classroom camera's faces that never moved: posters, or a proxy's photo
    "presentation_attack",  # someone held up a picture at the entrance (of whom, when known)
)
MIN_SESSIONS_FOR_RATE = 3  # one missed first class is not "under 80%"
LOW_CONFIDENCE = 0.5


def _names(items: list[str]) -> str:
    return ", ".join(items) if items else "none"


def summary_letter_body(
    report: SessionReport,
    pending_unknowns: int,
    events: list[SessionEvent],
    names: dict,
    not_seen: Sequence[str] = (),
) -> tuple[str, str]:
    """(subject, body) of the after-session summary."""
    by_status: dict[str, list[str]] = {}
    for a in report.attendance:
        by_status.setdefault(a.status, []).append(a.person)
    tally = Counter(a.status for a in report.attendance)
    when = report.started_local.strftime("%Y-%m-%d %H:%M")
    # Left early only when someone did: a subject short enough for a phone's inbox.
    left = f", {tally['left_early']} left early" if tally["left_early"] else ""
    subject = (
        f"[rollcall] {report.course or report.session} {when}: "
        f"{tally['absent']} absent, {tally['late']} late{left}"
    )
    lines = [
        f"Session {report.session} ({report.course or 'no course'}), "
        f"{report.started_local:%A %Y-%m-%d %H:%M} ({report.timezone}).",
        "",
        f"Expected: {len(report.attendance)}; present {tally['present']}, late "
        f"{tally['late']}, left early {tally['left_early']}, absent {tally['absent']}.",
        f"Absent: {_names(by_status.get('absent', []))}",
        f"Late: {_names(by_status.get('late', []))}",
        f"Left early: {_names(by_status.get('left_early', []))}",
    ]
    weak = [
        a.person
        for a in report.attendance
        if a.first_seen is not None and a.confidence < LOW_CONFIDENCE and not a.edited
    ]
    review = []
    if pending_unknowns:
        review.append(f"{pending_unknowns} unknown face(s) to review")
    for e in events:
        who = names.get(e.person_id, "")
        at = report.clock(e.t)
        review.append(
            f"{at:%H:%M:%S} {e.kind.replace('_', ' ')}{': ' + who if who else ''}"
            + (f" ({e.detail})" if e.detail else "")
        )
    if weak:
        review.append(f"low-confidence marks: {', '.join(weak)}")
    if not_seen:
        # Absent by their face, in the meeting by the platform's list (camera off?): the
        # teacher decides, and only learned of it reading the meeting table row by row.
        review.append(f"in the meeting but their face never seen: {', '.join(not_seen)}")
    lines += ["", "To review:" if review else "Nothing to review."]
    lines += [f"- {item}" for item in review]
    lines += [
        "",
        _sheet_link(report.session),
        "You receive this because you teach this course; alerts are set on the course's "
        "Alerts page.",
    ]
    return subject, "\n".join(lines) + "\n"


def _sheet_link(session_name: str) -> str:
    """Where the session's sheet is: a link when the portal's address is known."""
    address = portal_address()
    if address is None:
        return f"The session's sheet is in the portal, under Sessions: {session_name}."
    return f"The session's sheet: {address}/sessions/{quote(session_name)}"


def staff_emails(session: Session, course: Course) -> list[str]:
    return sorted({u.email for u in accounts.course_instructors(session, course) if u.email})


def alert_settings(session: Session, course: Course | None) -> CourseAlerts | None:
    return None if course is None else session.get(CourseAlerts, course.id)


def plan_summary(
    session: Session, row: AttendanceSession, default_zone: str | None
) -> list[Letter]:
    """The after-session summary for each of the course's instructors with an email."""
    rules = alert_settings(session, row.course)
    if rules is None or not rules.after_session or row.course is None:
        return []
    report = build_report(session, row, default_zone)
    pending = len(
        session.scalars(
            select(UnknownFace.id).where(
                UnknownFace.session_id == row.id, UnknownFace.review == "pending"
            )
        ).all()
    )
    events = list(
        session.scalars(
            select(SessionEvent)
            .where(SessionEvent.session_id == row.id, SessionEvent.kind.in_(REVIEW_EVENTS))
            .order_by(SessionEvent.t)
        )
    )
    names = dict(session.execute(select(Person.id, Person.name)).all()) if events else {}
    meeting = report.meeting  # (the report reconciled the participant list already)
    not_seen = sorted(
        {e.person for e in meeting.entries if e.status == "joined_not_seen" and e.person}
        if meeting
        else set(),
        key=name_order,
    )
    subject, body = summary_letter_body(report, pending, events, names, not_seen)
    return [
        Letter("session", f"session:{row.id}:{to}", to, subject, body, row.course.name, row.name)
        for to in staff_emails(session, row.course)
    ]


def plan_thresholds(session: Session, course: Course, default_zone: str | None) -> list[Letter]:
    """A note for each person at or past a threshold, to the people the course names."""
    rules = alert_settings(session, course)
    if rules is None or (rules.absences is None and rules.rate_below is None):
        return []
    report = build_course_report(session, course, default_zone)
    people = {p.name: p for p in session.scalars(select(Person).where(
        Person.name.in_([r.person for r in report.people])))}  # fmt: skip
    staff = staff_emails(session, course) if rules.to_staff else []
    staff += [a.strip() for a in (rules.cc or "").split(",") if "@" in a]
    letters = []
    judged = [s for s in report.sessions if s.state == "closed"]  # as the rates count them
    for rate in report.people:
        person = people[rate.person]
        crossed = []
        if rules.absences is not None and rate.absent >= rules.absences:
            crossed.append(("absences", rules.absences, f"{rate.absent} absences"))
        if (
            rules.rate_below is not None
            and rate.expected >= MIN_SESSIONS_FOR_RATE
            and 100 * rate.rate < rules.rate_below
        ):
            crossed.append(("rate", rules.rate_below, f"attendance {100 * rate.rate:.0f}%"))
        if not crossed:
            continue
        missed = [
            f"{s.day:%Y-%m-%d} ({s.session})"
            for s in judged
            if rate.statuses.get(s.session) == "absent"
        ]
        to = list(staff)
        if rules.to_student and person.email:
            to.append(person.email)
        if rules.to_guardian and person.guardian_email:
            to.append(person.guardian_email)
        for kind, threshold, what in crossed:
            subject = f"[rollcall] {person.name}: {what} in {course.name}"
            limit = f"{threshold} absences" if kind == "absences" else f"a rate under {threshold}%"
            body = (
                f"{person.name} has reached the alert threshold of {course.name} ({limit}).\n\n"
                f"Sessions expected: {rate.expected}; attended {rate.attended} "
                f"({100 * rate.rate:.0f}%), late {rate.late}, absent {rate.absent}.\n"
                f"Absent on: {_names(missed)}\n\n"
                "Sent once when the threshold is crossed; the course's alert settings say "
                "who receives it.\n"
            )
            for address in sorted(set(to)):
                letters.append(
                    Letter(
                        kind,
                        f"{kind}:{course.id}:{person.id}:{threshold}:{address}",
                        address,
                        subject,
                        body,
                        course.name,
                        None,
                        person.name,
                    )
                )
    return letters


def queue_after_edit(session: Session, row: AttendanceSession, default_zone: str | None) -> int:
    """After staff changed marks of a closed session: the threshold alerts the change brought
    (a second absence set by hand is a second absence; closing the next session, the only
    other time thresholds were looked at, may never come in a term's last week)."""
    if row.course is None or row.state != "closed":
        return 0
    letters = plan_thresholds(session, row.course, default_zone)
    _settle_waiting(session, row.course, letters, "no longer true after a staff edit")
    return sum(enqueue(session, letter) is not None for letter in letters)


def _settle_waiting(session: Session, course: Course, letters: list[Letter], why: str) -> None:
    """Threshold alerts still waiting (SMTP down, retries): one no longer true (the absences
    were excused, or their session deleted) is withdrawn, its key freed so that a later
    crossing alerts again; one still true says what is true now."""
    now = {letter.dedupe[:400]: letter for letter in letters}
    for waiting in session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.course_name == course.name,
            OutboxMessage.kind.in_(("absences", "rate")),
            OutboxMessage.state.in_((PENDING, FAILED)),
        )
    ):
        letter = now.get(waiting.dedupe)
        if letter is None:
            _withdraw(waiting, why)
        else:
            waiting.subject, waiting.body = letter.subject, letter.body
    session.flush()


def _withdraw(waiting: OutboxMessage, why: str) -> None:
    waiting.state, waiting.last_error = WITHDRAWN, why
    waiting.dedupe = f"{waiting.dedupe}:withdrawn:{waiting.id}"[:400]


def withdraw_after_delete(
    session: Session, course: Course, session_name: str, default_zone: str | None
) -> None:
    """A session was deleted (after its rows went): its summary, if still waiting, is not
    sent, and threshold alerts that counted its absences are withdrawn or rewritten (a
    teacher's review: "2 absences" letters named a session that no longer existed)."""
    for waiting in session.scalars(
        select(OutboxMessage).where(
            OutboxMessage.session_name == session_name,
            OutboxMessage.kind == "session",
            OutboxMessage.state.in_((PENDING, FAILED)),
        )
    ):
        _withdraw(waiting, "its session was deleted")
    _settle_waiting(
        session, course, plan_thresholds(session, course, default_zone), "its session was deleted"
    )


def queue_after_close(session: Session, row: AttendanceSession, default_zone: str | None) -> int:
    """Queue the summary and any threshold alerts; returns how many letters were queued."""
    if row.course is None:
        return 0
    letters = plan_summary(session, row, default_zone)
    sampled = session.scalar(select(HeadCount.id).where(HeadCount.session_id == row.id).limit(1))
    if sampled is not None:
        # A session closed before any sample was taken (its agent never came) holds no
        # evidence of anyone's absence: no letter to a family counts it (a teacher's review).
        letters += plan_thresholds(session, row.course, default_zone)
    return sum(enqueue(session, letter) is not None for letter in letters)
