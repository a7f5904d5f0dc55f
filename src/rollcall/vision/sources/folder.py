"""Frames from a folder of snapshots, one every `step` seconds in natural name order."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import numpy as np

from rollcall.errors import ImageError, SourceError
from rollcall.vision.imageio import IMAGE_SUFFIXES, decode_image, read_file_bytes
from rollcall.vision.sources.base import SourceBase
from rollcall.vision.types import Frame

log = logging.getLogger(__name__)


def natural_key(name: str) -> tuple[tuple[int, int | str], ...]:
    """Sort key that puts img2 before img10 (digit runs compare as numbers)."""
    parts = re.split(r"(\d+)", name.casefold())
    # Tag each part so numbers and text never get compared with each other.
    return tuple((0, int(p)) if p.isascii() and p.isdigit() else (1, p) for p in parts if p)


def load_bgr(path: Path) -> np.ndarray | None:
    """A BGR uint8 image, or None when the file is not a readable image."""
    # The enrollment's decoder: the same formats (a phone's HEIC), turned upright, bombs refused.
    try:
        return decode_image(read_file_bytes(path), path.name)
    except ImageError:
        return None


class ImageFolderSource(SourceBase):
    """Snapshot i has t = i * step; unreadable files are skipped with a warning."""

    live = False

    def __init__(self, folder: str | Path, *, step: float = 60.0) -> None:
        if step <= 0:
            raise SourceError(f"the folder step must be positive seconds, got {step}")
        self.folder = Path(folder)
        self.name = f"image folder {self.folder}"
        self.step = step
        try:
            entries = [p for p in self.folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES]
        except OSError as exc:
            raise SourceError(f"{self.name} cannot be listed: {exc}") from exc
        self.paths = sorted((p for p in entries if p.is_file()), key=lambda p: natural_key(p.name))
        if not self.paths:
            raise SourceError(f"{self.name} holds no images ({', '.join(sorted(IMAGE_SUFFIXES))})")
        # Each snapshot stands for one step of the session, the last one included.
        self.duration = len(self.paths) * step
        self._next = 0

    def read(self, not_before: float = 0.0) -> Frame | None:
        # Jump straight to the first snapshot due; the ones before are never opened.
        first_due = max(0, int(np.ceil(not_before / self.step - 1e-9)))
        self._next = max(self._next, first_due)
        while self._next < len(self.paths):
            index, path = self._next, self.paths[self._next]
            self._next += 1
            image = load_bgr(path)
            if image is None:
                log.warning("%s: skipped %s, not a readable image", self.name, path.name)
                continue
            return Frame(image=image, t=index * self.step, index=index)
        return None

    def close(self) -> None:
        self._next = len(self.paths)
