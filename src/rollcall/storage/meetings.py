"""Tables of online meetings (migration 0011): people's meeting accounts, a session's
participants and their stays, webhook hooks, and staff decisions on suspected cases.

A person's face says who was there; a platform's participant list says which accounts were in
the meeting. These tables hold the second half, so the two can be reconciled
(attendance.reconcile).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, Float, ForeignKey, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rollcall.storage.models import Base, utcnow


class PersonAlias(Base):
    """One of a person's meeting identities: an email address or a display name.

    ``norm`` is the normalized value (attendance.participants.match.name_key / email_key), so
    "José_Núñez" and "jose nunez" are one alias; a key belongs to one person only.
    """

    __tablename__ = "person_aliases"
    __table_args__ = (UniqueConstraint("kind", "norm", name="uq_person_aliases_kind"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(8))  # email | alias
    value: Mapped[str] = mapped_column(String(254))
    norm: Mapped[str] = mapped_column(String(254))
    # Who added it: "cli:os-user", a staff account, or "confirmed by ada" for a proposal.
    added_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MeetingParticipant(Base):
    """An account in a session's meeting, from a platform report or live events.

    ``account_key`` identifies the account within the session (its email, else its normalized name),
    so importing the same report again adds nothing. ``person_id`` is who it was matched to
    (``matched_by`` says how); ``proposed_id`` is a fuzzy guess that staff must confirm.
    """

    __tablename__ = "meeting_participants"
    __table_args__ = (
        UniqueConstraint("session_id", "account_key", name="uq_meeting_participants_session_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    account_key: Mapped[str] = mapped_column(String(300))
    name: Mapped[str] = mapped_column(String(200), default="")
    # The name the account had before it was renamed in the meeting (Zoom's "Original Name").
    original_name: Mapped[str | None] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    platform: Mapped[str] = mapped_column(String(16))  # zoom | teams | meet | json
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    matched_by: Mapped[str | None] = mapped_column(String(16))  # email | alias | name | staff
    proposed_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    proposal_score: Mapped[float | None] = mapped_column(Float)

    stays: Mapped[list[ParticipantStay]] = relationship(
        back_populates="participant",
        cascade="all, delete-orphan",
        passive_deletes=True,
        order_by="ParticipantStay.join_t",
    )


class ParticipantStay(Base):
    """One join..leave of an account, in seconds from the session's start; ``leave_t`` is None
    while a live meeting still has them (a webhook's join without its leave yet)."""

    __tablename__ = "participant_stays"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    participant_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_participants.id", ondelete="CASCADE"), index=True
    )
    join_t: Mapped[float] = mapped_column(Float)
    leave_t: Mapped[float | None] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(16))  # report | webhook

    participant: Mapped[MeetingParticipant] = relationship(back_populates="stays")


class MeetingHook(Base):
    """Where a platform sends live participant events: /hooks/<platform>/<token>.

    Made by staff for one course (events go to its session running at the time) or one
    session. Only the URL token's sha256 is kept; the platform's signing secret (Zoom's
    "Secret Token") is needed in full to check signatures, so it is sealed with the template key.
    """

    __tablename__ = "meeting_hooks"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    platform: Mapped[str] = mapped_column(String(16))  # zoom | json
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    secret: Mapped[bytes | None] = mapped_column(LargeBinary)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    session_id: Mapped[int | None] = mapped_column(ForeignKey("sessions.id", ondelete="CASCADE"))
    created_by: Mapped[str] = mapped_column(String(80))
    # The staff account that made it in the portal (None: made on the command line). The hook
    # works only while that account is active and may see the course (migration 0021), as
    # agent tokens and kiosk links do; removing the account removes its hooks.
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # Zoom: the one meeting whose events this hook takes (digits of its meeting ID). An app
    # installed for a whole account sends every meeting's events (migration 0019).
    meeting_id: Mapped[str | None] = mapped_column(String(32))


class EarlyParticipantEvent(Base):
    """A join or leave a course's hook received before the course's session existed (people
    join a few minutes before the class starts): kept until the session is created, which
    takes it (storage.hooks.early_events), or for a day (migration 0019)."""

    __tablename__ = "early_participant_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    hook_id: Mapped[int] = mapped_column(
        ForeignKey("meeting_hooks.id", ondelete="CASCADE"), index=True
    )
    platform: Mapped[str] = mapped_column(String(16))
    event: Mapped[str] = mapped_column(String(8))  # joined | left
    name: Mapped[str] = mapped_column(String(200))
    email: Mapped[str | None] = mapped_column(String(254))
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class MeetingReview(Base):
    """A staff decision on one suspected case of a session (a proxy, two accounts, a face
    without an account): the case stays listed with the decision, nothing is decided for them."""

    __tablename__ = "meeting_reviews"
    __table_args__ = (
        UniqueConstraint("session_id", "case_key", name="uq_meeting_reviews_session_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    case_key: Mapped[str] = mapped_column(String(300))  # attendance.reconcile.Case.key
    decision: Mapped[str] = mapped_column(String(16))  # confirmed | dismissed
    note: Mapped[str] = mapped_column(String(500), default="")
    decided_by: Mapped[str] = mapped_column(String(80))
    decided_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
