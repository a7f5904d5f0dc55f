"""Erasure, subject access and retention, checked in the database and on disk."""

from __future__ import annotations

import json
import zipfile
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from rollcall.config import Settings
from rollcall.storage.db import Database
from rollcall.storage.evidence import read_image, write_crop
from rollcall.storage.models import (
    AttendanceRecord,
    Person,
    PresenceInterval,
    SessionEvent,
    Sighting,
    Template,
    UnknownFace,
)
from rollcall.vision.embed import EMBEDDERS

PEOPLE = ["George_W_Bush", "Hugo_Chavez", "Vladimir_Putin"]


@pytest.fixture
def session_home(cli, faces: Path, home: Path, tmp_path: Path) -> Path:
    """A finished session on a short generated recording, with evidence crops on disk."""
    from rollcall.synth import make_script, render_recording

    root = faces / "identities" / "photos"
    photos = {n: sorted((root / n).iterdir()) for n in PEOPLE}
    script = make_script(
        PEOPLE,
        60,
        seed=3,
        absent_fraction=0,
        late_fraction=0,
        early_leave_fraction=0,
        rejoin_fraction=0,
        camera_off_fraction=0,
        join_window_s=5,
    )
    video = tmp_path / "meeting.mp4"
    render_recording(script, {n: p[:1] for n, p in photos.items()}, video, size=(960, 540), fps=2)
    for name in PEOPLE:
        assert cli("enroll", name, *photos[name][1:4], "--consent", "signed form").exit_code == 0
    result = cli(
        "run",
        "--session",
        "week1",
        "--source",
        video,
        "--min-interval",
        "5",
        "--max-interval",
        "10",
        "--seed",
        "1",
    )
    assert result.exit_code == 0, result.output
    return home


def counts(db: Database, name: str) -> dict[str, int]:
    with db.session() as s:
        pid = s.scalar(select(Person.id).where(Person.name == name))
        q = lambda model: s.scalar(select(func.count()).where(model.person_id == pid))  # noqa: E731
        return {
            "templates": q(Template),
            "records": q(AttendanceRecord),
            "intervals": q(PresenceInterval),
            "sightings": q(Sighting),
        }


def evidence_files(home: Path) -> list[Path]:
    return sorted((home / "evidence").rglob("*.jpg"))


def test_removing_a_person_deletes_templates_records_and_evidence(cli, session_home: Path):
    db = Database(Settings.from_env())
    with db.session() as s:
        rows = {
            n: p
            for p, n in s.execute(select(AttendanceRecord.evidence_path, Person.name).join(Person))
        }
    assert all(rows.values()), rows  # everyone was marked with evidence
    before = evidence_files(session_home)
    assert counts(db, "Hugo_Chavez")["templates"] == 3
    assert counts(db, "Hugo_Chavez")["sightings"] >= 1

    result = cli("people", "remove", "Hugo_Chavez", "--yes")

    assert result.exit_code == 0, result.output
    assert "3 template(s)" in result.output and "1 evidence file(s)" in result.output
    assert counts(db, "Hugo_Chavez") == {
        "templates": 0,
        "records": 0,
        "intervals": 0,
        "sightings": 0,
    }
    assert not (session_home / rows["Hugo_Chavez"]).exists()
    after = evidence_files(session_home)
    assert len(after) == len(before) - 1
    for other in ("George_W_Bush", "Vladimir_Putin"):  # nobody else lost anything
        assert (session_home / rows[other]).exists()
        assert counts(db, other)["records"] == 1


def _picture_and_lookalike(db: Database, home: Path, name: str) -> tuple[Path, Path]:
    """Two faces under review in week1 whose closest person is ``name``: a picture held up to
    an entrance camera (theirs) and a stranger who resembled them (not theirs)."""
    with db.session() as s:
        person = s.scalar(select(Person).where(Person.name == name))
        session_id = s.scalar(select(AttendanceRecord.session_id))
        folder = home / "evidence" / f"session-{session_id}"
        sample = read_image(db.cipher, home / "evidence", next(folder.glob("*.jpg")))
        paths = []
        for i, reason in enumerate(("picture", "no_match")):
            crop = folder / f"unknown-99-{i}.jpg"
            write_crop(db.cipher, home / "evidence", crop, sample)
            paths.append(crop)
            s.add(
                UnknownFace(
                    session_id=session_id,
                    t=20.0 + i,
                    crop_path=str(crop.relative_to(home)),
                    best_similarity=0.9,
                    candidate_id=person.id,
                    reason=reason,
                )
            )
    return paths[0], paths[1]


