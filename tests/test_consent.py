"""Consent: no one is enrolled without it on record (how, by whom, when); erasure withdraws it."""

from __future__ import annotations

import getpass
import json
import shutil
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import cv2
import numpy as np
import pytest
from sqlalchemy import func, select

from rollcall.config import Settings
from rollcall.enrollment import Consent, enroll_photos
from rollcall.errors import RollcallError
from rollcall.privacy import erase_person, export_person
from rollcall.storage.backup import backup, restore
from rollcall.storage.db import Database
from rollcall.storage.models import ConsentRecord, Person, Template
from rollcall.storage.people import consent_of, get_or_create_person, get_person

SIGNED = Consent("signed form", "Registrar Jo", "form 2026-17")


class FakeEngine:
    """Accepts every decodable photo; the vector depends on the photo so each one is new (and
    points its own way: enrollment refuses a face that is already someone else's)."""

    embedder = SimpleNamespace(name="fake")

    def enrollment_face(self, image: np.ndarray, _policy: object) -> SimpleNamespace:
        rng = np.random.default_rng(int(image.mean() * 1000))
        vector = rng.normal(size=128).astype(np.float32)
        return SimpleNamespace(
            embedding=vector / np.linalg.norm(vector), face_px=80.0, sharpness=99.0
        )


def photo(shade: int) -> tuple[str, bytes]:
    ok, data = cv2.imencode(".png", np.full((32, 32, 3), shade, np.uint8))
    assert ok
    return f"photo-{shade}.png", data.tobytes()


@pytest.fixture
def db(home: Path):
    database = Database(Settings.from_env())
    yield database
    database.close()


def people_and_templates(db: Database) -> tuple[int, int]:
    with db.session() as s:
        return s.scalar(select(func.count(Person.id))), s.scalar(select(func.count(Template.id)))


# -- the rule, in enroll_photos ------------------------------------------------------------


def test_a_new_person_without_consent_is_refused_and_nothing_is_stored(db):
    with pytest.raises(RollcallError, match="consent is required: 'Ann'"):
        enroll_photos(db, FakeEngine(), "Ann", [photo(10)], consent=None)
    assert people_and_templates(db) == (0, 0)


def test_consent_is_stored_with_the_person_saying_how_who_and_when(db):
    before = datetime.now(UTC)
    result = enroll_photos(db, FakeEngine(), "Ann", [photo(10)], consent=SIGNED)
    assert result.accepted and result.consent_recorded
    with db.session() as s:
        consent = consent_of(s, get_person(s, "Ann"))
    assert (consent.method, consent.recorded_by, consent.note) == (
        "signed form",
        "Registrar Jo",
        "form 2026-17",
    )
    at = datetime.fromisoformat(consent.to_json()["recorded_at"])
    assert before - timedelta(seconds=1) <= at <= datetime.now(UTC) + timedelta(seconds=1)


def test_more_photos_for_a_consented_person_need_no_new_consent(db):
    enroll_photos(db, FakeEngine(), "Ann", [photo(10)], consent=SIGNED)
    more = enroll_photos(db, FakeEngine(), "Ann", [photo(20)], consent=None)
    assert more.accepted and not more.consent_recorded
    # A second statement leaves the first on record: one consent per person.
    again = enroll_photos(db, FakeEngine(), "Ann", [photo(30)], consent=Consent("email", "x"))
    assert again.accepted and not again.consent_recorded
    with db.session() as s:
        assert consent_of(s, get_person(s, "Ann")).method == "signed form"
        assert s.scalar(select(func.count(ConsentRecord.id))) == 1
    assert people_and_templates(db) == (1, 3)


def test_no_person_is_created_when_every_photo_is_refused(db):
    result = enroll_photos(db, FakeEngine(), "Ann", [("x.jpg", b"not an image")], consent=SIGNED)
    assert result.refused and not result.consent_recorded
    assert people_and_templates(db) == (0, 0)


def test_someone_enrolled_before_consents_were_kept_needs_it_for_more_photos(db):
    with db.session() as s:
        get_or_create_person(s, "Old Timer")
    with pytest.raises(RollcallError, match="consent is required"):
        enroll_photos(db, FakeEngine(), "Old Timer", [photo(10)], consent=None)
    result = enroll_photos(db, FakeEngine(), "Old Timer", [photo(10)], consent=SIGNED)
    assert result.consent_recorded


@pytest.mark.parametrize(
    ("method", "by", "note", "message"),
    [
        ("  ", "jo", "", "consent method"),
        ("x" * 65, "jo", "", "consent method"),
        ("email", "", "", "who recorded"),
        ("email", "jo", "n" * 501, "note"),
    ],
)
def test_a_consent_statement_must_say_how_and_by_whom(method, by, note, message):
    with pytest.raises(RollcallError, match=message):
        Consent(method, by, note)


def test_erasure_withdraws_consent_with_everything_else(db, home: Path):
    enroll_photos(db, FakeEngine(), "Ann", [photo(10)], consent=SIGNED)
    enroll_photos(db, FakeEngine(), "Bob", [photo(20)], consent=SIGNED)
    erase_person(db, db.settings, "Ann")
    with db.session() as s:
        assert s.scalars(select(ConsentRecord.person_id)).all() == [get_person(s, "Bob").id]


