"""Evidence crops at rest: face photos sealed with the template key, like the templates.

A crop of a named face is as much someone's biometric data as their template, and the
evidence folder is what gets copied around: backups, a volume shared by the portal and the
workers. Each crop is a JPEG sealed with AES-GCM (storage.templates) and bound to its place in
the evidence folder, so a file copied over another person's crop fails to open instead of
showing one face as somebody else's. Files keep their ``.jpg`` names (the database rows name
them); what is inside is sealed.

Crops written by versions before this one are plain JPEG files: they are read as they are,
and ``rollcall db seal-evidence`` seals them in place.
"""

from __future__ import annotations

import os
from pathlib import Path

import cv2
import numpy as np

from rollcall.storage.templates import TemplateCipher

JPEG_QUALITY = 90
_JPEG = b"\xff\xd8"


def _context(evidence_dir: Path, path: Path) -> str:
    # Relative to the evidence folder: a home moved elsewhere still opens its crops.
    return f"evidence:v1:{path.resolve().relative_to(evidence_dir.resolve()).as_posix()}"


def write_crop(cipher: TemplateCipher, evidence_dir: Path, path: Path, crop: np.ndarray) -> bool:
    """Seal ``crop`` (BGR) as the JPEG at ``path`` inside ``evidence_dir``, atomically (a
    reader never sees half a file); False when it cannot be encoded."""
    if crop.size == 0:
        return False
    ok, jpeg = cv2.imencode(".jpg", crop, [cv2.IMWRITE_JPEG_QUALITY, JPEG_QUALITY])
    if not ok:
        return False
    _write(path, cipher.seal_bytes(jpeg.tobytes(), _context(evidence_dir, path)))
    return True


def read_crop(cipher: TemplateCipher, evidence_dir: Path, path: Path) -> bytes:
    """The JPEG bytes of the crop at ``path`` (OSError when missing; TemplateKeyError when it
    was sealed under another key, or for another place)."""
    blob = path.read_bytes()
    if blob.startswith(_JPEG):
        return blob  # written in the clear, before crops were sealed
    return cipher.open_bytes(blob, _context(evidence_dir, path))


def read_image(cipher: TemplateCipher, evidence_dir: Path, path: Path) -> np.ndarray | None:
    """The crop at ``path`` decoded (BGR), or None when it is missing or cannot be read."""
    from rollcall.errors import RollcallError

    try:
        data = read_crop(cipher, evidence_dir, path)
    except (OSError, RollcallError):
        return None
    return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)


def is_plain(path: Path) -> bool:
    """Whether the file at ``path`` is a JPEG in the clear."""
    with path.open("rb") as fh:
        return fh.read(2) == _JPEG


def seal_plain(cipher: TemplateCipher, evidence_dir: Path) -> tuple[int, int]:
    """Seal every crop in the evidence folder still in the clear, in place; returns how many
    were sealed and how many were sealed already."""
    sealed = already = 0
    if not evidence_dir.is_dir():
        return 0, 0
    for path in sorted(evidence_dir.glob("session-*/*.jpg")):
        if not path.is_file() or path.name.endswith(".tmp.jpg"):
            continue
        if not is_plain(path):
            already += 1
            continue
        _write(path, cipher.seal_bytes(path.read_bytes(), _context(evidence_dir, path)))
        sealed += 1
    return sealed, already


def _write(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_suffix(".tmp.jpg")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as fh:
        fh.write(data)
    tmp.replace(path)
