"""Admin tasks on the command line: accounts, tokens, courses, people; each in the audit trail."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from rollcall.config import Settings
from rollcall.storage.db import Database
from rollcall.storage.models import Person
from rollcall.storage.staff import AuditEntry

PASSWORD = "a long test password"


def _audit(actions: str | None = None) -> list[tuple[str, str, str, str]]:
    db = Database(Settings.from_env())
    with db.session() as s:
        query = select(AuditEntry).order_by(AuditEntry.id)
        return [(e.actor, e.action, e.subject, e.reason) for e in s.scalars(query)]


def test_accounts_and_tokens(cli) -> None:  # noqa: ANN001
    for name, role in (("ada", "admin"), ("ivy", "instructor")):
        assert cli("user", "add", name, "--role", role, "--password-stdin",
                   input=PASSWORD + "\n").exit_code == 0  # fmt: skip
    token = cli("token", "create", "ivy").output.strip()
    assert token.startswith("rc_")
    listing = cli("token", "list")
    assert "ivy" in listing.output and "never" in listing.output
    assert cli("token", "revoke", "1").exit_code == 0
    assert "no API token #1" in cli("token", "revoke", "1").output
    assert cli("user", "disable", "ivy").exit_code == 0
    assert "disabled" in cli("user", "list").output
    assert "last active admin" in cli("user", "disable", "ada").output
    reset = cli("user", "reset-password", "ivy")
    assert reset.exit_code == 0 and len(reset.output.strip().splitlines()[-1]) >= 16
    assert "must choose a new password" in cli("user", "list").output
    assert cli("user", "email", "ivy", "ivy@school.example").exit_code == 0
    assert "not an email address" in cli("user", "email", "ivy", "ivy-at-school").output
    # In a script, removing needs --yes.
    refused = cli("user", "remove", "ivy")
    assert refused.exit_code == 1 and "add --yes" in refused.output
    assert cli("user", "remove", "ivy", "--yes").exit_code == 0
    entries = _audit()
    assert all(actor.endswith("(command line)") for actor, *_ in entries)
    assert [reason for _, _, _, reason in entries] == [
        "created (admin)", "created (instructor)", "token created", "token 1 revoked",
        "disabled", "password reset", "email ivy@school.example", "removed",
    ]  # fmt: skip


def test_a_password_reset_revokes_api_tokens_and_names_the_agent_tokens_left(cli) -> None:  # noqa: ANN001
    from rollcall.storage.accounts import user_for_token
    from rollcall.storage.agents import agent_for_token

    assert cli("user", "add", "ivy", "--role", "instructor", "--password-stdin",
               input=PASSWORD + "\n").exit_code == 0  # fmt: skip
    api = cli("token", "create", "ivy").output.strip()
    agent = cli("token", "create", "ivy", "--agent", "Room 101").output.strip()
    reset = cli("user", "reset-password", "ivy")
    assert reset.exit_code == 0, reset.output
    assert "1 API token of ivy revoked" in reset.output
    assert "ivy still has 1 agent token," in reset.output
    assert "rollcall token revoke-agent" in reset.output
    # Webhooks she made in the portal are named too (a security review: they were not).
    db = Database(Settings.from_env())
    with db.session() as s:
        from rollcall.storage.accounts import get_user
        from rollcall.storage.hooks import create_hook
        from rollcall.storage.sessions import upsert_course

        ivy = get_user(s, "ivy")
        course = upsert_course(s, "Algebra", [])
        for label in ("Room 101", "Room 102"):
            create_hook(s, db.cipher, label, "json", "ivy", course=course, maker=ivy)
    again = cli("user", "reset-password", "ivy")
    assert "ivy still has 1 agent token and 2 webhooks," in again.output
    assert "rollcall participants hooks --revoke" in again.output
    with db.session() as s:
        assert user_for_token(s, api) is None
        assert agent_for_token(s, agent) is not None  # the room keeps recording


def test_agent_tokens_are_made_listed_and_revoked_in_the_audit_trail(cli) -> None:  # noqa: ANN001
    assert cli("user", "add", "ivy", "--role", "instructor", "--password-stdin",
               input=PASSWORD + "\n").exit_code == 0  # fmt: skip
    made = cli("token", "create", "ivy", "--agent", "Room 101")
    assert made.exit_code == 0, made.output
    assert "Room 101" in cli("token", "agents").output
    revoked = cli("token", "revoke-agent", "1")
    assert revoked.exit_code == 0 and "revoked" in revoked.output
    entries = _audit()
    assert all(actor.endswith("(command line)") for actor, *_ in entries), entries
    assert entries[-1][3] == "agent token #1 revoked"


def test_people_remove_in_a_script_needs_yes(cli) -> None:  # noqa: ANN001
    db = Database(Settings.from_env())
    with db.session() as s:
        s.add(Person(name="Ada Lovelace"))
    refused = cli("people", "remove", "Ada Lovelace")
    assert refused.exit_code == 1 and "add --yes" in refused.output
    with db.session() as s:
        assert s.scalar(select(Person).where(Person.name == "Ada Lovelace")) is not None
    assert "no enrolled person" in cli("people", "remove", "Nobody", "--yes").output
    assert cli("people", "remove", "Ada Lovelace", "--yes").exit_code == 0
    assert _audit()[-1][1:3] == ("person.deleted", "Ada Lovelace")


def test_course_changes_and_deletion_are_audited(cli) -> None:  # noqa: ANN001
    db = Database(Settings.from_env())
    with db.session() as s:
        s.add_all([Person(name="Alice"), Person(name="Bob")])
    assert cli("course", "add", "Algebra", "--people", "Alice").exit_code == 0
    assert cli("course", "add", "Algebra", "--people", "Bob", "--starts", "09:00",
               "--ends", "10:00").exit_code == 0  # fmt: skip
    assert cli("people", "set", "Bob", "--student-id", "S-042",
               "--email", "bob@school.example").exit_code == 0  # fmt: skip
    assert "refusing" in cli("course", "delete", "Algebra").output
    deleted = cli("course", "delete", "Algebra", "--yes")
    assert deleted.exit_code == 0 and "0 session(s) deleted" in deleted.output
    assert [(a, s, r) for _, a, s, r in _audit()] == [
        ("course.changed", "Algebra", "created"),
        ("course.changed", "Algebra", "roster"),
        ("course.changed", "Algebra", "roster"),
        ("course.changed", "Algebra", "schedule"),
        ("person.details", "Bob", ""),
        ("course.deleted", "Algebra", "0 session(s) deleted, 0 kept"),
    ]


def test_alerts_send_without_smtp_says_how_to_set_it(cli, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("ROLLCALL_SMTP_URL", raising=False)
    result = cli("alerts", "send")
    assert result.exit_code == 1 and "ROLLCALL_SMTP_URL is not set" in result.output
    monkeypatch.setenv("ROLLCALL_SMTP_URL", "smtp://u:p@mail.example.org?starttls=0")
    result = cli("alerts", "list")
    assert (
        result.exit_code == 1 and "in clear" in result.output and "Traceback" not in result.output
    )


def test_an_empty_agent_name_is_refused_not_a_staff_token(cli) -> None:  # noqa: ANN001
    """`--agent "$ROOM"` with ROOM unset printed an unscoped staff API token."""
    assert (
        cli("user", "add", "ada", "--role", "admin", input="pw-12345678\npw-12345678\n").exit_code
        == 0
    )
    made = cli("token", "create", "ada", "--agent", "  ")
    assert made.exit_code != 0 and "--agent needs a name" in made.output
    assert "rc_" not in made.output


@pytest.mark.parametrize("command", [("enroll",), ("course", "add", "CS101")])
def test_enroll_from_dir_goes_on_past_a_bad_folder_and_skips_hidden_ones(
    cli, faces, tmp_path, command
) -> None:  # noqa: ANN001
    """One folder's name refused (another's spelling, too long) stopped the whole run; a
    hidden folder (.thumbnails) was enrolled as a person, a hidden file (macOS's ._IMG.jpg)
    refused as a photo; a consent statement for someone who has one was dropped without a
    word. `course add --from-dir` does as `enroll --from-dir` (it stopped half-way, with people
    enrolled and no course)."""
    import shutil

    root = faces / "identities" / "photos"
    folder = tmp_path / "photos"
    folders = {"Ariel_Sharon": "Ariel_Sharon", "ariel sharon": "Ariel_Sharon",
               "John_Salley": "John_Salley", ".thumbnails": "John_Salley"}  # fmt: skip
    for name, source in folders.items():
        (folder / name).mkdir(parents=True)
        for photo in sorted((root / source).iterdir())[:1]:
            shutil.copy(photo, folder / name / photo.name)
    (folder / "John_Salley" / "._IMG_0001.jpg").write_bytes(b"\0\5\26\7 AppleDouble")
    (folder / "Empty").mkdir()
    result = cli(*command, "--from-dir", folder, "--consent", "signed form")
    assert result.exit_code == 1, result.output
    assert "'Ariel_Sharon' is already enrolled" in result.output
    assert "Empty: no photos found" in result.output and "._IMG_0001" not in result.output
    listing = cli("people").output
    assert "Ariel_Sharon" in listing and "John_Salley" in listing
    assert ".thumbnails" not in listing and "ariel sharon" not in listing
    if command[0] == "course":
        assert "Course CS101: 2 on the roster." in result.output
    photo = sorted((root / "John_Salley").iterdir())[1]
    again = cli("enroll", "John_Salley", photo, "--consent", "withdrawn??")
    assert "has consent on record (signed form," in again.output, again.output


def test_a_student_id_belongs_to_one_person(cli) -> None:  # noqa: ANN001
    """Two students under one id in the registrar's export: matched on the id, one of them is
    credited the other's attendance (found by a new-user review)."""
    db = Database(Settings.from_env())
    with db.session() as s:
        s.add_all([Person(name="Alice"), Person(name="Bob")])
    assert cli("people", "set", "Bob", "--student-id", "S-042").exit_code == 0
    taken = cli("people", "set", "Alice", "--student-id", " S-042 ")
    assert taken.exit_code == 1 and "student id 'S-042' is Bob's" in taken.output
    assert cli("people", "set", "Bob", "--student-id", "S-042").exit_code == 0  # their own
    assert cli("people", "set", "Bob", "--student-id", "").exit_code == 0
    assert cli("people", "set", "Alice", "--student-id", "S-042").exit_code == 0
    with db.session() as s:
        ids = {p.name: p.student_id for p in s.scalars(select(Person))}
    assert ids == {"Alice": "S-042", "Bob": None}


def test_an_instructor_is_given_a_course_on_the_command_line(cli) -> None:  # noqa: ANN001
    """The README's `token create ivy --agent ... --course CS101` could not work from the
    command line: nothing there made ivy CS101's instructor (found by a new-user review)."""
    assert cli("user", "add", "ivy", "--role", "instructor", "--password-stdin",
               input=PASSWORD + "\n").exit_code == 0  # fmt: skip
    assert cli("user", "add", "ada", "--role", "admin", "--password-stdin",
               input=PASSWORD + "\n").exit_code == 0  # fmt: skip
    before = cli("token", "create", "ivy", "--agent", "Room B-204", "--course", "CS101")
    assert before.exit_code != 0
    assert cli("course", "add", "CS101", "--instructor", "ivy").exit_code == 0
    made = cli("token", "create", "ivy", "--agent", "Room B-204", "--course", "CS101")
    assert made.exit_code == 0, made.output
    admin = cli("course", "add", "CS101", "--instructor", "ada")
    assert admin.exit_code == 1 and "ada is admin, not an instructor" in admin.output
    nobody = cli("course", "add", "CS101", "--instructor", "zed")
    assert nobody.exit_code == 1 and "no user named 'zed'" in nobody.output
    assert ("course.changed", "CS101", "instructors") in [(a, s, r) for _, a, s, r in _audit()]


def test_listed_subjects_and_names_are_shown_as_written(cli, monkeypatch) -> None:  # noqa: ANN001
    """A timetabler's review: `alerts list` showed " KOL 2021-01-01 …" for the subject
    "[rollcall] KOL …": text in brackets was read as rich markup (names too)."""
    from rollcall.alerts.outbox import Letter, enqueue
    from rollcall.config import Settings
    from rollcall.storage.db import Database

    monkeypatch.delenv("ROLLCALL_SMTP_URL", raising=False)
    db = Database(Settings.from_env())
    with db.session() as s:
        enqueue(s, Letter("session", "k1", "ivy@school.example", "[rollcall] KOL: 1 absent", "b"))
    listed = cli("alerts", "list")
    assert "[rollcall]" in listed.output, listed.output
    assert cli("course", "add", "[draft] Algebra", "--starts", "09:00", "--ends",
               "10:00").exit_code == 0  # fmt: skip
    assert "[draft]" in cli("course", "list").output
