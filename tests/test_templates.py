"""Face templates are sealed at rest: a database dump alone reveals none of them."""

from __future__ import annotations

import stat
from pathlib import Path

import numpy as np
import pytest

from rollcall.storage.templates import KEY_ENV, TemplateCipher, TemplateKeyError


def vector(seed: int = 0) -> np.ndarray:
    v = np.random.default_rng(seed).normal(size=128).astype(np.float32)
    return v / np.linalg.norm(v)


def test_round_trip_and_fresh_nonce(tmp_path: Path) -> None:
    cipher = TemplateCipher.from_home(tmp_path, env={})
    v = vector()
    a, b = cipher.seal(v, 7, "sface"), cipher.seal(v, 7, "sface")
    assert a != b  # a new nonce each time: equal templates do not look equal in a dump
    assert v.astype("<f4").tobytes() not in a
    np.testing.assert_array_equal(cipher.open(a, 128, 7, "sface"), v)


def test_template_moved_to_another_person_does_not_open(tmp_path: Path) -> None:
    cipher = TemplateCipher.from_home(tmp_path, env={})
    blob = cipher.seal(vector(), person_id=7, embedder="sface")
    with pytest.raises(TemplateKeyError, match="tampered"):
        cipher.open(blob, 128, person_id=8, embedder="sface")
    with pytest.raises(TemplateKeyError):
        cipher.open(blob, 128, person_id=7, embedder="dlib")


def test_wrong_key_is_explained(tmp_path: Path) -> None:
    blob = TemplateCipher.from_home(tmp_path / "a", env={}).seal(vector(), 1, "sface")
    other = TemplateCipher.from_home(tmp_path / "b", env={})
    with pytest.raises(TemplateKeyError, match=KEY_ENV):
        other.open(blob, 128, 1, "sface")


def test_key_file_created_once_private(tmp_path: Path) -> None:
    first = TemplateCipher.from_home(tmp_path, env={})
    key_file = tmp_path / "keys" / "template.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    blob = first.seal(vector(), 1, "sface")
    again = TemplateCipher.from_home(tmp_path, env={})  # reads, does not regenerate
    np.testing.assert_array_equal(again.open(blob, 128, 1, "sface"), vector())


def test_key_from_environment(tmp_path: Path) -> None:
    key = TemplateCipher.generate_key()
    cipher = TemplateCipher.from_home(tmp_path, env={KEY_ENV: key})
    assert not (tmp_path / "keys").exists()
    blob = cipher.seal(vector(), 1, "sface")
    np.testing.assert_array_equal(
        TemplateCipher.from_home(tmp_path / "x", env={KEY_ENV: key}).open(blob, 128, 1, "sface"),
        vector(),
    )
    with pytest.raises(TemplateKeyError, match="32-byte"):
        TemplateCipher.from_home(tmp_path, env={KEY_ENV: "c2hvcnQ="})


def test_database_file_holds_no_template_in_the_clear(cli, faces: Path, home: Path) -> None:
    from rollcall.config import Settings
    from rollcall.recognition import load_gallery
    from rollcall.storage.db import Database

    photos = sorted((faces / "identities" / "photos" / "Tony_Blair").iterdir())[1:4]
    assert cli("enroll", "Tony_Blair", *photos, "--consent", "signed form").exit_code == 0
    db = Database(Settings.from_env())
    gallery = load_gallery(db, db.settings, db.settings.embedder)
    assert gallery.templates.shape == (3, 256)  # sface+dlib: both models' 128-D halves
    db.close()
    dump = b"".join(p.read_bytes() for p in home.glob("rollcall.db*"))
    for row in gallery.templates:
        raw = row.astype("<f4").tobytes()
        assert raw[:32] not in dump  # not even a fragment of a plaintext vector


