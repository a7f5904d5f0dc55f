"""Webhooks for live participant events: per course (events go to its session running at the
time) or per session. The URL carries a random token, of which only the sha256 is kept; a
platform's signing secret is sealed with the template key (it must be read back to check
signatures, so a digest would not do). A hook made in the portal works only while its maker's
account is active and may see its course, like the agent tokens and kiosk links staff make."""

from __future__ import annotations

import hashlib
import secrets
from datetime import datetime, timedelta

from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from rollcall.errors import RollcallError
from rollcall.storage.accounts import active_user, can_see_course, can_see_session
from rollcall.storage.meetings import EarlyParticipantEvent, MeetingHook
from rollcall.storage.models import AttendanceSession, Course, utcnow
from rollcall.storage.staff import User
from rollcall.storage.templates import TemplateCipher
from rollcall.wallclock import as_utc

PREFIX = "rch_"
PLATFORMS = ("zoom", "json")
# A course's hook delivers to its session that started at most this long before the event.
SESSION_REACH = timedelta(hours=6)
# An event before any session of the course is kept for the session that starts within this
# long after it (students join before the class), and kept no longer than EARLY_KEEP.
EARLY_REACH = timedelta(hours=1)
EARLY_KEEP = timedelta(days=1)


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _context(hook_id: int) -> str:
    return f"hook-secret:{hook_id}"


def create_hook(
    s: Session,
    cipher: TemplateCipher,
    name: str,
    platform: str,
    created_by: str,
    *,
    course: Course | None = None,
    session: AttendanceSession | None = None,
    secret: str | None = None,
    meeting_id: str | None = None,
    maker: User | None = None,
) -> tuple[MeetingHook, str]:
    """A new hook and its URL token (shown once); a Zoom hook may be for one meeting ID.
    maker: the portal account making it (None on the command line)."""
    name = " ".join(name.split())
    if not 1 <= len(name) <= 200:
        raise RollcallError("a webhook needs a name of 1 to 200 characters")
    if platform not in PLATFORMS:
        raise RollcallError(f"a webhook is for {' or '.join(PLATFORMS)}, not {platform!r}")
    if (course is None) == (session is None):
        raise RollcallError("a webhook is for one course or one session")
    if platform == "zoom" and not (secret or "").strip():
        raise RollcallError("a Zoom webhook needs the app's Secret Token to check signatures")
    meeting = zoom_meeting_id(meeting_id) if (meeting_id or "").strip() else None
    if meeting is not None and platform != "zoom":
        raise RollcallError("a meeting ID is for Zoom webhooks")
    token = PREFIX + secrets.token_urlsafe(32)
    row = MeetingHook(
        name=name,
        platform=platform,
        token_sha256=_digest(token),
        course_id=course.id if course else None,
        session_id=session.id if session else None,
        created_by=created_by[:80],
        user_id=maker.id if maker is not None else None,
        meeting_id=meeting,
    )
    s.add(row)
    s.flush()
    if secret:
        row.secret = cipher.seal_bytes(secret.strip().encode(), _context(row.id))
    s.flush()
    return row, token


def zoom_meeting_id(text: str | None) -> str:
    """Zoom's meeting ID as digits ("812 3456 7890" and 81234567890 are one meeting)."""
    digits = "".join(str(text or "").split()).replace("-", "")
    if not (digits.isascii() and digits.isdigit()) or not 9 <= len(digits) <= 13:
        raise RollcallError(f"{text!r} is not a Zoom meeting ID (9 to 13 digits)")
    return digits


def hook_for_token(s: Session, platform: str, token: str) -> MeetingHook | None:
    if not token.startswith(PREFIX) or len(token) > 200:
        return None
    row = s.scalar(select(MeetingHook).where(MeetingHook.token_sha256 == _digest(token)))
    if row is None or row.revoked_at is not None or row.platform != platform:
        return None
    return row if maker_may_use(s, row) else None


def maker_may_use(s: Session, hook: MeetingHook) -> bool:
    """Whether the hook's maker still may feed its course or session: an active account that
    sees it (an instructor taken off the course, or disabled, takes their hooks with them).
    Hooks made on the command line have no maker and depend on revocation alone."""
    if hook.user_id is None:
        return True
    user = active_user(s, hook.user_id)
    if user is None:
        return False
    if hook.session_id is not None:
        row = s.get(AttendanceSession, hook.session_id)
        return row is not None and can_see_session(s, user, row)
    return can_see_course(s, user, hook.course_id)


def secret_of(hook: MeetingHook, cipher: TemplateCipher) -> bytes | None:
    return None if hook.secret is None else open_secret(cipher, hook.id, hook.secret)


def open_secret(cipher: TemplateCipher, hook_id: int, sealed: bytes) -> bytes:
    """A hook's signing secret from its sealed column (TemplateKeyError under another key)."""
    return cipher.open_bytes(sealed, _context(hook_id))


