"""Evidence crops at rest: face photos sealed with the template key, like the templates.

A crop of a named face is as much someone's biometric data as their template, and the
evidence folder is what gets copied around: backups, a volume shared by the portal and the
workers. Each crop is a JPEG sealed with AES-GCM (storage.templates) and bound to its place in
the evidence folder, so a file copied over another person's crop fails to open instead of
showing one face as somebody else's. Files keep their ``.jpg`` names (the database rows name
them); what is inside is sealed.

Crops written by versions before this one are plain JPEG files: they are read as they are,
and ``rollcall db seal-evidence`` seals them in place. A folder known to hold sealed crops only
(made by this version, or sealed by that command) has a SEALED_MARK file: a plain JPEG in it is
refused, as one put there by hand would be, for it shows any face under anyone's name.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import cv2
import numpy as np

from rollcall.errors import RollcallError
from rollcall.storage.templates import TemplateCipher

JPEG_QUALITY = 90
_JPEG = b"\xff\xd8"
SEALED_MARK = ".sealed"
log = logging.getLogger(__name__)


class CropError(RollcallError):
    """An evidence crop that cannot be opened: sealed under another key, tampered with, moved
    from another place, or outside the evidence folder."""


def _context(evidence_dir: Path, path: Path) -> str:
    # Relative to the evidence folder: a home moved elsewhere still opens its crops.
    try:
        relative = path.resolve().relative_to(evidence_dir.resolve())
    except ValueError:
        raise CropError(f"{path} is not inside the evidence folder {evidence_dir}") from None
    return f"evidence:v1:{relative.as_posix()}"


def write_crop(cipher: TemplateCipher, evidence_dir: Path, path: Path, crop: np.ndarray) -> bool:
    """Seal ``crop`` (BGR) as the JPEG at ``path`` inside ``evidence_dir``, atomically (a
    reader never sees half a file); False when it cannot be encoded or written (logged: a
    mark is recorded without its crop rather than not at all)."""
    if crop.size == 0:
        return False
    ok, jpeg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        return False
    fresh = not evidence_dir.exists()  # (a new home: no crop in it was ever plain)
    try:
        _write(path, cipher.seal_bytes(jpeg.tobytes(), _context(evidence_dir, path)))
    except (OSError, CropError) as exc:
        log.warning("evidence crop %s not written: %s", path, exc)
        return False
    if fresh:
        _mark_sealed(evidence_dir)
    return True


def read_crop(cipher: TemplateCipher, evidence_dir: Path, path: Path) -> bytes:
    """The JPEG bytes of the crop at ``path`` (OSError when missing; CropError when it was
    sealed under another key, or for another place, or is neither sealed nor a JPEG)."""
    context = _context(evidence_dir, path)
    blob = path.read_bytes()
    if blob.startswith(_JPEG):
        if (evidence_dir / SEALED_MARK).exists():
            raise CropError(
                f"{path} is a plain JPEG in a folder of sealed crops (put there by hand?); "
                "if it is a crop restored from an earlier version's backup, `rollcall db "
                "seal-evidence` seals it"
            )
        return blob  # written in the clear, before crops were sealed
    if not cipher.is_sealed(blob):
        raise CropError(f"{path} is neither a sealed crop nor a JPEG (cut short?)")
    try:
        data = cipher.open_bytes(blob, context)
    except RollcallError:
        raise CropError(
            f"the evidence crop {path} does not open: sealed under another template key, "
            "or tampered with or moved from another file"
        ) from None
    if not data.startswith(_JPEG):
        raise CropError(f"the evidence crop {path} opens to something that is not a JPEG")
    return data


def read_image(cipher: TemplateCipher, evidence_dir: Path, path: Path) -> np.ndarray | None:
    """The crop at ``path`` decoded (BGR), or None when it is missing or cannot be read."""
    try:
        data = read_crop(cipher, evidence_dir, path)
    except (OSError, CropError):
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def is_sealed(path: Path) -> bool:
    """Whether the file at ``path`` is in the sealed format (not whether it opens)."""
    with path.open("rb") as fh:
        return TemplateCipher.is_sealed(fh.read(64))


def crops_in(evidence_dir: Path) -> list[Path]:
    """The crop files of the evidence folder (not a write's leftover temporary file)."""
    if not evidence_dir.is_dir():
        return []
    return [
        p
        for p in sorted(evidence_dir.glob("session-*/*.jpg"))
        if p.is_file() and not p.name.endswith(".tmp.jpg")
    ]


def seal_plain(cipher: TemplateCipher, evidence_dir: Path) -> tuple[int, int, list[str]]:
    """Seal every crop in the evidence folder still in the clear, in place; returns how many
    were sealed, how many were sealed already (and open with this key), and the files that
    could not be sealed, each with why (the others are sealed all the same)."""
    sealed = already = 0
    failed: list[str] = []
    for path in crops_in(evidence_dir):
        try:
            before = _identity(path)
            plain = path.read_bytes()
            if not plain.startswith(_JPEG):
                read_crop(cipher, evidence_dir, path)  # sealed: and with this key?
                already += 1
                continue
            data = cipher.seal_bytes(plain, _context(evidence_dir, path))
            if _identity(path) != before:
                failed.append(f"{path}: changed while it was read (a run writing it?)")
                continue
            _write(path, data)
            sealed += 1
        except (OSError, CropError) as exc:
            failed.append(f"{path}: {exc}")
    if not failed and evidence_dir.is_dir():
        _mark_sealed(evidence_dir)
    return sealed, already, failed


def _mark_sealed(evidence_dir: Path) -> None:
    """Every crop here is sealed: plain JPEGs are refused from now on."""
    try:
        (evidence_dir / SEALED_MARK).write_text(
            "Every evidence crop in this folder is sealed with the template key: a plain JPEG "
            "here is refused (rollcall db seal-evidence seals one restored from a backup).\n"
        )
    except OSError as exc:
        log.warning("cannot mark %s as sealed: %s", evidence_dir, exc)


def _identity(path: Path) -> tuple[int, int, int]:
    st = path.stat()
    return st.st_ino, st.st_mtime_ns, st.st_size


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    # A temporary file of its own (two writers of one crop never share one), made 0600.
    # (Named after the crop: a leftover of a crash is still found by its person's erasure.)
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f"{path.stem}-", suffix=".tmp.jpg")
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(name, path)
    except BaseException:
        Path(name).unlink(missing_ok=True)
        raise
