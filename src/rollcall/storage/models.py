"""SQLAlchemy 2.0 models: the tables rollcall keeps. Schema changes go through Alembic."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import (
    Date,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Text,
    UniqueConstraint,
    false,
)
from sqlalchemy.dialects import mysql
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

# Named constraints so Alembic migrations can alter them on every back end.
NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class Person(Base):
    """Someone who can be recognised: a student or an employee."""

    __tablename__ = "people"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # For exports and alerts (migration 0008): the school's own id, and where to write.
    student_id: Mapped[str | None] = mapped_column(String(64))
    email: Mapped[str | None] = mapped_column(String(254))
    guardian_email: Mapped[str | None] = mapped_column(String(254))

    templates: Mapped[list[Template]] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )
    consent: Mapped[ConsentRecord | None] = relationship(
        back_populates="person", cascade="all, delete-orphan", passive_deletes=True
    )


class ConsentRecord(Base):
    """The person's consent to keep their face templates: how it was given, who recorded it, when.

    One per person, written when they are first enrolled; withdrawing consent means erasing the
    person (`rollcall people remove`), which deletes this row with everything else of theirs.
    """

    __tablename__ = "consents"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), unique=True)
    method: Mapped[str] = mapped_column(String(64))  # signed form | online form | email | verbal …
    recorded_by: Mapped[str] = mapped_column(String(80))  # a staff account or the OS user
    recorded_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    note: Mapped[str | None] = mapped_column(String(500))  # a form number, an email's date …

    person: Mapped[Person] = relationship(back_populates="consent")


class Template(Base):
    """One face embedding of a person (biometric data): raw float32 bytes, never a pickle."""

    __tablename__ = "templates"
    __table_args__ = (UniqueConstraint("person_id", "embedder", "source_sha256"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    # Embeddings from different networks are not comparable, so each names its embedder.
    embedder: Mapped[str] = mapped_column(String(32))
    dim: Mapped[int] = mapped_column(Integer)
    vector: Mapped[bytes] = mapped_column(LargeBinary)
    source_name: Mapped[str] = mapped_column(String(255))
    # Digest of the photo, so enrolling the same file twice does not add a duplicate template.
    source_sha256: Mapped[str] = mapped_column(String(64))
    face_px: Mapped[float] = mapped_column(Float)
    sharpness: Mapped[float] = mapped_column(Float)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)

    person: Mapped[Person] = relationship(back_populates="templates")


class Course(Base):
    """A class or meeting series: who is expected, and when it starts and ends."""

    __tablename__ = "courses"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    # Wall-clock times "HH:MM" in `timezone`; with them a session's marks can be late or
    # left early.
    start_time: Mapped[str | None] = mapped_column(String(5))
    end_time: Mapped[str | None] = mapped_column(String(5))
    grace_minutes: Mapped[int] = mapped_column(Integer, default=5)
    # IANA zone the times are read in; None: ROLLCALL_TIMEZONE's, else the machine's.
    timezone: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    # The term's calendar (migration 0008): meetings on these weekdays ("mon,wed"), from
    # term_start to term_end, except the course's holidays; sessions are matched to it by date.
    meeting_days: Mapped[str | None] = mapped_column(String(40))
    term_start: Mapped[date | None] = mapped_column(Date)
    term_end: Mapped[date | None] = mapped_column(Date)

    members: Mapped[list[CourseMember]] = relationship(
        back_populates="course", cascade="all, delete-orphan", passive_deletes=True
    )
    holidays: Mapped[list[CourseHoliday]] = relationship(
        cascade="all, delete-orphan", passive_deletes=True, order_by="CourseHoliday.day"
    )


class CourseHoliday(Base):
    """A day in the term with no meeting (a holiday, a trip): not a missed meeting."""

    __tablename__ = "course_holidays"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    day: Mapped[date] = mapped_column(Date, primary_key=True)
    label: Mapped[str] = mapped_column(String(100), default="")


class CourseAlerts(Base):
    """Who a course's alerts go to, and when (migration 0008); no row: no alerts."""

    __tablename__ = "course_alerts"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    # After each closed session, the course's instructors get who was absent or late.
    after_session: Mapped[bool] = mapped_column(default=True)
    # Someone crossing a threshold: this many absences, or a rate below this percentage.
    absences: Mapped[int | None] = mapped_column(Integer)
    rate_below: Mapped[int | None] = mapped_column(Integer)
    to_student: Mapped[bool] = mapped_column(default=False)
    to_guardian: Mapped[bool] = mapped_column(default=False)
    to_staff: Mapped[bool] = mapped_column(default=True)
    # More addresses for threshold alerts (a head of year, an office), comma-separated.
    cc: Mapped[str] = mapped_column(String(500), default="")


