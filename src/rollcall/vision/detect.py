"""Face detectors behind one small interface, chosen by name: yunet (default), haar, dlib."""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

import cv2
import numpy as np

from rollcall.errors import RollcallError
from rollcall.vision import models
from rollcall.vision.types import Faces


class FaceDetector(Protocol):
    name: str

    def detect(self, image: np.ndarray, enlarge: bool = True) -> Faces:
        """Every face in a BGR image, boxes and landmarks in that image's pixels. enlarge=False
        turns off a detector's own enlarging of small frames (for an image already sized)."""
        ...


DETECTORS: dict[str, Callable[..., FaceDetector]] = {}


def register(name: str) -> Callable[[type], type]:
    def wrap(cls: type) -> type:
        DETECTORS[name] = cls
        return cls

    return wrap


def create_detector(name: str = "yunet", **options: object) -> FaceDetector:
    try:
        factory = DETECTORS[name]
    except KeyError:
        raise RollcallError(
            f"unknown detector {name!r}; choose one of {', '.join(sorted(DETECTORS))}"
        ) from None
    return factory(**options)


def _as_bgr(image: np.ndarray) -> np.ndarray:
    if image.ndim == 2:
        return cv2.cvtColor(image, cv2.COLOR_GRAY2BGR)
    if image.shape[2] == 4:
        return cv2.cvtColor(image, cv2.COLOR_BGRA2BGR)
    return image


@register("yunet")
class YuNetDetector:
    """OpenCV Zoo's YuNet: fast, five landmarks per face, good down to ~20 px faces.

    Gallery tiles in a screen capture give faces of 20-40 px, below where YuNet is at its best,
    so frames whose shorter side is under ``upscale_below`` are enlarged until it reaches
    ``upscale_to`` (at most ``max_upscale``); boxes are mapped back to the original pixels.
    Measured (bench/bench_engine.py): a 640x480 7x7 gallery went from 89% of faces found
    unscaled, 92% enlarged to 720 px, to 96% enlarged 2x (39 ms a frame); 720p and larger
    frames found nothing more when enlarged, at 2-6x the cost, so they are left alone.
    """

    name = "yunet"

    def __init__(
        self,
        score_threshold: float = 0.7,
        nms_threshold: float = 0.3,
        upscale_below: int = 720,
        max_upscale: float = 2.0,
        upscale_to: int | None = 1080,
    ) -> None:
        path = models.model_path(models.YUNET)
        self.score_threshold = score_threshold
        self.upscale_below = upscale_below
        self.max_upscale = max_upscale
        self.upscale_to = upscale_to or upscale_below
        self._net = cv2.FaceDetectorYN.create(
            str(path), "", (320, 320), score_threshold, nms_threshold, 5000
        )
        self._size: tuple[int, int] | None = None

    def scale_for(self, width: int, height: int) -> float:
        short = min(width, height)
        if self.upscale_below <= 0 or short >= self.upscale_below:
            return 1.0
        return min(self.max_upscale, self.upscale_to / short)

    def detect(self, image: np.ndarray, enlarge: bool = True) -> Faces:
        image = _as_bgr(image)
        h, w = image.shape[:2]
        scale = self.scale_for(w, h) if enlarge else 1.0
        if scale != 1.0:
            image = cv2.resize(
                image, (round(w * scale), round(h * scale)), interpolation=cv2.INTER_LINEAR
            )
        ih, iw = image.shape[:2]
        if self._size != (iw, ih):
            self._net.setInputSize((iw, ih))
            self._size = (iw, ih)
        _, rows = self._net.detect(image)
        if rows is None or len(rows) == 0:
            return Faces.empty()
        rows = rows.astype(np.float32) / np.float32(scale)
        rows[:, 14] *= scale  # the score is not a coordinate
        return clip_faces(
            Faces(boxes=rows[:, :4], scores=rows[:, 14], landmarks=rows[:, 4:14]), w, h
        )


@register("haar")
class HaarDetector:
    """The seed project's Viola-Jones cascade, kept for comparison; never the default.

    It gives no landmarks, so they are placed where an upright frontal face has them
    inside a Haar box; that is enough for SFace's alignment on frontal faces.
    """

    name = "haar"
    # Typical eye / nose / mouth positions as fractions of a Haar frontal-face box.
    _LANDMARKS = np.array(
        [[0.31, 0.40], [0.69, 0.40], [0.50, 0.58], [0.35, 0.76], [0.65, 0.76]], np.float32
    )

    def __init__(self, min_size: int = 20, scale_factor: float = 1.1, min_neighbors: int = 5):
        self._cascade = cv2.CascadeClassifier(str(models.haar_cascade_path()))
        if self._cascade.empty():
            raise RollcallError("the Haar cascade could not be loaded")
        self.min_size = min_size
        self.scale_factor = scale_factor
        self.min_neighbors = min_neighbors

    def detect(self, image: np.ndarray, enlarge: bool = True) -> Faces:
        gray = image if image.ndim == 2 else cv2.cvtColor(_as_bgr(image), cv2.COLOR_BGR2GRAY)
        gray = cv2.equalizeHist(gray)
        boxes, _, weights = self._cascade.detectMultiScale3(
            gray,
            scaleFactor=self.scale_factor,
            minNeighbors=self.min_neighbors,
            minSize=(self.min_size, self.min_size),
            outputRejectLevels=True,
        )
        if len(boxes) == 0:
            return Faces.empty()
        boxes = np.asarray(boxes, np.float32).reshape(-1, 4)
        weights = np.asarray(weights, np.float32).reshape(-1)
        # Squash the cascade's level weights into 0..1 so scores read like the other detectors'.
        scores = 1.0 / (1.0 + np.exp(-weights))
        landmarks = boxes[:, None, :2] + self._LANDMARKS[None] * boxes[:, None, 2:]
        h, w = gray.shape[:2]
        return clip_faces(Faces(boxes=boxes, scores=scores, landmarks=landmarks), w, h)


