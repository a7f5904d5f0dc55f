"""Repository for staff accounts, API tokens and who owns which course."""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Select, func, select
from sqlalchemy.orm import Session, selectinload

from rollcall.errors import NotFound, RollcallError
from rollcall.storage.meetings import MeetingHook
from rollcall.storage.models import AgentToken, AttendanceSession, Course, KioskToken, utcnow
from rollcall.storage.names import check_name, folded
from rollcall.storage.staff import ROLES, ApiToken, CourseInstructor, User

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
# Verified against when the name is unknown, so a miss costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash(secrets.token_hex(16))
MIN_PASSWORD = 10
TOKEN_PREFIX = "rc_"  # nosec B105 - a public prefix marking our tokens, not a secret


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise RollcallError(f"a password needs at least {MIN_PASSWORD} characters")
    return _hasher.hash(password)


# How the audit trail and webhooks name someone who acted on the command line (commands.base
# .cli_actor): "<os user> (command line)". No account may be named so.
COMMAND_LINE = "(command line)"


def create_user(session: Session, name: str, password: str, role: str) -> User:
    name = name.strip()
    if not name or len(name) > 80:
        raise RollcallError("a user name needs 1 to 80 characters")
    if name.endswith(COMMAND_LINE):
        # An account must not pass for a command-line actor (or take their webhooks).
        raise RollcallError(f'a user name may not end with "{COMMAND_LINE}"')
    if role not in ROLES:
        raise RollcallError(f"role must be one of {', '.join(ROLES)} (got {role!r})")
    check_name("user", name)  # a "/" would split the portal's address of the account
    # "IVY" beside "ivy" is one person logging in two ways (compared here: SQLite's lower()
    # folds only ASCII letters).
    taken = next(
        (u for u in session.scalars(select(User.name)) if u.casefold() == name.casefold()), None
    )
    if taken is not None:
        raise RollcallError(f"a user named {taken!r} already exists")
    # A random first version: SQLite gives a removed account's id to the next one made, and a
    # browser still holding the removed account's cookie (id and version 0) was logged in as
    # the new account, an admin as often as not (a security review).
    user = User(
        name=name,
        password_hash=hash_password(password),
        role=role,
        active=True,
        session_version=secrets.randbelow(2**30),
    )
    session.add(user)
    session.flush()
    return user


def get_user(session: Session, name: str) -> User | None:
    return session.scalar(select(User).where(User.name == name))


def active_user(session: Session, user_id: int | None) -> User | None:
    """The account behind a token or link it made, if it still exists and is enabled: what
    agent tokens, kiosk links and webhooks stop with."""
    user = session.get(User, user_id) if user_id is not None else None
    return user if user is not None and user.active else None


def require_user(session: Session, name: str) -> User:
    user = get_user(session, name)
    if user is None:
        raise NotFound(f"no user named {name!r} (create one with `rollcall user add`)")
    return user


def set_password(session: Session, user: User, password: str) -> None:
    """A new password for `user`; it also ends every portal session they had open."""
    user.password_hash = hash_password(password)
    user.must_change_password = False
    end_sessions(user)


def end_sessions(user: User) -> None:
    """Invalidate every session cookie issued to `user` so far (see User.session_version)."""
    user.session_version = (user.session_version or 0) + 1


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, or None (in constant-ish time)."""
    user = get_user(session, name)
    try:
        _hasher.verify(user.password_hash if user else _DUMMY_HASH, password)
    except (VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_token(session: Session, user: User) -> str:
    """A new random API token for `user`; the caller shows it once, only its digest is kept."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    session.add(ApiToken(user_id=user.id, token_sha256=_digest(token)))
    session.flush()
    return token


def user_for_token(session: Session, token: str) -> User | None:
    if not token.startswith(TOKEN_PREFIX) or len(token) > 200:
        return None
    row = session.scalar(select(ApiToken).where(ApiToken.token_sha256 == _digest(token)))
    if row is None or not row.user.active:
        return None
    row.last_used_at = utcnow()
    return row.user


# -- who may see what ------------------------------------------------------------------------


