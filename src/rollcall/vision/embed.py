"""Face embedders behind one interface, chosen by name: sface (default) and dlib."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from rollcall.errors import RollcallError
from rollcall.vision import models
from rollcall.vision.detect import import_dlib
from rollcall.vision.types import Faces


class Embedder(Protocol):
    name: str
    dim: int

    def align(self, image: np.ndarray, faces: Faces) -> list[np.ndarray]:
        """One aligned face chip per face (what the network sees; also the evidence crop)."""
        ...

    def embed_chips(self, chips: list[np.ndarray]) -> np.ndarray:
        """L2-normalised embeddings, one row per chip."""
        ...


EMBEDDERS: dict[str, Callable[..., Embedder]] = {}


def register(name: str) -> Callable[[type], type]:
    def wrap(cls: type) -> type:
        EMBEDDERS[name] = cls
        return cls

    return wrap


def create_embedder(name: str = "sface", **options: object) -> Embedder:
    try:
        factory = EMBEDDERS[name]
    except KeyError:
        raise RollcallError(
            f"unknown embedder {name!r}; choose one of {', '.join(sorted(EMBEDDERS))}"
        ) from None
    return factory(**options)


def embed(embedder: Embedder, image: np.ndarray, faces: Faces) -> np.ndarray:
    """Embeddings for every face of one image, shape (N, dim)."""
    if not len(faces):
        return np.zeros((0, embedder.dim), np.float32)
    return embedder.embed_chips(embedder.align(image, faces))


def normalise(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


@register("sface")
class SFaceEmbedder:
    """OpenCV Zoo's SFace: 128-D features from a 112x112 crop aligned on YuNet's landmarks."""

    name = "sface"
    dim = 128

    def __init__(self) -> None:
        path = models.model_path(models.SFACE)
        self._net = cv2.FaceRecognizerSF.create(str(path), "")

    def align(self, image: np.ndarray, faces: Faces) -> list[np.ndarray]:
        rows = np.zeros((len(faces), 15), np.float32)
        rows[:, :4] = faces.boxes
        rows[:, 4:14] = faces.landmarks.reshape(-1, 10)
        rows[:, 14] = faces.scores
        return [self._net.alignCrop(image, row) for row in rows]

    def embed_chips(self, chips: list[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        return normalise(np.vstack([self._net.feature(chip).reshape(1, -1) for chip in chips]))


@register("dlib")
class DlibEmbedder:
    """dlib's ResNet (128-D), more accurate on 24-32 px faces but ~4x slower than SFace."""

    name = "dlib"
    dim = 128

    def __init__(self, jitter: int = 0) -> None:
        dlib = import_dlib()
        self._dlib = dlib
        self._shape = dlib.shape_predictor(str(models.model_path(models.DLIB_SHAPE5)))
        self._net = dlib.face_recognition_model_v1(str(models.model_path(models.DLIB_RESNET)))
        self.jitter = jitter

    def align(self, image: np.ndarray, faces: Faces) -> list[np.ndarray]:
        rgb = cv2.cvtColor(image, cv2.COLOR_BGR2RGB)
        shapes = faces.data.get("dlib_shape")
        chips = []
        for i, (x, y, w, h) in enumerate(faces.boxes.tolist()):
            if shapes is not None:
                shape = shapes[i]
            else:
                rect = self._dlib.rectangle(int(x), int(y), int(x + w), int(y + h))
                shape = self._shape(rgb, rect)
            chip = self._dlib.get_face_chip(rgb, shape, size=150, padding=0.25)
            chips.append(cv2.cvtColor(np.asarray(chip), cv2.COLOR_RGB2BGR))
        return chips

    def embed_chips(self, chips: list[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        rgb = [np.ascontiguousarray(cv2.cvtColor(c, cv2.COLOR_BGR2RGB)) for c in chips]
        vectors = self._net.compute_face_descriptor(rgb, self.jitter)
        # dlib's descriptors are compared by Euclidean distance (0.6 threshold); normalised,
        # they work with the same cosine matcher as SFace, calibrated separately.
        return normalise(np.array([np.asarray(v) for v in vectors]))
