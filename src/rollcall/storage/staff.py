"""Staff accounts, API tokens, course ownership and the append-only audit trail (migration 0003)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import DateTime, ForeignKey, Integer, String, Text, event, false
from sqlalchemy.orm import Mapped, mapped_column, relationship

from rollcall.storage.models import Base, utcnow

ROLES = ("admin", "instructor")


class User(Base):
    """Someone who logs in to the portal: an admin sees everything, an instructor their courses."""

    __tablename__ = "users"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    # argon2id, in the PHC string format (parameters and salt included).
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[str] = mapped_column(String(16))
    active: Mapped[bool] = mapped_column(default=True)
    # Copied into the session cookie at login and compared on every request: bumping it (logout,
    # password change) ends every session of this user, even a copied cookie (migration 0005).
    session_version: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Where alerts reach them, and (migration 0008) whether an admin's password reset asks
    # them to choose a new password before anything else.
    email: Mapped[str | None] = mapped_column(String(254))
    must_change_password: Mapped[bool] = mapped_column(default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    tokens: Mapped[list[ApiToken]] = relationship(
        back_populates="user", cascade="all, delete-orphan", passive_deletes=True
    )


class ApiToken(Base):
    """An API bearer token; only its sha256 is kept, so a database leak reveals no token."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    user: Mapped[User] = relationship(back_populates="tokens")


class CourseInstructor(Base):
    """Which instructors own a course: they see and edit its sessions."""

    __tablename__ = "course_instructors"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )


class AuditEntry(Base):
    """One staff action, written once and never changed.

    Names are copied rather than referenced so the entry still reads correctly after the person,
    session or account it mentions has been deleted; triggers in migration 0003 refuse UPDATE and
    DELETE on this table, and the ORM guard below says so earlier.
    """

    __tablename__ = "audit_entries"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow, index=True)
    actor: Mapped[str] = mapped_column(String(80))
    action: Mapped[str] = mapped_column(String(40))
    session_name: Mapped[str | None] = mapped_column(String(200), index=True)
    subject: Mapped[str] = mapped_column(String(200), default="")
    before: Mapped[str | None] = mapped_column(String(200))
    after: Mapped[str | None] = mapped_column(String(200))
    reason: Mapped[str] = mapped_column(String(500), default="")
    details: Mapped[str] = mapped_column(Text, default="{}")  # JSON of the event's properties


class ImmutableAuditEntry(RuntimeError):
    """Raised when code tries to change or delete an audit entry."""


@event.listens_for(AuditEntry, "before_update")
@event.listens_for(AuditEntry, "before_delete")
def _refuse_changes(_mapper, _conn, target: AuditEntry) -> None:  # noqa: ANN001
    raise ImmutableAuditEntry(f"audit entry {target.id} is immutable")
