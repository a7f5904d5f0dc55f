"""`rollcall db backup` / `restore`: every row comes back, on any back end, into any back end."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner
from sqlalchemy import select

from backends.conftest import wipe
from rollcall.attendance.monitor import Mark, SampleOutcome, Sighting
from rollcall.attendance.recorder import SessionRecorder
from rollcall.config import Settings
from rollcall.errors import RollcallError
from rollcall.storage.backup import backup, read_header, restore
from rollcall.storage.db import Database, current_revision, head_revision, make_engine
from rollcall.storage.models import AttendanceRecord, AttendanceSession, HeadCount, Person
from rollcall.storage.people import (
    add_template,
    consent_of,
    get_or_create_person,
    load_templates,
    record_consent,
)
from rollcall.storage.sessions import SessionSettings, create_session

VECTOR = np.linspace(-1, 1, 128).astype(np.float32)


def fill(db: Database, settings: Settings) -> int:
    with db.session() as session:
        ada = get_or_create_person(session, "Ada — ü")
        bob = get_or_create_person(session, "Bob")
        record_consent(session, ada, method="signed form", recorded_by="Jo — ü", note="#17")
        add_template(
            session,
            ada,
            cipher=db.cipher,
            embedder="sface",
            vector=VECTOR,
            source_name="ada.jpg",
            source_sha256="a" * 64,
            face_px=80.25,
            sharpness=99.5,
        )
        row = create_session(
            session, "s1", SessionSettings("rec.mp4", 3, 20, 90, 300, 180), [ada, bob], None
        )
        session_id = row.id
    crop = np.zeros((10, 10, 3), np.uint8)
    SessionRecorder(db, session_id, settings.evidence_dir).record(
        SampleOutcome(
            0, 12.345678, 1, 1, 0, True, 1,
            marks=[Mark("Ada — ü", 12.345678, 0.875, 12.345678, (0, 0, 10, 10), crop)],
            seen=[Sighting("Ada — ü", 12.345678, 0.875, (0, 0, 10, 10))],
        )
    )  # fmt: skip
    return session_id


def snapshot(db: Database) -> dict:
    with db.session() as session:
        records = session.execute(
            select(Person.name, AttendanceRecord.status, AttendanceRecord.first_seen,
                   AttendanceRecord.edited, AttendanceRecord.marked_at.is_not(None))
            .join(Person, Person.id == AttendanceRecord.person_id)
            .order_by(Person.name)
        ).all()  # fmt: skip
        names, _, matrix = load_templates(session, "sface", db.cipher)
        row = session.scalar(select(AttendanceSession))
        return {
            "records": [tuple(r) for r in records],
            "templates": (names, matrix.tolist()),
            "session": (row.name, row.seed, row.processed_until, row.state),
            "started": row.started_at.replace(tzinfo=None).isoformat(timespec="seconds"),
            "counts": session.scalars(select(HeadCount.t)).all(),
            "consents": [
                consent_of(session, p).to_json() if consent_of(session, p) else None
                for p in session.scalars(select(Person).order_by(Person.name))
            ],
        }


def test_backup_restores_into_the_same_and_into_sqlite(db, settings, tmp_path: Path):
    fill(db, settings)
    before = snapshot(db)
    target = tmp_path / "rollcall.backup.gz"
    summary = backup(db.engine, target)
    assert target.stat().st_mode & 0o777 == 0o600  # digests, sealed templates, emails
    assert summary.revision == head_revision() and summary.tables["attendance"] == 2
    assert read_header(target)["backend"] == db.engine.dialect.name

    # Into SQLite (a move between back ends), with the same ROLLCALL_HOME (the template key).
    lite = Database(settings.with_(database_url=f"sqlite:///{tmp_path / 'restored.db'}"),
                    migrate=False)  # fmt: skip
    restore(lite.engine, target)
    assert snapshot(lite) == before
    lite.close()

    # Back into the original back end, emptied; ids keep counting after the restored rows.
    db.close()
    if db.engine.dialect.name == "sqlite":
        Path(db.engine.url.database).unlink()
    else:
        wipe(db.url)
    again = Database(settings, migrate=False)
    restore(again.engine, target)
    assert current_revision(again.engine) == head_revision()
    assert snapshot(again) == before
    with again.session() as session:
        newcomer = get_or_create_person(session, "Cy")
        assert newcomer.id > max(p.id for p in session.scalars(select(Person)) if p.name != "Cy")
    again.close()


def test_frames_waiting_for_analysis_stay_out_of_backups(db, settings, tmp_path: Path):
    """Frames are whole screens and camera pictures, kept only until analyzed: a backup,
    kept for weeks, must not hold them (its table is there, empty)."""
    import gzip
    import json
    from datetime import UTC, datetime

    from rollcall.storage.models import Frame

    session_id = fill(db, settings)
    with db.session() as session:
        session.add(Frame(session_id=session_id, seq=1, t=30.0, captured_at=datetime.now(UTC),
                          image=b"\xff\xd8\xff screen of a meeting"))  # fmt: skip
    target = tmp_path / "rollcall.backup.gz"
    summary = backup(db.engine, target)
    assert summary.tables["frames"] == 0 and summary.tables["attendance"] == 2
    assert summary.skipped["frames"] == 1
    with gzip.open(target, "rt", encoding="utf-8") as f:
        text = f.read()
    assert "frames" in json.loads(text.splitlines()[0])["tables"]
    assert "screen of a meeting" not in text and "/9j/" not in text
    lite = Database(settings.with_(database_url=f"sqlite:///{tmp_path / 'restored.db'}"),
                    migrate=False)  # fmt: skip
    restore(lite.engine, target)
    lite.close()


def test_restore_refuses_a_database_with_data(db, settings, tmp_path: Path):
    fill(db, settings)
    target = tmp_path / "b.gz"
    backup(db.engine, target)
    with pytest.raises(RollcallError, match="not empty"):
        restore(db.engine, target)


def test_restore_refuses_a_file_that_is_not_a_backup(db, tmp_path: Path):
    bogus = tmp_path / "bogus.gz"
    bogus.write_text("hello")
    with pytest.raises(RollcallError, match="not a rollcall backup"):
        restore(db.engine, bogus)


def test_cli_backup_and_restore(backend_home: Path, database_url: str, tmp_path: Path):
    from rollcall.cli import cli

    runner = CliRunner()
    result = runner.invoke(cli, ["db", "upgrade"])
    assert result.exit_code == 0, result.output
    assert f"revision {head_revision()}" in result.output
    settings = Settings.from_env()
    db = Database(settings)
    fill(db, settings)
    before = snapshot(db)
    db.close()
    target = tmp_path / "cli.backup.gz"
    result = runner.invoke(cli, ["db", "backup", str(target)])
    assert result.exit_code == 0, result.output
    assert "Backed up" in result.output

    result = runner.invoke(cli, ["db", "restore", str(target)])
    assert result.exit_code == 1 and "not empty" in result.output  # refused, no traceback

    fresh = f"sqlite:///{tmp_path / 'fresh.db'}"
    result = runner.invoke(
        cli, ["db", "restore", str(target)], env={"ROLLCALL_DATABASE_URL": fresh}
    )
    assert result.exit_code == 0, result.output
    assert (
        runner.invoke(cli, ["db", "current"], env={"ROLLCALL_DATABASE_URL": fresh}).output.strip()
        == head_revision()
    )
    restored = Database(settings.with_(database_url=fresh))
    assert snapshot(restored) == before
    restored.close()
    make_engine(fresh).dispose()