def owned_course_ids(session: Session, user_id: int) -> set[int]:
    rows = session.scalars(
        select(CourseInstructor.course_id).where(CourseInstructor.user_id == user_id)
    )
    return set(rows)


def course_instructors(session: Session, course: Course) -> list[User]:
    return list(
        session.scalars(
            select(User)
            .join(CourseInstructor, CourseInstructor.user_id == User.id)
            .where(CourseInstructor.course_id == course.id)
            .order_by(User.name)
        )
    )


def set_instructor(session: Session, course: Course, user: User, owns: bool) -> None:
    row = session.get(CourseInstructor, (course.id, user.id))
    if owns and row is None:
        session.add(CourseInstructor(course_id=course.id, user_id=user.id))
    elif not owns and row is not None:
        session.delete(row)
    session.flush()


def can_see_course(session: Session, user: User, course_id: int | None) -> bool:
    if user.role == "admin":
        return True
    return course_id is not None and course_id in owned_course_ids(session, user.id)


def can_see_session(session: Session, user: User, row: AttendanceSession) -> bool:
    """Admins see every session; instructors only those of courses they own."""
    return can_see_course(session, user, row.course_id)


def _visible(session: Session, user: User, search: str | None) -> Select:
    query = select(AttendanceSession)
    if user.role != "admin":
        query = query.where(AttendanceSession.course_id.in_(owned_course_ids(session, user.id)))
    if search:
        # Session or course names containing the text, in any case; LIKE's wildcards are
        # escaped with "/" (a backslash is itself an escape in MySQL's string literals).
        # SQLite folds only ASCII letters ("zürich" did not find "ZÜRICH"): there, folded
        # names are compared (accents too, as MySQL's collation does).
        sqlite = session.get_bind().dialect.name == "sqlite"
        text = folded(search) if sqlite else search
        escaped = text.replace("/", "//").replace("%", "/%").replace("_", "/_")
        pattern = f"%{escaped}%"

        def like(column):  # noqa: ANN001, ANN202
            if sqlite:
                return func.rc_folded(column).like(pattern, escape="/")
            return column.ilike(pattern, escape="/")

        in_course = select(Course.id).where(like(Course.name))
        query = query.where(
            like(AttendanceSession.name) | AttendanceSession.course_id.in_(in_course)
        )
    return query


def visible_sessions(
    session: Session,
    user: User,
    running: bool | None = None,
    limit: int | None = None,
    offset: int = 0,
    search: str | None = None,
    open_only: bool = False,
) -> list[AttendanceSession]:
    """The sessions ``user`` may see, newest first; only running ones (running=True) or only
    the others (False), only those not closed (open_only), whose session or course name
    contains ``search``, at most ``limit`` of them after skipping ``offset``."""
    # Every caller shows the course's name: load the courses in one query, not one per row
    # (the load test found 28 queries for an admin's session list).
    query = (
        _visible(session, user, search)
        .options(selectinload(AttendanceSession.course))
        .order_by(AttendanceSession.started_at.desc(), AttendanceSession.id.desc())
    )
    if running is not None:
        is_running = AttendanceSession.state == "running"
        query = query.where(is_running if running else ~is_running)
    if open_only:
        query = query.where(AttendanceSession.state != "closed")
    if limit is not None:
        query = query.limit(limit).offset(offset)
    return list(session.scalars(query))


def count_visible_sessions(session: Session, user: User, search: str | None = None) -> int:
    subquery = _visible(session, user, search).subquery()
    return int(session.scalar(select(func.count()).select_from(subquery)) or 0)


def visible_courses(session: Session, user: User) -> list[Course]:
    query = select(Course).order_by(Course.name)
    if user.role != "admin":
        query = query.where(Course.id.in_(owned_course_ids(session, user.id)))
    return list(session.scalars(query))


# -- administration ---------------------------------------------------------------------------


def check_email(email: str | None) -> str | None:
    """A plausible address or None (empty); RollcallError otherwise."""
    email = (email or "").strip()
    if not email:
        return None
    local, at, domain = email.rpartition("@")
    if not at or not local or "." not in domain or " " in email or len(email) > 254:
        raise RollcallError(f"{email!r} is not an email address")
    return email


