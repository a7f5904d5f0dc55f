"""People (admins only): enrollment uploads with quality checks, templates, full deletion."""

from __future__ import annotations

import io
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rollcall.storage.models import AttendanceRecord, Person, Template, UnknownFace
from rollcall.storage.staff import AuditEntry


@pytest.mark.parametrize("url", ["/people/", "/people/new", "/people/Alice"])
def test_people_pages_are_admin_only(browser, url: str) -> None:
    assert browser("ada").get(url).status_code == 200
    assert browser("ivy").get(url).status_code == 403


def test_instructor_cannot_delete_or_enroll(browser) -> None:
    ivy = browser("ivy")
    assert ivy.post("/people/Alice/delete", {"confirm": "Alice"}).status_code == 403
    assert ivy.post("/people/new", {"name": "Eve"}).status_code == 403


def test_upload_that_is_not_an_image_is_refused(browser) -> None:
    b = browser("ada")
    response = b.post(
        "/people/new",
        {
            "name": "Eve",
            "photos": (io.BytesIO(b"#!/bin/sh\necho hi"), "evil.sh"),
            "consent_method": "signed form",
            "consent_confirmed": "on",
        },  # fmt: skip
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "evil.sh: refused" in response.get_data(as_text=True)
    response = b.post(
        "/people/new",
        {
            "name": "Eve",
            "photos": (io.BytesIO(b"not really a jpeg"), "../../x.jpg"),
            "consent_method": "signed form",
            "consent_confirmed": "on",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 400
    assert "refused" in response.get_data(as_text=True)


def test_oversized_upload_is_refused(app, browser) -> None:
    app.config["MAX_CONTENT_LENGTH"] = 1024
    response = browser("ada").post(
        "/people/new",
        {"name": "Eve", "photos": (io.BytesIO(b"x" * 4096), "big.jpg")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 413


@pytest.mark.faces
def test_enroll_by_upload_with_real_photos(app, browser, faces: Path) -> None:
    folder = sorted((faces / "identities" / "photos").iterdir())[0]
    photos = sorted(folder.iterdir())[:2]
    b = browser("ada")
    response = b.post(
        "/people/new",
        {
            "name": "New Student",
            "photos": [(io.BytesIO(p.read_bytes()), p.name) for p in photos],
            "consent_method": "signed form",
            "consent_confirmed": "on",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    page = b.get("/people/New Student").get_data(as_text=True)
    assert "sface" in page
    with app.extensions["rollcall"].db.session() as s:
        assert s.scalar(select(func.count(Template.id))) >= 1
        assert s.scalar(select(AuditEntry.action)) == "person.enrolled"


def test_delete_needs_the_name_typed(app, browser) -> None:
    b = browser("ada")
    assert b.post("/people/Alice/delete", {"confirm": "alice"}).status_code == 302
    with app.extensions["rollcall"].db.session() as s:
        assert s.scalar(select(Person).where(Person.name == "Alice")) is not None


def test_delete_removes_templates_marks_and_image_files(app, browser, settings) -> None:
    db = app.extensions["rollcall"].db
    with db.session() as s:
        alice = s.scalar(select(Person).where(Person.name == "Alice"))
        s.add(
            Template(
                person_id=alice.id,
                embedder="sface",
                dim=4,
                vector=b"\0" * 16,
                source_name="a.jpg",
                source_sha256="0" * 64,
                face_px=80,
                sharpness=100,
            )
        )
        evidence = s.scalar(
            select(AttendanceRecord.evidence_path).where(AttendanceRecord.person_id == alice.id)
        )
        face = s.scalar(select(UnknownFace))
        face.review, face.assigned_id = "assigned", alice.id
        crop = face.crop_path
        older = Path(evidence).with_name(f"{alice.id}-0.jpg")
        (settings.home / older).write_bytes(b"\xff\xd8old")
    for path in (evidence, crop, older):
        assert (settings.home / path).is_file()
    response = browser("ada").post("/people/Alice/delete", {"confirm": "Alice"})
    assert response.status_code == 302
    for path in (evidence, crop, older):
        assert not (settings.home / path).exists(), path
    with db.session() as s:
        assert s.scalar(select(Person).where(Person.name == "Alice")) is None
        assert s.scalar(select(func.count(Template.id))) == 0
        assert s.scalar(select(func.count(UnknownFace.id))) == 0
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "person.deleted"))
        assert entry.subject == "Alice"


@pytest.mark.faces
def test_photos_named_in_any_script_or_as_jfif_are_enrolled_one_by_one(app, browser, faces):  # noqa: ANN001, ANN201
    """An IT technician's review: "写真.jpg" became "jpg" (no suffix) and was refused as not an
    image, and one ".jfif" (a real JPEG, as Windows browsers save them) refused the whole
    upload. Photos are judged by their content, each on its own."""
    folder = sorted((faces / "identities" / "photos").iterdir())[0]
    first, second = sorted(folder.iterdir())[:2]
    response = browser("ada").post(
        "/people/new",
        {
            "name": "New Student",
            "photos": [
                (io.BytesIO(first.read_bytes()), "写真.jpg"),
                (io.BytesIO(second.read_bytes()), "photo.jfif"),
                (io.BytesIO(b"minutes of the meeting"), "notes.txt"),
            ],  # fmt: skip
            "consent_method": "signed form",
            "consent_confirmed": "on",
        },
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    with app.extensions["rollcall"].db.session() as s:
        names = sorted(s.scalars(select(Template.source_name)))
    assert names == ["photo.jfif", "写真.jpg"]
