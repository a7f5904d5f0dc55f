"""Serving evidence crops: only paths the database recorded, only inside ROLLCALL_HOME/evidence,
opened from their sealed files (storage.evidence)."""

from __future__ import annotations

import io
import logging
from pathlib import Path

from flask import Response, abort, send_file

from rollcall.config import Settings
from rollcall.storage.evidence import CropError, read_crop
from rollcall.web.context import portal

log = logging.getLogger(__name__)


def resolve(settings: Settings, stored: str | None) -> Path | None:
    """The file a stored relative path names, or None if it escapes the evidence folder."""
    if not stored:
        return None
    root = settings.evidence_dir.resolve()
    relative = Path(stored)
    if relative.is_absolute() or ".." in relative.parts:
        return None
    path = (settings.home / relative).resolve()
    if not path.is_relative_to(root) or path.suffix.lower() != ".jpg" or not path.is_file():
        return None
    return path


def send_evidence(settings: Settings, stored: str | None) -> Response:
    """The crop a stored path names, opened (crops are sealed at rest: storage.evidence)."""
    path = resolve(settings, stored)
    if path is None:
        abort(404, description="This evidence image is not available.")
    try:
        data = _open(settings, path)
    except FileNotFoundError:
        abort(404, description="This evidence image is not available.")
    except (CropError, OSError):
        abort(409, description="This evidence image does not open; the server's log says why.")
    response = send_file(io.BytesIO(data), mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def crop_bytes(settings: Settings, stored: str | None) -> bytes | None:
    """The JPEG of the crop a stored path names, or None when it is missing or does not open
    (logged)."""
    path = resolve(settings, stored)
    if path is None:
        return None
    try:
        return _open(settings, path)
    except (CropError, OSError):
        return None


def _open(settings: Settings, path: Path) -> bytes:
    """The crop at ``path`` opened; one that is there but does not open is logged (a key
    problem raises TemplateKeyError: the server's error, not this crop's)."""
    cipher = portal().db.cipher
    try:
        return read_crop(cipher, settings.evidence_dir, path)
    except FileNotFoundError:
        raise
    except (CropError, OSError) as exc:
        log.warning("evidence crop %s: %s", path, exc)
        raise


def delete_files(settings: Settings, stored: list[str]) -> int:
    """Delete evidence files by their stored paths; returns how many were removed."""
    removed = 0
    for item in set(stored):
        path = resolve(settings, item)
        if path is not None:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