def test_erasing_a_person_takes_pictures_of_them_but_not_lookalikes(cli, session_home: Path):
    db = Database(Settings.from_env())
    picture, lookalike = _picture_and_lookalike(db, session_home, "Hugo_Chavez")
    # An entrance keeps a visitor's shot on the event (enrolled, not on that session's list).
    visit = picture.with_name("event-99-0.jpg")
    write_crop(
        db.cipher,
        session_home / "evidence",
        visit,
        read_image(db.cipher, session_home / "evidence", picture),
    )
    with db.session() as s:
        hugo = s.scalar(select(Person).where(Person.name == "Hugo_Chavez"))
        s.add(SessionEvent(session_id=s.scalar(select(AttendanceRecord.session_id)), t=30.0,
                           kind="visitor", person_id=hugo.id,
                           crop_path=str(visit.relative_to(session_home))))  # fmt: skip
    out = session_home / "hugo.zip"
    assert cli("people", "export", "Hugo_Chavez", "--output", out).exit_code == 0
    with zipfile.ZipFile(out) as zf:
        data = json.loads(zf.read("person.json"))
        faces = data["reviewed_faces"]
        assert [(f["why_unknown"], f["session"]) for f in faces] == [("picture", "week1")]
        assert faces[0]["file"] in zf.namelist()
        (visited,) = [e for e in data["events"] if e["kind"] == "visitor"]
        assert visited["file"] in zf.namelist()
    assert cli("people", "remove", "Hugo_Chavez", "--yes").exit_code == 0
    assert not picture.exists() and lookalike.exists() and not visit.exists()
    with db.session() as s:
        assert s.scalars(select(UnknownFace.reason)).all() == ["no_match"]


def test_people_export_gives_a_person_their_data(cli, session_home: Path, tmp_path: Path):
    out = tmp_path / "putin.zip"
    assert cli("people", "export", "Vladimir_Putin", "--output", out).exit_code == 0
    with zipfile.ZipFile(out) as zf:
        data = json.loads(zf.read("person.json"))
        names = zf.namelist()
    assert data["person"] == "Vladimir_Putin"
    assert data["consent"]["method"] == "signed form"
    template = data["templates"][0]
    assert len(data["templates"]) == 3
    assert len(template["vector"]) == EMBEDDERS[template["embedder"]].dim
    assert [a["session"] for a in data["attendance"]] == ["week1"]
    assert data["attendance"][0]["status"] == "present"
    assert data["sightings"] and {s["session"] for s in data["sightings"]} == {"week1"}
    assert all(len(s["box"]) == 4 for s in data["sightings"])
    assert any(n.startswith("evidence/") for n in names)
    assert (out.stat().st_mode & 0o777) == 0o600
    # What the school holds beside the faces: contact details, courses, time present, what
    # staff did about them and the alert emails about them (a registrar found these missing).
    assert data["attendance"][0]["present_s"] and all(
        a <= b for a, b in data["attendance"][0]["present_s"]
    )
    assert {"student_id", "email", "guardian_email", "courses"} <= data.keys()
    assert [a["action"] for a in data["staff_actions"]] == ["person.enrolled"]
    assert data["alert_emails"] == []