def lesson_end(row: AttendanceSession) -> float | None:
    """Seconds from a closed session's start to its lesson's end, as reconcile_session reads
    them; None while it is open. Not ended_at: that is when it was closed, days after the
    lesson for a recording analysed later."""
    if row.state != "closed":
        return None
    return row.duration or row.processed_until or 0.0


def ended_by(row: AttendanceSession, at: datetime) -> bool:
    """Whether the session's lesson had ended by `at` (an open session's has not)."""
    end = lesson_end(row)
    return end is not None and as_utc(at) > as_utc(row.started_at) + timedelta(seconds=end)


def session_for(
    s: Session, hook: MeetingHook, at: datetime, event: str = "joined"
) -> AttendanceSession | None:
    """Where an event at `at` goes: the hook's session, or its course's latest session that
    started before the event (within SESSION_REACH; 15 minutes early is allowed). A join
    after a session ended is not that session's (it is for the class after it); a leave is
    (the meeting often outlasts the recording by a few minutes). The hook's own session is
    returned whatever the time: the caller refuses a join after its end, as it refuses one
    naming it (web.hooks)."""
    if hook.session_id is not None:
        return s.get(AttendanceSession, hook.session_id)
    rows = s.scalars(
        select(AttendanceSession)
        .where(AttendanceSession.course_id == hook.course_id)
        .order_by(AttendanceSession.started_at.desc())
        .limit(20)
    )
    at = as_utc(at)
    for row in rows:
        started = as_utc(row.started_at)
        if not started - timedelta(minutes=15) <= at <= started + SESSION_REACH:
            continue
        if event == "joined" and ended_by(row, at):
            continue
        return row
    return None


def may_keep_early(hook: MeetingHook, at: datetime, now: datetime) -> bool:
    """Whether an event no session takes is kept for the next one: a course's hook, an event
    of about now, and for Zoom only a hook tied to one meeting (an app installed for a whole
    account reports every meeting on it, which must not become this course's accounts)."""
    if hook.course_id is None or abs(as_utc(at) - as_utc(now)) > EARLY_REACH:
        return False
    return hook.platform != "zoom" or hook.meeting_id is not None


def keep_early(
    s: Session, hook: MeetingHook, platform: str, event: str, name: str, email: str | None,
    at: datetime,
) -> None:  # fmt: skip
    """An event of a course's hook before any session of the course: kept for the session
    about to start (early_events). What was kept longer than EARLY_KEEP goes now."""
    forget_stale_early_events(s, utcnow())
    s.add(EarlyParticipantEvent(hook_id=hook.id, platform=platform, event=event, name=name,
                                email=email, at=as_utc(at)))  # fmt: skip
    s.flush()


def kept_join(s: Session, hook: MeetingHook, name: str, email: str | None) -> bool:
    """Whether the hook kept a join of this account for a session to come."""
    return (
        s.scalar(
            select(EarlyParticipantEvent.id).where(
                EarlyParticipantEvent.hook_id == hook.id,
                EarlyParticipantEvent.event == "joined",
                EarlyParticipantEvent.name == name,
                EarlyParticipantEvent.email.is_(None)
                if email is None
                else EarlyParticipantEvent.email == email,
            )
        )
        is not None
    )


def early_events(s: Session, row: AttendanceSession) -> list[EarlyParticipantEvent]:
    """Events the course's live hooks kept for the session ``row`` (from EARLY_REACH before it
    started), oldest first; the caller records them and deletes them. Only hooks whose maker
    still may feed the course give theirs."""
    if row.course_id is None:
        return []
    hooks = s.scalars(
        select(MeetingHook).where(
            MeetingHook.course_id == row.course_id, MeetingHook.revoked_at.is_(None)
        )
    )
    usable = [h.id for h in hooks if maker_may_use(s, h)]
    if not usable:
        return []
    started = as_utc(row.started_at)
    kept = s.scalars(
        select(EarlyParticipantEvent)
        .where(EarlyParticipantEvent.hook_id.in_(usable))
        .order_by(EarlyParticipantEvent.at, EarlyParticipantEvent.id)
    )
    return [e for e in kept if started - EARLY_REACH <= as_utc(e.at) <= started + SESSION_REACH]


def forget_stale_early_events(s: Session, now: datetime) -> int:
    """Kept events no session took within EARLY_KEEP (names and emails: kept no longer)."""
    gone = s.execute(
        delete(EarlyParticipantEvent).where(
            EarlyParticipantEvent.received_at < as_utc(now) - EARLY_KEEP
        )
    )
    return int(gone.rowcount or 0)


def list_hooks(s: Session) -> list[MeetingHook]:
    return list(s.scalars(select(MeetingHook).order_by(MeetingHook.id)))


def revoke(s: Session, hook_id: int) -> MeetingHook:
    row = s.get(MeetingHook, hook_id)
    if row is None:
        raise RollcallError(f"no webhook number {hook_id} (see `rollcall participants hooks`)")
    if row.revoked_at is None:
        row.revoked_at = utcnow()
    # What it kept for a session to come will not be given to one.
    s.execute(delete(EarlyParticipantEvent).where(EarlyParticipantEvent.hook_id == row.id))
    return row
