"""The portal enrolls someone only with their consent confirmed, recorded and audited."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rollcall.storage.models import ConsentRecord, Person, Template
from rollcall.storage.staff import AuditEntry

NAME = "New Student"


def uploads(faces: Path, n: int = 2, skip: int = 0) -> list[tuple[io.BytesIO, str]]:
    folder = sorted((faces / "identities" / "photos").iterdir())[0]
    chosen = sorted(folder.iterdir())[skip : skip + n]
    return [(io.BytesIO(p.read_bytes()), p.name) for p in chosen]


def enroll(browser, faces: Path, **consent: str):  # noqa: ANN201
    return browser.post(
        "/people/new",
        {"name": NAME, "photos": uploads(faces), **consent},
        content_type="multipart/form-data",
    )


def stored(app) -> tuple[int, int, int]:  # noqa: ANN001
    """(people named NAME, templates, consents) in the database."""
    with app.extensions["rollcall"].db.session() as s:
        return (
            s.scalar(select(func.count(Person.id)).where(Person.name == NAME)),
            s.scalar(select(func.count(Template.id))),
            s.scalar(select(func.count(ConsentRecord.id))),
        )


def test_the_enroll_form_asks_for_consent(browser) -> None:
    page = browser("ada").get("/people/new").get_data(as_text=True)
    assert 'name="consent_method"' in page and 'name="consent_confirmed"' in page
    assert "I have the person's consent to store their face templates" in page
    for method in ("signed form", "online form", "email", "verbal"):
        assert f'<option value="{method}"' in page


@pytest.mark.faces
@pytest.mark.parametrize(
    ("consent", "message"),
    [
        ({}, "tick the box"),
        ({"consent_method": "signed form"}, "tick the box"),
        ({"consent_confirmed": "on"}, "choose how the person gave their consent"),
        ({"consent_confirmed": "on", "consent_method": "a nod"}, "choose how"),
    ],
)
def test_enrolling_without_consent_is_refused_and_stores_nothing(
    app, browser, faces: Path, consent: dict, message: str
) -> None:
    response = enroll(browser("ada"), faces, **consent)
    assert response.status_code == 400
    page = response.get_data(as_text=True)
    assert "Consent is required" in page and message in page
    assert stored(app) == (0, 0, 0)


@pytest.mark.faces
def test_consent_is_recorded_by_the_staff_member_and_audited(app, browser, faces: Path) -> None:
    b = browser("ada")
    response = enroll(
        b, faces, consent_method="online form", consent_note="ref 42", consent_confirmed="on"
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored(app)[0] == 1 and stored(app)[2] == 1
    with app.extensions["rollcall"].db.session() as s:
        consent = s.scalar(select(ConsentRecord))
        assert (consent.method, consent.recorded_by, consent.note) == (
            "online form",
            "ada",
            "ref 42",
        )
        assert consent.recorded_at is not None
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "person.enrolled"))
        assert (entry.actor, entry.subject) == ("ada", NAME)
        assert entry.reason == "consent: online form (ref 42)"
        assert json.loads(entry.details)["consent_method"] == "online form"
    page = b.get(f"/people/{NAME}").get_data(as_text=True)
    assert "Consent: online form, recorded by ada on" in page and "(ref 42)" in page


@pytest.mark.faces
def test_more_photos_for_a_consented_person_need_no_new_consent(app, browser, faces: Path) -> None:
    b = browser("ada")
    first = enroll(b, faces, consent_method="signed form", consent_confirmed="on")
    assert first.status_code == 302
    form = b.get(f"/people/new?name={NAME}").get_data(as_text=True)
    assert "Consent on record: signed form, recorded by ada" in form
    assert 'name="consent_confirmed"' not in form
    more = b.post(
        "/people/new",
        {"name": NAME, "photos": uploads(faces, 1, skip=2)},
        content_type="multipart/form-data",
    )
    assert more.status_code == 302, more.get_data(as_text=True)
    people, templates, consents = stored(app)
    assert (people, consents) == (1, 1) and templates >= 2


def test_someone_without_consent_on_record_says_so(browser) -> None:
    page = browser("ada").get("/people/Alice").get_data(as_text=True)
    assert "none on record" in page


@pytest.mark.faces
def test_deleting_a_person_deletes_their_consent(app, browser, faces: Path) -> None:
    b = browser("ada")
    assert enroll(b, faces, consent_method="email", consent_confirmed="on").status_code == 302
    assert b.post(f"/people/{NAME}/delete", {"confirm": NAME}).status_code == 302
    assert stored(app) == (0, 0, 0)


@pytest.mark.faces
def test_the_portal_enrolls_from_iphone_heic_photos(app, browser, faces: Path) -> None:
    """Photos uploaded straight from a phone or a Mac are often HEIC, stored turned."""
    import pillow_heif  # dev-only encoder; rollcall decodes HEIC with pi-heif
    from PIL import Image

    heics = []
    for body, name in uploads(faces):
        stored_turned = Image.open(body).convert("RGB").transpose(Image.Transpose.ROTATE_270)
        exif = Image.Exif()
        exif[0x0112] = 8  # shown turned back a quarter, counter-clockwise
        out = io.BytesIO()
        pillow_heif.from_pillow(stored_turned).save(out, format="HEIF", exif=exif.tobytes())
        heics.append((io.BytesIO(out.getvalue()), name.rsplit(".", 1)[0] + ".HEIC"))
    form = browser("ada").get("/people/new").get_data(as_text=True)
    assert ".heic" in form  # the file picker offers them
    response = browser("ada").post(
        "/people/new",
        {"name": NAME, "photos": heics, "consent_method": "signed form", "consent_confirmed": "on"},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302, response.get_data(as_text=True)
    assert stored(app) == (1, 2, 1)