def _other_active_admins(session: Session, user: User) -> int:
    return len(
        session.scalars(
            select(User.id).where(User.role == "admin", User.active.is_(True), User.id != user.id)
        ).all()
    )


def _keep_an_admin(session: Session, user: User, what: str) -> None:
    if user.role == "admin" and user.active and not _other_active_admins(session, user):
        raise RollcallError(f"cannot {what} {user.name}: they are the last active admin")


def set_active(session: Session, user: User, active: bool) -> None:
    """Disable (every session and API token stops working at once) or enable an account."""
    if not active:
        _keep_an_admin(session, user, "disable")
    user.active = active
    end_sessions(user)


def remove_user(session: Session, user: User) -> None:
    """Delete the account with its API tokens, course ownerships, and the agent tokens, kiosk
    links and webhooks it made (the audit trail keeps its name in the entries it wrote)."""
    _keep_an_admin(session, user, "remove")
    session.delete(user)
    session.flush()


@dataclass(frozen=True)
class PasswordReset:
    """What an admin's reset did: the one-time password (shown once), the user's API tokens it
    revoked, and the agent and kiosk tokens and webhooks they made that still work."""

    temporary: str
    api_tokens_revoked: int
    agent_tokens_left: int
    kiosk_tokens_left: int
    hooks_left: int = 0

    @property
    def tokens_left(self) -> str:
        """ "1 agent token, 2 kiosk tokens and 1 webhook" still working ("" when none)."""
        counts = (
            (self.agent_tokens_left, "agent token"),
            (self.kiosk_tokens_left, "kiosk token"),
            (self.hooks_left, "webhook"),
        )
        told = [f"{n} {kind}{'' if n == 1 else 's'}" for n, kind in counts if n]
        return " and ".join(filter(None, (", ".join(told[:-1]), *told[-1:])))


def reset_password(session: Session, user: User) -> PasswordReset:
    """A one-time password for `user` (shown once); at their next login they must choose a new
    one before anything else. Their portal sessions end now and their API tokens are revoked.

    A reset is what an admin does when an account may be compromised, so whatever acts as the
    user stops: portal sessions and API tokens (each acts with all the user's rights). Agent
    and kiosk tokens and webhooks are left working: they belong to a room or a course and only
    record or show its sessions (a webhook: its meeting's joins and leaves), and revoking them
    would stop classrooms; the caller says how many remain, as whoever held the account could
    have made any of them.
    """
    temporary = secrets.token_urlsafe(12)
    user.password_hash = hash_password(temporary)
    user.must_change_password = True
    end_sessions(user)
    revoked = len(user.tokens)
    user.tokens.clear()  # a revoked API token is deleted (delete-orphan), as revoke_token does
    session.flush()
    return PasswordReset(
        temporary=temporary,
        api_tokens_revoked=revoked,
        agent_tokens_left=_live_tokens(session, AgentToken, user),
        kiosk_tokens_left=_live_tokens(session, KioskToken, user),
        hooks_left=_live_tokens(session, MeetingHook, user),
    )


def _live_tokens(
    session: Session, model: type[AgentToken | KioskToken | MeetingHook], user: User
) -> int:
    query = (
        select(func.count())
        .select_from(model)
        .where(model.user_id == user.id, model.revoked_at.is_(None))
    )
    return int(session.scalar(query) or 0)


def change_password(user: User, password: str) -> None:
    """The user's own new password: clears a reset."""
    user.password_hash = hash_password(password)
    user.must_change_password = False
    end_sessions(user)


def list_tokens(session: Session) -> list[ApiToken]:
    return list(
        session.scalars(select(ApiToken).options(selectinload(ApiToken.user)).order_by(ApiToken.id))
    )


def revoke_token(session: Session, token_id: int) -> ApiToken:
    row = session.get(ApiToken, token_id)
    if row is None:
        raise NotFound(f"no API token #{token_id} (see `rollcall token list`)")
    session.delete(row)
    session.flush()
    return row