class OutboxMessage(Base):
    """An email waiting to go, sent, or failing: written in the transaction that caused it, so
    no alert is lost to a crash or an SMTP outage; each send attempt is recorded here."""

    __tablename__ = "outbox"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    kind: Mapped[str] = mapped_column(String(32))  # session | absences | rate
    # One message per cause and recipient: closing a session twice sends nothing twice.
    dedupe: Mapped[str] = mapped_column(String(400), unique=True)
    course_name: Mapped[str | None] = mapped_column(String(200))
    session_name: Mapped[str | None] = mapped_column(String(200))
    person_name: Mapped[str | None] = mapped_column(String(200))
    recipient: Mapped[str] = mapped_column(String(254))
    subject: Mapped[str] = mapped_column(String(300))
    body: Mapped[str] = mapped_column(Text)
    state: Mapped[str] = mapped_column(String(16), default="pending", index=True)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str] = mapped_column(String(500), default="")
    next_attempt_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class CourseMember(Base):
    __tablename__ = "course_members"

    course_id: Mapped[int] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), primary_key=True
    )
    person_id: Mapped[int] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), primary_key=True
    )

    course: Mapped[Course] = relationship(back_populates="members")
    person: Mapped[Person] = relationship()


class AttendanceSession(Base):
    """One sitting being watched: a lecture, a meeting, a shift at an entrance."""

    __tablename__ = "sessions"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="SET NULL"), index=True
    )
    source: Mapped[str] = mapped_column(String(1000))
    # Wall-clock time of t = 0 on the source's timeline; every other time is seconds from it.
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    ended_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # running | interrupted (stopped, resumable) | closed (by the source's end, --duration or
    # `rollcall sessions close`). A run killed outright leaves "running" behind.
    state: Mapped[str] = mapped_column(String(16), default="running")
    seed: Mapped[int] = mapped_column(Integer)
    min_interval: Mapped[float] = mapped_column(Float)
    max_interval: Mapped[float] = mapped_column(Float)
    verify_every: Mapped[float] = mapped_column(Float)
    leave_after: Mapped[float] = mapped_column(Float)
    # How far along the source's timeline the session has been processed (for --resume).
    processed_until: Mapped[float] = mapped_column(Float, default=0.0)
    duration: Mapped[float | None] = mapped_column(Float)
    # The capture agent recording it (server-side sessions): who, when last heard from, how
    # many frames it said were waiting on its disk, and how late its last frame arrived.
    agent_token_id: Mapped[int | None] = mapped_column(
        ForeignKey("agent_tokens.id", ondelete="SET NULL")
    )
    agent_seen_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    agent_backlog: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    # Which running agent holds the session (the id its spool folder keeps, so a restarted
    # agent is the same one): a second agent is refused while the first is heard from.
    agent_instance: Mapped[str | None] = mapped_column(String(64))
    agent_lag: Mapped[float | None] = mapped_column(Float)
    # Set when the agent says its source ended: the session closes at this time on its
    # timeline once every frame uploaded before it is analyzed.
    close_at: Mapped[float | None] = mapped_column(Float)
    # How the source is watched (analysis.MODES) and, at an entrance, the frames analysed a
    # second and the counting line "x1,y1,x2,y2": kept so that --resume (and the agent)
    # continue the session the way it was started.
    mode: Mapped[str] = mapped_column(String(16), default="meeting", server_default="meeting")
    entrance_fps: Mapped[float | None] = mapped_column(Float)
    entrance_line: Mapped[str | None] = mapped_column(String(100))
    # The course's schedule when the session was made ("HH:MM" start and end, grace minutes;
    # None: it had none): late and left early are judged against it, so changing the course's
    # times later does not re-judge, silently, sessions already held and reported. Kept by
    # create_session and, for sessions made before, by migration 0023 (schedule_kept); a row
    # without it is judged against its course's schedule as it is now.
    schedule_kept: Mapped[bool] = mapped_column(default=False, server_default=false())
    schedule_start: Mapped[str | None] = mapped_column(String(5))
    schedule_end: Mapped[str | None] = mapped_column(String(5))
    schedule_grace: Mapped[int | None] = mapped_column(Integer)
    # The zone its clock times were given in when it was made: its course's then, else
    # ROLLCALL_TIMEZONE's (else the machine's), so its dates and statuses do not change with
    # who looks or when its course changes. None before migration 0024 (0026 gives a
    # course's sessions their course's zone, when it had one).
    timezone: Mapped[str | None] = mapped_column(String(64))
    # The `rollcall run` process taking the session ("host:pid") and until when (epoch
    # seconds) its lease holds: it renews it while it runs and gives it up when it stops, so a
    # second run of the same session is refused while the first lives (attendance.run_lease).
    run_by: Mapped[str | None] = mapped_column(String(300))
    run_until: Mapped[float | None] = mapped_column(Float)
    # A recorded source's fingerprint (source_text.recording_print): a resume reads the same
    # recording, wherever it was moved and whatever it is called now.
    source_print: Mapped[str | None] = mapped_column(String(100))

    course: Mapped[Course | None] = relationship()