def test_export_includes_the_consent(db, tmp_path: Path):
    enroll_photos(db, FakeEngine(), "Ann", [photo(10)], consent=SIGNED)
    out = export_person(db, db.settings, "Ann", tmp_path / "ann.zip").path
    with zipfile.ZipFile(out) as zf:
        consent = json.loads(zf.read("person.json"))["consent"]
    assert consent["method"] == "signed form" and consent["recorded_by"] == "Registrar Jo"
    assert consent["note"] == "form 2026-17" and consent["recorded_at"].endswith("+00:00")


def test_backup_and_restore_keep_consents(db, home: Path, tmp_path: Path):
    enroll_photos(db, FakeEngine(), "Ann", [photo(10)], consent=SIGNED)
    target = tmp_path / "backup.gz"
    summary = backup(db.engine, target)
    assert summary.tables["consents"] == 1
    other = Database(
        db.settings.with_(database_url=f"sqlite:///{tmp_path / 'restored.db'}"), migrate=False
    )
    try:
        restore(other.engine, target)
        with other.session() as s:
            consent = consent_of(s, get_person(s, "Ann"))
        with db.session() as s:
            assert consent == consent_of(s, get_person(s, "Ann"))
    finally:
        other.close()


# -- the command line ------------------------------------------------------------------------


def photos_of(faces: Path, name: str, n: int = 2) -> list[Path]:
    return sorted((faces / "identities" / "photos" / name).iterdir())[1 : 1 + n]


def listing(cli) -> list[dict]:
    result = cli("people", "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


@pytest.mark.faces
def test_cli_without_consent_enrolls_no_one(cli, faces: Path):
    result = cli("enroll", "Tony_Blair", *photos_of(faces, "Tony_Blair"))
    assert result.exit_code == 1
    assert "consent is required: Tony_Blair has no consent on record" in result.output
    assert "--consent" in result.output
    assert listing(cli) == []


@pytest.mark.faces
@pytest.mark.parametrize("command", [("enroll",), ("course", "add", "Algebra")])
def test_cli_from_dir_without_consent_enrolls_no_one(cli, faces: Path, tmp_path: Path, command):
    root = tmp_path / "class"
    for name in ("Tony_Blair", "Colin_Powell"):
        (root / name).mkdir(parents=True)
        for p in photos_of(faces, name):
            shutil.copy(p, root / name / p.name)
    result = cli(*command, "--from-dir", root)
    assert result.exit_code == 1
    assert "consent is required: Colin_Powell, Tony_Blair have no consent" in result.output
    assert listing(cli) == []

    result = cli(*command, "--from-dir", root, "--consent", "signed form")
    assert result.exit_code == 0, result.output
    assert {p["name"]: p["consent"]["method"] for p in listing(cli)} == {
        "Colin_Powell": "signed form",
        "Tony_Blair": "signed form",
    }


@pytest.mark.faces
def test_cli_records_how_who_and_when_and_lists_it(cli, faces: Path):
    result = cli(
        "enroll",
        "Tony_Blair",
        *photos_of(faces, "Tony_Blair"),
        "--consent",
        "email",
        "--consent-by",
        "Registrar Jo",
        "--consent-note",
        "sent 2026-11-02",
    )
    assert result.exit_code == 0, result.output
    [person] = listing(cli)
    consent = person["consent"]
    assert (consent["method"], consent["recorded_by"], consent["note"]) == (
        "email",
        "Registrar Jo",
        "sent 2026-11-02",
    )
    at = datetime.fromisoformat(consent["recorded_at"])
    assert abs(datetime.now(UTC) - at) < timedelta(minutes=5)
    table = cli("people").output
    assert "email, by Registrar Jo" in table


@pytest.mark.faces
def test_cli_consent_by_defaults_to_the_os_user(cli, faces: Path):
    result = cli("enroll", "Tony_Blair", *photos_of(faces, "Tony_Blair"), "--consent", "verbal")
    assert result.exit_code == 0, result.output
    [person] = listing(cli)
    assert person["consent"]["recorded_by"] == getpass.getuser()


@pytest.mark.faces
def test_cli_asks_for_consent_at_a_terminal(cli, faces: Path, monkeypatch):
    monkeypatch.setattr("rollcall.commands.base.interactive", lambda: True)
    result = cli("enroll", "Tony_Blair", *photos_of(faces, "Tony_Blair"), input="signed form\n")
    assert result.exit_code == 0, result.output
    assert "How did Tony_Blair consent" in result.output
    assert listing(cli)[0]["consent"]["method"] == "signed form"


@pytest.mark.faces
def test_cli_more_photos_for_a_consented_person_need_no_consent(cli, faces: Path):
    first, second = photos_of(faces, "Tony_Blair", 2)
    assert cli("enroll", "Tony_Blair", first, "--consent", "signed form").exit_code == 0
    result = cli("enroll", "Tony_Blair", second)
    assert result.exit_code == 0, result.output
    [person] = listing(cli)
    assert person["templates"] == 2 and person["consent"]["method"] == "signed form"


@pytest.mark.faces
def test_cli_remove_withdraws_consent(cli, faces: Path):
    result = cli("enroll", "Tony_Blair", *photos_of(faces, "Tony_Blair"), "--consent", "email")
    assert result.exit_code == 0, result.output
    assert cli("people", "remove", "Tony_Blair", "--yes").exit_code == 0
    db = Database(Settings.from_env())
    with db.session() as s:
        assert s.scalar(select(func.count(ConsentRecord.id))) == 0
    db.close()
