"""The outbox: every alert is a row first, written in the transaction that caused it, then sent.

A message is claimed before it is sent (so two senders never send it twice), and a failed
send is recorded with its error and tried again later with a growing delay; after
MAX_ATTEMPTS it is marked gave_up, still shown, and sent again only when someone asks. Nothing
is ever dropped silently: the outbox page shows each message's state.
"""

from __future__ import annotations

import logging
import smtplib
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import func, or_, select, update
from sqlalchemy.orm import Session

from rollcall.alerts.mailer import Mailer
from rollcall.storage.db import Database
from rollcall.storage.models import OutboxMessage, utcnow

PENDING, SENDING, SENT, FAILED, GAVE_UP = "pending", "sending", "sent", "failed", "gave_up"
# A threshold alert not sent yet that a staff edit made untrue (absences excused): never sent.
WITHDRAWN = "withdrawn"
STATES = (PENDING, SENDING, SENT, FAILED, GAVE_UP, WITHDRAWN)
MAX_ATTEMPTS = 8
LEASE = timedelta(minutes=10)  # a send cut short (killed process) is tried again after this
log = logging.getLogger(__name__)


def backoff(attempts: int) -> timedelta:
    """1, 2, 4 … minutes after each failure, at most an hour."""
    return timedelta(minutes=min(60, 2 ** max(0, attempts - 1)))


@dataclass(frozen=True)
class Letter:
    """A message to queue: what it is about, to whom, and its one-per-cause key."""

    kind: str  # session | absences | rate
    dedupe: str
    recipient: str
    subject: str
    body: str
    course: str | None = None
    session: str | None = None
    person: str | None = None


def enqueue(session: Session, letter: Letter) -> OutboxMessage | None:
    """Queue a letter unless one with the same key was queued before (then None)."""
    if session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe == letter.dedupe)):
        return None
    row = OutboxMessage(
        kind=letter.kind,
        dedupe=letter.dedupe[:400],
        recipient=letter.recipient[:254],
        subject=letter.subject[:300],
        body=letter.body,
        course_name=letter.course,
        session_name=letter.session,
        person_name=letter.person,
        state=PENDING,
        attempts=0,
        last_error="",
        next_attempt_at=utcnow(),
    )
    session.add(row)
    session.flush()
    return row


def queued(session: Session, keys: list[str]) -> set[str]:
    if not keys:
        return set()
    return set(session.scalars(select(OutboxMessage.dedupe).where(OutboxMessage.dedupe.in_(keys))))


@dataclass(frozen=True)
class Delivery:
    sent: int
    failed: int

    def __str__(self) -> str:
        return f"{self.sent} sent, {self.failed} failed"


def _due(session: Session, now: datetime, ids: list[int] | None, limit: int) -> list[int]:
    query = select(OutboxMessage.id).order_by(OutboxMessage.id).limit(limit)
    if ids is not None:
        # Asked for by hand ("Retry"): anything not sent and not being sent right now.
        return list(
            session.scalars(
                query.where(
                    OutboxMessage.id.in_(ids),
                    or_(
                        OutboxMessage.state.in_((PENDING, FAILED, GAVE_UP)),
                        (OutboxMessage.state == SENDING) & (OutboxMessage.next_attempt_at <= now),
                    ),
                )
            )
        )
    return list(
        session.scalars(
            query.where(
                OutboxMessage.state.in_((PENDING, FAILED, SENDING)),
                OutboxMessage.next_attempt_at <= now,
            )
        )
    )


def deliver(
    db: Database,
    mailer: Mailer,
    now: datetime | None = None,
    ids: list[int] | None = None,
    limit: int = 200,
) -> Delivery:
    """Send the messages that are due (or those in `ids`, whatever their schedule)."""
    now = now or utcnow()
    with db.session() as session:
        due = _due(session, now, ids, limit)
    sent = failed = 0
    for message_id in due:
        with db.session() as session:
            claimed = session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.id == message_id,
                    OutboxMessage.state.not_in((SENT, WITHDRAWN)),  # (withdrawn meanwhile)
                    or_(OutboxMessage.state != SENDING, OutboxMessage.next_attempt_at <= now),
                )
                .values(
                    state=SENDING,
                    attempts=OutboxMessage.attempts + 1,
                    next_attempt_at=now + LEASE,
                )
            ).rowcount
            row = session.get(OutboxMessage, message_id) if claimed else None
            letter = (row.recipient, row.subject, row.body, row.attempts) if row else None
        if letter is None:
            continue  # another sender has it
        recipient, subject, body, attempts = letter
        try:
            mailer.send(recipient, subject, body)
        except (OSError, smtplib.SMTPException) as exc:
            failed += 1
            error = f"{type(exc).__name__}: {exc}"[:500]
            log.warning("alert %s to %s not sent (attempt %d): %s", message_id, recipient,
                        attempts, error)  # fmt: skip
            values = {
                "state": GAVE_UP if attempts >= MAX_ATTEMPTS else FAILED,
                "last_error": error,
                "next_attempt_at": utcnow() + backoff(attempts),
            }
        else:
            sent += 1
            values = {"state": SENT, "sent_at": utcnow(), "last_error": ""}
        with db.session() as session:
            session.execute(
                update(OutboxMessage).where(OutboxMessage.id == message_id).values(**values)
            )
    return Delivery(sent, failed)


def deliver_quietly(db: Database, mailer: Mailer | None) -> Delivery | None:
    """After a session closes: send what is due, never failing the caller (the outbox keeps
    whatever could not go, and `rollcall alerts send` or the outbox page retries it)."""
    if mailer is None:
        return None
    try:
        return deliver(db, mailer)
    except Exception:  # noqa: BLE001 - the session is closed whatever the mail server does
        log.exception("sending alerts failed; they stay in the outbox")
        return None


def counts(session: Session) -> dict[str, int]:
    rows = session.execute(
        select(OutboxMessage.state, func.count()).group_by(OutboxMessage.state)
    ).all()
    return {state: int(n) for state, n in rows}
