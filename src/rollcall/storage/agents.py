"""Capture agents' tokens: per room or per instructor, scoped to what their owner may record.

An agent token belongs to a staff user; it may create sessions and upload frames for the
sessions that user may see (admins: any), or only for one course's sessions when it was made
for that course. Only its sha256 is stored; a revoked token, or one whose user was disabled,
is refused at its next request.
"""

from __future__ import annotations

import hashlib
import secrets

from sqlalchemy import select
from sqlalchemy.orm import Session

from rollcall.errors import RollcallError
from rollcall.storage import accounts
from rollcall.storage.models import AgentToken, AttendanceSession, Course, utcnow
from rollcall.storage.staff import User

PREFIX = "rca_"  # tells an agent token from an API token ("rc_") at a glance


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_agent_token(
    session: Session, user: User, name: str, course: Course | None = None
) -> tuple[AgentToken, str]:
    """A new token for a capture agent (shown once; only its digest is kept)."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 200:
        raise RollcallError("an agent token needs a name of 1 to 200 characters (a room, say)")
    if course is not None and not accounts.can_see_course(session, user, course.id):
        raise RollcallError(f"{user.name} may not record the sessions of {course.name!r}")
    token = PREFIX + secrets.token_urlsafe(32)
    row = AgentToken(
        name=name,
        token_sha256=_digest(token),
        user_id=user.id,
        course_id=course.id if course is not None else None,
    )
    session.add(row)
    session.flush()
    return row, token


def agent_for_token(session: Session, token: str) -> AgentToken | None:
    """The live agent token behind a bearer value, or None (unknown, revoked, user disabled)."""
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(AgentToken).where(AgentToken.token_sha256 == _digest(token)))
    if row is None or not is_live(session, row):
        return None
    row.last_used_at = utcnow()
    return row


def is_live(session: Session, agent: AgentToken) -> bool:
    """Whether the token still lets its agent in: not revoked, and its owner active."""
    return agent.revoked_at is None and accounts.active_user(session, agent.user_id) is not None


def owner(session: Session, agent: AgentToken) -> User:
    return session.get(User, agent.user_id)


def may_record(session: Session, agent: AgentToken, row: AttendanceSession) -> bool:
    """Whether this agent may upload frames for (and join) this session: its owner may see
    the session now (an instructor taken off the course takes their tokens with them), and a
    course's token only that course's."""
    if agent.course_id is not None and row.course_id != agent.course_id:
        return False
    return accounts.can_see_session(session, owner(session, agent), row)


def may_create_for(session: Session, agent: AgentToken, course: Course | None) -> bool:
    """Whether this agent may create a session for ``course`` (None: everyone enrolled)."""
    user = owner(session, agent)
    if agent.course_id is not None:
        return (
            course is not None
            and course.id == agent.course_id
            and accounts.can_see_course(session, user, course.id)
        )
    if course is None:
        return user.role == "admin"
    return accounts.can_see_course(session, user, course.id)


def revoke(session: Session, token_id: int) -> AgentToken:
    row = session.get(AgentToken, token_id)
    if row is None:
        raise RollcallError(f"no agent token #{token_id}")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    return row


def list_agent_tokens(session: Session) -> list[tuple[AgentToken, str, str | None]]:
    """Every agent token with its owner's name and its course's (newest first)."""
    rows = session.execute(
        select(AgentToken, User.name, Course.name)
        .join(User, User.id == AgentToken.user_id)
        .outerjoin(Course, Course.id == AgentToken.course_id)
        .order_by(AgentToken.id.desc())
    )
    return [(t, u, c) for t, u, c in rows.all()]