def test_a_missing_or_wrong_key_is_refused_not_replaced(
    cli, faces: Path, home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A key file that went missing (a restore into a fresh home) was replaced by a new key in
    silence, and people enrolled then were sealed under it: no one key opened the database
    any more. With templates sealed, a missing key or another one is refused before anything
    is sealed, in one line."""
    photos = sorted((faces / "identities" / "photos" / "Tony_Blair").iterdir())
    assert cli("enroll", "Tony_Blair", *photos[1:3], "--consent", "signed form").exit_code == 0
    key = home / "keys" / "template.key"
    kept = key.read_bytes()
    key.unlink()
    missing = cli("enroll", "Colin_Powell", photos[3], "--consent", "signed form")
    assert missing.exit_code != 0 and "the template key is missing" in missing.output
    assert "1 face template" in missing.output or "2 face template" in missing.output
    assert not key.exists()  # no new key was made
    monkeypatch.setenv(KEY_ENV, TemplateCipher.generate_key())
    wrong = cli("enroll", "Colin_Powell", photos[3], "--consent", "signed form")
    assert wrong.exit_code != 0 and "template key differs" in wrong.output
    assert "Traceback" not in missing.output + wrong.output
    monkeypatch.delenv(KEY_ENV)
    key.write_bytes(kept)
    assert "Colin_Powell" not in cli("people").output
    assert "Tony_Blair" in cli("people").output


@pytest.mark.parametrize("sealed", ["monitor state", "webhook secret"])
def test_a_missing_or_wrong_key_is_refused_while_only_states_or_hook_secrets_are_sealed(
    home: Path, monkeypatch: pytest.MonkeyPatch, sealed: str
) -> None:
    """A privacy review: with no one enrolled (all erased) but a session's monitor state (face
    tracks' embeddings) or a webhook's signing secret sealed, a lost key file was replaced by a
    new key in silence, and they no longer opened (no resume, no erasure, no signatures)."""
    from datetime import UTC, datetime

    from rollcall.analysis.sample import state_context
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.hooks import create_hook
    from rollcall.storage.models import AttendanceSession, SessionState
    from rollcall.storage.templates import KEY_FILE

    settings = Settings.from_env()
    db = Database(settings)
    with db.session() as s:
        row = AttendanceSession(name="m1", source="x", state="interrupted", seed=1,
                                started_at=datetime(2026, 3, 2, tzinfo=UTC), min_interval=20,
                                max_interval=90, verify_every=300, leave_after=180)  # fmt: skip
        s.add(row)
        s.flush()
        other = AttendanceSession(name="door", source="x", state="closed", seed=1,
                                  started_at=datetime(2026, 3, 1, tzinfo=UTC), min_interval=20,
                                  max_interval=90, verify_every=300, leave_after=180)  # fmt: skip
        s.add(other)
        s.flush()
        # An entrance's progress is plain: it says nothing about the key.
        s.add(SessionState(session_id=other.id, seq=1, state=b'{"passes": 3}'))
        if sealed == "monitor state":
            blob = db.cipher.seal_bytes(b'{"tracks": []}', state_context(row.id))
            s.add(SessionState(session_id=row.id, seq=3, state=blob))
        else:
            create_hook(s, db.cipher, "zoom", "zoom", "ivy", session=row, secret="s3cret")
    assert Database(settings).cipher is not None  # the right key opens it
    key = home / KEY_FILE
    kept = key.read_bytes()
    key.unlink()
    with pytest.raises(TemplateKeyError, match="template key is missing"):
        Database(settings).cipher  # noqa: B018 - the property checks the key
    assert not key.exists()  # no new key was made
    monkeypatch.setenv(KEY_ENV, TemplateCipher.generate_key())
    with pytest.raises(TemplateKeyError, match="template key differs"):
        Database(settings).cipher  # noqa: B018 - the property checks the key
    monkeypatch.delenv(KEY_ENV)
    key.write_bytes(kept)
    assert Database(settings).cipher is not None


def test_a_run_with_an_unusable_key_leaves_no_session(
    cli, faces: Path, home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The key was found unusable only after the session row was made: an "interrupted"
    session of absent people was left behind."""
    photos = sorted((faces / "identities" / "photos" / "Tony_Blair").iterdir())
    assert cli("enroll", "Tony_Blair", *photos[1:3], "--consent", "signed form").exit_code == 0
    monkeypatch.setenv(KEY_ENV, TemplateCipher.generate_key())
    video = tmp_path / "v.mp4"
    from tests.test_session_commands import blank_video

    blank_video(video, seconds=2.0)
    run = cli("run", "--session", "S1", "--source", video)
    assert run.exit_code != 0 and "template key differs" in run.output
    monkeypatch.delenv(KEY_ENV)
    assert "S1" not in cli("sessions").output
    # And a name written otherwise is pointed at the enrolled one.
    gone = cli("people", "remove", "tony blair", "--yes")
    assert gone.exit_code != 0 and "did you mean 'Tony_Blair'?" in gone.output
