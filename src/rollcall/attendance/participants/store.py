"""Meeting accounts and participants in the database: aliases, imports, live events, proposals.

An import is one transaction: a report that fails on its last line leaves nothing behind.
Importing the same report again adds nothing (accounts are keyed by email, else by name, and
an identical stay is not stored twice), so a late or corrected report can simply be re-imported.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import datetime, tzinfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from rollcall.attendance.participants.clock import Stay, stays_of
from rollcall.attendance.participants.match import (
    Candidate,
    Match,
    Matcher,
    email_key,
    name_key,
)
from rollcall.attendance.participants.rows import ParsedReport
from rollcall.errors import RollcallError
from rollcall.storage.accounts import check_email
from rollcall.storage.hooks import early_events
from rollcall.storage.meetings import MeetingParticipant, ParticipantStay, PersonAlias
from rollcall.storage.models import AttendanceSession, CourseMember, Person

KINDS = ("email", "alias")
# A live event this far from its session's start is of another meeting (or garbage).
MAX_EVENT_OFFSET = 7 * 86400.0


# -- a person's meeting accounts -------------------------------------------------------------


def aliases_of(s: Session, person: Person) -> list[PersonAlias]:
    return list(
        s.scalars(
            select(PersonAlias)
            .where(PersonAlias.person_id == person.id)
            .order_by(PersonAlias.kind, PersonAlias.value)
        )
    )


def add_alias(s: Session, person: Person, kind: str, value: str, added_by: str) -> bool:
    """Give `person` an email or display name; False if they had it already. One person per
    email or alias: another person's is refused (RollcallError)."""
    if kind not in KINDS:
        raise RollcallError(f"an account is an email or an alias, not {kind!r}")
    value = " ".join(value.split())[:254]
    if kind == "email":
        value = check_email(value) or ""
    if not value:
        raise RollcallError(f"an empty {kind} cannot be added")
    norm = email_key(value) if kind == "email" else name_key(value)
    if not norm:
        raise RollcallError(f"{value!r} has no letters or digits to match on")
    held = s.scalar(select(PersonAlias).where(PersonAlias.kind == kind, PersonAlias.norm == norm))
    if held is not None:
        if held.person_id == person.id:
            return False
        other = s.get(Person, held.person_id)
        raise RollcallError(f"the {kind} {value!r} is already {other.name if other else '?'}'s")
    if kind == "email":
        others = select(Person).where(Person.id != person.id, Person.email.is_not(None))
        if norm.isascii():  # (SQL lower() folds ASCII alone on SQLite: the rest is scanned)
            others = others.where(func.lower(func.trim(Person.email)) == norm)
        for p in s.scalars(others):
            if email_key(p.email or "") == norm:
                raise RollcallError(f"the email {value!r} is already {p.name}'s")
    else:
        # Aliases are the whole school's: one that is another enrolled person's own name would
        # hand their account, in every course's meetings, to this person.
        other = _name_keys(s).get(norm)
        if other is not None and other[0] != person.id:
            raise RollcallError(f"the alias {value!r} is the name of {other[1]}, enrolled")
    s.add(PersonAlias(person_id=person.id, kind=kind, value=value, norm=norm, added_by=added_by))
    s.flush()
    return True


def _name_keys(s: Session) -> dict[str, tuple[int, str]]:
    """Every enrolled person's name_key -> (id, name), made once per transaction while the
    number of people stays the same (an accounts CSV adds hundreds of aliases in one)."""
    people = s.scalar(select(func.count(Person.id))) or 0
    cached = s.info.get("name_keys")
    if cached is None or cached[0] != people:
        index = {name_key(n): (i, n) for i, n in s.execute(select(Person.id, Person.name))}
        cached = s.info["name_keys"] = (people, index)
    return cached[1]


def remove_alias(s: Session, person: Person, value: str) -> bool:
    for row in aliases_of(s, person):
        if row.norm in (email_key(value), name_key(value)):
            s.delete(row)
            s.flush()
            return True
    return False


def candidates(s: Session) -> list[Candidate]:
    emails: dict[int, list[str]] = {}
    aliases: dict[int, list[str]] = {}
    for a in s.scalars(select(PersonAlias)):
        (emails if a.kind == "email" else aliases).setdefault(a.person_id, []).append(a.norm)
    out = []
    for p in s.scalars(select(Person).order_by(Person.id)):
        own = [email_key(p.email)] if p.email else []
        out.append(
            Candidate(p.id, p.name, tuple(own + emails.get(p.id, [])), tuple(aliases.get(p.id, [])))
        )
    return out


def matcher_for(s: Session, row: AttendanceSession) -> Matcher:
    roster: list[int] = []
    if row.course_id is not None:
        roster = list(
            s.scalars(select(CourseMember.person_id).where(CourseMember.course_id == row.course_id))
        )
    return Matcher(candidates(s), roster, roster_only=row.course_id is not None)


# -- a session's participants ----------------------------------------------------------------


