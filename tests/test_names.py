"""Names that would break the portal's addresses are refused where they are first given."""

from __future__ import annotations

from pathlib import Path

import pytest

from rollcall.config import Settings
from rollcall.errors import RollcallError
from rollcall.storage.db import Database
from rollcall.storage.names import check_exact_name, check_name, same_name_key
from rollcall.storage.sessions import SessionSettings, create_session


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "   ",
        "CS101/2026",
        "a\tb",
        "line\nbreak",
        ".",  # /sessions/.. is / to a browser: the page could never be opened
        "..",
        "emoji \u202eevil",  # shown reversed, and the reversal spills into the next text
        "x" * 201,  # wider than every other column of the portal's tables together
    ],
)
def test_unusable_names_are_refused(bad: str) -> None:
    with pytest.raises(RollcallError, match="session name"):
        check_name("session", bad)


def test_usable_names_pass_and_are_trimmed_only_when_asked() -> None:
    assert check_name("person", "  Zoë O'Brien-Ng ") == "Zoë O'Brien-Ng"
    assert check_exact_name("course", "CS 101 (autumn)") == "CS 101 (autumn)"
    with pytest.raises(RollcallError, match="start or end with spaces"):
        check_exact_name("course", " CS101")


def test_cli_refuses_a_slash_in_person_and_course_names(cli, tmp_path: Path) -> None:
    photo = tmp_path / "a.jpg"
    photo.write_bytes(b"not read: the name is checked first")
    result = cli("enroll", "Ada/Lovelace", photo, "--consent", "signed form")
    assert result.exit_code != 0 and "cannot contain '/'" in result.output
    result = cli("course", "add", "CS101/2026", "--people", "nobody")
    assert result.exit_code != 0 and "cannot contain '/'" in result.output
    assert "Ada/Lovelace" not in cli("people").output


def test_sessions_with_a_slash_are_not_created(home: Path) -> None:
    db = Database(Settings.from_env())
    try:
        with pytest.raises(RollcallError, match="cannot contain '/'"), db.session() as s:
            settings = SessionSettings("x", 1, 20.0, 90.0, 300.0, 180.0)
            create_session(s, "CS101/2026-11-24", settings, [], None)
    finally:
        db.close()


def test_one_name_spelled_two_ways_is_one_person_and_one_account(home: Path) -> None:
    """ "vladimir putin" beside "Vladimir_Putin" would be two records of one face, splitting
    their marks; "IVY" beside "ivy" one person with two logins; "bob/x" an account the portal
    could not address. Each is refused before anything is read or written."""
    from rollcall.enrollment import enroll_photos
    from rollcall.storage.accounts import create_user
    from rollcall.storage.models import Person

    db = Database(Settings.from_env())
    try:
        with db.session() as s:
            s.add(Person(name="Vladimir_Putin"))
            create_user(s, "ivy", "a long enough password", "instructor")
        for other in ("vladimir putin", "VLADIMIR_PUTIN", " vladimir   putin"):
            with pytest.raises(RollcallError, match="'Vladimir_Putin' is already enrolled"):
                enroll_photos(db, None, other, [], consent=None)  # type: ignore[arg-type]
        # Not where the words break, nor accents: other people may have those names.
        assert same_name_key("Li Na") != same_name_key("Lina")
        assert same_name_key("José Díaz") != same_name_key("Jose Diaz")
        # A right-to-left name with its direction mark is a name (the overrides are not).
        assert check_name("person", "\u200fمحمد علي") == "\u200fمحمد علي"
        with db.session() as s:
            assert s.query(Person).count() == 1
            with pytest.raises(RollcallError, match="a user named 'ivy' already exists"):
                create_user(s, "IVY", "a long enough password", "admin")
            with pytest.raises(RollcallError, match="cannot contain '/'"):
                create_user(s, "bob/x", "a long enough password", "admin")
            create_user(s, "Éva", "a long enough password", "admin")
            with pytest.raises(RollcallError, match="a user named 'Éva' already exists"):
                create_user(s, "ÉVA", "a long enough password", "admin")  # not ASCII
    finally:
        db.close()