def test_people_export_opens_sealed_crops_and_names_one_that_does_not_open(
    cli, session_home: Path, tmp_path: Path
):
    db = Database(Settings.from_env())
    with db.session() as s:
        putin = s.scalar(select(Person).where(Person.name == "Vladimir_Putin"))
        record = s.scalar(select(AttendanceRecord).where(AttendanceRecord.person_id == putin.id))
        others = s.scalars(
            select(AttendanceRecord.evidence_path).where(
                AttendanceRecord.person_id != putin.id, AttendanceRecord.evidence_path.is_not(None)
            )
        ).all()
    mine = session_home / record.evidence_path
    assert not mine.read_bytes().startswith(b"\xff\xd8")  # sealed at rest
    out = tmp_path / "putin.zip"
    assert cli("people", "export", "Vladimir_Putin", "--output", out).exit_code == 0
    with zipfile.ZipFile(out) as zf:
        (entry,) = [n for n in zf.namelist() if n.startswith("evidence/")]
        assert zf.read(entry)[:2] == b"\xff\xd8"  # theirs, in the clear
        assert json.loads(zf.read("person.json"))["crops_not_opened"] == []
    # Someone else's crop copied over theirs does not open as theirs: left out and named.
    mine.write_bytes((session_home / others[0]).read_bytes())
    result = cli("people", "export", "Vladimir_Putin", "--output", out)
    assert result.exit_code == 0
    assert "did not open" in " ".join(result.output.split())
    with zipfile.ZipFile(out) as zf:
        assert not [n for n in zf.namelist() if n.startswith("evidence/")]
        assert json.loads(zf.read("person.json"))["crops_not_opened"] == [record.evidence_path]


def test_people_export_has_contact_details_courses_edits_and_alerts(home: Path, tmp_path: Path):
    from rollcall.privacy import export_person
    from rollcall.storage.models import OutboxMessage
    from rollcall.storage.sessions import upsert_course
    from rollcall.storage.staff import AuditEntry

    settings = Settings.from_env()
    db = Database(settings)
    with db.session() as s:
        s.add(Person(name="Virat", student_id="S-9", email="v@school.example",
                     guardian_email="p@home.example"))  # fmt: skip
        s.add(Person(name="Ann"))
        s.flush()
        upsert_course(s, "CS101", ["Virat"], None, None, 5)
        edit = dict(before="absent", after="present", reason="doctor's note: flu")
        s.add(
            AuditEntry(
                actor="ivy", action="mark.edited", session_name="w1", subject="Virat", **edit
            )
        )
        alert = dict(recipient="p@home.example", subject="2 absences", body="...")
        s.add(OutboxMessage(kind="absences", dedupe="a:1", person_name="Virat", **alert))
        # Held about them under another subject (a DPO's review: they were left out), and
        # a look-alike name that is not theirs.
        summary = dict(recipient="ivy@school.example", subject="CS101: 2 absent",
                       body="Absent: Ann, Virat\nLate: Viratt\n")  # fmt: skip
        s.add(OutboxMessage(kind="session", dedupe="s:1", person_name=None, **summary))
        other = dict(recipient="ivy@school.example", subject="CS102", body="Viratt")
        s.add(OutboxMessage(kind="session", dedupe="s:2", person_name=None, **other))
        roster = dict(subject="CS101", before=None, after=None, reason="add Ann, Virat")
        s.add(AuditEntry(actor="ivy", action="course.changed", session_name=None, **roster))
    out = export_person(db, settings, "Virat", tmp_path / "virat.zip").path
    with zipfile.ZipFile(out) as zf:
        data = json.loads(zf.read("person.json"))
    assert (data["student_id"], data["email"], data["guardian_email"]) == (
        "S-9",
        "v@school.example",
        "p@home.example",
    )
    assert data["courses"] == ["CS101"]
    edit, roster = data["staff_actions"]
    assert (edit["by"], edit["reason"], edit["after"]) == ("ivy", "doctor's note: flu", "present")
    # What it says of them, not of their classmates (a privacy review: the export handed
    # them Ann's absence and the instructor's address).
    assert roster["reason"] == "add [another person], Virat"
    alert, listed = data["alert_emails"]
    assert (alert["to"], alert["subject"]) == ("p@home.example", "2 absences")
    assert (listed["to"], listed["subject"]) == ("staff (a session summary)", "CS101: 2 absent")
    assert listed["body"] == "Absent: Virat"


