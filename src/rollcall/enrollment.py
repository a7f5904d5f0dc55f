"""Enrolling people from photos: quality checks per photo, one template per accepted photo."""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image
from sqlalchemy.orm import Session

from rollcall.errors import RollcallError
from rollcall.source_text import shown_text
from rollcall.storage.db import Database
from rollcall.storage.names import check_name
from rollcall.storage.people import (
    add_template,
    get_or_create_person,
    get_person,
    has_template,
    record_consent,
    written_otherwise,
)
from rollcall.vision.engine import EnrollmentFace, FaceEngine
from rollcall.vision.imageio import IMAGE_SUFFIXES, decode_image, read_file_bytes
from rollcall.vision.quality import EnrollmentPolicy

# What the portal offers; the CLI takes any short description.
CONSENT_METHODS = ("signed form", "online form", "email", "verbal")


@dataclass(frozen=True)
class Consent:
    """A statement that the person agreed to have their face templates kept, and how."""

    method: str  # "signed form", "online form", "email", "verbal", …
    recorded_by: str  # the staff account, or the OS user at the command line
    note: str = ""  # a form number, the email's date, …

    def __post_init__(self) -> None:
        method, by = " ".join(self.method.split()), " ".join(self.recorded_by.split())
        note = " ".join(self.note.split())
        if not 1 <= len(method) <= 64:
            raise RollcallError(
                'the consent method must be 1 to 64 characters, e.g. "signed form" or "email"'
            )
        if not 1 <= len(by) <= 80:
            raise RollcallError("who recorded the consent must be 1 to 80 characters")
        if len(note) > 500:
            raise RollcallError("the consent note must be at most 500 characters")
        object.__setattr__(self, "method", method)
        object.__setattr__(self, "recorded_by", by)
        object.__setattr__(self, "note", note)


def consent_required(name: str) -> RollcallError:
    return RollcallError(
        f"consent is required: {name!r} has no consent on record to keep their face templates; "
        "record how they gave it when enrolling them (`rollcall enroll --consent METHOD` or "
        "the portal's enroll form)"
    )


def _enrolled(db: Database, name: str) -> str | None:
    """The enrolled person's name as stored (it may be written in another Unicode form)."""
    with db.session() as session:
        person = get_person(session, name)
        return None if person is None else person.name


def _not_another_spelling(db: Database, name: str) -> None:
    """Refuse a new person whose name is an enrolled one's spelled otherwise ("vladimir putin"
    beside "Vladimir_Putin"): two records of one face split their marks between them, and
    the meeting matcher already takes such names for one person."""
    with db.session() as session:
        other = written_otherwise(session, name)
    if other is not None:
        raise RollcallError(
            f"{other!r} is already enrolled, and {name!r} is the same name written "
            f"otherwise (case, spaces or underscores): add the photos to {other!r}"
        )


def needs_consent(db: Database, name: str) -> bool:
    """True unless `name` is enrolled with consent on record (then adding photos needs none)."""
    with db.session() as session:
        person = get_person(session, name.strip())
        return person is None or person.consent is None


@dataclass
class EnrollmentResult:
    name: str
    accepted: list[str] = field(default_factory=list)
    duplicates: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (file, reason)
    consent_recorded: bool = False  # this call wrote the person's consent
    # A consent given for someone who has one on record: left as it was (its method, date).
    consent_unchanged: str | None = None


def enroll_photos(
    db: Database,
    engine: FaceEngine,
    name: str,
    photos: list[Path] | list[tuple[str, bytes]],
    policy: EnrollmentPolicy | None = None,
    *,
    consent: Consent | None,
    lookalike_ok: bool = False,
) -> EnrollmentResult:
    """Add one template per acceptable photo; refused photos are reported, never fatal.

    photos are paths (the CLI) or (label, bytes) pairs (portal uploads).
    The person is created only if at least one photo is accepted, and only with `consent`,
    written in the same transaction. Someone with consent on record needs none to add photos
    (a consent given for them anyway leaves the first one on record); someone enrolled before
    consents were kept needs it now. Without the consent that is needed: RollcallError.
    """
    policy = policy or EnrollmentPolicy()
    # Someone already enrolled keeps the name they have (rules added since do not lock them
    # out of new photos); a new person's name must pass them, and not be another's.
    if name != shown_text(name):
        check_name("person", name)  # refused with a reason before any query (not UTF-8)
    enrolled = _enrolled(db, name.strip())
    if enrolled is None:
        name = check_name("person", name)
        _not_another_spelling(db, name)
    name = enrolled or name.strip()
    if consent is None and needs_consent(db, name):
        raise consent_required(name)  # before any photo is read
    result = EnrollmentResult(name)
    faces = []
    for photo in photos:
        label = shown_text(str(photo) if isinstance(photo, Path) else photo[0])
        data = b""
        try:
            data = read_file_bytes(photo) if isinstance(photo, Path) else photo[1]
            image = decode_image(data, label)
            face = engine.enrollment_face(image, policy)
        except RollcallError as exc:
            # Image errors already start with the file name; keep only the reason.
            reason = str(exc).removeprefix(f"{label}: ")
            many = _more_than_one_frame(data)
            if many is not None:
                # decode_image reads the first frame only: the face may be in a later one.
                reason += f"; only its first frame was read ({many})"
            result.refused.append((label, reason))
            continue
        faces.append((label, hashlib.sha256(data).hexdigest(), face))
    if not faces:
        return result
    with db.session() as session:
        if not lookalike_ok:
            faces = _not_someone_else(session, db, engine, name, faces, result)
            if not faces:
                return result
        person = get_or_create_person(session, name)
        if person.consent is None:
            if consent is None:  # erased and re-created since the check above
                raise consent_required(name)
            record_consent(
                session,
                person,
                method=consent.method,
                recorded_by=consent.recorded_by,
                note=consent.note,
            )
            result.consent_recorded = True
        elif consent is not None:
            kept = person.consent
            result.consent_unchanged = f"{kept.method}, {kept.recorded_at:%Y-%m-%d}"
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