def account_key(name: str, email: str | None) -> str:
    return f"email:{email_key(email)}" if email else f"name:{name_key(name)}"


def participants_of(s: Session, session_id: int) -> list[MeetingParticipant]:
    return list(
        s.scalars(
            select(MeetingParticipant)
            .where(MeetingParticipant.session_id == session_id)
            .order_by(MeetingParticipant.name, MeetingParticipant.id)
        )
    )


def apply_match(p: MeetingParticipant, m: Match) -> None:
    if p.matched_by == "staff":
        return  # a staff decision stands
    p.person_id, p.matched_by = m.person_id, m.by
    p.proposed_id = m.proposed_id if m.person_id is None else None
    p.proposal_score = m.score if m.person_id is None else None


def _account(s: Session, row: AttendanceSession, key: str) -> MeetingParticipant | None:
    """The account keyed ``key`` (account_key, cut to the column) in session ``row``."""
    return s.scalar(
        select(MeetingParticipant).where(
            MeetingParticipant.session_id == row.id, MeetingParticipant.account_key == key
        )
    )


def in_meeting(s: Session, row: AttendanceSession, name: str, email: str | None) -> bool:
    """Whether the account has a stay still open in session ``row``."""
    p = _account(s, row, account_key(name, email)[:300])
    return p is not None and any(st.leave_t is None for st in p.stays)


def participant_for(
    s: Session,
    row: AttendanceSession,
    platform: str,
    name: str,
    email: str | None,
    original_name: str | None,
    matcher: Matcher,
) -> MeetingParticipant:
    key = account_key(name, email)[:300]
    p = _account(s, row, key)
    if p is None:
        p = MeetingParticipant(
            session_id=row.id,
            account_key=key,
            name=name[:200],
            email=email[:254] if email else None,
            original_name=original_name[:200] if original_name else None,
            platform=platform,
        )
        s.add(p)
    else:
        p.name = p.name or name[:200]
        p.original_name = p.original_name or (original_name[:200] if original_name else None)
    apply_match(p, matcher.match(p.name, p.email, p.original_name))
    s.flush()
    return p


def add_stay(s: Session, p: MeetingParticipant, join_t: float, leave_t: float | None, source: str):  # noqa: ANN201
    for old in p.stays:
        same_leave = (old.leave_t is None and leave_t is None) or (
            old.leave_t is not None and leave_t is not None and abs(old.leave_t - leave_t) < 1
        )
        if abs(old.join_t - join_t) < 1 and same_leave:
            return None
    stay = ParticipantStay(participant=p, join_t=join_t, leave_t=leave_t, source=source)
    s.add(stay)
    return stay


# Seconds after what the session has analysed that a report's stays may begin: a running
# session's report comes while it goes on.
OVERLAP_SLACK = 3600.0


def _check_overlaps(stays: list[Stay], row: AttendanceSession, zone: tzinfo) -> None:
    """Some stay must be in the meeting while the session is: not wholly before its start (a
    report read an hour off, in another zone, had every stay end before it and everyone
    "joined, never seen"), nor wholly after what it analysed (a closed session's end; a
    running one's, an hour on)."""
    from datetime import timedelta

    from rollcall.wallclock import in_zone

    end = max(row.duration or 0.0, row.processed_until or 0.0)
    upto = end if row.state == "closed" and end > 0 else end + OVERLAP_SLACK
    if not stays or any(
        st.join_t <= upto and (st.leave_t if st.leave_t is not None else upto) > 0 for st in stays
    ):
        return
    first = min(st.join_t for st in stays)
    start = in_zone(row.started_at, zone)
    then = start + timedelta(seconds=first)
    raise RollcallError(
        f"none of the report's {len(stays)} stay(s) overlaps session {row.name!r} (started "
        f"{start:%Y-%m-%d %H:%M} {start.tzname()}; the report's first join reads as "
        f"{then:%Y-%m-%d %H:%M}): a report of another meeting, or times in another zone "
        "(give the report's time zone: --timezone, or the session page's Time zone field)?"
    )


@dataclass
class ImportResult:
    platform: str
    rows: int = 0
    stays_added: int = 0
    accounts: set[str] = field(default_factory=set)
    matched: set[str] = field(default_factory=set)
    proposed: set[str] = field(default_factory=set)
    unmatched: set[str] = field(default_factory=set)


