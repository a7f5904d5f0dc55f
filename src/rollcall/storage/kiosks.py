"""Kiosk tokens: a screen at the entrance shows one session's live marks without a staff login.

A kiosk token is made by a staff user who may see what it shows (an admin, or the course's
instructor) for one session, or for every session of one course (a room's screen that stays up
all term). Only its sha256 is stored; a revoked token, one whose maker was disabled or one
whose maker may no longer see the session (taken off the course) is refused at the kiosk's
next request.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from rollcall.errors import RollcallError
from rollcall.storage import accounts
from rollcall.storage.models import AttendanceSession, Course, KioskToken, utcnow
from rollcall.storage.staff import User

PREFIX = "rck_"  # a kiosk token, told apart from API ("rc_") and agent ("rca_") tokens


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True)
class KioskTarget:
    """What a kiosk token shows: one session, or every session of one course."""

    session: AttendanceSession | None = None
    course: Course | None = None

    @property
    def label(self) -> str:
        if self.session is not None:
            return f"session {self.session.name}"
        return f"course {self.course.name}"


def find_target(session: Session, name: str) -> KioskTarget:
    """A session or course by name; "session:NAME" or "course:NAME" when both exist."""
    kind, _, rest = name.partition(":")
    if kind in ("session", "course") and rest:
        name = rest
    else:
        kind = ""
    row = (
        None
        if kind == "course"
        else session.scalar(select(AttendanceSession).where(AttendanceSession.name == name))
    )
    course = (
        None if kind == "session" else session.scalar(select(Course).where(Course.name == name))
    )
    if row is not None and course is not None:
        raise RollcallError(
            f"{name!r} is both a session and a course: write session:{name} or course:{name}"
        )
    if row is None and course is None:
        raise RollcallError(f"there is no session or course named {name!r}")
    return KioskTarget(session=row, course=course)


def create_kiosk_token(
    session: Session, user: User, target: KioskTarget, name: str | None = None
) -> tuple[KioskToken, str]:
    """A new kiosk token (shown once: only its digest is kept)."""
    course_id = target.course.id if target.course else target.session.course_id
    if not accounts.can_see_course(session, user, course_id):
        raise RollcallError(f"{user.name} may not show the marks of {target.label}")
    name = " ".join((name or f"kiosk for {target.label}").split())[:200]
    token = PREFIX + secrets.token_urlsafe(32)
    row = KioskToken(
        name=name,
        token_sha256=_digest(token),
        user_id=user.id,
        session_id=target.session.id if target.session else None,
        course_id=target.course.id if target.course else None,
    )
    session.add(row)
    session.flush()
    return row, token


def kiosk_for_token(session: Session, token: str) -> KioskToken | None:
    """The live kiosk token behind a value, or None (unknown, revoked, maker disabled)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(KioskToken).where(KioskToken.token_sha256 == _digest(token)))
    return row if row is not None and kiosk_still_valid(session, row) else None


def kiosk_still_valid(session: Session, row: KioskToken) -> bool:
    """Not revoked, and made by an account that is still active."""
    return row.revoked_at is None and accounts.active_user(session, row.user_id) is not None


def may_show(session: Session, kiosk: KioskToken, row: AttendanceSession) -> bool:
    """Whether this kiosk may show this session's marks: its own session or course, and its
    maker may still see the session (an instructor taken off the course takes their kiosk
    links with them, as their agent tokens)."""
    if kiosk.session_id is not None:
        mine = row.id == kiosk.session_id
    else:
        mine = kiosk.course_id is not None and row.course_id == kiosk.course_id
    user = session.get(User, kiosk.user_id)
    return mine and user is not None and accounts.can_see_session(session, user, row)


def revoke(session: Session, token_id: int) -> KioskToken:
    row = session.get(KioskToken, token_id)
    if row is None:
        raise RollcallError(f"no kiosk token #{token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def list_kiosk_tokens(
    session: Session, target: KioskTarget | None = None
) -> list[tuple[KioskToken, str, str]]:
    """Kiosk tokens (newest first) with their maker's name and what they show; only those
    showing ``target`` (a session: its own and its course's) when given."""
    query = (
        select(KioskToken, User.name, AttendanceSession.name, Course.name)
        .join(User, User.id == KioskToken.user_id)
        .outerjoin(AttendanceSession, AttendanceSession.id == KioskToken.session_id)
        .outerjoin(Course, Course.id == KioskToken.course_id)
        .order_by(KioskToken.id.desc())
    )
    if target is not None and target.session is not None:
        clauses = [KioskToken.session_id == target.session.id]
        if target.session.course_id is not None:
            clauses.append(KioskToken.course_id == target.session.course_id)
        query = query.where(or_(*clauses))
    elif target is not None:
        query = query.where(KioskToken.course_id == target.course.id)
    return [
        (t, user, f"session {s}" if s is not None else f"course {c}")
        for t, user, s, c in session.execute(query).all()
    ]