# Frames and monitor states outgrow MySQL's 64 KB BLOB.
BIG_BLOB = LargeBinary().with_variant(mysql.LONGBLOB(), "mysql", "mariadb")


class AgentToken(Base):
    """A capture agent's credential, per room or per instructor: it may create and record the
    sessions its owner may see (of one course only, when ``course_id`` is set). Only the
    token's sha256 is kept; a revoked token is refused at once."""

    __tablename__ = "agent_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    course_id: Mapped[int | None] = mapped_column(ForeignKey("courses.id", ondelete="CASCADE"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class KioskToken(Base):
    """A kiosk's token: shows one session's live marks (or any session of one course) on a
    screen at the door, without a staff login. Only its sha256 is kept; revoking it, or
    disabling the staff account that made it, stops the kiosk at its next request."""

    __tablename__ = "kiosk_tokens"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    token_sha256: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    # Exactly one of the two is set.
    session_id: Mapped[int | None] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    course_id: Mapped[int | None] = mapped_column(
        ForeignKey("courses.id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    last_used_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    revoked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))


class SessionState(Base):
    """The monitor's memory after a session's last analyzed sample, so any process can take
    the next one. Sealed (analysis.state): it holds face embeddings."""

    __tablename__ = "session_states"

    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    state: Mapped[bytes] = mapped_column(BIG_BLOB)
    updated_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)


class Frame(Base):
    """A sample's picture from a capture agent (JPEG), kept only until it is analyzed."""

    __tablename__ = "frames"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    t: Mapped[float] = mapped_column(Float)
    captured_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    received_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    image: Mapped[bytes] = mapped_column(BIG_BLOB)


class HeadCount(Base):
    """One random-time sample: how many faces, and whether identities were verified."""

    __tablename__ = "head_counts"
    __table_args__ = (UniqueConstraint("session_id", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    t: Mapped[float] = mapped_column(Float)
    count: Mapped[int] = mapped_column(Integer)
    recognized: Mapped[int] = mapped_column(Integer)
    unknown: Mapped[int] = mapped_column(Integer)
    verified: Mapped[bool] = mapped_column(default=False)
    # When the sample was written (UTC): a backlog or a recording's backfill is analysed long
    # after its frames were taken, and the agents page's samples per minute is the pool's
    # work now (migration 0020).
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True), index=True)


class AttendanceRecord(Base):
    """Exactly one per (session, expected person): the mark and its evidence."""

    __tablename__ = "attendance"
    __table_args__ = (UniqueConstraint("session_id", "person_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="absent")
    first_seen: Mapped[float | None] = mapped_column(Float)
    last_seen: Mapped[float | None] = mapped_column(Float)
    confidence: Mapped[float] = mapped_column(Float, default=0.0)
    evidence_path: Mapped[str | None] = mapped_column(String(500))
    evidence_t: Mapped[float | None] = mapped_column(Float)
    marked_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    # A staff edit wins over what the monitor computes later (see the audit trail).
    edited: Mapped[bool] = mapped_column(default=False)

    person: Mapped[Person] = relationship()


class PresenceInterval(Base):
    """A stretch of time a person was seen; `end_t` is None while it is still open."""

    __tablename__ = "presence_intervals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"), index=True)
    start_t: Mapped[float] = mapped_column(Float)
    last_seen: Mapped[float] = mapped_column(Float)
    end_t: Mapped[float | None] = mapped_column(Float)
    # Closed at last_seen because the run stopped, not because the person left: a resumed run
    # opens it again, so an interruption does not split anyone's presence.
    suspended: Mapped[bool] = mapped_column(default=False, server_default=false())


class Sighting(Base):
    """One face in one sample: where it was, who it was taken for, and on what evidence.

    The per-sample record behind every mark and presence interval, so staff (and the scorer of
    generated meetings) can check that each named face in each sample really was that person.
    ``fresh`` says the name came from this sample's own embedding, not carried over from an
    earlier sample of an unchanged face; ``tile`` is the gallery tile it sat in (-1: none found);
    ``label`` is the participant name the meeting drew on that tile, as read (None: not read).
    """

    __tablename__ = "sightings"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    seq: Mapped[int] = mapped_column(Integer)
    t: Mapped[float] = mapped_column(Float)
    person_id: Mapped[int | None] = mapped_column(
        ForeignKey("people.id", ondelete="CASCADE"), index=True
    )
    x: Mapped[int] = mapped_column(Integer)
    y: Mapped[int] = mapped_column(Integer)
    w: Mapped[int] = mapped_column(Integer)
    h: Mapped[int] = mapped_column(Integer)
    similarity: Mapped[float | None] = mapped_column(Float)
    fresh: Mapped[bool] = mapped_column(default=False)
    tile: Mapped[int] = mapped_column(Integer, default=-1)
    label: Mapped[str | None] = mapped_column(String(200))
    # An unnamed face that nearly matched this person (vision.gallery.NEAR_MISS; 0017).
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))