def test_a_name_typed_decomposed_is_the_same_name(home: Path) -> None:
    """ "Schröder" typed as "o" + a combining diaeresis (a macOS folder name, some keyboards)
    looks the same everywhere: it must find the person, course and session, and not make a
    second person nobody can tell from the first."""
    import unicodedata

    from rollcall.enrollment import enroll_photos
    from rollcall.storage.models import Person
    from rollcall.storage.people import get_or_create_person, require_person
    from rollcall.storage.sessions import get_session, require_course, upsert_course

    composed = "Gerhard Schröder"
    decomposed = unicodedata.normalize("NFD", composed)
    assert composed != decomposed
    db = Database(Settings.from_env())
    try:
        with db.session() as s:
            person = get_or_create_person(s, decomposed)
            assert person.name == composed  # stored composed
            s.add(Person(name=unicodedata.normalize("NFD", "Zoë Brun")))  # stored before this
        # Enrolling the decomposed name adds to the same person (here: whose consent is asked).
        with pytest.raises(RollcallError, match="'Gerhard Schröder' has no consent on record"):
            enroll_photos(db, None, decomposed + " ", [], consent=None)  # type: ignore[arg-type]
        assert same_name_key(decomposed) == same_name_key(composed)
        with db.session() as s:
            assert require_person(s, decomposed).name == composed
            assert require_person(s, "Zoë Brun").name == unicodedata.normalize("NFD", "Zoë Brun")
            upsert_course(s, unicodedata.normalize("NFD", "Ökonomie"), [composed])
            assert require_course(s, "Ökonomie").name == "Ökonomie"
            settings = SessionSettings("x", 1, 20.0, 90.0, 300.0, 180.0)
            create_session(s, unicodedata.normalize("NFD", "Ökonomie-1"), settings, [], None)
            assert get_session(s, "Ökonomie-1").name == "Ökonomie-1"
            assert s.query(Person).count() == 2
            assert check_exact_name("session", decomposed) == composed
    finally:
        db.close()


def test_a_turkish_name_in_capitals_is_the_same_name() -> None:
    """A timetabler's review: "İSMAİL YILMAZ" was enrolled as a second person beside
    "İsmail Yılmaz" (casefold keeps the dot of İ and ı apart from I), and a name pasted with
    invisible right-to-left marks was another name."""
    from rollcall.storage.names import same_name_key

    assert same_name_key("İSMAİL YILMAZ") == same_name_key("İsmail Yılmaz")
    assert same_name_key("\u200fדוד כהן\u200f") == same_name_key("דוד כהן")
    assert same_name_key("Li Na") != same_name_key("Lina")  # still: where words break
    assert same_name_key("José") != same_name_key("Jose")  # and accents


def test_meeting_names_fold_marks_apostrophes_and_hyphens() -> None:
    """A timetabler's review: "Sean O’Brien" and "Anne Marie Dupont-Lefevre" were only
    proposed for Seán O'Brien and Anne-Marie Dupont-Lefèvre, and a Hebrew display name with
    direction marks was a second account of its student."""
    from rollcall.attendance.participants.match import name_key

    assert name_key("Sean O’Brien") == name_key("Seán O'Brien")
    assert name_key("Anne Marie Dupont-Lefevre") == name_key("Anne-Marie Dupont-Lefèvre")
    assert name_key("\u200fדוד כהן\u200f") == name_key("דוד כהן")
    assert name_key("ISMAIL YILMAZ") == name_key("İsmail Yılmaz")


def test_names_sort_among_their_letters_and_searches_fold_accents(home) -> None:  # noqa: ANN001
    """A timetabler's review: names sorted by code point ("Émile", "Ömer" and "İsmail" after
    "Zoë"), and on SQLite "zürich" did not find the session "ZÜRICH-w1" (LIKE folds ASCII
    only)."""
    from datetime import UTC, datetime

    from rollcall.config import Settings
    from rollcall.storage.accounts import create_user, visible_sessions
    from rollcall.storage.db import Database
    from rollcall.storage.models import AttendanceSession
    from rollcall.storage.people import get_or_create_person, list_people

    db = Database(Settings.from_env())
    with db.session() as s:
        for name in ("Zoë Star", "Émile Durand", "adam Smith", "Ömer Çelik", "İsmail Yılmaz"):
            get_or_create_person(s, name)
        for name in ("ZÜRICH-w1", "École-w1", "İstanbul-w1", "Paris-w1"):
            s.add(AttendanceSession(name=name, source="x.mp4", started_at=datetime.now(UTC),
                                    seed=1, min_interval=20, max_interval=90, verify_every=300,
                                    leave_after=180, state="closed"))  # fmt: skip
        admin = create_user(s, "ada", "a long password 1", "admin")
        assert [p.name for p in list_people(s)] == [
            "adam Smith", "Émile Durand", "İsmail Yılmaz", "Ömer Çelik", "Zoë Star",
        ]  # fmt: skip
        for typed, found in (("zürich", "ZÜRICH-w1"), ("zurich", "ZÜRICH-w1"),
                             ("ecole", "École-w1"), ("istanbul", "İstanbul-w1"),
                             ("PARIS", "Paris-w1")):  # fmt: skip
            assert [r.name for r in visible_sessions(s, admin, search=typed)] == [found], typed
