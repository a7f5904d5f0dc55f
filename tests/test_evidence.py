"""Evidence crops are sealed at rest (storage.evidence): a copy of the evidence folder alone
shows no face, a crop copied over another's file does not open as theirs, and crops written in
the clear by earlier versions are read as they are and sealed by `rollcall db seal-evidence`."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from rollcall.storage.evidence import (
    SEALED_MARK,
    CropError,
    read_crop,
    read_image,
    seal_plain,
    write_crop,
)
from rollcall.storage.templates import TemplateCipher, TemplateKeyError


def _face(seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    image = cv2.resize(rng.integers(0, 255, (8, 8, 3), np.uint8), (64, 64))
    return cv2.GaussianBlur(image, (5, 5), 0)


@pytest.fixture
def cipher() -> TemplateCipher:
    return TemplateCipher(b"k" * 32)


def test_a_crop_is_sealed_on_disk_and_opens_as_the_jpeg(tmp_path: Path, cipher) -> None:
    evidence = tmp_path / "evidence"
    path = evidence / "session-3" / "7-0.jpg"
    face = _face(1)
    assert write_crop(cipher, evidence, path, face)
    blob = path.read_bytes()
    assert not blob.startswith(b"\xff\xd8") and cv2.imdecode(
        np.frombuffer(blob, np.uint8), cv2.IMREAD_COLOR
    ) is None  # fmt: skip
    assert path.stat().st_mode & 0o077 == 0
    assert not list(path.parent.glob("*.tmp.jpg"))
    opened = read_image(cipher, evidence, path)
    assert opened is not None and opened.shape == face.shape
    assert np.abs(opened.astype(int) - face.astype(int)).mean() < 4  # JPEG, quality 90
    assert read_crop(cipher, evidence, path)[:2] == b"\xff\xd8"


def test_a_crop_copied_over_another_persons_file_does_not_open(tmp_path: Path, cipher) -> None:
    evidence = tmp_path / "evidence"
    mine, theirs = evidence / "session-3" / "7-0.jpg", evidence / "session-3" / "8-0.jpg"
    write_crop(cipher, evidence, mine, _face(1))
    write_crop(cipher, evidence, theirs, _face(2))
    theirs.write_bytes(mine.read_bytes())
    with pytest.raises(CropError, match="tampered"):
        read_crop(cipher, evidence, theirs)
    assert read_image(cipher, evidence, theirs) is None
    other_key = TemplateCipher(b"o" * 32)
    assert read_image(other_key, evidence, mine) is None
    assert read_image(cipher, evidence, mine) is not None


def test_an_empty_crop_is_not_written(tmp_path: Path, cipher) -> None:
    evidence = tmp_path / "evidence"
    path = evidence / "session-1" / "1-0.jpg"
    assert not write_crop(cipher, evidence, path, np.zeros((0, 0, 3), np.uint8))
    assert not path.exists()
    # A crop that cannot be written (here its folder is a file) is logged, not raised: the
    # mark is recorded without it.
    blocked = evidence / "session-2"
    evidence.mkdir(parents=True, exist_ok=True)
    blocked.write_bytes(b"")
    assert not write_crop(cipher, evidence, blocked / "1-0.jpg", _face(1))
    # Nor outside the evidence folder.
    assert not write_crop(cipher, evidence, tmp_path / "elsewhere.jpg", _face(1))
    assert not (tmp_path / "elsewhere.jpg").exists()


def test_seal_evidence_seals_plain_crops_in_place_once(cli, home: Path) -> None:
    from rollcall.config import Settings
    from rollcall.storage.db import Database

    folder = home / "evidence" / "session-1"
    folder.mkdir(parents=True)
    face = _face(3)
    plain = folder / "4-0.jpg"
    cv2.imwrite(str(plain), face)
    legacy = plain.read_bytes()
    db = Database(Settings.from_env())
    # Written before crops were sealed: read as it is.
    assert read_crop(db.cipher, home / "evidence", plain) == legacy
    write_crop(db.cipher, home / "evidence", folder / "5-0.jpg", _face(4))

    result = cli("db", "seal-evidence")
    assert result.exit_code == 0, result.output
    said = " ".join(result.output.split())  # (the console wraps long lines)
    assert "Sealed 1 evidence crop(s)" in said and "1 sealed already" in said
    assert not plain.read_bytes().startswith(b"\xff\xd8")
    assert read_crop(db.cipher, home / "evidence", plain) == legacy  # the same JPEG, sealed

    # A file cut short is neither: named, not counted as sealed; the rest sealed all the same.
    (folder / "6-0.jpg").write_bytes(b"")
    cv2.imwrite(str(folder / "7-0.jpg"), face)
    sealed, already, failed = seal_plain(db.cipher, home / "evidence")
    assert (sealed, already) == (1, 2) and len(failed) == 1 and "6-0.jpg" in failed[0]
    (folder / "6-0.jpg").unlink()

    again = cli("db", "seal-evidence")
    said = " ".join(again.output.split())
    assert "Sealed 0 evidence crop(s)" in said and "3 sealed already" in said
    assert read_crop(db.cipher, home / "evidence", plain) == legacy


def test_a_missing_key_is_refused_while_only_crops_are_sealed_with_it(home: Path) -> None:
    """Strangers' crops can outlive every template: a key file gone missing then must not be
    replaced by a new key in silence (the crops would never open again)."""
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.templates import KEY_FILE

    settings = Settings.from_env()
    db = Database(settings)
    write_crop(
        db.cipher, settings.evidence_dir, settings.evidence_dir / "session-1" / "u.jpg", _face(5)
    )
    (home / KEY_FILE).unlink()
    with pytest.raises(TemplateKeyError, match="template key is missing .* evidence crops"):
        Database(settings).cipher  # noqa: B018 - the property checks the key
    assert not (home / KEY_FILE).exists()


def test_another_key_is_refused_while_only_crops_are_sealed_with_the_first(
    home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from rollcall.config import Settings
    from rollcall.storage.db import Database
    from rollcall.storage.templates import KEY_ENV

    settings = Settings.from_env()
    folder = settings.evidence_dir / "session-1"
    write_crop(Database(settings).cipher, settings.evidence_dir, folder / "u.jpg", _face(6))
    (folder / "a.jpg").write_bytes(b"\x01" + b"\0" * 40)  # one tampered with, tried first
    assert Database(settings).cipher is not None  # the right key: one crop opening is enough
    monkeypatch.setenv(KEY_ENV, TemplateCipher.generate_key())
    with pytest.raises(TemplateKeyError, match="does not open the evidence crops"):
        Database(settings).cipher  # noqa: B018 - the property checks the key


def test_seal_evidence_names_a_crop_sealed_under_another_key(tmp_path: Path, cipher) -> None:
    evidence = tmp_path / "evidence"
    write_crop(TemplateCipher(b"o" * 32), evidence, evidence / "session-1" / "1-0.jpg", _face(7))
    cv2.imwrite(str(evidence / "session-1" / "2-0.jpg"), _face(8))
    sealed, already, failed = seal_plain(cipher, evidence)
    assert (sealed, already) == (1, 0) and len(failed) == 1 and "1-0.jpg" in failed[0]
    assert read_image(cipher, evidence, evidence / "session-1" / "2-0.jpg") is not None


def test_a_crop_that_opens_to_no_jpeg_is_refused(tmp_path: Path, cipher) -> None:
    """A crop sealed twice over (sealed again as if it were plain) must not be served as an
    image: it opens to the sealed bytes, not a JPEG."""
    evidence = tmp_path / "evidence"
    path = evidence / "session-1" / "1-0.jpg"
    write_crop(cipher, evidence, path, _face(9))
    twice = cipher.seal_bytes(path.read_bytes(), "evidence:v1:session-1/1-0.jpg")
    path.write_bytes(twice)
    with pytest.raises(CropError, match="not a JPEG"):
        read_crop(cipher, evidence, path)


def test_purge_takes_every_crop_of_an_expired_session_named_or_not(cli, home: Path) -> None:
    from datetime import UTC, datetime, timedelta

    from rollcall.config import Settings
    from rollcall.privacy import purge_evidence
    from rollcall.storage.db import Database
    from rollcall.storage.sessions import SessionSettings, create_session

    settings = Settings.from_env()
    db = Database(settings)
    long_ago = datetime.now(UTC) - timedelta(days=400)
    with db.session() as s:
        old = SessionSettings("old.mp4", 1, 20.0, 90.0, 300.0, 120.0)
        row = create_session(s, "old", old, [], None, started_at=long_ago)
        row.ended_at, row.state = long_ago, "closed"
        s.flush()
        sid = row.id
    folder = settings.evidence_dir / f"session-{sid}"
    # A mark's crop that no row names any more, and a write's leftover after a crash.
    write_crop(db.cipher, settings.evidence_dir, folder / "3-0.jpg", _face(10))
    (folder / "3-0-abc.tmp.jpg").write_bytes(b"half")
    done = purge_evidence(db, settings, 90)
    assert done.sessions == 1 and done.files == 2
    assert not folder.exists()


def test_a_plain_jpeg_is_refused_in_a_folder_of_sealed_crops(tmp_path: Path, cipher) -> None:
    """A new home's folder holds sealed crops only: a plain JPEG put there (any face, under
    anyone's file name) is refused; a legacy one restored from a backup is sealed on demand."""
    evidence = tmp_path / "evidence"
    write_crop(cipher, evidence, evidence / "session-1" / "1-0.jpg", _face(11))
    assert (evidence / SEALED_MARK).is_file()  # made sealed from the start
    planted = evidence / "session-1" / "2-0.jpg"
    cv2.imwrite(str(planted), _face(12))
    with pytest.raises(CropError, match="plain JPEG in a folder of sealed crops"):
        read_crop(cipher, evidence, planted)
    assert read_image(cipher, evidence, planted) is None
    assert seal_plain(cipher, evidence)[:2] == (1, 1)  # staff vouch for it: sealed
    assert read_image(cipher, evidence, planted) is not None


def test_a_legacy_folder_is_marked_sealed_once_every_crop_is(tmp_path: Path, cipher) -> None:
    evidence = tmp_path / "evidence"
    (evidence / "session-1").mkdir(parents=True)  # an earlier version's folder
    cv2.imwrite(str(evidence / "session-1" / "1-0.jpg"), _face(13))
    write_crop(cipher, evidence, evidence / "session-1" / "2-0.jpg", _face(14))
    assert not (evidence / SEALED_MARK).exists()  # plain crops may be there: still read
    assert read_crop(cipher, evidence, evidence / "session-1" / "1-0.jpg")[:2] == b"\xff\xd8"
    (evidence / "session-1" / "3-0.jpg").write_bytes(b"")  # one that cannot be sealed
    assert seal_plain(cipher, evidence)[2] and not (evidence / SEALED_MARK).exists()
    (evidence / "session-1" / "3-0.jpg").unlink()
    assert not seal_plain(cipher, evidence)[2] and (evidence / SEALED_MARK).is_file()