def import_report(
    s: Session, row: AttendanceSession, report: ParsedReport, zone: tzinfo
) -> ImportResult:
    """Every row of `report` into the session (call inside one transaction). A report none of
    whose stays overlaps the session (_check_overlaps) is refused: another meeting's report,
    or its times read in the wrong zone, would make everyone "joined, never seen"."""
    stays: list[Stay] = stays_of(report, row.started_at, zone)
    _check_overlaps(stays, row, zone)
    matcher = matcher_for(s, row)
    result = ImportResult(report.platform, rows=len(stays))
    for stay in stays:
        p = participant_for(
            s, row, report.platform, stay.name, stay.email, stay.original_name, matcher
        )
        if add_stay(s, p, stay.join_t, stay.leave_t, "report") is not None:
            result.stays_added += 1
        s.flush()
        result.accounts.add(p.account_key)
    for p in participants_of(s, row.id):
        if p.account_key not in result.accounts:
            continue
        label = p.name or p.email or p.account_key
        if p.person_id is not None:
            result.matched.add(label)
        elif p.proposed_id is not None:
            result.proposed.add(label)
        else:
            result.unmatched.add(label)
    return result


def record_event(
    s: Session,
    row: AttendanceSession,
    platform: str,
    event: str,
    name: str,
    email: str | None,
    at: datetime | float,
) -> MeetingParticipant:
    """A live "joined" or "left" of an account, at a wall-clock instant or seconds from the
    start. A leave closes the account's open stay (or, if its join was missed, records the
    stay as from the start of the session)."""
    if event not in ("joined", "left"):
        raise RollcallError(f"an event is 'joined' or 'left', not {event!r}")
    if isinstance(at, datetime):
        from rollcall.wallclock import as_utc

        t = (as_utc(at) - as_utc(row.started_at)).total_seconds()
    else:
        t = float(at)
    # Infinity would be stored and break every page that draws the session's timeline.
    if not math.isfinite(t) or abs(t) > MAX_EVENT_OFFSET:
        raise RollcallError(
            f"an event {t:g} s from the session's start; at most {MAX_EVENT_OFFSET / 86400:g} "
            "days either side"
        )
    p = participant_for(s, row, platform, name, email, None, matcher_for(s, row))
    # Platforms retry deliveries: an event already recorded changes nothing.
    if any(abs((st.join_t if event == "joined" else st.leave_t or -1e9) - t) < 1 for st in p.stays):
        return p
    if event == "joined":
        if not any(st.leave_t is None for st in p.stays):
            add_stay(s, p, t, None, "webhook")
    else:
        open_ = [st for st in p.stays if st.leave_t is None and st.join_t <= t + 1]
        if open_:
            open_[-1].leave_t = max(t, open_[-1].join_t)
        else:
            add_stay(s, p, min(0.0, t), t, "webhook")
    s.flush()
    return p


def take_early_events(s: Session, row: AttendanceSession) -> int:
    """Record on the new session ``row`` the joins and leaves its course's hooks kept before it
    existed (storage.hooks.keep_early), and forget them; how many there were."""
    kept = early_events(s, row)
    for e in kept:
        record_event(s, row, e.platform, e.event, e.name, e.email, e.at)
        s.delete(e)
    s.flush()
    return len(kept)


def remove_reported(s: Session, row: AttendanceSession) -> tuple[int, int]:
    """Undo the participant reports imported into session ``row`` (a wrong file, another
    meeting's): their stays go, and accounts left with none; stays from live webhooks stay.
    Returns (stays removed, accounts removed)."""
    stays = accounts = 0
    for p in participants_of(s, row.id):
        reported = [st for st in p.stays if st.source == "report"]
        for st in reported:
            p.stays.remove(st)
            s.delete(st)
        stays += len(reported)
        if reported and not p.stays:
            s.delete(p)
            accounts += 1
    s.flush()
    return stays, accounts


@dataclass(frozen=True)
class Confirmed:
    """What a confirmation remembered for the next meetings, and what it could not."""

    kept: list[str]  # "alias", "email"
    refused: list[str]  # why (another person's alias, email or own name)

    def words(self, account: str, person: str) -> str:
        if not self.refused:
            return f"{account} is {person}: remembered for the next meetings."
        why = "; ".join(self.refused)
        if not self.kept:
            return f"{account} is {person} in this meeting only: {why}."
        return f"{account} is {person}; remembered as their {' and '.join(self.kept)}, not: {why}."


def confirm(s: Session, p: MeetingParticipant, person: Person, by: str) -> Confirmed:
    """Staff say account `p` is `person`: remembered as their alias (and email), so the next
    meeting matches at once; the session's other unmatched accounts are matched again. A name
    or email that cannot be theirs (another person's alias, email or own name) is not
    remembered: for it the decision holds for this meeting only."""
    kept: list[str] = []
    refused: list[str] = []
    for kind, value in (("alias", p.name), ("email", p.email)):
        if value:
            try:
                add_alias(s, person, kind, value, by)
                kept.append(kind)
            except RollcallError as exc:
                refused.append(str(exc))
    p.person_id, p.matched_by, p.proposed_id, p.proposal_score = person.id, "staff", None, None
    s.flush()
    row = s.get(AttendanceSession, p.session_id)
    matcher = matcher_for(s, row)
    for other in participants_of(s, p.session_id):
        if other.person_id is None:
            apply_match(other, matcher.match(other.name, other.email, other.original_name))
    s.flush()
    return Confirmed(kept, refused)
