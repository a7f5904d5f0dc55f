"""Migrations and repositories behave the same on SQLite, PostgreSQL and MariaDB."""

from __future__ import annotations

import numpy as np
import pytest
from sqlalchemy import inspect, select
from sqlalchemy.exc import IntegrityError

from rollcall.storage.db import current_revision, head_revision, make_engine, upgrade
from rollcall.storage.models import AttendanceRecord, Template
from rollcall.storage.people import (
    add_template,
    get_or_create_person,
    list_people,
    load_templates,
    remove_person,
)
from rollcall.storage.sessions import (
    SessionSettings,
    attendance_rows,
    course_people,
    create_session,
    upsert_course,
)

SETTINGS = SessionSettings("rec.mp4", 7, 20.0, 90.0, 300.0, 180.0)


def old_session(session, name: str, people: list, course) -> int:  # noqa: ANN001
    """A session and its absent marks written as SQL, for a database at an old revision: the
    ORM's AttendanceSession has columns such a database does not have yet."""
    from sqlalchemy import text

    session.flush()
    session.execute(
        text(
            "INSERT INTO sessions (name, course_id, source, started_at, seed, min_interval, "
            "max_interval, verify_every, leave_after, state, processed_until) VALUES (:n, :c, "
            "'rec.mp4', :at, 7, 20, 90, 300, 180, 'running', 0)"
        ),
        {"n": name, "c": course.id if course else None, "at": "2026-12-06 09:00:00"},
    )
    session_id = session.execute(text("SELECT id FROM sessions WHERE name = :n"), {"n": name})
    session_id = session_id.scalar()
    for person in people:
        session.execute(
            text(
                "INSERT INTO attendance (session_id, person_id, status, confidence, edited) "
                "VALUES (:s, :p, 'absent', 0, :e)"
            ),
            {"s": session_id, "p": person.id, "e": False},
        )
    return session_id


def test_upgrade_creates_every_table_at_head(database_url: str):
    engine = make_engine(database_url)
    upgrade(engine)
    upgrade(engine)  # a second run is a no-op
    assert current_revision(engine) == head_revision()
    tables = set(inspect(engine).get_table_names())
    assert {"people", "templates", "sessions", "attendance", "head_counts"} <= tables
    engine.dispose()