def test_people_export_is_private_from_its_first_byte_and_leaves_nothing_when_it_fails(
    home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The zip holds templates in the clear and opened crops: 0600 before person.json is
    written (not only once it is finished), and no readable half of it after a failure."""
    import os
    import stat

    from rollcall.privacy import export_person

    os.umask(0o022)
    settings = Settings.from_env()
    db = Database(settings)
    with db.session() as s:
        s.add(Person(name="Ann"))
    folder = tmp_path / "out"
    seen: list[tuple[str, str, int]] = []
    real = zipfile.ZipFile.writestr

    def spy(self, name, data, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        for path in folder.iterdir():
            seen.append((name, path.name, stat.S_IMODE(path.stat().st_mode)))
        return real(self, name, data, *args, **kwargs)

    monkeypatch.setattr(zipfile.ZipFile, "writestr", spy)
    out = export_person(db, settings, "Ann", folder / "ann.zip").path
    assert seen and all(mode == 0o600 for _, _, mode in seen), seen
    assert stat.S_IMODE(out.stat().st_mode) == 0o600
    assert [p.name for p in folder.iterdir()] == ["ann.zip"]

    def broken(self, name, data, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ANN202
        raise OSError("disk full")

    monkeypatch.setattr(zipfile.ZipFile, "writestr", broken)
    with pytest.raises(OSError, match="disk full"):
        export_person(db, settings, "Ann", folder / "again.zip")
    assert [p.name for p in folder.iterdir()] == ["ann.zip"]


def test_purge_deletes_only_expired_evidence_and_keeps_records(cli, session_home: Path):
    from rollcall.privacy import purge_evidence

    db = Database(Settings.from_env())
    # An event carrying a crop (how an entrance's presentation attacks were kept before
    # migration 0015): a face, so it expires with the rest.
    with db.session() as s:
        session_id = s.scalar(select(AttendanceRecord.session_id))
        folder = session_home / "evidence" / f"session-{session_id}"
        (folder / "event-9-0.jpg").write_bytes(next(folder.glob("*.jpg")).read_bytes())
        s.add(
            SessionEvent(
                session_id=session_id,
                t=3.0,
                kind="presentation_attack",
                detail="",
                crop_path=f"evidence/session-{session_id}/event-9-0.jpg",
            )
        )
    files = evidence_files(session_home)
    assert files
    kept = purge_evidence(db, db.settings, older_than_days=30)
    assert kept.files == 0 and all(p.exists() for p in files)
    from rollcall.storage.models import SessionState

    with db.session() as s:
        assert s.scalar(select(func.count()).select_from(SessionState)) == 1

    later = datetime.now(UTC) + timedelta(days=31)
    done = purge_evidence(db, db.settings, older_than_days=30, now=later)

    assert done.sessions == 1 and done.files == len(files)
    assert evidence_files(session_home) == []
    report = json.loads(cli("report", "--session", "week1", "--json").output)
    assert {a["status"] for a in report["attendance"]} == {"present"}
    with db.session() as s:
        assert (
            s.scalar(select(func.count()).where(AttendanceRecord.evidence_path.is_not(None))) == 0
        )
        assert s.scalar(select(func.count()).where(SessionEvent.crop_path.is_not(None))) == 0
        # Its monitor's state (face tracks with their embeddings) went with the crops.
        assert s.scalar(select(func.count()).select_from(SessionState)) == 0


def test_purge_command_uses_the_retention_setting(cli, session_home: Path, monkeypatch):
    monkeypatch.setenv("ROLLCALL_RETENTION_DAYS", "0")
    result = cli("purge")
    assert result.exit_code == 0, result.output
    assert "older than 0 day(s)" in result.output
    assert evidence_files(session_home) == []


def test_erasure_reaches_the_monitors_stored_state_and_a_resumed_run(cli, session_home: Path):
    """A meeting monitor's stored state keeps who is marked and their face tracks, with
    embeddings, between samples: erasing someone left their name and face there (and purge
    never cleared it), and a run resumed after it crashed on the name it restored."""
    import json
    import zlib

    from rollcall.analysis.sample import state_context
    from rollcall.storage.models import AttendanceSession, SessionState

    db = Database(Settings.from_env())

    def state_text() -> str:
        with db.session() as s:
            stored = s.scalar(select(SessionState))
            blob = db.cipher.open_bytes(stored.state, state_context(stored.session_id))
        return json.dumps(json.loads(zlib.decompress(blob)))

    assert "Hugo_Chavez" in state_text()
    with db.session() as s:  # as a Ctrl-C would have left it, to be resumed
        s.scalar(select(AttendanceSession)).state = "interrupted"
    assert cli("people", "remove", "Hugo_Chavez", "--yes").exit_code == 0
    text = state_text()
    assert "Hugo_Chavez" not in text and "George_W_Bush" in text
    resumed = cli("run", "--session", "week1", "--resume")
    assert resumed.exit_code == 0, resumed.output
    assert "Traceback" not in resumed.output


def test_erasure_takes_their_alert_emails_and_their_name_from_summaries(home: Path) -> None:
    """Consent withdrawn: an absence alert still waiting must not go to their guardian, and the
    ones already sent keep no copy; a summary to staff listing them keeps its figures only."""
    from rollcall.privacy import ERASED, erase_person
    from rollcall.storage.models import OutboxMessage

    settings = Settings.from_env()
    db = Database(settings)
    with db.session() as s:
        s.add_all([Person(name="Bob"), Person(name="Bobby Tables")])
        s.flush()

        def message(kind: str, person: str | None, to: str, subject: str, body: str, **more):
            s.add(
                OutboxMessage(
                    kind=kind, dedupe=f"{kind}:{person}:{to}:{subject}", person_name=person,
                    recipient=to, subject=subject, body=body, **more,
                )
            )  # fmt: skip

        message("absences", "Bob", "parent@home.example", "Absent: Bob", "Bob was absent 3 times")
        message("absences", "Bob", "bob@school.example", "Absent: Bob", "You were absent",
                state="sent", sent_at=datetime.now(UTC))  # fmt: skip
        message("absences", "Bobby Tables", "p2@home.example", "Absent: Bobby Tables", "2 times")
        message("session", None, "ivy@school.example", "Algebra: 2 absent",
                "Absent: Bob, Bobby Tables\nLate: Bob")  # fmt: skip

    erase_person(db, settings, "Bob")

    with db.session() as s:
        left = {(m.recipient, m.subject, m.body) for m in s.scalars(select(OutboxMessage))}
        assert left == {
            ("p2@home.example", "Absent: Bobby Tables", "2 times"),
            ("ivy@school.example", "Algebra: 2 absent",
             f"Absent: {ERASED}, Bobby Tables\nLate: {ERASED}"),
        }  # fmt: skip


def test_events_that_name_a_person_are_in_their_export_and_lose_the_name_on_erasure(
    home: Path, tmp_path: Path
) -> None:
    """A "disputed" event has no person and names the people one face matched ("one face
    matched Ann, Bob"): a privacy review found Ann's name kept after her erasure, and the event
    left out of her export. As summaries to staff: the name goes, what happened stays."""
    from rollcall.privacy import ERASED, erase_person, export_person
    from rollcall.storage.models import AttendanceSession

    settings = Settings.from_env()
    db = Database(settings)
    with db.session() as s:
        ann, bob = Person(name="Ann"), Person(name="Bob")
        s.add_all([ann, bob, Person(name="Annabel")])
        row = AttendanceSession(name="w1", source="x.mp4", state="closed", seed=1,
                                started_at=datetime(2026, 3, 2, 9, 0, tzinfo=UTC),
                                min_interval=20, max_interval=90, verify_every=300,
                                leave_after=180)  # fmt: skip
        s.add(row)
        s.flush()
        s.add(AttendanceRecord(session_id=row.id, person_id=ann.id, status="present"))
        s.add_all(
            SessionEvent(session_id=row.id, t=t, kind=kind, person_id=who, detail=detail)
            for t, kind, who, detail in [
                (50.0, "disputed", None, "one face matched Ann, Bob"),
                (60.0, "identity_lost", bob.id, "a face named Bob now matches someone else"),
                (70.0, "disputed", None, "one face matched Annabel, Bob"),
                (80.0, "joined", ann.id, ""),
            ]
        )
    out = export_person(db, settings, "Ann", tmp_path / "ann.zip").path
    with zipfile.ZipFile(out) as zf:
        data = json.loads(zf.read("person.json"))
    assert [e["kind"] for e in data["events"]] == ["joined"]
    # (Bob's name is Bob's own data: not in Ann's copy.)
    assert data["events_naming_them"] == [
        {
            "session": "w1",
            "t_s": 50.0,
            "kind": "disputed",
            "detail": "one face matched Ann, [another person]",
        }
    ]
    erase_person(db, settings, "Ann")
    with db.session() as s:
        left = s.scalars(select(SessionEvent.detail).order_by(SessionEvent.t)).all()
    assert left == [
        f"one face matched {ERASED}, Bob",
        "a face named Bob now matches someone else",
        "one face matched Annabel, Bob",
    ]


def test_people_export_keeps_every_sessions_crop(cli, session_home: Path, tmp_path: Path):
    """Each session names a person's mark crop alike (<id>-0.jpg): the export kept one file
    name for all of them, and unpacking it kept one crop (found by a new-user review)."""
    video = tmp_path / "meeting.mp4"
    again = cli("run", "--session", "week2", "--source", video, "--min-interval", "5",
                "--max-interval", "10", "--seed", "2")  # fmt: skip
    assert again.exit_code == 0, again.output
    out = tmp_path / "putin.zip"
    assert cli("people", "export", "Vladimir_Putin", "--output", out).exit_code == 0
    with zipfile.ZipFile(out) as zf:
        data = json.loads(zf.read("person.json"))
        names = zf.namelist()
    crops = [a["evidence_file"] for a in data["attendance"]]
    assert [a["session"] for a in data["attendance"]] == ["week1", "week2"]
    assert len(set(crops)) == 2 and all(c in names for c in crops), (crops, names)
    assert len(names) == len(set(names))


def test_erasure_blanks_their_name_on_tile_labels_of_faces_not_named_as_them(home: Path) -> None:
    """A meeting face under a tile labelled with their name, not named yet (nearly matched),
    kept the name in the sightings after erasure: a backup still held it. Labels of their
    meeting aliases go too, in the sessions they were in; other people's labels stay, and so
    does a label on a face named as someone else (an alias like "iPad" is others' too)."""
    from rollcall.privacy import erase_person
    from rollcall.storage.meetings import PersonAlias
    from rollcall.storage.models import AttendanceSession

    settings = Settings.from_env()
    db = Database(settings)

    def meeting(s, name: str, day: int) -> AttendanceSession:  # noqa: ANN001
        row = AttendanceSession(name=name, source="x.mp4", state="closed", seed=1,
                                started_at=datetime(2026, 3, day, 9, 0, tzinfo=UTC),
                                min_interval=20, max_interval=90, verify_every=300,
                                leave_after=180)  # fmt: skip
        s.add(row)
        s.flush()
        return row

    with db.session() as s:
        serena, ada = Person(name="Serena_Williams"), Person(name="Ada")
        s.add_all([serena, ada])
        row, elsewhere = meeting(s, "m1", 2), meeting(s, "m2", 3)
        s.add(PersonAlias(person_id=serena.id, kind="alias", value="Rena W", norm="renaw",
                          added_by="ivy"))  # fmt: skip
        s.add(AttendanceRecord(session_id=row.id, person_id=serena.id, status="absent"))
        for seq, (where, label, named, candidate) in enumerate(
            [(row, "Serena Williams", None, serena.id), (row, "serena williams", None, None),
             (row, "Rena W", None, None), (row, "Ada", None, ada.id),
             (row, "Rena W", ada.id, None), (elsewhere, "Rena W", None, None)]
        ):  # fmt: skip
            s.add(Sighting(session_id=where.id, seq=seq, t=10.0 * seq, person_id=named, x=0,
                           y=0, w=40, h=40, similarity=0.85, label=label,
                           candidate_id=candidate))  # fmt: skip
    erase_person(db, settings, "Serena_Williams")
    with db.session() as s:
        left = s.execute(select(Sighting.label, Sighting.candidate_id).order_by(Sighting.seq)).all()
        ada_id = s.scalar(select(Person.id).where(Person.name == "Ada"))
    assert [tuple(r) for r in left] == [
        (None, None), (None, None), (None, None), ("Ada", ada_id), ("Rena W", None),
        ("Rena W", None),
    ]  # fmt: skip


def test_erasure_without_the_right_key_is_refused_not_half_done(
    cli, session_home: Path, monkeypatch
) -> None:  # noqa: ANN001
    """A DPO's review: with the template key missing or wrong, `people remove` said it had
    removed the person, and their name and face tracks stayed in the sealed session state
    (it skipped every state it could not open). Now it refuses, and nothing is removed."""
    from rollcall.storage.templates import TemplateCipher

    monkeypatch.setenv("ROLLCALL_TEMPLATE_KEY", TemplateCipher.generate_key())
    wrong = cli("people", "remove", "Hugo_Chavez", "--yes")
    assert wrong.exit_code != 0 and "template key" in wrong.output, wrong.output
    monkeypatch.delenv("ROLLCALL_TEMPLATE_KEY")
    key = session_home / "keys" / "template.key"
    key.rename(key.with_suffix(".away"))
    missing = cli("people", "remove", "Hugo_Chavez", "--yes")
    assert missing.exit_code != 0 and "template key is missing" in missing.output
    assert not key.exists(), "no new key was made"
    key.with_suffix(".away").rename(key)
    db = Database(Settings.from_env())
    assert counts(db, "Hugo_Chavez")["templates"] > 0, "nothing was removed"
    assert cli("people", "remove", "Hugo_Chavez", "--yes").exit_code == 0


def test_a_lost_key_is_noticed_while_only_strangers_faces_are_sealed(
    cli, session_home: Path
) -> None:  # noqa: ANN001
    """A DPO's review: once everyone enrolled was removed, a lost key was replaced by a new
    one in silence, and the unknown faces sealed with the old one could no longer be opened
    (the unknowns page stopped grouping strangers)."""
    import numpy as np

    from rollcall.storage.templates import TemplateKeyError

    db = Database(Settings.from_env())
    with db.session() as s:
        session_id = s.scalar(select(AttendanceRecord.session_id))
        dim = 128
        s.add(
            UnknownFace(
                session_id=session_id,
                t=1.0,
                crop_path="",
                best_similarity=0.1,
                embedding=db.cipher.seal_unknown(np.ones(dim, np.float32), session_id, "sface"),
                embedder="sface",
                dim=dim,
            )
        )
    for name in PEOPLE:
        assert cli("people", "remove", name, "--yes").exit_code == 0
    key = session_home / "keys" / "template.key"
    key.unlink()
    with pytest.raises(TemplateKeyError, match="1 unknown face"):
        Database(Settings.from_env()).cipher  # noqa: B018
    assert not key.exists()


def test_purge_takes_the_evidence_of_an_interrupted_session_never_closed(
    cli, session_home: Path
) -> None:  # noqa: ANN001
    """A DPO's review: a session interrupted and never resumed or closed kept its evidence for
    ever (only sessions that ended were purged). It expires counted from its start; one still
    running (its run's lease held) is left alone."""
    from rollcall.attendance.run_lease import holder
    from rollcall.privacy import purge_evidence
    from rollcall.storage.models import AttendanceSession

    db = Database(Settings.from_env())
    later = datetime.now(UTC) + timedelta(days=31)
    with db.session() as s:
        row = s.scalar(select(AttendanceSession))
        row.state, row.ended_at = "running", None
        row.run_by, row.run_until = holder(), later.timestamp() + 60
    files = evidence_files(session_home)
    assert purge_evidence(db, db.settings, older_than_days=30, now=later).sessions == 0
    assert all(p.exists() for p in files)
    with db.session() as s:
        row = s.scalar(select(AttendanceSession))
        row.state, row.run_by, row.run_until = "interrupted", None, None
        # Counted from where its analysis got to, not its start: a long session interrupted
        # today keeps the state it resumes from (a review).
        analysed = row.processed_until
        row.processed_until = 40 * 86400.0
    assert purge_evidence(db, db.settings, older_than_days=30, now=later).sessions == 0
    with db.session() as s:
        s.scalar(select(AttendanceSession)).processed_until = analysed
    assert purge_evidence(db, db.settings, older_than_days=30).sessions == 0  # not yet
    done = purge_evidence(db, db.settings, older_than_days=30, now=later)
    assert done.sessions == 1 and done.files == len(files) and evidence_files(session_home) == []


def test_an_erased_persons_rows_are_not_left_readable_in_the_database_file(
    cli, session_home: Path
) -> None:  # noqa: ANN001
    """A DPO's review: after an erasure the removed rows could still be found in the
    database file (its free pages, its write-ahead log) with grep while the portal stayed
    up; and the file was readable by everyone when the home folder already existed."""
    import stat

    from rollcall.storage.people import require_person

    db = Database(Settings.from_env())
    marker = "hugo.marker@school.example"
    with db.session() as s:
        require_person(s, "Hugo_Chavez").email = marker
    keep_open = db.engine.connect()  # a portal reading meanwhile (between its requests)
    try:
        assert cli("people", "remove", "Hugo_Chavez", "--yes").exit_code == 0
        files = [p for p in session_home.glob("rollcall.db*") if p.is_file()]
        assert all(marker.encode() not in p.read_bytes() for p in files), files
    finally:
        keep_open.close()
    assert stat.S_IMODE((session_home / "rollcall.db").stat().st_mode) == 0o600


def test_the_audit_trail_keeps_no_contact_details_to_outlive_an_erasure(cli, home: Path) -> None:  # noqa: ANN001
    """A DPO's review: the audit trail, which cannot be changed, kept a removed person's
    student id, emails and meeting accounts in full. It keeps that they changed (and the
    emails' domains), not the values."""
    from sqlalchemy import text

    from rollcall.storage.people import get_or_create_person

    db = Database(Settings.from_env())
    with db.session() as s:
        get_or_create_person(s, "Tony")
    given = cli("people", "set", "Tony", "--student-id", "S-TB-4242", "--email",
                "tony.blair@school.example", "--guardian-email", "tbparent@home.example",
                "--meeting-email", "tb.meet@home.example", "--alias", "Tony B")  # fmt: skip
    assert given.exit_code == 0, given.output
    with db.session() as s:
        trail = " ".join(
            " ".join(str(v) for v in row if v is not None)
            for row in s.execute(
                text("SELECT subject, before, after, reason, details FROM audit_entries")
            )
        )
    for secret in ("S-TB-4242", "tony.blair", "tbparent", "tb.meet", "Tony B"):
        assert secret not in trail, (secret, trail)
    assert "…@school.example" in trail and "2 added" in trail


def test_the_checkpoint_after_an_erasure_does_not_wait_for_readers(cli, session_home: Path) -> None:  # noqa: ANN001
    """A review: with a portal page reading meanwhile, the checkpoint waited out the busy
    timeout (30 s) before the erasure returned. It no longer waits; the reader's pages go at
    the next checkpoint."""
    import threading

    from sqlalchemy import text

    db = Database(Settings.from_env())
    reader = db.engine.connect()
    reader.execute(text("SELECT count(*) FROM people")).scalar()  # a read transaction held
    done = threading.Event()
    threading.Thread(target=lambda: (db.write_through(), done.set()), daemon=True).start()
    try:
        assert done.wait(10), "the checkpoint waited for the reader"
    finally:
        reader.close()
    with db.session() as s:  # and the connection it used waits for writers again
        assert s.execute(text("PRAGMA busy_timeout")).scalar() == 30000
