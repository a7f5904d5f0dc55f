"""Enrolling people from photos: quality checks per photo, one template per accepted photo."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from pathlib import Path

from rollcall.errors import RollcallError
from rollcall.storage.db import Database
from rollcall.storage.people import add_template, get_or_create_person, has_template
from rollcall.vision.engine import FaceEngine
from rollcall.vision.imageio import IMAGE_SUFFIXES, decode_image, read_file_bytes
from rollcall.vision.quality import EnrollmentPolicy


@dataclass
class EnrollmentResult:
    name: str
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)


def enroll_photos(
    db: Database,
    engine: FaceEngine,
    name: str,
    photos: list[Path] | list[tuple[str, bytes]],
    policy: EnrollmentPolicy | None = None,
) -> EnrollmentResult:
    """Add one template per acceptable photo; refused photos are reported, never fatal.

    photos are paths (the CLI) or (label, bytes) pairs (portal uploads).
    The person is created only if at least one photo is accepted.
    """
    policy = policy or EnrollmentPolicy()
    name = name.strip()
    if not name:
        raise RollcallError("a person's name cannot be empty")
    result = EnrollmentResult(name)
    faces = []
    for photo in photos:
        label = str(photo) if isinstance(photo, Path) else photo[0]
        try:
            data = read_file_bytes(photo) if isinstance(photo, Path) else photo[1]
            image = decode_image(data, label)
            face = engine.enrollment_face(image, policy)
        except RollcallError as exc:
            # Image errors already start with the file name; keep only the reason.
            reason = str(exc).removeprefix(f"{label}: ")
            result.refused.append((label, reason))
            continue
        faces.append((label, hashlib.sha256(data).hexdigest(), face))
    if not faces:
        return result
    with db.session() as session:
        person = get_or_create_person(session, name)
        for label, digest, face in faces:
            if has_template(session, person, engine.embedder.name, digest):
                result.duplicates.append(label)
                continue
            add_template(
                session,
                person,
                cipher=db.cipher,
                embedder=engine.embedder.name,
                vector=face.embedding,
                source_name=Path(label).name,
                source_sha256=digest,
                face_px=face.face_px,
                sharpness=face.sharpness,
            )
            result.accepted.append(label)
    return result


def photos_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
