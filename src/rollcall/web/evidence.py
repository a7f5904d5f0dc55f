"""Serving evidence crops: only paths the database recorded, only inside ROLLCALL_HOME/evidence."""

from __future__ import annotations

from pathlib import Path

from flask import Response, abort, send_file

from rollcall.config import Settings


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
    path = resolve(settings, stored)
    if path is None:
        abort(404, description="This evidence image is not available.")
    response = send_file(path, mimetype="image/jpeg", max_age=0)
    response.headers["Cache-Control"] = "private, no-store"
    return response


def delete_files(settings: Settings, stored: list[str]) -> int:
    """Delete evidence files by their stored paths; returns how many were removed."""
    removed = 0
    for item in set(stored):
        path = resolve(settings, item)
        if path is not None:
            path.unlink(missing_ok=True)
            removed += 1
    return removed