class UnknownFace(Base):
    """A face seen in a session that matched no one, or that no one was credited for because it
    moved like a picture: kept with its crop for review."""

    __tablename__ = "unknown_faces"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    t: Mapped[float] = mapped_column(Float)
    crop_path: Mapped[str] = mapped_column(String(500))
    best_similarity: Mapped[float] = mapped_column(Float)
    candidate_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    review: Mapped[str] = mapped_column(String(16), default="pending")  # pending|assigned|dismissed
    # Why no one was credited (attendance.monitor): "no_match", a face like no one enrolled, or
    # "picture", an entrance track that moved like a photo or a screen held up: an attack, or a
    # real person the liveness check got wrong, which only staff can tell (migration 0015).
    reason: Mapped[str] = mapped_column(String(16), default="no_match", server_default="no_match")
    # When the face was written (UTC), which can be long after ``t``: an entrance track is judged
    # when it ends, so someone lingering at the door for two minutes reaches the kiosk's
    # one-minute screen by this time, not by when they first appeared (migration 0018).
    recorded_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    assigned_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="SET NULL"))
    # The face's embedding, sealed like a template (biometric data; migration 0008), so the
    # same stranger is grouped across sessions. None for faces kept before it was stored.
    embedding: Mapped[bytes | None] = mapped_column(LargeBinary)
    embedder: Mapped[str | None] = mapped_column(String(32))
    dim: Mapped[int | None] = mapped_column(Integer)


class SessionEvent(Base):
    """Discrepancies and milestones worth showing on the timeline (joined, left, gap, ...)."""

    __tablename__ = "session_events"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    session_id: Mapped[int] = mapped_column(
        ForeignKey("sessions.id", ondelete="CASCADE"), index=True
    )
    t: Mapped[float] = mapped_column(Float)
    kind: Mapped[str] = mapped_column(String(32))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
    detail: Mapped[str] = mapped_column(String(500), default="")
    # An image kept with the event, under ROLLCALL_HOME/evidence/. An entrance's presentation
    # attacks had theirs here until migration 0015 moved them to unknown faces for review.
    crop_path: Mapped[str | None] = mapped_column(String(500))


# Staff tables share this metadata so Alembic sees them (they live in their own module).
from rollcall.storage import meetings as _meetings  # noqa: E402, F401
from rollcall.storage import staff as _staff  # noqa: E402, F401