def test_migrations_build_the_schema_the_models_describe(database_url: str):
    """Every table, column, index and key the models declare comes out of the migrations."""
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from rollcall.storage.models import Base

    engine = make_engine(database_url)
    upgrade(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(conn, opts={"compare_type": False})
        diff = compare_metadata(context, Base.metadata)
    engine.dispose()
    # Tables or columns missing on either side, and indexes the models ask for, must match.
    significant = [
        d
        for d in diff
        if d[0] in {"add_table", "remove_table", "add_column", "remove_column", "add_index"}
    ]
    assert significant == [], significant


def test_attacks_kept_as_events_move_to_the_review_of_unknown_faces(database_url: str):
    """Migration 0015: a presentation attack's crop on a session event (which no page showed)
    becomes an unknown face judged a picture, pending review; the event stays, without it."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    engine = make_engine(database_url)
    upgrade(engine, "0014")
    with Session(engine) as session, session.begin():
        ann = get_or_create_person(session, "ann")
        course = upsert_course(session, "Door", ["ann"], "09:00", "10:30", 5)
        session_id = old_session(session, "door-1", [ann], course)
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO session_events (session_id, t, kind, detail, crop_path) VALUES "
                "(:s, 12.5, 'presentation_attack', 'moved like a flat picture', :c), "
                "(:s, 14.0, 'visitor', '', NULL)"
            ),
            {"s": session_id, "c": f"evidence/session-{session_id}/event-3-0.jpg"},
        )
    upgrade(engine)
    with engine.connect() as conn:
        faces = conn.execute(
            text("SELECT t, crop_path, review, reason FROM unknown_faces ORDER BY id")
        ).all()
        events = conn.execute(text("SELECT kind, crop_path FROM session_events ORDER BY t")).all()
    assert [tuple(f) for f in faces] == [
        (12.5, f"evidence/session-{session_id}/event-3-0.jpg", "pending", "picture")
    ]
    assert [tuple(e) for e in events] == [("presentation_attack", None), ("visitor", None)]
    # And back: the crop returns to its event, and no face is left for 0014's code to make a
    # template of.
    from alembic import command

    from rollcall.storage.db import alembic_config

    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0014")
    with engine.connect() as conn:
        left = conn.execute(text("SELECT COUNT(*) FROM unknown_faces")).scalar()
        events = conn.execute(text("SELECT kind, crop_path FROM session_events ORDER BY t")).all()
    engine.dispose()
    assert left == 0
    assert [tuple(e) for e in events] == [
        ("presentation_attack", f"evidence/session-{session_id}/event-3-0.jpg"),
        ("visitor", None),
    ]


def test_webhooks_made_in_the_portal_are_bound_to_their_maker(database_url: str):
    """Migration 0021: a hook whose created_by names a staff account gets that account as its
    maker (it then stops with the account's access); a command-line hook stays unbound."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from rollcall.storage.accounts import create_user

    engine = make_engine(database_url)
    upgrade(engine, "0020")
    with Session(engine) as session, session.begin():
        course = upsert_course(session, "Door", [], "09:00", "10:30", 5)
        ivy = create_user(session, "ivy", "Ivy-Pass-2026!x", "instructor")
        course_id, ivy_id = course.id, ivy.id
    with engine.begin() as conn:
        for token, made_by in (("a" * 64, "ivy"), ("b" * 64, "root (command line)"),
                               ("c" * 64, "gone")):  # fmt: skip
            conn.execute(
                text(
                    "INSERT INTO meeting_hooks (name, platform, token_sha256, course_id, "
                    "created_by, created_at) VALUES ('h', 'json', :t, :c, :by, :now)"
                ),
                {"t": token, "c": course_id, "by": made_by, "now": "2026-12-06 10:00:00"},
            )
        hook_id = conn.execute(text("SELECT id FROM meeting_hooks WHERE created_by = 'ivy'"))
        conn.execute(
            text(
                "INSERT INTO early_participant_events (hook_id, platform, event, name, at, "
                "received_at) VALUES (:h, 'json', 'joined', 'Alice', :now, :now)"
            ),
            {"h": hook_id.scalar(), "now": "2026-12-06 10:00:00"},
        )
    upgrade(engine)
    with engine.connect() as conn:
        makers = conn.execute(
            text(
                "SELECT created_by, user_id, revoked_at IS NOT NULL FROM meeting_hooks "
                "ORDER BY token_sha256"
            )
        ).all()
        kept = conn.execute(text("SELECT COUNT(*) FROM early_participant_events")).scalar()
    engine.dispose()
    # A portal hook whose maker is gone is revoked; the kept event survives the upgrade
    # (a rebuild of meeting_hooks on SQLite would have cascaded it away).
    assert [tuple(m) for m in makers] == [
        ("ivy", ivy_id, False),
        ("root (command line)", None, False),
        ("gone", None, True),
    ]
    assert kept == 1


def test_stored_camera_passwords_are_taken_out_of_sessions_sources(database_url: str):
    """Migration 0022: sources stored before it with a camera URL's password lose it."""
    from sqlalchemy import text

    engine = make_engine(database_url)
    upgrade(engine, "0021")
    given = {
        "cam": "rtsp://admin:CamPassw0rd@10.1.2.3:554/stream1",
        "relay": "https://relay.example/live?token=s3cr3t&q=hd",
        "file": "lecture.mp4",
    }
    with engine.begin() as conn:
        for name, source in given.items():
            conn.execute(
                text(
                    "INSERT INTO sessions (name, source, started_at, seed, min_interval, "
                    "max_interval, verify_every, leave_after, state, processed_until) VALUES "
                    "(:n, :s, :at, 1, 20, 90, 300, 180, 'closed', 0)"
                ),
                {"n": name, "s": source, "at": "2026-12-06 10:00:00"},
            )
    upgrade(engine)
    with engine.connect() as conn:
        stored = dict(conn.execute(text("SELECT name, source FROM sessions")).all())
    engine.dispose()
    assert stored == {
        "cam": "rtsp://admin:***@10.1.2.3:554/stream1",
        "relay": "https://relay.example/live?token=***&q=hd",
        "file": "lecture.mp4",
    }


def test_sessions_made_before_keep_their_courses_schedule(database_url: str):
    """Migration 0023: every session keeps the schedule its course has at the upgrade (the one
    its reports were given with); a session without a course keeps none. Then down and up
    again, without losing a session (no table rebuild on SQLite)."""
    from alembic import command
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from rollcall.storage.db import alembic_config

    engine = make_engine(database_url)
    upgrade(engine, "0022")
    with Session(engine) as session, session.begin():
        course_id = upsert_course(session, "CS101", [], "09:00", "10:30", 7).id
    with engine.begin() as conn:
        for name, course in (("w1", course_id), ("adhoc", None)):
            conn.execute(
                text(
                    "INSERT INTO sessions (name, course_id, source, started_at, seed, "
                    "min_interval, max_interval, verify_every, leave_after, state, "
                    "processed_until) VALUES (:n, :c, 'x.mp4', :at, 1, 20, 90, 300, 180, "
                    "'closed', 0)"
                ),
                {"n": name, "c": course, "at": "2026-12-06 09:00:00"},
            )
    upgrade(engine)
    query = text(
        "SELECT name, schedule_kept, schedule_start, schedule_end, schedule_grace FROM sessions "
        "ORDER BY name"
    )
    with engine.connect() as conn:
        kept = [tuple(r) for r in conn.execute(query)]
    assert kept == [("adhoc", True, None, None, None), ("w1", True, "09:00", "10:30", 7)]
    with engine.begin() as conn:
        cfg = alembic_config()
        cfg.attributes["connection"] = conn
        command.downgrade(cfg, "0022")
    upgrade(engine)
    with engine.connect() as conn:
        assert conn.execute(text("SELECT COUNT(*) FROM sessions")).scalar() == 2
    engine.dispose()


def test_sessions_made_before_keep_their_courses_zone(database_url: str):
    """Migration 0026: a course's sessions made before keep the zone their course has at the
    upgrade (changing it later re-judged and re-dated them); a course without a zone, and a
    session's own zone, are left alone."""
    from sqlalchemy import text
    from sqlalchemy.orm import Session

    engine = make_engine(database_url)
    upgrade(engine, "0025")
    with Session(engine) as session, session.begin():
        ny = upsert_course(session, "CS101", [], "09:00", "10:00", 5, "America/New_York").id
        plain = upsert_course(session, "ART", [], "09:00", "10:00", 5).id
    with engine.begin() as conn:
        for name, course, zone in (("w1", ny, None), ("a1", plain, None), ("own", ny, "UTC")):
            conn.execute(
                text(
                    "INSERT INTO sessions (name, course_id, source, started_at, seed, "
                    "min_interval, max_interval, verify_every, leave_after, state, "
                    "processed_until, timezone) VALUES (:n, :c, 'x.mp4', :at, 1, 20, 90, 300, "
                    "180, 'closed', 0, :z)"
                ),
                {"n": name, "c": course, "at": "2026-12-06 09:00:00", "z": zone},
            )
    upgrade(engine)
    with engine.connect() as conn:
        zones = dict(conn.execute(text("SELECT name, timezone FROM sessions")).all())
    assert zones == {"w1": "America/New_York", "a1": None, "own": "UTC"}
    engine.dispose()


def test_stored_name_keys_fold_letters_like_o_slash(database_url: str):
    """Migration 0016: aliases and name-only accounts stored with "ø", "ł" ... are rewritten
    as name_key now computes them, so "Soren" finds the alias "Søren"; a key that would
    collide with another keeps its old value."""
    from datetime import UTC, datetime

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from rollcall.attendance.participants.match import name_key

    engine = make_engine(database_url)
    upgrade(engine, "0015")
    with Session(engine) as session, session.begin():
        people = [get_or_create_person(session, n) for n in ("ann", "ben", "cat")]
        course = upsert_course(session, "Door", ["ann"], "09:00", "10:30", 5)
        session_id = old_session(session, "m-1", people[:1], course)
        ids = [p.id for p in people]
    now = datetime.now(UTC)
    with engine.begin() as conn:
        for person_id, kind, value, norm in [
            (ids[0], "alias", "Søren K", "sørenk"),
            (ids[1], "alias", "Łukasz W", "łukaszw"),
            (ids[2], "alias", "Lukasz W", "lukaszw"),  # already the folded key: kept
            (ids[0], "email", "søren@x.example", "søren@x.example"),  # emails are not names
            (ids[2], "alias", "Łukasz_W", "łukaszw2"),  # cat's other alias...
            (ids[2], "alias", "Lukasz W2", "lukaszw2"),  # ...the same name once folded: one
        ]:
            conn.execute(
                text(
                    "INSERT INTO person_aliases (person_id, kind, value, norm, added_by, "
                    "created_at) VALUES (:p, :k, :v, :n, '', :at)"
                ),
                {"p": person_id, "k": kind, "v": value, "n": norm, "at": now},
            )
        conn.execute(
            text(
                "INSERT INTO meeting_participants (session_id, account_key, name, platform) "
                "VALUES (:s, 'name:yusufyılmaz', 'Yusuf Yılmaz', 'zoom')"
            ),
            {"s": session_id},
        )
        conn.execute(  # a staff decision on that account's case
            text(
                "INSERT INTO meeting_reviews (session_id, case_key, decision, note, decided_by, "
                "decided_at) VALUES (:s, 'proxy_suspected:name:yusufyılmaz', 'dismissed', '', "
                "'ada', :at)"
            ),
            {"s": session_id, "at": now},
        )
    upgrade(engine)
    with engine.connect() as conn:
        norms = dict(conn.execute(text("SELECT value, norm FROM person_aliases")).all())
        key = conn.execute(text("SELECT account_key FROM meeting_participants")).scalar()
        case = conn.execute(text("SELECT case_key FROM meeting_reviews")).scalar()
    engine.dispose()
    assert norms == {
        "Søren K": name_key("Soren K"),
        "Łukasz W": "łukaszw",  # "lukaszw" is already cat's alias: left as it was
        "Lukasz W": "lukaszw",
        "søren@x.example": "søren@x.example",
        "Lukasz W2": "lukaszw2",
    }
    assert key == "name:" + name_key("Yusuf Yilmaz")
    assert case == "proxy_suspected:" + key


def test_concurrent_first_starts_migrate_once(database_url: str):
    from concurrent.futures import ThreadPoolExecutor

    def start(_: int) -> str | None:
        engine = make_engine(database_url)
        try:
            upgrade(engine)
            return current_revision(engine)
        finally:
            engine.dispose()

    with ThreadPoolExecutor(4) as pool:
        assert set(pool.map(start, range(4))) == {head_revision()}


def test_templates_round_trip_exactly(db):
    rng = np.random.default_rng(1)
    vector = rng.normal(size=128).astype(np.float32)
    with db.session() as session:
        ada = get_or_create_person(session, "Ada Lovelace — ü")
        add_template(
            session,
            ada,
            cipher=db.cipher,
            embedder="sface",
            vector=vector,
            source_name="ada.jpg",
            source_sha256="a" * 64,
            face_px=88.5,
            sharpness=123.25,
        )
    with db.session() as session:
        names, index, matrix = load_templates(session, "sface", db.cipher)
        assert names == ["Ada Lovelace — ü"]
        assert np.array_equal(matrix[0], vector)
        assert [(p.name, p.templates) for p in list_people(session)] == [("Ada Lovelace — ü", 1)]
        assert session.scalar(select(Template.face_px)) == 88.5


def test_duplicate_template_is_refused_by_the_database(db):
    with db.session() as session:
        person = get_or_create_person(session, "Bob")
        kwargs = dict(
            cipher=db.cipher,
            embedder="sface",
            vector=np.ones(4, np.float32),
            source_name="b.jpg",
            source_sha256="b" * 64,
            face_px=50.0,
            sharpness=10.0,
        )
        add_template(session, person, **kwargs)
        with pytest.raises(IntegrityError):
            add_template(session, person, **kwargs)
        session.rollback()


def test_removing_a_person_cascades_to_templates(db):
    with db.session() as session:
        person = get_or_create_person(session, "Cy")
        for i in range(3):
            add_template(
                session,
                person,
                cipher=db.cipher,
                embedder="sface",
                vector=np.full(4, i, np.float32),
                source_name=f"{i}.jpg",
                source_sha256=f"{i}" * 64,
                face_px=50.0,
                sharpness=10.0,
            )
    with db.session() as session:
        assert remove_person(session, "Cy") == 3
    with db.session() as session:
        assert session.scalars(select(Template)).all() == []


def test_session_has_one_record_per_expected_person(db):
    with db.session() as session:
        people = [get_or_create_person(session, n) for n in ("ann", "ben", "cat")]
        course = upsert_course(session, "Maths", ["ann", "ben", "cat"], "09:00", "10:30", 5)
        assert [p.name for p in course_people(session, course)] == ["ann", "ben", "cat"]
        row = create_session(session, "maths-1", SETTINGS, people, course)
        session_id = row.id
    with db.session() as session:
        rows = attendance_rows(session, session_id)
        assert [(name, rec.status) for rec, name in rows] == [
            ("ann", "absent"),
            ("ben", "absent"),
            ("cat", "absent"),
        ]
        # The (session, person) uniqueness is the database's, not just the code's.
        session.add(AttendanceRecord(session_id=session_id, person_id=rows[0][0].person_id))
        with pytest.raises(IntegrityError):
            session.flush()
        session.rollback()


def test_times_keep_their_precision(db):
    from rollcall.storage.models import AttendanceSession

    with db.session() as session:
        person = get_or_create_person(session, "dee")
        row = create_session(session, "precise", SETTINGS, [person], None)
        row.processed_until = 12345.678901
        session_id = row.id
    with db.session() as session:
        row = session.get(AttendanceSession, session_id)
        assert row.processed_until == 12345.678901  # MySQL's FLOAT would give 12345.7


def test_stored_name_keys_fold_apostrophes_hyphens_and_marks(database_url: str):
    """Migration 0028: aliases and name-only accounts stored with apostrophes, hyphens or a
    right-to-left mark in their keys are rewritten as name_key now computes them."""
    from datetime import UTC, datetime

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from rollcall.attendance.participants.match import name_key

    engine = make_engine(database_url)
    upgrade(engine, "0027")
    with Session(engine) as session, session.begin():
        ann, ben = (get_or_create_person(session, n) for n in ("ann", "ben"))
        session_id = old_session(session, "m-1", [ann], None)
        ids = (ann.id, ben.id)
    with engine.begin() as conn:
        for person_id, value, norm in [
            (ids[0], "Seán O'Brien", "seano'brien"),
            (ids[1], "Anne-Marie", "anne-marie"),
        ]:
            conn.execute(
                text(
                    "INSERT INTO person_aliases (person_id, kind, value, norm, added_by, "
                    "created_at) VALUES (:p, 'alias', :v, :n, '', :at)"
                ),
                {"p": person_id, "v": value, "n": norm, "at": datetime.now(UTC)},
            )
        conn.execute(
            text(
                "INSERT INTO meeting_participants (session_id, account_key, name, platform) "
                "VALUES (:s, :k, :n, 'zoom')"
            ),
            {"s": session_id, "k": "name:\u200fדודכהן\u200f", "n": "\u200fדוד כהן\u200f"},
        )
    upgrade(engine)
    with engine.connect() as conn:
        norms = sorted(conn.execute(text("SELECT norm FROM person_aliases")).scalars())
        keys = list(conn.execute(text("SELECT account_key FROM meeting_participants")).scalars())
    assert norms == sorted([name_key("Sean O’Brien"), name_key("Anne Marie")])
    assert keys == [f"name:{name_key('דוד כהן')}"]
    engine.dispose()