def _more_than_one_frame(data: bytes) -> str | None:
    """ "an animated GIF" or "a TIFF with N pages" when the photo holds more than its first
    frame; None otherwise, or when its header cannot tell (the refusal's reason says why)."""
    if not data.startswith((b"GIF8", b"II*\x00", b"MM\x00*")):
        return None
    try:
        # Only headers are read (is_animated and n_frames seek without decoding pixels); a
        # bomb's size was already refused by decode_image, and is no reason to fail here.
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data)) as img:
                if img.format == "GIF":
                    return "an animated GIF" if img.is_animated else None
                pages = img.n_frames if img.format == "TIFF" else 1
    except (OSError, SyntaxError, ValueError, EOFError, Image.DecompressionBombError):
        return None
    return f"a TIFF with {pages} pages" if pages > 1 else None


def _not_someone_else(
    session: Session,
    db: Database,
    engine: FaceEngine,
    name: str,
    faces: list[tuple[str, str, EnrollmentFace]],
    result: EnrollmentResult,
) -> list[tuple[str, str, EnrollmentFace]]:
    """The faces that are not an enrolled other person's; the others are refused.

    The same face under a second name ("T. Blair" beside "Tony Blair") splits every match
    between the two, and the real student is marked absent while the other name is a visitor.
    A photo whose face would be named as someone else (the naming threshold) is refused,
    naming them; twins are enrolled with lookalike_ok (`enroll --lookalike-ok`)."""
    from rollcall.recognition import gallery_in

    gallery = gallery_in(session, db.cipher, db.settings, engine.embedder.name)
    others = [i for i, other in enumerate(gallery.names) if other != name]
    if not others:
        return faces
    vectors = np.stack([np.asarray(face.embedding, np.float32) for _, _, face in faces])
    scores = gallery.person_scores(vectors)[:, others]
    kept = []
    for (label, digest, face), row in zip(faces, scores, strict=True):
        best = int(np.argmax(row))
        if row[best] >= gallery.threshold:
            result.refused.append(
                (
                    label,
                    f"this face is enrolled as {gallery.names[others[best]]!r} (score "
                    f"{row[best]:.2f}); one person under two names would be marked under "
                    "neither (twins: `rollcall enroll --lookalike-ok`)",
                )
            )
            continue
        kept.append((label, digest, face))
    return kept


def photos_in(folder: Path) -> list[Path]:
    """The photos in a folder; not hidden files (a macOS "._IMG_0001.jpg" is no photo).
    RollcallError (one line) when the folder cannot be read."""
    try:
        entries = list(folder.iterdir())
    except OSError as exc:
        raise RollcallError(
            f"{shown_text(str(folder))}: cannot be read ({exc.strerror or exc})"
        ) from None
    return sorted(
        p
        for p in entries
        if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES and not p.name.startswith(".")
    )


@dataclass(frozen=True)
class PersonFolder:
    """One sub-folder of an enrollment folder: the person's name and photos, or why it was
    left out (unreadable, a name that is not UTF-8, a link back into the folder itself)."""

    name: str
    photos: list[Path]
    problem: str | None = None


def person_folders(root: Path) -> list[PersonFolder]:
    """One per sub-folder of ``root`` (one per person), not hidden ones: a ".thumbnails" or
    a macOS ".Trashes" is nobody. A folder that cannot be used is kept with its problem, so
    that it is reported and the others still count (an unreadable one stopped them all)."""
    top = root.resolve()
    out = []
    for d in sorted(root.iterdir()):
        if not d.is_dir() or d.name.startswith("."):
            continue
        name = shown_text(d.name)
        if d.is_symlink() and (top == d.resolve() or top.is_relative_to(d.resolve())):
            # "ln -s .. link": its photos are the folder's own (or above it), no one's.
            out.append(PersonFolder(name, [], "links back to the folder itself: skipped"))
            continue
        if name != d.name:
            # Bytes of another encoding ("Renée" in Latin-1): no database stores such a name,
            # and the consent check asked for it before anything else (a traceback).
            out.append(PersonFolder(name, [], "the folder's name is not UTF-8: rename it"))
            continue
        try:
            out.append(PersonFolder(d.name, photos_in(d)))
        except RollcallError as exc:
            out.append(PersonFolder(name, [], str(exc).removeprefix(f"{shown_text(str(d))}: ")))
    return out