@register("dlib")
class DlibHogDetector:
    """dlib's HOG + linear SVM detector with its 5-point landmarks (needs the dlib extra)."""

    name = "dlib"

    def __init__(self, upsample: int = 1) -> None:
        dlib = import_dlib()
        self._detector = dlib.get_frontal_face_detector()
        self._shape = dlib.shape_predictor(str(models.model_path(models.DLIB_SHAPE5)))
        self._dlib = dlib
        self.upsample = upsample

    def detect(self, image: np.ndarray, enlarge: bool = True) -> Faces:
        rgb = cv2.cvtColor(_as_bgr(image), cv2.COLOR_BGR2RGB)
        rects, scores, _ = self._detector.run(rgb, self.upsample if enlarge else 0, 0.0)
        if not rects:
            return Faces.empty()
        boxes, marks, shapes = [], [], []
        for r in rects:
            boxes.append([r.left(), r.top(), r.width(), r.height()])
            shape = self._shape(rgb, r)
            pts = np.array([[p.x, p.y] for p in shape.parts()], np.float32)
            shapes.append(shape)
            marks.append(dlib5_to_yunet(pts))
        h, w = rgb.shape[:2]
        faces = Faces(
            boxes=boxes, scores=np.clip(np.asarray(scores) / 3 + 0.5, 0, 1), landmarks=marks
        )
        faces.data["dlib_shape"] = np.array(shapes, dtype=object)
        return clip_faces(faces, w, h)


def dlib5_to_yunet(pts: np.ndarray) -> np.ndarray:
    """dlib's 5 points (two corners per eye, nose base) as YuNet's five (eyes, nose, mouth)."""
    # dlib order: 0-1 one eye's corners, 2-3 the other's, 4 the base of the nose.
    eye_a = pts[0:2].mean(axis=0)
    eye_b = pts[2:4].mean(axis=0)
    right_eye, left_eye = (eye_b, eye_a) if eye_b[0] < eye_a[0] else (eye_a, eye_b)
    nose = pts[4]
    eyes_mid = (right_eye + left_eye) / 2
    down = nose - eyes_mid
    across = (left_eye - right_eye) * 0.4
    mouth_mid = nose + 0.8 * down
    return np.array([right_eye, left_eye, nose, mouth_mid - across, mouth_mid + across])


def import_dlib():  # noqa: ANN201 - dlib has no type stubs
    try:
        import dlib
    except ImportError as exc:
        raise RollcallError(
            'the dlib backend needs the optional extra: pip install -e ".[dlib]"'
        ) from exc
    return dlib


def detect_padded(detector: FaceDetector, image: np.ndarray, max_side: int) -> Faces:
    """Faces in image padded by a quarter of its longer side all round (black) and shrunk so the
    longer side is at most max_side, without the detector's own enlarging; boxes and landmarks
    in image's pixels, not clipped to it. For a face that fills the picture: the padding puts
    all of it inside, the shrinking brings it down to sizes the detector finds."""
    h, w = image.shape[:2]
    pad = max(h, w) // 4
    padded = cv2.copyMakeBorder(image, pad, pad, pad, pad, cv2.BORDER_CONSTANT, value=0)
    scale = min(1.0, max_side / max(padded.shape[:2]))
    if scale < 1.0:
        size = (max(1, round(padded.shape[1] * scale)), max(1, round(padded.shape[0] * scale)))
        padded = cv2.resize(padded, size, interpolation=cv2.INTER_AREA)
    faces = detector.detect(padded, enlarge=False)
    faces.boxes[:] /= scale
    faces.landmarks[:] /= scale
    faces.boxes[:, :2] -= pad
    faces.landmarks -= pad
    return faces


def clip_faces(faces: Faces, width: int, height: int) -> Faces:
    """Keep boxes inside the image and drop degenerate ones (they break crops later)."""
    if not len(faces):
        return faces
    b = faces.boxes
    x0 = np.clip(b[:, 0], 0, width)
    y0 = np.clip(b[:, 1], 0, height)
    x1 = np.clip(b[:, 0] + b[:, 2], 0, width)
    y1 = np.clip(b[:, 1] + b[:, 3], 0, height)
    faces.boxes = np.stack([x0, y0, x1 - x0, y1 - y0], axis=1).astype(np.float32)
    return faces[(faces.boxes[:, 2] >= 4) & (faces.boxes[:, 3] >= 4)]
