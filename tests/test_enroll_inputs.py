"""Whatever files staff are sent: names in another encoding, folders that cannot be used,
unreadable files among good ones, folders with nothing to read. Each bad one is one error
line naming it; the rest of the batch still counts (an IT technician's review)."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest


def photos(faces: Path, name: str) -> list[Path]:
    return sorted((faces / "identities" / "photos" / name).iterdir())


def people(cli) -> dict[str, int]:  # noqa: ANN001
    listed = json.loads(cli("people", "--json").output)
    return {p["name"]: p["templates"] for p in listed}


def test_a_file_name_in_another_encoding_is_enrolled_and_printed_on_one_line(
    cli, faces: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    """`enroll NAME good.jpg 'h2\\xff.jpg'` ended in a traceback (the name could not be
    stored) and the good photo was lost with it."""
    good, other = photos(faces, "Hugo_Chavez")[:2]
    odd = Path(os.fsdecode(str(tmp_path).encode() + b"/h2\xff.jpg"))
    shutil.copy(other, odd)
    result = cli("enroll", "Hugo Single", good, odd, "--consent", "signed form")
    assert result.exit_code == 0, result.output
    assert people(cli)["Hugo Single"] == 2
    # A broken copy of it is an error line, with the name printable.
    odd.write_bytes(b"not a photo")
    again = cli("enroll", "Hugo Single", odd)
    assert again.exit_code == 1 and "h2\ufffd.jpg" in again.output, again.output


def test_from_dir_reports_each_folder_it_cannot_use_and_enrolls_the_others(
    cli, faces: Path, tmp_path: Path, monkeypatch
) -> None:  # noqa: ANN001
    """A folder named in Latin-1, an unreadable folder and a link back to the folder itself
    each stopped `enroll --from-dir` with a traceback (nobody enrolled), or enrolled the
    folder's stray photos under the link's name."""
    root = tmp_path / "class"
    for name in ("Kit_Harington", "Rose_Leslie"):
        (root / name).mkdir(parents=True)
        for photo in photos(faces, name)[:2]:
            shutil.copy(photo, root / name)
    latin = Path(os.fsdecode(str(root).encode() + b"/Ren\xe9e Latin"))
    latin.mkdir()
    shutil.copy(photos(faces, "Joe_Biden")[0], latin)
    locked = root / "Locked One"
    locked.mkdir()
    shutil.copy(photos(faces, "Barack_Obama")[0], locked)
    shutil.copy(photos(faces, "Colin_Powell")[0], root / "stray.jpg")
    (root / "loopdir").symlink_to("../class")
    real_iterdir = Path.iterdir

    def iterdir(self: Path):  # noqa: ANN202 - as an account without the right to read it
        if self.name == "Locked One":
            raise PermissionError(13, "Permission denied", str(self))
        return real_iterdir(self)

    monkeypatch.setattr(Path, "iterdir", iterdir)
    result = cli("enroll", "--from-dir", root, "--consent", "signed form")
    assert result.exit_code == 1
    assert "Traceback" not in result.output
    lines = result.output.splitlines()
    assert any("Ren\ufffde Latin" in line and "not UTF-8" in line for line in lines), lines
    assert any(line.startswith("error: Locked One: cannot be read") for line in lines), lines
    assert any("loopdir: links back to the folder itself" in line for line in lines), lines
    assert any("1 photo(s) directly in" in line for line in lines), lines
    assert people(cli) == {"Kit_Harington": 2, "Rose_Leslie": 2}


def test_one_unreadable_photo_among_good_ones_is_its_own_error(
    cli, faces: Path, tmp_path: Path, monkeypatch
) -> None:  # noqa: ANN001
    """`enroll NAME good.jpg noread.jpg` was refused whole by the argument check (exit 2,
    nothing processed), against the README's "the rest are processed"."""
    good = photos(faces, "Rose_Leslie")[0]
    noread = tmp_path / "noread.jpg"
    shutil.copy(photos(faces, "Rose_Leslie")[1], noread)
    real_access, real_read = os.access, Path.read_bytes

    def access(path, mode, *a, **kw):  # noqa: ANN001, ANN002, ANN003, ANN202
        return False if str(path) == str(noread) else real_access(path, mode, *a, **kw)

    def read_bytes(self: Path) -> bytes:
        if self == noread:
            raise PermissionError(13, "Permission denied", str(self))
        return real_read(self)

    monkeypatch.setattr(os, "access", access)
    monkeypatch.setattr(Path, "read_bytes", read_bytes)
    result = cli("enroll", "Rose Leslie", good, noread, "--consent", "signed form")
    assert result.exit_code == 1, result.output
    assert "noread.jpg: refused: permission denied" in result.output
    assert people(cli) == {"Rose Leslie": 1}
    counted = cli("count", good, noread)
    assert counted.exit_code == 1 and "permission denied" in counted.output


