"""Identification results for whole images, shared by the CLI, the monitor and the portal."""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np
from sqlalchemy.orm import Session

from rollcall.config import Settings
from rollcall.storage.db import Database
from rollcall.storage.people import load_templates
from rollcall.storage.templates import TemplateCipher
from rollcall.vision.engine import FaceEngine
from rollcall.vision.gallery import (
    DEFAULT_MARGIN,
    DEFAULT_THRESHOLD,
    MIN_NAMING_PX,
    NEAR_MISS,
    SINGLE_TEMPLATE_COSINE,
    Gallery,
    recheck_gallery,
)
from rollcall.vision.screen import pictures_on_screen
from rollcall.vision.types import Faces


def load_gallery(
    db: Database, settings: Settings, embedder: str, people: list[str] | None = None
) -> Gallery:
    """Every template made by `embedder` (optionally only these people's) as one matrix."""
    with db.session() as session:
        return gallery_in(session, db.cipher, settings, embedder, people)


def gallery_in(
    session: Session,
    cipher: TemplateCipher,
    settings: Settings,
    embedder: str,
    people: list[str] | None = None,
) -> Gallery:
    """load_gallery inside a transaction the caller holds."""
    names, index, templates = load_templates(session, embedder, cipher, people)
    threshold = settings.match_threshold
    margin = settings.match_margin
    gallery = Gallery(
        names,
        index,
        templates,
        threshold=DEFAULT_THRESHOLD.get(embedder, 0.4) if threshold is None else threshold,
        margin=DEFAULT_MARGIN.get(embedder, 0.05) if margin is None else margin,
        min_naming_px=MIN_NAMING_PX.get(embedder, 0.0),
        single_template_cosine=SINGLE_TEMPLATE_COSINE.get(embedder),
        near_miss=NEAR_MISS.get(embedder),
    )
    if embedder == "sface+dlib" and settings.recheck:
        gallery.recheck = recheck_gallery(gallery)
    return gallery


@dataclass(frozen=True)
class FaceReport:
    box: list[int]
    score: float
    person: str | None
    similarity: float | None
    # A picture behind a meeting participant (a screenshot's gallery tile holds a far larger
    # face, vision.screen): not counted and never named, as a session would not.
    picture: bool = False

    def to_json(self, with_identity: bool = True) -> dict[str, object]:
        out: dict[str, object] = {"box": self.box, "score": round(self.score, 4)}
        if with_identity:
            out["person"] = self.person
            out["similarity"] = None if self.similarity is None else round(self.similarity, 4)
        out["picture"] = self.picture
        return out


@dataclass(frozen=True)
class ImageReport:
    image: str
    faces: list[FaceReport]

    @property
    def head_count(self) -> int:
        return sum(not f.picture for f in self.faces)

    def to_json(self, with_identity: bool = True) -> dict[str, object]:
        return {
            "image": self.image,
            "head_count": self.head_count,
            "faces": [f.to_json(with_identity) for f in self.faces],
        }


def _boxes(faces: Faces) -> list[list[int]]:
    return np.rint(faces.boxes).astype(int).tolist()


def identify_image(
    engine: FaceEngine, gallery: Gallery, image: np.ndarray, label: str
) -> ImageReport:
    # FaceEngine.identify hands the gallery each face's size, so faces under the embedder's
    # naming size are reported (counted) but never named.
    result = engine.identify(image, gallery, pad_retry=True)
    faces, matches = result.faces, result.matches
    pictures = pictures_on_screen(image, faces)
    reports = [
        FaceReport(box, float(score), gallery.name_of(int(p)), float(sim))
        if not picture
        else FaceReport(box, float(score), None, None, picture=True)
        for box, score, p, sim, picture in zip(
            _boxes(faces), faces.scores, matches.person, matches.similarity, pictures, strict=True
        )
    ]
    if not len(gallery):
        reports = [FaceReport(r.box, r.score, None, None, r.picture) for r in reports]
    return ImageReport(label, reports)


def count_image(engine: FaceEngine, image: np.ndarray, label: str) -> ImageReport:
    faces = engine.detect(image, pad_retry=True)
    pictures = pictures_on_screen(image, faces)
    return ImageReport(
        label,
        [
            FaceReport(b, float(s), None, None, picture=bool(picture))
            for b, s, picture in zip(_boxes(faces), faces.scores, pictures, strict=True)
        ],
    )


def annotate(image: np.ndarray, report: ImageReport) -> np.ndarray:
    """A copy of the image with each face boxed: green when named, orange when unknown."""
    out = image.copy()
    thick = max(1, round(max(out.shape[:2]) / 600))
    scale = max(0.4, max(out.shape[:2]) / 1600)
    for face in report.faces:
        x, y, w, h = face.box
        colour = (60, 180, 60) if face.person else (0, 140, 255)
        if face.picture:
            colour = (160, 160, 160)
        cv2.rectangle(out, (x, y), (x + w, y + h), colour, thick)
        if face.person:
            label = f"{face.person} {face.similarity:.2f}"
        elif face.picture:
            label = "picture"
        elif face.similarity is not None:
            label = "unknown"
        else:
            label = f"{face.score:.2f}"
        (tw, th), base = cv2.getTextSize(label, cv2.FONT_HERSHEY_SIMPLEX, scale, thick)
        ty = max(th + base, y)
        cv2.rectangle(out, (x, ty - th - base), (x + tw, ty), colour, -1)
        cv2.putText(
            out,
            label,
            (x, ty - base),
            cv2.FONT_HERSHEY_SIMPLEX,
            scale,
            (0, 0, 0),
            thick,
            cv2.LINE_AA,
        )
    return out