def test_count_and_identify_say_when_a_folder_has_no_photos(cli, tmp_path: Path) -> None:  # noqa: ANN001
    """An empty folder (or one of files nobody can read as photos) printed nothing and exited
    0, as if it had been counted."""
    (tmp_path / "notes.txt").write_text("no photos here")
    for command in ("count", "identify"):
        result = cli(command, tmp_path)
        assert result.exit_code == 1, result.output
        assert "no photos in this folder" in result.output


@pytest.mark.parametrize("suffix", [".jfif", ".jpe"])
def test_a_jfif_download_in_a_folder_is_a_photo(cli, faces: Path, tmp_path: Path, suffix) -> None:  # noqa: ANN001
    """Windows browsers save JPEG downloads as .jfif: in a folder they were skipped unsaid."""
    shutil.copy(photos(faces, "Kit_Harington")[0], tmp_path / f"kit{suffix}")
    result = cli("count", tmp_path, "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)[0]["head_count"] == 1


def test_a_folder_named_in_another_encoding_is_refused_before_consent_is_asked(
    cli, faces: Path, tmp_path: Path
) -> None:  # noqa: ANN001
    """A review: without --consent, the consent check looked the folder's name up first and
    ended in a traceback. The folder is refused up front; the others still need consent."""
    root = tmp_path / "class"
    (root / "Rose_Leslie").mkdir(parents=True)
    shutil.copy(photos(faces, "Rose_Leslie")[0], root / "Rose_Leslie")
    latin = Path(os.fsdecode(str(root).encode() + b"/Ren\xe9e"))
    latin.mkdir()
    shutil.copy(photos(faces, "Joe_Biden")[0], latin)
    result = cli("enroll", "--from-dir", root)
    assert "Traceback" not in result.output and result.exit_code != 0
    assert "Ren\ufffde: the folder's name is not UTF-8" in result.output, result.output
    assert "consent" in result.output


def _frames(faces: Path, blank_first: bool) -> list:
    """Three frames of an animation (or pages of a scan): a face photo and two blank ones."""
    from PIL import Image

    face = Image.open(photos(faces, "Kit_Harington")[0]).convert("RGB")
    blank = Image.new("RGB", face.size, (128, 128, 128))
    return [blank, face, blank] if blank_first else [face, blank, blank]


@pytest.mark.parametrize(
    ("suffix", "kind", "said"),
    [(".gif", "GIF", "an animated GIF"), (".tif", "TIFF", "a TIFF with 3 pages")],
)
def test_a_refused_animation_or_multi_page_scan_says_only_its_first_frame_was_read(
    cli, faces: Path, tmp_path: Path, suffix: str, kind: str, said: str
) -> None:  # noqa: ANN001
    """An animated GIF or a multi-page TIFF is read from its first frame only: refused for
    that frame (a blank title card before the face), the reason did not say so."""
    first, *more = _frames(faces, blank_first=True)
    path = tmp_path / f"kit{suffix}"
    first.save(path, kind, save_all=True, append_images=more)
    result = cli("enroll", "Kit Frames", path, "--consent", "signed form")
    assert result.exit_code == 1, result.output
    assert f"only its first frame was read ({said})" in result.output, result.output
    # A good first frame is used as before, and nothing more is said.
    first, *more = _frames(faces, blank_first=False)
    first.save(path, kind, save_all=True, append_images=more)
    result = cli("enroll", "Kit Frames", path, "--consent", "signed form")
    assert result.exit_code == 0, result.output
    assert "first frame" not in result.output
    assert people(cli) == {"Kit Frames": 1}
